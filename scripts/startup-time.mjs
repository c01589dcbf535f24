#!/usr/bin/env node
// `node scripts/startup-time.mjs [entry...]`: how long the built action (dist/index.js, or each
// bundle given) takes from process start to its first request. A stand-in registry on loopback
// notes when the first request arrives (and answers 404 to everything, which ends the run); the
// same is measured for a bare Node process that sends one request, the floor no action can go
// below. Runs alternate between the entries so that a busy machine slows each alike; prints the
// median and min–max in milliseconds (RUNS=n, default 21). Compare figures of one run only.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entries = process.argv.length > 2 ? process.argv.slice(2) : [join(root, 'dist', 'index.js')];
const runs = Number(process.env.RUNS ?? 21);

let onFirst = () => {};
const server = createServer((req, res) => {
  onFirst();
  onFirst = () => {};
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"errors":[{"code":"NAME_UNKNOWN","message":"stand-in"}]}');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const host = `127.0.0.1:${server.address().port}`;

/**
 * CPU time (ms) the process has had so far, from Linux's /proc/<pid>/task/<tid>/schedstat: the
 * main thread alone, and all threads. Unlike wall time it barely moves when other processes
 * compete for the CPU.
 */
function cpuTime(pid) {
  const read = (tid) => Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  try {
    return { main: read(pid), all: readdirSync(`/proc/${pid}/task`).reduce((a, tid) => a + read(tid), 0) };
  } catch {
    return { main: NaN, all: NaN };
  }
}

/** Spawns one process; resolves with wall and CPU milliseconds from spawn to its first request. */
function once(args, env) {
  return new Promise((resolve, reject) => {
    let first;
    const start = performance.now();
    const child = spawn(process.execPath, args, { stdio: 'ignore', env: { PATH: process.env.PATH, ...env } });
    onFirst = () => (first = { wall: performance.now() - start, ...cpuTime(child.pid) });
    child.on('error', reject);
    child.on('exit', () =>
      first === undefined ? reject(new Error(`${args.join(' ')} sent no request`)) : resolve(first),
    );
  });
}

const actionEnv = {
  INPUT_SOURCE: `${host}/demo/app:rc`,
  INPUT_TARGETS: '1.2.3',
  'INPUT_PLAIN-HTTP': 'true',
  DOCKER_CONFIG: join(root, '.cache', 'no-docker-config'),
  GITHUB_ACTOR: 'octocat',
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_RUN_ID: '1',
};
const subjects = [
  {
    label: 'bare node, one request',
    args: ['-e', `require('node:http').get('http://${host}/v2/', (r) => r.resume())`],
  },
  ...entries.map((e) => ({ label: `action ${e}`, args: [e], env: actionEnv })),
];
const times = subjects.map(() => []);
for (let i = 0; i < runs; i++) for (const [j, s] of subjects.entries()) times[j].push(await once(s.args, s.env ?? {}));

const stats = (values) => {
  const t = values.sort((a, b) => a - b);
  return `median ${t[Math.floor(t.length / 2)].toFixed(1)} (${t[0].toFixed(1)}–${t.at(-1).toFixed(1)})`;
};
console.log(`node ${process.version}, from spawn to the first request, ms, ${runs} runs each: median (min–max)`);
for (const [j, s] of subjects.entries()) {
  const t = times[j];
  console.log(`${s.label}`);
  console.log(`  wall time        ${stats(t.map((x) => x.wall))}`);
  console.log(`  CPU, main thread ${stats(t.map((x) => x.main))}`);
  console.log(`  CPU, all threads ${stats(t.map((x) => x.all))}`);
}
server.close();
