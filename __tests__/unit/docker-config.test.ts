import { afterAll, describe, expect, it } from '@jest/globals';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { UserFacingError } from '../../src/oci/user-facing-error.js';
import { DockerConfigError, loadDockerConfig } from '../../src/registry/docker-config.js';

const dirs: string[] = [];
async function configDir(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'docker-config-'));
  dirs.push(dir);
  await writeFile(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}
// Retries: Windows may hold a helper program that has just exited for a moment.
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 }))));

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * What the helpers used below do, keyed by their name (docker-credential-<name>): the
 * docker-credential-helpers protocol, the server on stdin and JSON on stdout.
 */
const HELPERS_SCRIPT = `
const { readSync, writeSync } = require('node:fs');
const { basename } = require('node:path');
const chunks = [];
const buf = Buffer.alloc(65536);
for (;;) {
  let n;
  try {
    n = readSync(0, buf, 0, buf.length, null);
  } catch (e) {
    if (e.code === 'EAGAIN') continue;
    if (e.code === 'EOF') break;
    throw e;
  }
  if (n === 0) break;
  chunks.push(Buffer.from(buf.subarray(0, n)));
}
const server = Buffer.concat(chunks).toString('utf8').trim();
const helper = basename(process.argv0).replace(/\\.exe$/i, '').replace(/^docker-credential-/, '');
if (helper === 'hang') {
  // Ignores SIGTERM, and a child of its own holds stdout open after the helper is killed.
  process.on('SIGTERM', () => undefined);
  require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  setTimeout(() => process.exit(0), 5000);
  return;
}
if (helper === 'null') {
  writeSync(1, 'null\\n');
  process.exit(0);
}
let answer = 'credentials not found in native keychain';
if (helper === 'test') answer = JSON.stringify({ ServerURL: server, Username: 'helper-user', Secret: 'helper-secret-for-' + server });
if (helper === 'store' && server === 'https://index.docker.io/v1/') answer = JSON.stringify({ Username: '<token>', Secret: 'hub-identity' });
writeSync(1, answer + '\\n');
process.exit(answer.startsWith('{') ? 0 : 1);
`;

/**
 * Real helper programs found through PATH on every OS, started without a shell: each
 * docker-credential-<name> (`.exe` on Windows) is the node binary under that name (a symbolic
 * link, on Windows a copy), and NODE_OPTIONS, which the helpers' environment
 * carries, has it run HELPERS_SCRIPT first, which answers and exits.
 */
async function helperPrograms(names: string[]): Promise<{ bin: string; path: string; nodeOptions: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'helpers-'));
  dirs.push(dir);
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const script = join(dir, 'helpers.cjs');
  await writeFile(script, HELPERS_SCRIPT);
  for (const name of names) {
    const program = join(bin, `docker-credential-${name}${process.platform === 'win32' ? '.exe' : ''}`);
    // A copy on Windows: a hard link would be the running node.exe, which Windows cannot delete.
    if (process.platform !== 'win32') await symlink(process.execPath, program);
    else await copyFile(process.execPath, program);
  }
  // JSON quoting is what NODE_OPTIONS understands: double quotes, backslashes escaped.
  return { bin, path: `${bin}${delimiter}${process.env.PATH}`, nodeOptions: `--require ${JSON.stringify(script)}` };
}

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
    const bin = await helperPrograms(['test', 'store']);
    const dir = await configDir({
      credHelpers: { 'gcr.example.io': 'test' },
      credsStore: 'store',
      auths: { 'gcr.example.io': {} },
    });
    const resolve = await loadDockerConfig({ DOCKER_CONFIG: dir, PATH: bin.path, NODE_OPTIONS: bin.nodeOptions });
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

  it('never runs a helper from the working directory, only from PATH', async () => {
    // Node's spawn on Windows would look in the working directory first (libuv's search_path).
    const helpers = await helperPrograms(['test']);
    const emptyDir = await mkdtemp(join(tmpdir(), 'empty-'));
    dirs.push(emptyDir);
    const dir = await configDir({ credsStore: 'test' });
    const resolve = await loadDockerConfig({ DOCKER_CONFIG: dir, PATH: emptyDir, NODE_OPTIONS: helpers.nodeOptions });
    const cwd = process.cwd();
    process.chdir(helpers.bin);
    try {
      await expect(resolve('ghcr.io')).rejects.toThrow('docker-credential-test, which is not on PATH');
    } finally {
      process.chdir(cwd);
    }
  });

  it('reads ~/.docker/config.json without DOCKER_CONFIG (%USERPROFILE%\\.docker on Windows)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'home-'));
    dirs.push(home);
    await mkdir(join(home, '.docker'));
    await writeFile(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { 'ghcr.io': { auth: b64('octo:from-home') } } }),
    );
    // HOME on Linux and macOS, USERPROFILE on Windows, as the Docker CLI reads them.
    const resolve = await loadDockerConfig({ HOME: home, USERPROFILE: home });
    expect(await resolve('ghcr.io')).toEqual({ username: 'octo', password: 'from-home' });
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
    const helpers = await helperPrograms(['hang']);
    const dir = await configDir({ credHelpers: { 'ghcr.io': 'hang' } });
    const resolve = await loadDockerConfig(
      { DOCKER_CONFIG: dir, PATH: helpers.path, NODE_OPTIONS: helpers.nodeOptions },
      undefined,
      { helperTimeoutMs: 500 },
    );
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
    const helpers = await helperPrograms(['null']);
    const dir = await configDir({ credsStore: 'null' });
    const resolve = await loadDockerConfig({
      DOCKER_CONFIG: dir,
      PATH: helpers.path,
      NODE_OPTIONS: helpers.nodeOptions,
    });
    await expect(resolve('ghcr.io')).rejects.toThrow(
      'The credential helper docker-credential-null answered with something that is not a JSON object',
    );
  });
});
