import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialChain } from './credentials.js';
import { mayBeGithubRegistry, runIdentity } from './github-context.js';
import { parseInputs, type ActionInputs } from './inputs.js';
import { inputFromEnvironment, LazyCore, runnerDebug } from './lazy-core.js';
import { boundBufferGarbage } from './memory.js';
import { OutputFileError, planOutputs, type OutputPlan } from './outputs.js';
import { rateLimitWarnings } from './rate-limits.js';
import { promote, type PromotionResult } from '../engine/promote.js';
import type { Logger } from '../engine/logger.js';

type Core = typeof import('@actions/core');
import { formatReference } from '../oci/reference.js';
import { UserFacingError } from '../oci/user-facing-error.js';
import { RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import { loadDockerConfig } from '../registry/docker-config.js';

export async function run(): Promise<void> {
  let client: RegistryClient | undefined;
  let parsedInputs: ActionInputs | undefined;
  let credentials: CredentialChain | undefined;
  const stopGarbageBound = boundBufferGarbage();
  // @actions/core comes once the first request is on its way (see lazy-core.ts).
  const lazyCore = new LazyCore();
  const log: Logger = lazyCore.logger;
  try {
    for (const secret of [process.env['INPUT_PASSWORD'], process.env['INPUT_GITHUB-TOKEN']])
      if (secret) lazyCore.setSecret(secret);
    const inputs = parseInputs(inputFromEnvironment);
    parsedInputs = inputs;
    if (inputs.credentials) {
      lazyCore.setSecret(
        Buffer.from(`${inputs.credentials.username}:${inputs.credentials.password}`).toString('base64'),
      );
    }
    const dockerConfig = await loadDockerConfig(process.env, (s) => lazyCore.setSecret(s), {
      helperTimeoutMs: inputs.timeoutMs,
    });
    credentials = new CredentialChain({ inputs, dockerConfig, identity: runIdentity });
    client = new RegistryClient({
      plainHttp: inputs.plainHttp,
      referrersApi: inputs.referrersApi,
      credentials: credentials.resolve,
      onSecret: (s) => lazyCore.setSecret(s),
      onFirstSent: () => void lazyCore.load(),
      timeoutMs: inputs.timeoutMs,
      maxReferrers: inputs.maxReferrers,
      trace: inputs.trace || runnerDebug(),
      retry: {
        onRetry: (e) =>
          log.info(
            `Retrying ${e.method} ${new URL(e.url).host}${new URL(e.url).pathname} after ${e.reason} (try ${e.attempt} of ${e.maxAttempts}, in ${(e.delayMs / 1000).toFixed(1)} s)`,
          ),
      },
    });
    const targetsText = inputs.targets.map((t) => formatReference(t)).join(', ');
    lazyCore.startGroup(`Promote ${formatReference(inputs.source)} to ${targetsText}`);
    const promoting = promote(
      client!,
      {
        source: inputs.source,
        targets: inputs.targets,
        copyReferrers: inputs.copyReferrers,
        dryRun: inputs.dryRun,
        requireReferrers: inputs.requireReferrers,
        requireReferrersScope: inputs.requireReferrersScope,
        referrerTypes: inputs.referrerTypes,
        overwrite: inputs.overwrite,
        removeStrayReferrersTags: inputs.removeStrayReferrersTags,
        discoverReferrers: inputs.discoverReferrers,
      },
      {
        logger: log,
        concurrency: inputs.concurrency,
        verify: inputs.verify,
        maxReferrers: inputs.maxReferrers,
      },
    );
    const result = await promoting.finally(() => lazyCore.endGroup());
    const core = await lazyCore.load();
    const traffic = client.traffic();
    const warnings = rateLimitWarnings(traffic);
    for (const w of warnings) core.warning(w);
    warnings.push(...(await setOutputs(core, result)));
    if (process.env['GITHUB_STEP_SUMMARY']) {
      // @actions/github and the summary's renderer are loaded here, after the work, not at start
      // (see github-context.ts); ncc keeps them in the bundle ("eager").
      const runUrl = (await runIdentity().catch(() => undefined))?.runUrl;
      const { renderSummary } = await import(/* webpackMode: "eager" */ './summary.js');
      // The promotion is done and its outputs are set: a summary that cannot be written is a warning.
      await core.summary
        .addRaw(renderSummary(result, { traffic, warnings, ...(runUrl && { runUrl }) }))
        .write()
        .catch((err: unknown) =>
          core.warning(`Could not write the job summary to ${process.env['GITHUB_STEP_SUMMARY']} (${reasonOf(err)})`),
        );
    }
  } catch (err) {
    const core = await lazyCore.load();
    if (err instanceof UserFacingError) {
      core.setFailed(await explain(core, err, { inputs: parsedInputs, credentials }));
    } else {
      core.debug(err instanceof Error ? (err.stack ?? err.message) : String(err));
      core.setFailed(`Unexpected error: ${err instanceof Error ? err.message : String(err)}`);
    }
  } finally {
    stopGarbageBound();
    const trace = client?.requestTrace();
    if (trace) await (await import(/* webpackMode: "eager" */ './trace.js')).publishTrace(trace);
    await client?.close();
  }
}

/**
 * The outputs, each list complete in a file under RUNNER_TEMP (the runner empties it after the
 * job) and inline within GitHub's limits; a shortened list is announced with a warning.
 */
async function setOutputs(core: Core, result: PromotionResult): Promise<string[]> {
  const base = process.env['RUNNER_TEMP'] || tmpdir();
  let plan: OutputPlan;
  try {
    const dir = await mkdtemp(join(base, 'oci-promote-'));
    plan = planOutputs(result, { dir });
    await Promise.all(plan.files.map((f) => writeFile(f.path, f.content)));
  } catch (err) {
    const reason = reasonOf(err);
    throw new OutputFileError(
      `Could not write the outputs' files under ${base} (${reason}); the promotion itself is done`,
      {
        cause: err,
      },
    );
  }
  for (const w of plan.warnings) core.warning(w);
  try {
    for (const [name, value] of Object.entries(plan.outputs)) core.setOutput(name, value);
  } catch (err) {
    throw new OutputFileError(
      `Could not write the step outputs to ${process.env['GITHUB_OUTPUT']} (${reasonOf(err)}); the promotion itself is done`,
      { cause: err },
    );
  }
  return plan.warnings;
}

/** What went wrong with a file, in a word where the system gives one (ENOSPC, EACCES, EISDIR). */
function reasonOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

/** The error as users read it; a push that GitHub's container registry refused gets a diagnosis. */
async function explain(
  core: Core,
  err: UserFacingError,
  run: { inputs: ActionInputs | undefined; credentials: CredentialChain | undefined },
): Promise<string> {
  if (!run.inputs || !(err instanceof RegistryError) || !mayBeGithubRegistry(err.registry)) return err.message;
  const identity = await runIdentity().catch(() => undefined);
  const { explainRefusedPush, isRefusedContainerPush } = await import(/* webpackMode: "eager" */ './ghcr-diagnosis.js');
  if (!identity || !isRefusedContainerPush(err, identity.containerRegistry)) return err.message;
  const credentialSource = run.credentials?.sourceOf(err.registry);
  const token = run.inputs.githubToken;
  return core.group('Diagnose the refused push with the GitHub API', () =>
    explainRefusedPush(err, {
      identity,
      ...(token && { token }),
      ...(credentialSource && { credentialSource }),
    }),
  );
}
