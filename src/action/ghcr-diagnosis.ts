/**
 * Why did GitHub's container registry refuse a push? The registry only says `DENIED`; the
 * GitHub REST API (Packages) can say whether the package exists, who owns it, which repository
 * it belongs to, and whether the token may see it. This asks it with the `github-token` input
 * and turns the answers into what to change. It says only what the API answered; where the API
 * cannot be asked or refuses, it says that no diagnosis was possible.
 *
 * Endpoints (REST API "Packages", package type `container`):
 * - `GET /users/{owner}`: whether the namespace is a user or an organization;
 * - `GET /orgs/{org}/packages/container/{name}` or `GET /users/{user}/packages/container/{name}`;
 * - `GET /user/packages/container/{name}` for a user's private package seen with that user's token.
 * A package the token may not see answers 404, as one that does not exist ("404 Not Found for an
 * existing resource", REST API troubleshooting). A token the endpoint does not accept answers 401
 * or 403, with `X-Accepted-GitHub-Permissions` naming what it needs; a personal access token
 * (classic) gets its scopes back in `X-OAuth-Scopes`.
 */
import type { CredentialSource } from './credentials.js';
import { loadGithub, type RunIdentity } from './github-context.js';
import { RegistryError } from '../registry/errors.js';

/** The diagnosis is an afterthought to a failed run: it never waits long. */
export const DEFAULT_DIAGNOSIS_TIMEOUT_MS = 5000;

export interface DiagnosisOptions {
  identity: Pick<RunIdentity, 'apiUrl' | 'repository' | 'containerRegistry'>;
  /** The `github-token` input; without one nothing is asked. */
  token?: string;
  /** Where the credentials the push used came from. */
  credentialSource?: CredentialSource;
  timeoutMs?: number;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A write to GitHub's container registry that the registry refused (401, 403 or `DENIED`). */
export function isRefusedContainerPush(err: unknown, containerRegistry: string): err is RegistryError {
  return (
    err instanceof RegistryError &&
    err.registry === containerRegistry &&
    WRITE_METHODS.has(err.method) &&
    (err.status === 401 || err.status === 403 || err.errors.some((e) => e.code === 'DENIED'))
  );
}

/** `ghcr.io/acme/app/sub:1.2.3` → owner `acme`, package `app/sub`. */
export function packageOf(err: Pick<RegistryError, 'registry' | 'reference'>): { owner: string; name: string } {
  const path = err.reference.slice(err.registry.length + 1).replace(/[@:].*$/, '');
  const slash = path.indexOf('/');
  return { owner: path.slice(0, slash), name: path.slice(slash + 1) };
}

interface Answer {
  status: number;
  data: Record<string, unknown>;
  headers: Record<string, string | undefined>;
}

/** Text from the API, flattened and cut, before it goes into an error message. */
function printable(value: unknown, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const controls = /[\u0000-\u001f\u007f]+/g;
  return String(value ?? '')
    .replace(controls, ' ')
    .slice(0, max);
}

/** Why the API could not help, said plainly; the registry's own error stays as it was. */
class NoDiagnosis extends Error {}

/**
 * The registry's error, followed by what the GitHub API says about the package and what to
 * change. Never throws; never includes the token.
 */
export async function explainRefusedPush(err: RegistryError, options: DiagnosisOptions): Promise<string> {
  try {
    return `${err.message}. ${await diagnose(err, options)}`;
  } catch (e) {
    const why = e instanceof NoDiagnosis ? e.message : 'the GitHub API answered in a way this action cannot read';
    return `${err.message}. No diagnosis was possible: ${why}`;
  }
}

async function diagnose(err: RegistryError, options: DiagnosisOptions): Promise<string> {
  if (!options.token) throw new NoDiagnosis('no github-token to ask the GitHub API about the package');
  const { owner, name } = packageOf(err);
  const timeoutMs = options.timeoutMs ?? DEFAULT_DIAGNOSIS_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const { getOctokit } = await loadGithub();
  const octokit = getOctokit(options.token, { baseUrl: options.identity.apiUrl, request: { signal } });
  const ask = async (call: () => Promise<{ status: number; data: unknown; headers: object }>): Promise<Answer> => {
    try {
      const res = await call();
      return {
        status: res.status,
        data: (res.data ?? {}) as Answer['data'],
        headers: res.headers as Answer['headers'],
      };
    } catch (e) {
      const res = (e as { response?: { status: number; data: unknown; headers: object } }).response;
      if (res && typeof res.status === 'number') {
        const data = typeof res.data === 'object' && res.data !== null ? res.data : {};
        return { status: res.status, data: data as Answer['data'], headers: res.headers as Answer['headers'] };
      }
      if (signal.aborted) throw new NoDiagnosis(`the GitHub API did not answer within ${timeoutMs / 1000} s`);
      throw new NoDiagnosis(`the GitHub API at ${new URL(options.identity.apiUrl).host} could not be reached`);
    }
  };

  const account = await ask(() => octokit.rest.users.getByUsername({ username: owner }));
  if (account.status === 404) {
    return `The GitHub API knows no user or organization '${owner}', so ${err.registry}/${owner}/${name} cannot exist: check the target reference.`;
  }
  if (account.status !== 200) throw new NoDiagnosis(refusal(account));
  const isOrg = account.data['type'] === 'Organization';
  const kind = isOrg ? 'organization' : 'user';
  let pkg = await ask(() =>
    isOrg
      ? octokit.rest.packages.getPackageForOrganization({ org: owner, package_type: 'container', package_name: name })
      : octokit.rest.packages.getPackageForUser({ username: owner, package_type: 'container', package_name: name }),
  );
  if (!isOrg && pkg.status === 404) {
    // A user's private package is listed only to that user's own token, under /user.
    const mine = await ask(() =>
      octokit.rest.packages.getPackageForAuthenticatedUser({ package_type: 'container', package_name: name }),
    );
    const login = (mine.data['owner'] as { login?: unknown } | undefined)?.login;
    if (mine.status === 200 && typeof login === 'string' && login.toLowerCase() === owner.toLowerCase()) pkg = mine;
  }
  if (pkg.status !== 200 && pkg.status !== 404) throw new NoDiagnosis(refusal(pkg));

  const scopes = pkg.headers['x-oauth-scopes'] ?? account.headers['x-oauth-scopes'];
  const facts =
    pkg.status === 200 ? describePackage(pkg.data, { owner, name, kind }) : describeMissing({ owner, name, kind });
  return `${facts} ${advise({ pkg, owner, name, scopes, options })}`;
}

function refusal(answer: Answer): string {
  const message = printable(answer.data['message']);
  const needs = answer.headers['x-accepted-github-permissions'];
  return `the GitHub API answered HTTP ${answer.status}${message ? ` (${message})` : ''}${
    needs ? `; it accepts a token with ${printable(needs)}` : ''
  }`;
}

function describePackage(data: Answer['data'], at: { owner: string; name: string; kind: string }): string {
  const owner = data['owner'] as { login?: unknown; type?: unknown } | undefined;
  const login = typeof owner?.login === 'string' ? printable(owner.login) : at.owner;
  const kind = owner?.type === 'Organization' ? 'organization' : owner?.type === 'User' ? 'user' : at.kind;
  const repository = (data['repository'] as { full_name?: unknown } | null | undefined)?.full_name;
  const visibility = typeof data['visibility'] === 'string' ? `${printable(data['visibility'])}, ` : '';
  return `The GitHub API shows the package ${login}/${at.name}: owned by the ${kind} ${login}, ${visibility}${
    typeof repository === 'string'
      ? `connected to the repository ${printable(repository)}`
      : 'connected to no repository'
  }.`;
}

function describeMissing(at: { owner: string; name: string; kind: string }): string {
  return `The GitHub API shows this token no package ${at.name} of the ${at.kind} ${at.owner} (HTTP 404: it does not exist, or this token may not see it).`;
}

function advise(args: {
  pkg: Answer;
  owner: string;
  name: string;
  scopes: string | undefined;
  options: DiagnosisOptions;
}): string {
  const { pkg, owner, name, scopes, options } = args;
  const registry = options.identity.containerRegistry;
  if (options.credentialSource === 'docker-config' || options.credentialSource === 'inputs') {
    const which =
      options.credentialSource === 'inputs'
        ? 'the username/password inputs'
        : `the credentials the Docker config holds for ${registry} (docker/login-action)`;
    return `The push used ${which}, not the github-token: that account or token may not write to ${owner}/${name} (a personal access token (classic) needs the write:packages scope, and its user write access to the package).`;
  }
  if (scopes !== undefined) {
    // Only personal access tokens (classic) and OAuth tokens get this header.
    const list = scopes
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!list.includes('write:packages')) {
      return `The github-token is a personal access token (classic) with the scopes ${
        list.length ? printable(list.join(', ')) : '(none)'
      }, without write:packages, which a push needs: give it that scope.`;
    }
  }
  const wf = options.identity.repository;
  if (!wf) {
    return `Give the github-token write access to ${owner}/${name}: a workflow's GITHUB_TOKEN needs \`permissions: packages: write\`, and the package must grant the workflow's repository the Write role under "Manage Actions access".`;
  }
  const workflowRepo = `${wf.owner}/${wf.repo}`;
  const packageOwner =
    pkg.status === 200 && typeof (pkg.data['owner'] as { login?: unknown } | undefined)?.login === 'string'
      ? ((pkg.data['owner'] as { login: string }).login as string)
      : owner;
  if (packageOwner.toLowerCase() !== wf.owner.toLowerCase()) {
    return `It belongs to another owner: ${printable(packageOwner)}, not ${wf.owner}, which owns this workflow's repository ${workflowRepo}. The workflow's GITHUB_TOKEN only writes packages of ${wf.owner}: push with credentials that may write to ${printable(packageOwner)}'s packages (a docker/login-action step for ${registry} before this one).`;
  }
  if (pkg.status === 404) {
    return `If it does not exist yet, the push creates it, and the job needs \`permissions: packages: write\`. If it exists, it does not grant ${workflowRepo} access: give ${workflowRepo} the Write role under "Manage Actions access" in the package's settings.`;
  }
  const repository = (pkg.data['repository'] as { full_name?: unknown } | null | undefined)?.full_name;
  const settings = typeof pkg.data['html_url'] === 'string' ? ` (${printable(pkg.data['html_url'], 300)})` : '';
  if (typeof repository === 'string' && repository.toLowerCase() === workflowRepo.toLowerCase()) {
    return `It belongs to this workflow's repository, so the job's GITHUB_TOKEN lacks the permission to write packages: add \`permissions: packages: write\` to the job (a \`permissions\` block without \`packages\` gives none), and check that ${workflowRepo} keeps the Write or Admin role under the package's "Manage Actions access"${settings}.`;
  }
  return `It belongs to another repository than ${workflowRepo}: the package must grant ${workflowRepo} the Write role under "Manage Actions access" in its settings${settings}, and the job needs \`permissions: packages: write\`.`;
}
