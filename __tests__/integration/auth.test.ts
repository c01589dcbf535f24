/**
 * Credentials against real registries: distribution 2.8 and v3 with htpasswd Basic auth and
 * with token auth (a token server of the tests signing JWTs the registry trusts), and the
 * referrers-API registry with Basic auth.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promote, type PromotionRequest } from '../../src/engine/promote.js';
import type { Credential } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';
import { loadDockerConfig } from '../../src/registry/docker-config.js';
import { AuthenticationError, RegistryError } from '../../src/registry/errors.js';
import { parseReference } from '../../src/oci/reference.js';
import { listTags, pushImage } from '../support/oci-seed.js';
import {
  startDistribution,
  startDistributionV3,
  startReferrersRegistry,
  type RunningRegistry,
} from '../support/registries.js';

const USERS = [
  { username: 'pusher', password: 'pusher-secret', access: 'push' as const },
  { username: 'puller', password: 'puller-secret', access: 'pull' as const },
];

const clients: RegistryClient[] = [];
function clientWith(credential: Credential | undefined): RegistryClient {
  const client = new RegistryClient({ plainHttp: true, credentials: async () => credential });
  clients.push(client);
  return client;
}
afterAll(async () => Promise.all(clients.map((c) => c.close())));

function request(registry: RunningRegistry, repo: string, tags: string[]): PromotionRequest {
  const source = parseReference(`${registry.host}/${repo}:rc`);
  return { source, targets: tags.map((tag) => ({ ...source, tag })), copyReferrers: true, dryRun: false };
}

describe.each([
  ['distribution 2.8 with htpasswd', () => startDistribution({ auth: 'htpasswd', users: USERS })],
  ['distribution v3 with htpasswd', () => startDistributionV3({ auth: 'htpasswd', users: USERS })],
  ['go-containerregistry with Basic auth', () => startReferrersRegistry({ users: USERS })],
])('%s', (_name, start) => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await start();
  });
  afterAll(async () => registry?.stop());

  it('promotes with the right credentials', async () => {
    await pushImage(registry.target('acme/basic'), 'rc', { seed: 'basic' });
    const result = await promote(
      clientWith({ username: 'pusher', password: 'pusher-secret' }),
      request(registry, 'acme/basic', ['1.0']),
    );
    expect(result.targets[0]!.status).toBe('created');
  });

  it('fails clearly on a wrong password, writing nothing', async () => {
    const writes = await registry.writeCount();
    const err = await promote(
      clientWith({ username: 'pusher', password: 'wrong' }),
      request(registry, 'acme/basic', ['2.0']),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toBe(
      `authentication failed: ${registry.host} refused the password for user 'pusher'`,
    );
    expect(await registry.writeCount()).toBe(writes);
  });

  it('says credentials are missing when none are known', async () => {
    const err = await promote(clientWith(undefined), request(registry, 'acme/basic', ['3.0'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toContain(`${registry.host} requires credentials and none were found for it`);
  });
});

describe.each([
  ['distribution 2.8', startDistribution],
  ['distribution v3', startDistributionV3],
])('%s with token auth', (_name, start) => {
  let registry: RunningRegistry;
  let configDir: string;
  beforeAll(async () => {
    registry = await start({ auth: 'token', users: USERS });
    configDir = await mkdtemp(join(tmpdir(), 'docker-config-'));
  });
  afterAll(async () => {
    await registry?.stop();
    await rm(configDir, { recursive: true, force: true });
  });

  it('promotes with credentials from a Docker config file, with one token for reads and writes', async () => {
    await pushImage(registry.target('acme/token'), 'rc', { seed: 'token' });
    await writeFile(
      join(configDir, 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('pusher:pusher-secret').toString('base64') } } }),
    );
    const tokensBefore = registry.tokenServer!.requests().length;
    const client = new RegistryClient({
      plainHttp: true,
      credentials: await loadDockerConfig({ DOCKER_CONFIG: configDir }),
    });
    clients.push(client);
    const result = await promote(client, request(registry, 'acme/token', ['1.0', '1', 'latest']));
    expect(result.targets.map((t) => t.status)).toEqual(['created', 'created', 'created']);
    const tokenRequests = registry.tokenServer!.requests().slice(tokensBefore);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]).toMatchObject({ user: 'pusher', status: 200 });
    expect(decodeURIComponent(tokenRequests[0]!.path)).toContain('scope=repository:acme/token:pull,push');
  });

  it('fails clearly with pull-only credentials and creates no tag', async () => {
    await pushImage(registry.target('acme/pullonly'), 'rc', { seed: 'pullonly' });
    const err = await promote(
      clientWith({ username: 'puller', password: 'puller-secret' }),
      request(registry, 'acme/pullonly', ['1.0']),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).status).toBe(401);
    expect((err as Error).message).toContain(
      `push manifest ${registry.host}/acme/pullonly:1.0 failed: ${registry.host} answered HTTP 401`,
    );
    expect((err as Error).message).toContain(
      `Check that the credentials for ${registry.host} may push to acme/pullonly`,
    );
    expect(await listTags(registry.target('acme/pullonly'))).toEqual(['rc']);
  });

  it('says what the registry answered when no credentials are known', async () => {
    // The token service gives anonymous callers a token without access; the registry refuses it.
    const err = await promote(clientWith(undefined), request(registry, 'acme/token', ['8'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toBe(
      `get manifest ${registry.host}/acme/token:rc failed: ${registry.host} answered HTTP 401 (authentication failed) UNAUTHORIZED: authentication required. Check the credentials for ${registry.host}`,
    );
  });

  it('fails clearly on a wrong password at the token service', async () => {
    const err = await promote(
      clientWith({ username: 'pusher', password: 'wrong' }),
      request(registry, 'acme/token', ['9']),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^authentication failed as user 'pusher': the token service of ${registry.host.replace(/\./g, '\\.')} \\(127\\.0\\.0\\.1:\\d+\\) answered HTTP 401 UNAUTHORIZED$`,
      ),
    );
  });
});
