import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Credential, CredentialResolver } from './auth.js';
import { findProgram } from './find-program.js';
import { DOCKER_HUB, normalizeRegistry } from '../oci/reference.js';
import { UserFacingError } from '../oci/user-facing-error.js';

/** The key the Docker CLI and docker/login-action use for Docker Hub. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export class DockerConfigError extends UserFacingError {}

export interface DockerConfigOptions {
  /** How long a credential helper may run before it is stopped (the action's `timeout`). */
  helperTimeoutMs: number;
}

export const DEFAULT_DOCKER_CONFIG_OPTIONS: DockerConfigOptions = { helperTimeoutMs: 60_000 };

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/**
 * `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: the home directory is `$HOME`, on
 * Windows `%USERPROFILE%` (what the Docker CLI and os.homedir() read), taken from `env`.
 */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = (process.platform === 'win32' ? env.USERPROFILE : env.HOME) || homedir();
  return join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json');
}

/** Reduces a config key (`https://ghcr.io/v1/`, `ghcr.io`) to the registry name it stands for. */
function registryOfKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  return normalizeRegistry(host);
}

/** The server name to hand to a credential helper, as the Docker CLI does. */
function helperServerName(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_KEY : registry;
}

/** A field of the config as a string; anything else (a number, a list) counts as absent. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function decodeEntry(raw: AuthEntry, path: string, key: string): Credential | undefined {
  if (raw.auth !== undefined && typeof raw.auth !== 'string')
    throw new DockerConfigError(
      `The Docker config ${path} has an 'auth' for '${key}' that is not base64 of user:password`,
    );
  const entry: AuthEntry = {};
  for (const field of ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const) {
    const value = text(raw[field]);
    if (value !== undefined) entry[field] = value;
  }
  if (entry.registrytoken) return { registryToken: entry.registrytoken };
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0)
      throw new DockerConfigError(
        `The Docker config ${path} has an 'auth' for '${key}' that is not base64 of user:password`,
      );
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  if (entry.identitytoken) return { ...(username && { username }), identityToken: entry.identitytoken };
  if (username && password !== undefined) return { username, password };
  return undefined;
}

async function runHelper(
  helper: string,
  server: string,
  context: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Credential | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
    throw new DockerConfigError(`Invalid credential helper name '${helper}' in the Docker config`);
  }
  const program = await findProgram(`docker-credential-${helper}`, { env: context.env });
  if (!program) {
    throw new DockerConfigError(
      `The Docker config names the credential helper docker-credential-${helper}, which is not on PATH`,
    );
  }
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const child = execFile(
      program, // an absolute path: execFile on Windows would look in the working directory first
      ['get'],
      { maxBuffer: 1024 * 1024, env: context.env },
      (err, stdout) => {
        clearTimeout(timer);
        if (timedOut) return;
        if (err) {
          if ((err as { code?: unknown }).code === 'ENOENT') {
            return reject(
              new DockerConfigError(
                `The Docker config names the credential helper docker-credential-${helper}, which is not on PATH`,
              ),
            );
          }
          // Helpers answer "credentials not found in native keychain" with a non-zero exit.
          if (/not found/i.test(stdout) || (err as { code?: unknown }).code === 1) return resolve(undefined);
          return reject(
            new DockerConfigError(
              `The credential helper docker-credential-${helper} failed for ${server}: ${(err as Error).message.split('\n')[0]}`,
            ),
          );
        }
        let out: unknown;
        try {
          out = JSON.parse(stdout);
        } catch {
          out = undefined;
        }
        if (typeof out !== 'object' || out === null || Array.isArray(out)) {
          return reject(
            new DockerConfigError(
              `The credential helper docker-credential-${helper} answered with something that is not a JSON object`,
            ),
          );
        }
        const secret = text((out as { Secret?: unknown }).Secret);
        const username = text((out as { Username?: unknown }).Username);
        if (!secret) return resolve(undefined);
        // The Docker CLI's convention: the user name `<token>` marks an identity token.
        if (username === '<token>') return resolve({ identityToken: secret });
        resolve({ username: username ?? '', password: secret });
      },
    );
    // A helper that hangs (a locked keychain, a prompt nobody answers) must not hold the run.
    // SIGKILL, since it may ignore SIGTERM; and the pipes are closed here, since a child of the
    // helper may hold them open after the helper is gone.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      reject(
        new DockerConfigError(
          `The credential helper docker-credential-${helper} timed out after ${context.timeoutMs / 1000} s for ${server} (the Docker config names it)`,
        ),
      );
    }, context.timeoutMs);
    // A helper that exits without reading stdin must not crash the process with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(server);
  });
}

/**
 * Credentials from the Docker config file, as docker/login-action writes it: `credHelpers` for
 * the registry first, then its `auths` entry, then the default `credsStore`. A missing file
 * means no credentials; a malformed one is an error that names the file (never its content).
 */
export async function loadDockerConfig(
  env: NodeJS.ProcessEnv = process.env,
  onSecret?: (s: string) => void,
  options: Partial<DockerConfigOptions> = {},
): Promise<CredentialResolver> {
  const { helperTimeoutMs } = { ...DEFAULT_DOCKER_CONFIG_OPTIONS, ...options };
  const path = dockerConfigPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return async () => undefined;
    throw new DockerConfigError(
      `Cannot read the Docker config ${path}: ${(err as { code?: string }).code ?? 'error'}`,
      { cause: err },
    );
  }
  let config: DockerConfig;
  try {
    config = JSON.parse(text) as DockerConfig;
    if (typeof config !== 'object' || config === null) throw new Error('not an object');
  } catch {
    throw new DockerConfigError(`The Docker config ${path} is not valid JSON`);
  }
  for (const field of ['auths', 'credHelpers'] as const) {
    const value = config[field];
    if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value)))
      throw new DockerConfigError(`The Docker config ${path} is not valid: '${field}' must be an object`);
  }
  if (config.credsStore !== undefined && typeof config.credsStore !== 'string')
    throw new DockerConfigError(`The Docker config ${path} is not valid: 'credsStore' must be a helper name`);
  const auths = new Map<string, { key: string; entry: AuthEntry }>();
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (entry && typeof entry === 'object') auths.set(registryOfKey(key), { key, entry });
  }
  const helpers = new Map<string, string>();
  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    if (typeof helper === 'string') helpers.set(registryOfKey(key), helper);
  }
  const cache = new Map<string, Promise<Credential | undefined>>();

  const lookup = async (registry: string): Promise<Credential | undefined> => {
    const helper = helpers.get(registry);
    let credential: Credential | undefined;
    const context = { env, timeoutMs: helperTimeoutMs };
    if (helper) credential = await runHelper(helper, helperServerName(registry), context);
    const found = auths.get(registry);
    if (!credential && found) credential = decodeEntry(found.entry, path, found.key);
    if (!credential && config.credsStore)
      credential = await runHelper(config.credsStore, helperServerName(registry), context);
    for (const secret of [credential?.password, credential?.identityToken, credential?.registryToken]) {
      if (secret) onSecret?.(secret);
    }
    return credential;
  };

  return (registry: string) => {
    let p = cache.get(registry);
    if (!p) {
      p = lookup(registry);
      cache.set(registry, p);
    }
    return p;
  };
}
