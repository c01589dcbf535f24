/**
 * Who runs this step, and where: the workflow's actor, repository and run, the GitHub server
 * and its container registry, from `@actions/github`'s context.
 *
 * `@actions/github` exports its context only from the module that also sets up Octokit with its
 * REST endpoint table. Imported at start it cost about 48 ms of CPU before the first registry
 * request (scripts/startup-time.mjs: 85 → 133 ms on the main thread); nothing here is needed
 * that early. So it is imported once, on first use (about 6 ms then), and ncc keeps it in the
 * one bundle ("eager": a separate chunk would lose its licences from licenses.txt) without
 * evaluating it before that.
 */
import { UserFacingError } from '../oci/user-facing-error.js';

type GithubModule = typeof import('@actions/github');
type Context = GithubModule['context'];

export interface RunIdentity {
  /** The login that started the run (`github.actor`). */
  actor?: string;
  /** `https://github.com`, or a GitHub Enterprise Server's URL. */
  serverUrl: string;
  /** The REST API's base URL (`https://api.github.com`, or `https://<host>/api/v3`). */
  apiUrl: string;
  /** The workflow's repository. */
  repository?: { owner: string; repo: string };
  /** A link to this run's page, when the run is known. */
  runUrl?: string;
  /** The container registry of this GitHub: `ghcr.io`, or `containers.<host>` on GitHub Enterprise Server. */
  containerRegistry: string;
}

/**
 * GitHub's container registry for a server URL: `ghcr.io` for github.com; on GitHub Enterprise
 * Server (which serves it only with subdomain isolation) `containers.<hostname>`.
 */
export function containerRegistryFor(serverUrl: string): string {
  let host: string;
  try {
    host = new URL(serverUrl).hostname.toLowerCase();
  } catch {
    return 'ghcr.io';
  }
  return host === 'github.com' || host === '' ? 'ghcr.io' : `containers.${host}`;
}

/** Whether a registry host can be GitHub's (`ghcr.io`, `containers.<host>`), without loading anything. */
export function mayBeGithubRegistry(registry: string): boolean {
  return registry === 'ghcr.io' || registry.startsWith('containers.');
}

/** The identity as the context describes it; a missing variable leaves its field out. */
export function identityFrom(
  context: Pick<Context, 'actor' | 'serverUrl' | 'apiUrl' | 'runId'> & { readonly repo: Context['repo'] },
): RunIdentity {
  let repository: RunIdentity['repository'];
  try {
    // The getter throws when neither GITHUB_REPOSITORY nor an event payload names one.
    const { owner, repo } = context.repo;
    if (owner && repo) repository = { owner, repo };
  } catch {
    repository = undefined;
  }
  const serverUrl = context.serverUrl.replace(/\/+$/, '');
  return {
    ...(context.actor && { actor: context.actor }),
    serverUrl,
    apiUrl: context.apiUrl.replace(/\/+$/, ''),
    ...(repository && { repository }),
    ...(repository &&
      Number.isSafeInteger(context.runId) &&
      context.runId > 0 && {
        runUrl: `${serverUrl}/${repository.owner}/${repository.repo}/actions/runs/${context.runId}`,
      }),
    containerRegistry: containerRegistryFor(serverUrl),
  };
}

/** The run's context could not be read: the environment's doing, not the action's. */
export class GithubContextError extends UserFacingError {}

let github: Promise<GithubModule> | undefined;

/**
 * `@actions/github`, imported once, on first use (it carries Octokit). Its context reads the
 * workflow's event payload as it loads: a file that is not JSON fails the import.
 */
export function loadGithub(): Promise<GithubModule> {
  github ??= import(/* webpackMode: "eager" */ '@actions/github').catch((err: unknown) => {
    const payload = process.env['GITHUB_EVENT_PATH'];
    throw new GithubContextError(
      `Could not read the workflow run's context (@actions/github)${payload ? ` from its event payload GITHUB_EVENT_PATH ${payload}` : ''}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  });
  return github;
}

let identity: Promise<RunIdentity> | undefined;

/** This run's identity; the first call starts loading `@actions/github`, later calls share it. */
export function runIdentity(): Promise<RunIdentity> {
  identity ??= loadGithub().then(({ context }) => identityFrom(context));
  return identity;
}
