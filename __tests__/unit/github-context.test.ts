import { describe, expect, it } from '@jest/globals';
import { containerRegistryFor, identityFrom, mayBeGithubRegistry } from '../../src/action/github-context.js';

const context = (env: {
  repo?: { owner: string; repo: string };
  serverUrl?: string;
  runId?: number;
  actor?: string;
}) => ({
  actor: env.actor ?? '',
  serverUrl: env.serverUrl ?? 'https://github.com',
  apiUrl: 'https://api.github.com',
  runId: env.runId ?? NaN,
  get repo() {
    if (!env.repo) throw new Error("context.repo requires a GITHUB_REPOSITORY environment variable like 'owner/repo'");
    return env.repo;
  },
});

describe('the run identity from @actions/github context', () => {
  it.each([
    ['https://github.com', 'ghcr.io'],
    ['https://github.com/', 'ghcr.io'],
    ['https://github.example.com', 'containers.github.example.com'],
    ['https://GHES.Example.com:8443', 'containers.ghes.example.com'],
    ['https://acme.ghe.com', 'containers.acme.ghe.com'],
    ['not a url', 'ghcr.io'],
  ])('server %s has its container registry at %s', (serverUrl, registry) => {
    expect(containerRegistryFor(serverUrl)).toBe(registry);
  });

  it('links to the run when repository and run id are known', () => {
    expect(identityFrom(context({ repo: { owner: 'acme', repo: 'app' }, runId: 42, actor: 'octocat' }))).toEqual({
      actor: 'octocat',
      serverUrl: 'https://github.com',
      apiUrl: 'https://api.github.com',
      repository: { owner: 'acme', repo: 'app' },
      runUrl: 'https://github.com/acme/app/actions/runs/42',
      containerRegistry: 'ghcr.io',
    });
    expect(
      identityFrom(context({ repo: { owner: 'acme', repo: 'app' }, runId: 7, serverUrl: 'https://git.corp.example/' }))
        .runUrl,
    ).toBe('https://git.corp.example/acme/app/actions/runs/7');
  });

  it('outside a workflow (no repository, no run id) gives no link and no actor', () => {
    const id = identityFrom(context({}));
    expect(id.runUrl).toBeUndefined();
    expect(id.repository).toBeUndefined();
    expect(id.actor).toBeUndefined();
    expect(identityFrom(context({ repo: { owner: 'acme', repo: 'app' } })).runUrl).toBeUndefined();
  });

  it('tells GitHub registry names from others without loading anything', () => {
    expect(mayBeGithubRegistry('ghcr.io')).toBe(true);
    expect(mayBeGithubRegistry('containers.github.example.com')).toBe(true);
    expect(mayBeGithubRegistry('docker.io')).toBe(false);
    expect(mayBeGithubRegistry('127.0.0.1:5000')).toBe(false);
  });
});
