// Starts the registries the benchmark measures against, each in its own temp directory on a
// free loopback port:
//
// - 'distribution': Debian's docker-registry (CNCF distribution 2.8), no referrers API;
// - 'referrers': go-containerregistry's registry with the OCI 1.1 referrers API, as wrapped
//   by the test suite (__tests__/support/referrers-registry, built into .cache/ by the tests'
//   global setup, or here with the same flags when missing).
//
// Self-contained on purpose (node: imports only): the benchmark runs as plain .mjs and must
// not depend on the test suite's TypeScript.
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const KINDS = ['distribution', 'referrers'];

/** Every process and directory started here, so that cleanup works even after a crash. */
const live = { procs: new Set(), dirs: new Set() };
process.once('exit', () => {
  for (const p of live.procs) p.kill('SIGKILL');
  for (const d of live.dirs) rmSync(d, { recursive: true, force: true });
});

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Builds the referrers registry when the binary is missing or older than its sources, with
 * the flags of __tests__/support/global-setup.ts (go.sum is committed: -mod=readonly).
 */
export function ensureReferrersRegistry(root) {
  const srcDir = join(root, '__tests__', 'support', 'referrers-registry');
  const bin = join(root, '.cache', 'referrers-registry', 'referrers-registry');
  const newestSource = Math.max(...['main.go', 'go.mod', 'go.sum'].map((f) => statSync(join(srcDir, f)).mtimeMs));
  if (existsSync(bin) && statSync(bin).mtimeMs >= newestSource) return bin;
  console.error(`building ${bin} (go build in ${srcDir})`);
  mkdirSync(join(root, '.cache', 'referrers-registry'), { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  execFileSync('go', ['build', '-mod=readonly', '-trimpath', '-buildvcs=false', '-o', tmp, '.'], {
    cwd: srcDir,
    env: { ...process.env, CGO_ENABLED: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  execFileSync('mv', ['-f', tmp, bin]);
  return bin;
}

/**
 * Starts a registry of `kind` and resolves once it answers /v2/. Both registries print
 * "listening on 127.0.0.1:PORT" after binding: waiting for that line proves the port is ours
 * (a test run in parallel could have taken the port we picked); on a clash, retry.
 */
export async function startRegistry(kind, { root, name }) {
  const dir = await mkdtemp(join(tmpdir(), `bench-${kind}-`));
  live.dirs.add(dir);
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const stderrFile = join(dir, `stderr-${attempt}.log`);
    let cmd;
    let args;
    if (kind === 'distribution') {
      // Access log off and log level info (the "listening on" line is info): the proxies count.
      const config = join(dir, 'config.yml');
      writeFileSync(
        config,
        `version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${JSON.stringify(join(dir, 'data'))}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: ${JSON.stringify(randomUUID())}
`,
      );
      cmd = process.env.DOCKER_REGISTRY_BIN ?? 'docker-registry';
      args = ['serve', config];
    } else {
      cmd = ensureReferrersRegistry(root);
      args = [`-addr=127.0.0.1:${port}`, `-blobs=${join(dir, 'blobs')}`, `-log=${join(dir, 'requests.log')}`];
    }
    const err = openSync(stderrFile, 'a');
    let proc;
    try {
      proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', err] });
    } finally {
      closeSync(err);
    }
    live.procs.add(proc);
    let exited = false;
    let spawnError;
    proc.once('exit', () => {
      exited = true;
      live.procs.delete(proc);
    });
    proc.once('error', (e) => {
      spawnError = e;
      exited = true;
      live.procs.delete(proc);
    });
    const marker = `listening on 127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !exited) {
      const log = existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8') : '';
      if (log.includes(marker)) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          if (res.status === 200) {
            return {
              kind,
              name,
              port,
              host: `127.0.0.1:${port}`,
              url: `http://127.0.0.1:${port}`,
              referrersApi: kind === 'referrers',
              dir,
              proc,
              async stop() {
                if (!exited) {
                  proc.kill('SIGTERM');
                  await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(3000)]);
                  if (!exited) proc.kill('SIGKILL');
                }
                rmSync(dir, { recursive: true, force: true });
                live.dirs.delete(dir);
              },
            };
          }
        } catch {
          // not accepting yet
        }
      }
      await sleep(25);
    }
    if (spawnError) {
      throw new Error(
        `cannot run ${cmd}: ${spawnError.message}` +
          (kind === 'distribution' ? ' (apt-get install docker-registry)' : ''),
      );
    }
    const log = existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8') : '';
    if (!exited) {
      proc.kill('SIGKILL');
      throw new Error(`${kind} registry did not become ready on port ${port}:\n${log.slice(-2000)}`);
    }
    if (!/address already in use/i.test(log)) {
      throw new Error(`${kind} registry exited during start-up:\n${log.slice(-2000)}`);
    }
  }
  throw new Error(`${kind} registry could not bind a free port`);
}
