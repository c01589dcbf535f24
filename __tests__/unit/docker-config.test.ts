import { afterAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserFacingError } from '../../src/oci/user-facing-error.js';
import { DockerConfigError, loadDockerConfig } from '../../src/registry/docker-config.js';

const dirs: string[] = [];
async function configDir(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'docker-config-'));
  dirs.push(dir);
  await writeFile(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('loadDockerConfig', () => {
  it('reads auths entries as docker/login-action writes them', async () => {
    const dir = await configDir({
      auths: {
        'ghcr.io': { auth: b64('octo:ghp_secret:with:colons') },
        'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
        'registry.example.com': { username: 'u', password: 'p' },
        'acr.example.io': { identitytoken: 'refresh-token' },
      },
    });
    const secrets: string[] = [];
    const resolve = await loadDockerConfig({ DOCKER_CONFIG: dir }, (s) => secrets.push(s));
    expect(await resolve('ghcr.io')).toEqual({ username: 'octo', password: 'ghp_secret:with:colons' });
    expect(await resolve('docker.io')).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect(await resolve('registry.example.com')).toEqual({ username: 'u', password: 'p' });
    expect(await resolve('acr.example.io')).toEqual({ identityToken: 'refresh-token' });
    expect(await resolve('quay.io')).toBeUndefined();
    expect(secrets).toEqual(expect.arrayContaining(['ghp_secret:with:colons', 'hubpass', 'p', 'refresh-token']));
  });

  it('runs credential helpers: credHelpers first, then credsStore', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'helpers-'));
    dirs.push(bin);
    // Real helper programs speaking the docker-credential-helpers protocol: server on stdin, JSON on stdout.
    await writeFile(
      join(bin, 'docker-credential-test'),
      '#!/bin/sh\nread server\necho "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"helper-user\\",\\"Secret\\":\\"helper-secret-for-$server\\"}"\n',
    );
    await writeFile(
      join(bin, 'docker-credential-store'),
      '#!/bin/sh\nread server\nif [ "$server" = "https://index.docker.io/v1/" ]; then echo "{\\"Username\\":\\"<token>\\",\\"Secret\\":\\"hub-identity\\"}"; else echo "credentials not found in native keychain"; exit 1; fi\n',
    );
    await chmod(join(bin, 'docker-credential-test'), 0o755);
    await chmod(join(bin, 'docker-credential-store'), 0o755);
    const dir = await configDir({
      credHelpers: { 'gcr.example.io': 'test' },
      credsStore: 'store',
      auths: { 'gcr.example.io': {} },
    });
    const resolve = await loadDockerConfig({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` });
    expect(await resolve('gcr.example.io')).toEqual({
      username: 'helper-user',
      password: 'helper-secret-for-gcr.example.io',
    });
    expect(await resolve('docker.io')).toEqual({ identityToken: 'hub-identity' });
    expect(await resolve('other.example.io')).toBeUndefined();
  });

  it('says which credential helper is missing', async () => {
    const dir = await configDir({ credsStore: 'nonexistent-helper' });
    const resolve = await loadDockerConfig({ DOCKER_CONFIG: dir, PATH: '/nonexistent' });
    await expect(resolve('ghcr.io')).rejects.toThrow(
      'The Docker config names the credential helper docker-credential-nonexistent-helper, which is not on PATH',
    );
  });

  it('treats a missing file as no credentials', async () => {
    const resolve = await loadDockerConfig({ DOCKER_CONFIG: join(tmpdir(), 'does-not-exist-' + process.pid) });
    expect(await resolve('ghcr.io')).toBeUndefined();
  });

  it('names the file, not its content, when it is not JSON', async () => {
    const dir = await configDir('{"auths": {"ghcr.io": {"auth": "c2VjcmV0LXZhbHVl"');
    await expect(loadDockerConfig({ DOCKER_CONFIG: dir })).rejects.toThrow(
      `The Docker config ${join(dir, 'config.json')} is not valid JSON`,
    );
  });

  it('stops a credential helper that hangs, saying it timed out after N s and naming it', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'helpers-'));
    dirs.push(bin);
    // Ignores SIGTERM, and its child holds stdout open after the helper itself is killed.
    await writeFile(join(bin, 'docker-credential-hang'), "#!/bin/sh\ntrap '' TERM\nsleep 5\n");
    await chmod(join(bin, 'docker-credential-hang'), 0o755);
    const dir = await configDir({ credHelpers: { 'ghcr.io': 'hang' } });
    const resolve = await loadDockerConfig({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` }, undefined, {
      helperTimeoutMs: 500,
    });
    const started = Date.now();
    const err = await resolve('ghcr.io').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerConfigError);
    expect((err as Error).message).toBe(
      'The credential helper docker-credential-hang timed out after 0.5 s for ghcr.io (the Docker config names it)',
    );
    expect(Date.now() - started).toBeLessThan(2500);
  }, 10_000);

  it.each([
    [
      'an auth that is not a string',
      { auths: { 'ghcr.io': { auth: 5 } } },
      /has an 'auth' for 'ghcr.io' that is not base64 of user:password/,
    ],
    [
      'auths that is a list',
      { auths: [{ auth: 'x' }] },
      /The Docker config .*config.json is not valid: 'auths' must be an object/,
    ],
    [
      'a credsStore that is not a string',
      { credsStore: 5 },
      /The Docker config .*config.json is not valid: 'credsStore' must be a helper name/,
    ],
  ])('names the file for %s, never failing with a TypeError', async (_name, config, message) => {
    const dir = await configDir(config);
    const err = await (async () =>
      (await loadDockerConfig({ DOCKER_CONFIG: dir, PATH: '/nonexistent' }))('ghcr.io'))().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserFacingError);
    expect((err as Error).message).toMatch(message);
  });

  it('takes a helper answer that is JSON but not an object as not JSON', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'helpers-'));
    dirs.push(bin);
    await writeFile(join(bin, 'docker-credential-null'), '#!/bin/sh\necho null\n');
    await chmod(join(bin, 'docker-credential-null'), 0o755);
    const dir = await configDir({ credsStore: 'null' });
    const resolve = await loadDockerConfig({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` });
    await expect(resolve('ghcr.io')).rejects.toThrow(
      'The credential helper docker-credential-null answered with something that is not a JSON object',
    );
  });
});
