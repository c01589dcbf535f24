/**
 * Starts real OCI registries on loopback ports for integration tests:
 *
 * - startDistribution(): Debian's `docker-registry` (CNCF distribution 2.8),
 *   which has NO referrers API, optionally behind htpasswd (Basic) auth or
 *   the Docker token flow served by a small token server in this process;
 * - startDistributionV3(): CNCF distribution v3 (`registry` v3.1.2, built
 *   from the Go module proxy by the global setup), also without a referrers
 *   API, with the same auth variants;
 * - startReferrersRegistry(): the Go program in ./referrers-registry
 *   (go-containerregistry's registry with the OCI 1.1 referrers API),
 *   optionally behind Basic auth.
 *
 * Every registry gets its own temp directory and a free port, so test files
 * can run in parallel. Requests are read back from the registry's own log so
 * that tests can assert how many (write) requests the code under test made.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID, sign, X509Certificate } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureGoTool, ensureReferrersRegistry, GO_TOOLS } from './global-setup.js';
import type { SeedTarget } from './oci-seed.js';

const execFileP = promisify(execFile);

export type AuthMode = 'none' | 'htpasswd' | 'token';
export type Access = 'pull' | 'push';

export interface RegistryUser {
  username: string;
  password: string;
  /** Only enforced in token mode (htpasswd is all-or-nothing). Default 'push'. */
  access?: Access;
}

export interface LoggedRequest {
  method: string;
  /** Path with query string, as sent by the client. */
  path: string;
  status: number;
}

export interface TokenServer {
  /** Base URL of the token server, e.g. http://127.0.0.1:PORT */
  url: string;
  /** The realm advertised by the registry: `${url}/token`. */
  realm: string;
  service: string;
  issuer: string;
  /** Token requests seen so far (in-process, so never lagging). */
  requests(): Array<LoggedRequest & { user: string | null }>;
  /** Every token issued so far, so that tests can look for them where they must not be. */
  issuedTokens(): string[];
}

export interface RunningRegistry {
  /** 'distribution' is 2.8 (Debian's docker-registry), 'distribution-v3' is v3.1.2. */
  kind: 'distribution' | 'distribution-v3' | 'referrers';
  /** "127.0.0.1:PORT" */
  host: string;
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** Whether GET /v2/<name>/referrers/<digest> is implemented. */
  referrersApi: boolean;
  /** 'htpasswd' means HTTP Basic against the user list (also for the referrers registry). */
  auth: AuthMode;
  /** Users accepted by the registry (empty for auth 'none'). */
  users: Array<Required<RegistryUser>>;
  /** Set in token mode. */
  tokenServer?: TokenServer;
  /** Temp directory holding config, storage and logs (removed by stop()). */
  dir: string;
  /** The log file requests() parses. */
  requestLog: string;
  /** Requests the registry has answered since it became ready (startup probes excluded), in order. */
  requests(): Promise<LoggedRequest[]>;
  /** Number of PUT, POST, PATCH and DELETE requests so far (whatever their status). */
  writeCount(): Promise<number>;
  /**
   * A SeedTarget for `repo`. `user` is a username from `users` or explicit
   * credentials; by default the first user with push access (none if auth is 'none').
   */
  target(repo: string, user?: string | RegistryUser | null): SeedTarget;
  /** Kills the process(es) and removes the temp directory. Idempotent. */
  stop(): Promise<void>;
}

export const DEFAULT_USERS: ReadonlyArray<Required<RegistryUser>> = [
  { username: 'pusher', password: 'pusher-secret', access: 'push' },
  { username: 'puller', password: 'puller-secret', access: 'pull' },
];

/** Fixed strings of the token setup; the registry checks iss and aud against them. */
export const TOKEN_SERVICE = 'oci-test-registry';
export const TOKEN_ISSUER = 'oci-test-token-issuer';

const WRITE_METHODS = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);
const DOCKER_REGISTRY_BIN = process.env.DOCKER_REGISTRY_BIN ?? 'docker-registry';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// ---------------------------------------------------------------------------
// Safety net: a test file that crashes before afterAll must not leave
// registries running or temp dirs behind. 'exit' handlers must be synchronous.

interface Resources {
  procs: Set<ChildProcess>;
  dirs: Set<string>;
}
const live: Resources = { procs: new Set(), dirs: new Set() };
process.once('exit', () => {
  for (const p of live.procs) p.kill('SIGKILL');
  for (const d of live.dirs) rmSync(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// Public API

export interface DistributionOptions {
  auth?: AuthMode;
  users?: RegistryUser[];
  /** A .tar.gz of a distribution storage directory (`docker/registry/v2/...`) to start from. */
  storage?: string;
}

/** Debian's docker-registry: distribution 2.8. */
export function startDistribution(opts: DistributionOptions = {}): Promise<RunningRegistry> {
  return startDistributionProcess({ kind: 'distribution', cmd: DOCKER_REGISTRY_BIN, env: {} }, opts);
}

/**
 * distribution v3.1.2 (same configuration file, storage layout and access log
 * as 2.8). Its OpenTelemetry exporter is switched off: by default it would
 * send traces to localhost:4318.
 */
export async function startDistributionV3(opts: DistributionOptions = {}): Promise<RunningRegistry> {
  const cmd = process.env[GO_TOOLS.distributionV3.envVar] ?? (await ensureGoTool(REPO_ROOT, GO_TOOLS.distributionV3));
  return startDistributionProcess(
    { kind: 'distribution-v3', cmd, env: { OTEL_TRACES_EXPORTER: 'none', OTEL_SDK_DISABLED: 'true' } },
    opts,
  );
}

async function startDistributionProcess(
  program: { kind: 'distribution' | 'distribution-v3'; cmd: string; env: Record<string, string> },
  opts: DistributionOptions,
): Promise<RunningRegistry> {
  const auth = opts.auth ?? 'none';
  const users = auth === 'none' ? [] : normalizeUsers(opts.users ?? DEFAULT_USERS);
  const dir = await makeTempDir('oci-distribution-');
  if (opts.storage) {
    // Extracted into a fresh copy: the registry writes into its storage.
    await mkdir(join(dir, 'data'), { recursive: true });
    await execFileP('tar', ['-xzf', opts.storage, '-C', join(dir, 'data')]);
  }
  let tokenServer: (TokenServer & { close(): Promise<void> }) | undefined;
  let proc: ChildProcess | undefined;
  try {
    let authYaml = '';
    if (auth === 'htpasswd') {
      const htpasswdFile = join(dir, 'htpasswd');
      await writeFile(htpasswdFile, await htpasswdLines(users));
      authYaml = `auth:
  htpasswd:
    realm: ${yamlString('oci-test-registry')}
    path: ${yamlString(htpasswdFile)}
`;
    } else if (auth === 'token') {
      tokenServer = await startTokenServer(dir, users);
      authYaml = `auth:
  token:
    realm: ${yamlString(tokenServer.realm)}
    service: ${yamlString(TOKEN_SERVICE)}
    issuer: ${yamlString(TOKEN_ISSUER)}
    rootcertbundle: ${yamlString(join(dir, 'token-cert.pem'))}
`;
    }

    // stdout carries the access log (Apache combined format, one line per
    // request, including requests that match no route such as
    // /v2/<name>/referrers/<digest>); stderr the JSON application log, whose
    // "response completed" lines skip unrouted requests, so we count from
    // the access log.
    const accessLog = join(dir, 'access.log');
    const appLog = join(dir, 'registry.log');
    const configFile = join(dir, 'config.yml');
    const launched = await launch({
      name: program.kind,
      cmd: program.cmd,
      args: ['serve', configFile],
      env: program.env,
      stdoutFile: accessLog,
      stderrFile: appLog,
      beforeSpawn: (port) =>
        writeFile(
          configFile,
          `version: 0.1
log:
  level: info
  formatter: json
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: ${yamlString(join(dir, 'data'))}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: ${yamlString(randomUUID())}
${authYaml}`,
        ),
    });

    proc = launched.proc;
    return await makeRunning({
      kind: program.kind,
      port: launched.port,
      auth,
      users,
      dir,
      tokenServer,
      procs: [proc],
      requestLog: accessLog,
      // The access log line is written after the handler returns, i.e. it can
      // trail the response the client already has: wait for it to settle.
      readLog: () => readSettled(accessLog),
      parseLog: parseAccessLog,
      extraStop: tokenServer ? () => tokenServer!.close() : undefined,
    });
  } catch (err) {
    if (proc) await killProcess(proc);
    await tokenServer?.close();
    await removeTempDir(dir);
    throw err;
  }
}

export async function startReferrersRegistry(
  opts: {
    users?: RegistryUser[];
    /** Answer the referrers of a repository never pushed to with 404 NAME_UNKNOWN (some registries do). */
    unknownRepo404?: boolean;
  } = {},
): Promise<RunningRegistry> {
  const users = normalizeUsers(opts.users ?? []);
  const bin = process.env.REFERRERS_REGISTRY_BIN ?? (await ensureReferrersRegistry(REPO_ROOT));
  const dir = await makeTempDir('oci-referrers-');
  let proc: ChildProcess | undefined;
  try {
    const requestLog = join(dir, 'requests.log');
    await writeFile(requestLog, '');
    const launched = await launch({
      name: 'referrers-registry',
      cmd: bin,
      args: (port) => [
        `-addr=127.0.0.1:${port}`,
        `-blobs=${join(dir, 'blobs')}`,
        `-log=${requestLog}`,
        ...users.map((u) => `-user=${u.username}:${u.password}`),
        ...(opts.unknownRepo404 ? ['-unknown-repo-404'] : []),
      ],
      stdoutFile: join(dir, 'stdout.log'),
      stderrFile: join(dir, 'registry.log'),
    });
    proc = launched.proc;
    return await makeRunning({
      kind: 'referrers',
      port: launched.port,
      auth: users.length > 0 ? 'htpasswd' : 'none',
      users,
      dir,
      procs: [proc],
      requestLog,
      // This registry logs each request before sending its status line, so
      // the log can never trail what the client has seen.
      readLog: () => readFile(requestLog),
      parseLog: parseJsonLog,
    });
  } catch (err) {
    if (proc) await killProcess(proc);
    await removeTempDir(dir);
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Running registry object

async function makeRunning(p: {
  kind: RunningRegistry['kind'];
  port: number;
  auth: AuthMode;
  users: Array<Required<RegistryUser>>;
  dir: string;
  tokenServer?: TokenServer;
  procs: ChildProcess[];
  requestLog: string;
  readLog: () => Promise<Buffer>;
  parseLog: (text: string) => LoggedRequest[];
  extraStop?: () => Promise<void>;
}): Promise<RunningRegistry> {
  // Requests before this point are the harness's own readiness probes;
  // requests() starts after them.
  const baseline = (await p.readLog()).length;
  const readRequests = async () => p.parseLog((await p.readLog()).subarray(baseline).toString('utf8'));
  const host = `127.0.0.1:${p.port}`;
  const url = `http://${host}`;
  let stopped: Promise<void> | undefined;
  const reg: RunningRegistry = {
    kind: p.kind,
    host,
    url,
    referrersApi: p.kind === 'referrers',
    auth: p.auth,
    users: p.users,
    dir: p.dir,
    requestLog: p.requestLog,
    requests: readRequests,
    async writeCount() {
      return (await readRequests()).filter((r) => WRITE_METHODS.has(r.method)).length;
    },
    target(repo, user) {
      let creds: RegistryUser | undefined;
      if (user === null) creds = undefined;
      else if (typeof user === 'string') {
        creds = p.users.find((u) => u.username === user);
        if (!creds) throw new Error(`No user ${user} on this registry`);
      } else creds = user ?? p.users.find((u) => u.access === 'push');
      return creds ? { url, repo, username: creds.username, password: creds.password } : { url, repo };
    },
    stop() {
      stopped ??= (async () => {
        await Promise.all(p.procs.map(killProcess));
        await p.extraStop?.();
        await removeTempDir(p.dir);
      })();
      return stopped;
    },
  };
  if (p.tokenServer) reg.tokenServer = p.tokenServer;
  return reg;
}

// ---------------------------------------------------------------------------
// Process management

/** A port that was free a moment ago; the caller must cope with losing the race. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Spawns a registry on a free port and waits until it serves /v2/. All three
 * registries log "listening on 127.0.0.1:PORT" only after binding, so that
 * line (not merely an answer on the port, which could come from a parallel
 * test's registry that grabbed the port first) proves the process is ours.
 * If the port was taken in the meantime, the process exits and we retry.
 */
async function launch(o: {
  name: string;
  cmd: string;
  args: string[] | ((port: number) => string[]);
  stdoutFile: string;
  stderrFile: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  beforeSpawn?: (port: number) => Promise<void>;
}): Promise<{ proc: ChildProcess; port: number }> {
  const attempts = 5;
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = await freePort();
    await o.beforeSpawn?.(port);
    // Only this attempt's part of the (appended) log counts.
    const logStart = await stat(o.stderrFile).then(
      (st) => st.size,
      () => 0,
    );
    const attemptLog = () =>
      readFile(o.stderrFile).then(
        (b) => b.subarray(logStart).toString('utf8'),
        () => '',
      );
    // Files rather than pipes: nothing to drain, no handles keeping Jest alive.
    const out = openSync(o.stdoutFile, 'a');
    const err = openSync(o.stderrFile, 'a');
    let proc: ChildProcess;
    try {
      proc = spawn(o.cmd, typeof o.args === 'function' ? o.args(port) : o.args, {
        stdio: ['ignore', out, err],
        env: { ...process.env, ...o.env },
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    live.procs.add(proc);
    let exited = false;
    let spawnError: Error | undefined;
    proc.once('exit', () => {
      exited = true;
      live.procs.delete(proc);
    });
    proc.once('error', (e) => {
      spawnError = e;
      exited = true;
      live.procs.delete(proc);
    });

    const deadline = Date.now() + 20_000;
    const marker = `listening on 127.0.0.1:${port}`;
    let bound = false;
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`Cannot run ${o.cmd}: ${spawnError.message}`);
      if (exited) break;
      if (!bound) bound = (await attemptLog()).includes(marker);
      if (bound) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          if (res.status === 200 || res.status === 401) return { proc, port };
        } catch {
          // not accepting connections yet
        }
      }
      await sleep(25);
    }
    const log = await attemptLog();
    lastError = log.split('\n').slice(-15).join('\n');
    if (!exited) {
      await killProcess(proc);
      throw new Error(`${o.name} did not become ready within 20s on port ${port}. Log tail:\n${lastError}`);
    }
    if (!/address already in use/i.test(log)) {
      throw new Error(`${o.name} exited during startup (exit code ${proc.exitCode}). Log tail:\n${lastError}`);
    }
    // Lost the race for the port: try another one.
  }
  throw new Error(`${o.name} could not bind a free port after ${attempts} attempts. Last log:\n${lastError}`);
}

async function killProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  // Cancel the grace timer once the process is gone, or it keeps Jest alive.
  const grace = new AbortController();
  const timedOut = await Promise.race([
    exited.then(() => false),
    sleep(5000, true, { signal: grace.signal }).catch(() => false),
  ]);
  grace.abort();
  if (timedOut) {
    proc.kill('SIGKILL');
    await exited;
  }
}

async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  live.dirs.add(dir);
  return dir;
}

async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  live.dirs.delete(dir);
}

// ---------------------------------------------------------------------------
// Logs

/**
 * Reads a log file once its size has stopped changing for 100 ms (at most
 * ~2 s), so that lines for requests whose response the client already has
 * are there.
 */
async function readSettled(file: string): Promise<Buffer> {
  const quietMs = 100;
  const deadline = Date.now() + 2000;
  let size = (await stat(file)).size;
  let stableSince = Date.now();
  while (Date.now() < deadline && Date.now() - stableSince < quietMs) {
    await sleep(20);
    const now = (await stat(file)).size;
    if (now !== size) {
      size = now;
      stableSince = Date.now();
    }
  }
  return readFile(file);
}

// 127.0.0.1 - - [28/Nov/2026:19:20:04 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"
const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) /;

/** Complete lines only: a line still being written has no newline yet. */
function completeLines(text: string): string[] {
  return text.split('\n').slice(0, -1);
}

function parseAccessLog(text: string): LoggedRequest[] {
  const out: LoggedRequest[] = [];
  for (const line of completeLines(text)) {
    const m = ACCESS_LINE.exec(line);
    if (m) out.push({ method: m[1]!, path: m[2]!, status: Number(m[3]) });
  }
  return out;
}

function parseJsonLog(text: string): LoggedRequest[] {
  return completeLines(text)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const { method, path, status } = JSON.parse(l) as LoggedRequest;
      return { method, path, status };
    });
}

// ---------------------------------------------------------------------------
// Auth helpers

function normalizeUsers(users: ReadonlyArray<RegistryUser>): Array<Required<RegistryUser>> {
  for (const u of users) {
    if (!u.username || u.username.includes(':')) throw new Error(`Invalid username ${JSON.stringify(u.username)}`);
  }
  return users.map((u) => ({ username: u.username, password: u.password, access: u.access ?? 'push' }));
}

/** distribution only accepts bcrypt entries, hence -B. */
async function htpasswdLines(users: Array<Required<RegistryUser>>): Promise<string> {
  let text = '';
  for (const u of users) {
    const { stdout } = await execFileP('htpasswd', ['-Bbn', u.username, u.password]);
    text += `${stdout.trim()}\n`;
  }
  return text;
}

/** JSON strings are valid YAML double-quoted scalars. */
function yamlString(s: string): string {
  return JSON.stringify(s);
}

// ---------------------------------------------------------------------------
// Token server (Docker registry token authentication)

/**
 * Minimal token server for distribution's `auth.token`:
 *
 *   GET /token?service=S&scope=repository:NAME:pull,push[&scope=...]
 *     with optional Basic auth; 401 on bad credentials; anonymous callers
 *     get a token granting nothing.
 *   POST /token (OAuth2 password grant, form-encoded: grant_type=password,
 *     username, password, service, scope) — some clients try this first.
 *
 * The JWT is RS256-signed, and its header carries the signing certificate in
 * x5c. distribution 2.8 verifies x5c[0] against `rootcertbundle` (the same
 * self-signed certificate) and takes the verification key from it, so no
 * `kid` is needed. Granted actions are the requested ones that the user's
 * access allows: 'pull' users get pull; 'push' users also push, delete and
 * '*' (distribution 2.8 asks for "delete" on DELETE requests).
 */
async function startTokenServer(
  dir: string,
  users: Array<Required<RegistryUser>>,
): Promise<TokenServer & { close(): Promise<void> }> {
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  await execFileP('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-subj', `/CN=${TOKEN_ISSUER}`, '-keyout', keyFile, '-out', certFile,
  ]); // prettier-ignore
  const privateKey = await readFile(keyFile, 'utf8');
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');

  const log: Array<LoggedRequest & { user: string | null }> = [];

  const issue = (subject: string | null, user: Required<RegistryUser> | undefined, scopes: string[]) => {
    const access = scopes.flatMap((scope) => grant(user, scope));
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = {
      iss: TOKEN_ISSUER,
      sub: subject ?? '',
      aud: TOKEN_SERVICE,
      exp: now + 300,
      nbf: now - 10, // tolerate small clock differences
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), privateKey).toString('base64url');
    const token = `${signingInput}.${signature}`;
    issued.push(token);
    return token;
  };

  const issued: string[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<[number, string | null]> => {
    const url = new URL(req.url ?? '/', 'http://token');
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'POST')) {
      return [reply(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] }), null];
    }
    let params = url.searchParams;
    let creds: { username: string; password: string } | undefined;
    if (req.method === 'POST') {
      params = new URLSearchParams(await readBody(req));
      if (params.get('grant_type') !== 'password') {
        return [reply(res, 400, { error: 'unsupported_grant_type' }), null];
      }
      creds = { username: params.get('username') ?? '', password: params.get('password') ?? '' };
    } else {
      creds = parseBasic(req.headers.authorization);
      if (req.headers.authorization && !creds) {
        return [reply(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'malformed credentials' }] }), null];
      }
    }
    const service = params.get('service');
    if (service && service !== TOKEN_SERVICE) {
      return [reply(res, 400, { errors: [{ code: 'INVALID_SERVICE', message: `unknown service ${service}` }] }), null];
    }
    let user: Required<RegistryUser> | undefined;
    if (creds) {
      user = users.find((u) => u.username === creds!.username && u.password === creds!.password);
      if (!user) {
        res.setHeader('WWW-Authenticate', 'Basic realm="oci-test-token-server"');
        return [
          reply(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }),
          creds.username,
        ];
      }
    }
    // Docker clients send one scope per parameter; OAuth2 clients a space-separated list.
    const scopes = params
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean);
    const token = issue(user?.username ?? null, user, scopes);
    return [
      reply(res, 200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
      user?.username ?? null,
    ];
  };

  const server: Server = createHttpServer((req, res) => {
    handle(req, res).then(
      ([status, user]) => log.push({ method: req.method ?? '', path: req.url ?? '', status, user }),
      (err: unknown) => {
        log.push({ method: req.method ?? '', path: req.url ?? '', status: 500, user: null });
        if (!res.headersSent) reply(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    realm: `${url}/token`,
    service: TOKEN_SERVICE,
    issuer: TOKEN_ISSUER,
    requests: () => [...log],
    issuedTokens: () => [...issued],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function grant(
  user: Required<RegistryUser> | undefined,
  scope: string,
): Array<{ type: string; name: string; actions: string[] }> {
  // type:name:actions — the name itself may contain ':' (e.g. host:port/repo).
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return [];
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const requested = scope
    .slice(last + 1)
    .split(',')
    .filter(Boolean);
  if (!user) return []; // anonymous: nothing
  let allowed: string[];
  if (type === 'repository') allowed = user.access === 'push' ? ['pull', 'push', 'delete', '*'] : ['pull'];
  else if (type === 'registry' && name === 'catalog') allowed = ['*'];
  else allowed = [];
  const actions = requested.filter((a) => allowed.includes(a));
  return actions.length > 0 ? [{ type, name, actions }] : [];
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

function reply(res: ServerResponse, status: number, body: unknown): number {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}
