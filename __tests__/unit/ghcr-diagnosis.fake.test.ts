/**
 * The diagnosis of a push that ghcr.io refused, against a stand-in for the GitHub REST API on
 * loopback (GITHUB_API_URL points at it): no real GitHub can be asked from the tests. Each test
 * gives the answers GitHub documents for the Packages endpoints (a package as its schema has
 * it, 404 for a package that does not exist or that the token may not see, 403 "Resource not
 * accessible by integration" with X-Accepted-GitHub-Permissions, 401 "Bad credentials",
 * X-OAuth-Scopes for a personal access token (classic)) and checks what the error then says.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { explainRefusedPush } from '../../src/action/ghcr-diagnosis.js';
import { runIdentity, type RunIdentity } from '../../src/action/github-context.js';
import { RegistryError } from '../../src/registry/errors.js';

const TOKEN = 'ghs_diagnosis-test-token-0123456789';

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer (to check the timeout). */
  hang?: boolean;
}

let server: Server;
let answers: Record<string, Answer> = {};
let seen: { path: string; authorization: string | undefined }[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const answer = answers[req.url ?? ''] ?? {
      status: 404,
      body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' },
    };
    if (answer.hang) return;
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
    res.end(JSON.stringify(answer.body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // What the runner sets; @actions/github's context reads them when it is first loaded.
  process.env['GITHUB_API_URL'] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env['GITHUB_SERVER_URL'] = 'https://github.com';
  process.env['GITHUB_REPOSITORY'] = 'acme/app';
  process.env['GITHUB_ACTOR'] = 'octocat';
  process.env['GITHUB_RUN_ID'] = '42';
  delete process.env['GITHUB_EVENT_PATH'];
});
afterAll(async () => {
  process.env = saved;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  answers = {};
  seen = [];
});

const refused = (reference = 'ghcr.io/acme/app:1.2.3', registry = 'ghcr.io') =>
  new RegistryError(
    {
      registry,
      operation: 'push manifest',
      reference,
      method: 'PUT',
      status: 403,
      errors: [{ code: 'DENIED', message: 'permission_denied: write_package' }],
    },
    `Check that the credentials for ${registry} may push to acme/app`,
  );

async function explain(
  options: { token?: string; source?: 'docker-config' | 'github-token'; timeoutMs?: number } = {},
) {
  const identity: RunIdentity = await runIdentity();
  const message = await explainRefusedPush(refused(), {
    identity,
    ...(options.token !== '' && { token: options.token ?? TOKEN }),
    credentialSource: options.source ?? 'github-token',
    ...(options.timeoutMs && { timeoutMs: options.timeoutMs }),
  });
  // The registry's own error always comes first; the token never appears.
  expect(message.startsWith(refused().message)).toBe(true);
  expect(message).not.toContain(TOKEN);
  for (const s of seen) expect(s.authorization).toBe(`token ${TOKEN}`);
  return message;
}

const org = (login: string) => ({ status: 200, body: { login, id: 1, type: 'Organization' } });
const user = (login: string) => ({ status: 200, body: { login, id: 2, type: 'User' } });
const containerPackage = (owner: { login: string; type: string }, repository?: string, visibility = 'private') => ({
  status: 200,
  body: {
    id: 197,
    name: 'app',
    package_type: 'container',
    owner: { login: owner.login, id: 9, type: owner.type },
    version_count: 3,
    visibility,
    url: `https://api.github.com/orgs/${owner.login}/packages/container/app`,
    created_at: '2025-04-10T20:05:17Z',
    updated_at: '2025-04-10T20:05:17Z',
    ...(repository && { repository: { id: 5, name: repository.split('/')[1], full_name: repository } }),
    html_url: `https://github.com/orgs/${owner.login}/packages/container/package/app`,
  },
});
const notAccessible = {
  status: 403,
  body: {
    message: 'Resource not accessible by integration',
    documentation_url: 'https://docs.github.com/rest/packages/packages#get-a-package-for-an-organization',
    status: '403',
  },
  headers: { 'x-accepted-github-permissions': 'packages=read' },
};

describe('diagnosis of a push ghcr.io refused, from the GitHub API (stand-in)', () => {
  it('without a token asks nothing and says that no diagnosis was possible', async () => {
    const message = await explain({ token: '' });
    expect(message).toMatch(/No diagnosis was possible: no github-token/);
    expect(seen).toEqual([]);
  });

  it('a package of this repository: the job needs permissions packages: write', async () => {
    answers['/users/acme'] = org('acme');
    answers['/orgs/acme/packages/container/app'] = containerPackage(
      { login: 'acme', type: 'Organization' },
      'acme/app',
    );
    const message = await explain();
    expect(seen.map((s) => s.path)).toEqual(['/users/acme', '/orgs/acme/packages/container/app']);
    expect(message).toContain(
      'The GitHub API shows the package acme/app: owned by the organization acme, private, connected to the repository acme/app.',
    );
    expect(message).toContain('add `permissions: packages: write` to the job');
  });

  it('a package of another repository of the same owner: grant this repository write access under Manage Actions access', async () => {
    answers['/users/acme'] = org('acme');
    answers['/orgs/acme/packages/container/app'] = containerPackage(
      { login: 'acme', type: 'Organization' },
      'acme/builder',
    );
    const message = await explain();
    expect(message).toContain('connected to the repository acme/builder');
    expect(message).toContain(
      'It belongs to another repository than acme/app: the package must grant acme/app the Write role under "Manage Actions access" in its settings (https://github.com/orgs/acme/packages/container/package/app)',
    );
  });

  it('a package of another owner: the GITHUB_TOKEN cannot write there', async () => {
    answers['/users/acme'] = user('acme');
    answers['/users/acme/packages/container/app'] = containerPackage({ login: 'acme', type: 'User' }, 'acme/tools');
    process.env['GITHUB_REPOSITORY'] = 'acme/app';
    const identity = { ...(await runIdentity()), repository: { owner: 'widgets', repo: 'app' } };
    const message = await explainRefusedPush(refused(), { identity, token: TOKEN, credentialSource: 'github-token' });
    expect(seen.map((s) => s.path)).toEqual(['/users/acme', '/users/acme/packages/container/app']);
    expect(message).toContain('owned by the user acme');
    expect(message).toContain('It belongs to another owner: acme, not widgets');
    expect(message).not.toContain(TOKEN);
  });

  it('no package visible (404): it does not exist or the token may not see it, and what to do in either case', async () => {
    answers['/users/acme'] = org('acme');
    const message = await explain();
    expect(seen.map((s) => s.path)).toEqual(['/users/acme', '/orgs/acme/packages/container/app']);
    expect(message).toContain(
      'The GitHub API shows this token no package app of the organization acme (HTTP 404: it does not exist, or this token may not see it).',
    );
    expect(message).toContain(
      'If it does not exist yet, the push creates it, and the job needs `permissions: packages: write`',
    );
    expect(message).toContain('give acme/app the Write role');
  });

  it("a user's private package seen through /user with a classic token that lacks write:packages", async () => {
    answers['/users/acme'] = { ...user('acme'), headers: { 'x-oauth-scopes': 'repo, read:packages' } };
    answers['/user/packages/container/app'] = {
      ...containerPackage({ login: 'acme', type: 'User' }, 'acme/app'),
      headers: { 'x-oauth-scopes': 'repo, read:packages' },
    };
    const message = await explain();
    expect(seen.map((s) => s.path)).toEqual([
      '/users/acme',
      '/users/acme/packages/container/app',
      '/user/packages/container/app',
    ]);
    expect(message).toContain('owned by the user acme, private');
    expect(message).toContain(
      'The github-token is a personal access token (classic) with the scopes repo, read:packages, without write:packages',
    );
  });

  it('/user answering with a package of another user is not taken for this one', async () => {
    answers['/users/acme'] = user('acme');
    answers['/user/packages/container/app'] = containerPackage({ login: 'someone-else', type: 'User' }, 'x/y');
    const message = await explain();
    expect(message).toContain('shows this token no package app of the user acme');
    expect(message).not.toContain('someone-else');
  });

  it('an owner the API does not know (404 on /users)', async () => {
    const message = await explain();
    expect(seen.map((s) => s.path)).toEqual(['/users/acme']);
    expect(message).toContain("The GitHub API knows no user or organization 'acme'");
  });

  it('the API refuses the token (403 Resource not accessible by integration): no diagnosis, and what it accepts', async () => {
    answers['/users/acme'] = org('acme');
    answers['/orgs/acme/packages/container/app'] = notAccessible;
    const message = await explain();
    expect(message).toBe(
      `${refused().message}. No diagnosis was possible: the GitHub API answered HTTP 403 (Resource not accessible by integration); it accepts a token with packages=read`,
    );
  });

  it('a token the API does not take (401 Bad credentials): no diagnosis', async () => {
    answers['/users/acme'] = {
      status: 401,
      body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' },
    };
    const message = await explain();
    expect(message).toBe(
      `${refused().message}. No diagnosis was possible: the GitHub API answered HTTP 401 (Bad credentials)`,
    );
  });

  it('an API that does not answer: gives up after the timeout', async () => {
    answers['/users/acme'] = { status: 200, hang: true };
    const started = Date.now();
    const message = await explain({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(message).toContain('No diagnosis was possible: the GitHub API did not answer within 0.3 s');
  });

  it('a push made with the Docker config credentials: says those may not write, not the GITHUB_TOKEN advice', async () => {
    answers['/users/acme'] = org('acme');
    answers['/orgs/acme/packages/container/app'] = containerPackage(
      { login: 'acme', type: 'Organization' },
      'acme/app',
    );
    const message = await explain({ source: 'docker-config' });
    expect(message).toContain(
      'The push used the credentials the Docker config holds for ghcr.io (docker/login-action)',
    );
    expect(message).not.toContain('permissions: packages: write');
  });

  it('names a nested package with its slash encoded', async () => {
    answers['/users/acme'] = org('acme');
    answers['/orgs/acme/packages/container/app%2Fworker'] = containerPackage(
      { login: 'acme', type: 'Organization' },
      'acme/app',
    );
    const message = await explainRefusedPush(refused('ghcr.io/acme/app/worker@sha256:' + 'a'.repeat(64)), {
      identity: await runIdentity(),
      token: TOKEN,
      credentialSource: 'github-token',
    });
    expect(seen.map((s) => s.path)).toContain('/orgs/acme/packages/container/app%2Fworker');
    expect(message).toContain('The GitHub API shows the package acme/app/worker');
  });
});
