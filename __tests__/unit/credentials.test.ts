import { describe, expect, it } from '@jest/globals';
import { credentialResolver } from '../../src/action/credentials.js';
import { parseReference } from '../../src/oci/reference.js';

const dockerConfig = async (registry: string) =>
  registry === 'docker.io' ? { username: 'hub', password: 'hub-pass' } : undefined;

describe('credentialResolver', () => {
  it('sends input credentials to the source registry only', async () => {
    const resolve = credentialResolver(
      { source: parseReference('registry.example.com/a:rc'), credentials: { username: 'u', password: 'p' } },
      dockerConfig,
      'octocat',
    );
    expect(await resolve('registry.example.com')).toEqual({ username: 'u', password: 'p' });
    expect(await resolve('docker.io')).toEqual({ username: 'hub', password: 'hub-pass' });
    expect(await resolve('quay.io')).toBeUndefined();
  });

  it('falls back to the GitHub token with the actor for ghcr.io only', async () => {
    const resolve = credentialResolver(
      { source: parseReference('ghcr.io/acme/app:rc'), githubToken: 'ghs_token' },
      dockerConfig,
      'octocat',
    );
    expect(await resolve('ghcr.io')).toEqual({ username: 'octocat', password: 'ghs_token' });
    expect(await resolve('quay.io')).toBeUndefined();
  });

  it('prefers what docker/login-action stored, and the inputs, over the GitHub token', async () => {
    const config = async (registry: string) =>
      registry === 'ghcr.io' ? { username: 'bot', password: 'pat' } : undefined;
    expect(
      await credentialResolver(
        { source: parseReference('ghcr.io/a:rc'), githubToken: 't' },
        config,
        'octocat',
      )('ghcr.io'),
    ).toEqual({ username: 'bot', password: 'pat' });
    expect(
      await credentialResolver(
        { source: parseReference('ghcr.io/a:rc'), githubToken: 't', credentials: { username: 'in', password: 'put' } },
        config,
        'octocat',
      )('ghcr.io'),
    ).toEqual({ username: 'in', password: 'put' });
  });
});
