import { describe, expect, it } from '@jest/globals';
import { CredentialChain } from '../../src/action/credentials.js';
import { parseReference } from '../../src/oci/reference.js';

const dockerConfig = async (registry: string) =>
  registry === 'docker.io' ? { username: 'hub', password: 'hub-pass' } : undefined;
const onGithub = async () => ({ actor: 'octocat', containerRegistry: 'ghcr.io' });

describe('CredentialChain', () => {
  it('sends input credentials to the source registry only', async () => {
    const chain = new CredentialChain({
      inputs: { source: parseReference('registry.example.com/a:rc'), credentials: { username: 'u', password: 'p' } },
      dockerConfig,
      identity: onGithub,
    });
    expect(await chain.resolve('registry.example.com')).toEqual({ username: 'u', password: 'p' });
    expect(await chain.resolve('docker.io')).toEqual({ username: 'hub', password: 'hub-pass' });
    expect(await chain.resolve('quay.io')).toBeUndefined();
    expect(chain.sourceOf('registry.example.com')).toBe('inputs');
    expect(chain.sourceOf('docker.io')).toBe('docker-config');
    expect(chain.sourceOf('quay.io')).toBeUndefined();
  });

  it('falls back to the GitHub token with the actor for ghcr.io only', async () => {
    const chain = new CredentialChain({
      inputs: { source: parseReference('ghcr.io/acme/app:rc'), githubToken: 'ghs_token' },
      dockerConfig,
      identity: onGithub,
    });
    expect(await chain.resolve('ghcr.io')).toEqual({ username: 'octocat', password: 'ghs_token' });
    expect(chain.sourceOf('ghcr.io')).toBe('github-token');
    expect(await chain.resolve('quay.io')).toBeUndefined();
  });

  it('on GitHub Enterprise Server gives the GitHub token to containers.<host>, not to ghcr.io', async () => {
    const chain = new CredentialChain({
      inputs: { source: parseReference('containers.github.example.com/acme/app:rc'), githubToken: 'ghes_token' },
      dockerConfig,
      identity: async () => ({ actor: 'mona', containerRegistry: 'containers.github.example.com' }),
    });
    expect(await chain.resolve('containers.github.example.com')).toEqual({ username: 'mona', password: 'ghes_token' });
    expect(await chain.resolve('ghcr.io')).toBeUndefined();
  });

  it('prefers what docker/login-action stored, and the inputs, over the GitHub token', async () => {
    const config = async (registry: string) =>
      registry === 'ghcr.io' ? { username: 'bot', password: 'pat' } : undefined;
    const fromConfig = new CredentialChain({
      inputs: { source: parseReference('ghcr.io/a:rc'), githubToken: 't' },
      dockerConfig: config,
      identity: onGithub,
    });
    expect(await fromConfig.resolve('ghcr.io')).toEqual({ username: 'bot', password: 'pat' });
    expect(fromConfig.sourceOf('ghcr.io')).toBe('docker-config');
    expect(
      await new CredentialChain({
        inputs: {
          source: parseReference('ghcr.io/a:rc'),
          githubToken: 't',
          credentials: { username: 'in', password: 'put' },
        },
        dockerConfig: config,
        identity: onGithub,
      }).resolve('ghcr.io'),
    ).toEqual({ username: 'in', password: 'put' });
  });

  it('does not load the run identity for registries that are not GitHub’s, nor without a token', async () => {
    let asked = 0;
    const identity = async () => {
      asked++;
      return { containerRegistry: 'ghcr.io' };
    };
    await new CredentialChain({ inputs: { source: parseReference('quay.io/a:rc') }, dockerConfig, identity }).resolve(
      'ghcr.io',
    );
    const withToken = new CredentialChain({
      inputs: { source: parseReference('quay.io/a/b:rc'), githubToken: 't' },
      dockerConfig,
      identity,
    });
    expect(await withToken.resolve('quay.io')).toBeUndefined();
    expect(asked).toBe(0);
    expect(await withToken.resolve('ghcr.io')).toEqual({ username: 'github-actions', password: 't' });
    expect(asked).toBe(1);
  });
});
