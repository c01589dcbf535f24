/**
 * No password, token or Docker config secret reaches a log line (debug lines included), an
 * output, the job summary or an error message: the built action runs against real registries
 * with token auth and Basic auth, in success and failure, and everything it wrote is scanned
 * for every credential and for every token the token server issued.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushArtifact, pushImage, writeReferrersTagIndex } from '../support/oci-seed.js';
import { startDistribution, type RunningRegistry } from '../support/registries.js';
import { runAction, type ActionRun } from '../support/run-action.js';

let tokenRegistry: RunningRegistry;
let basicRegistry: RunningRegistry;
let configDir: string;
const PASSWORDS = ['pusher-secret', 'puller-secret', 'basic-user-secret', 'wrong-password-secret'];
const runs: ActionRun[] = [];
/** Tokens the seeding of the tests asked for, before the action ran. */
let seededTokens = 0;

beforeAll(async () => {
  tokenRegistry = await startDistribution({ auth: 'token' });
  basicRegistry = await startDistribution({
    auth: 'htpasswd',
    users: [{ username: 'basic-user', password: 'basic-user-secret' }],
  });
  configDir = await mkdtemp(join(tmpdir(), 'docker-config-'));
  await writeFile(
    join(configDir, 'config.json'),
    JSON.stringify({
      auths: { [basicRegistry.host]: { auth: Buffer.from('basic-user:basic-user-secret').toString('base64') } },
    }),
  );
  const t = tokenRegistry.target('app');
  const image = await pushImage(t, 'rc', { seed: 'secrets' });
  const sig = await pushArtifact(t, image.descriptor, 'application/vnd.dev.sigstore.bundle.v0.3+json');
  await writeReferrersTagIndex(t, image.digest, [sig.descriptor]);
});
afterAll(async () => {
  await tokenRegistry?.stop();
  await basicRegistry?.stop();
  await rm(configDir, { recursive: true, force: true });
});

const base = () => ({ 'plain-http': 'true', source: `${tokenRegistry.host}/app:rc` });
/** Debug lines (::debug::) are part of stdout whether or not the runner shows them. */
const env = () => ({ DOCKER_CONFIG: configDir, RUNNER_DEBUG: '1', ACTIONS_STEP_DEBUG: 'true' });

describe('secrets', () => {
  it('runs the action in success and failure', async () => {
    seededTokens = tokenRegistry.tokenServer!.issuedTokens().length;
    runs.push(
      await runAction({ ...base(), targets: '1.0, latest', username: 'pusher', password: 'pusher-secret' }, env()),
    );
    expect(runs.at(-1)!.code).toBe(0);
    // Into another registry, credentials from the Docker config there.
    runs.push(
      await runAction(
        { ...base(), targets: `${basicRegistry.host}/mirror/app:1.0`, username: 'pusher', password: 'pusher-secret' },
        env(),
      ),
    );
    expect(runs.at(-1)!.code).toBe(0);
    // Pull-only credentials trying to push.
    runs.push(await runAction({ ...base(), targets: '2.0', username: 'puller', password: 'puller-secret' }, env()));
    expect(runs.at(-1)!.code).toBe(1);
    // A wrong password.
    runs.push(
      await runAction({ ...base(), targets: '3.0', username: 'pusher', password: 'wrong-password-secret' }, env()),
    );
    expect(runs.at(-1)!.code).toBe(1);
    expect(tokenRegistry.tokenServer!.issuedTokens().length).toBeGreaterThan(2);
  });

  it('finds no credential and no issued token in anything the action wrote', () => {
    const secrets = [
      ...PASSWORDS,
      ...PASSWORDS.flatMap((p) =>
        ['pusher', 'puller', 'basic-user'].map((u) => Buffer.from(`${u}:${p}`).toString('base64')),
      ),
      ...tokenRegistry.tokenServer!.issuedTokens(),
    ];
    expect(runs).toHaveLength(4);
    const leaks: string[] = [];
    for (const [i, run] of runs.entries()) {
      // The masking commands themselves carry the secret to the runner, by design.
      const stdout = run.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n');
      const written = { stdout, stderr: run.stderr, outputs: JSON.stringify(run.outputs), summary: run.summary };
      for (const [where, text] of Object.entries(written)) {
        for (const secret of secrets)
          if (text.includes(secret)) leaks.push(`run ${i + 1} ${where}: ${secret.slice(0, 6)}…`);
        if (/authorization:|bearer [a-z0-9]/i.test(text)) leaks.push(`run ${i + 1} ${where}: an Authorization header`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('masks every token as soon as it is known', () => {
    const masked = new Set(
      runs.flatMap((r) =>
        r.stdout
          .split('\n')
          .filter((l) => l.startsWith('::add-mask::'))
          .map((l) => l.slice(12)),
      ),
    );
    const issued = tokenRegistry.tokenServer!.issuedTokens().slice(seededTokens);
    expect(issued.length).toBeGreaterThan(2);
    for (const token of issued) expect(masked.has(token)).toBe(true);
  });
});
