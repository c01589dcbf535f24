#!/usr/bin/env node
// `node scripts/startup-profile.mjs [bundle]`: where the built action's start-up goes. Prints
// the bundle's bytes by package (through its source map: what V8 compiles before anything
// runs), then the CPU time of a run, by package and by Node's own internals, from
// `node --cpu-prof` of the bundle against a stand-in registry on loopback that answers 404 to
// everything (so the run ends just after its first request). RUNS=n profiles (default 5) are
// summed. scripts/startup-time.mjs measures the time itself; this says what it is made of.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = resolve(process.argv[2] ?? join(root, 'dist', 'index.js'));
const runs = Number(process.env.RUNS ?? 5);

/** Per generated line, the [column, source index] of each mapped segment (source map v3 VLQ). */
function decodeMappings(mappings) {
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let source = 0;
  return mappings.split(';').map((line) => {
    const segments = [];
    let column = 0;
    for (const segment of line.split(',')) {
      if (!segment) continue;
      const values = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      column += values[0];
      if (values.length > 1) source += values[1];
      segments.push([column, values.length > 1 ? source : -1]);
    }
    return segments;
  });
}

/** `node_modules/undici/lib/x.js` → `undici`; `src/action/main.ts` → `src/action`. */
function packageOf(source) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (m) return m[1];
  const s = /(?:^|\/)src\/([^/]+)\//.exec(source);
  return s ? `src/${s[1]}` : 'other (ncc runtime)';
}

const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8'));
const lines = decodeMappings(map.mappings);
const code = readFileSync(bundle, 'utf8').split('\n');
const bytes = new Map();
lines.forEach((segments, i) => {
  const text = code[i] ?? '';
  segments.forEach(([column, source], k) => {
    const end = k + 1 < segments.length ? segments[k + 1][0] : text.length;
    const key = source >= 0 ? packageOf(map.sources[source]) : 'other (ncc runtime)';
    bytes.set(key, (bytes.get(key) ?? 0) + end - column);
  });
});
/** A function's package: its own position's, else (a module's wrapper, which ncc generated) the next mapped code's. */
const sourceAt = (line, column) => {
  let found = -1;
  for (const [c, s] of lines[line] ?? []) {
    if (c > column) {
      if (found < 0) found = s;
      if (found >= 0) break;
    } else found = s;
  }
  for (let l = line + 1; found < 0 && l < Math.min(lines.length, line + 5); l++)
    found = lines[l].find(([, s]) => s >= 0)?.[1] ?? -1;
  return found >= 0 ? packageOf(map.sources[found]) : 'other (ncc runtime)';
};

// Profiles against a stand-in registry.
const server = createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"errors":[{"code":"NAME_UNKNOWN","message":"stand-in"}]}');
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const host = `127.0.0.1:${server.address().port}`;
const dir = mkdtempSync(join(tmpdir(), 'startup-profile-'));
const self = new Map();
let total = 0;
try {
  for (let i = 0; i < runs; i++) {
    await new Promise((done, fail) => {
      const child = spawn(
        process.execPath,
        ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '100', bundle],
        {
          stdio: 'ignore',
          env: {
            PATH: process.env.PATH,
            INPUT_SOURCE: `${host}/demo/app:rc`,
            INPUT_TARGETS: '1.2.3',
            'INPUT_PLAIN-HTTP': 'true',
            DOCKER_CONFIG: join(dir, 'no-docker-config'),
          },
        },
      );
      child.on('error', fail);
      child.on('exit', done);
    });
  }
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    profile.samples.forEach((id, i) => {
      const frame = nodes.get(id);
      const us = profile.timeDeltas[i + 1] ?? 0;
      let key;
      if (frame.url === `file://${bundle}`) key = sourceAt(frame.lineNumber, frame.columnNumber);
      else if (frame.url.startsWith('node:')) {
        // Compiling the bundle and loading Node's own modules are the big items; name them.
        key =
          frame.functionName === 'compileSourceTextModule'
            ? 'V8 compiling the bundle (ESM)'
            : frame.functionName === 'compileForInternalLoader'
              ? "loading Node's built-in modules"
              : `node: ${frame.url.slice(5).split('/').slice(0, 2).join('/')}`;
      } else key = frame.functionName || '(native)';
      if (key === '(idle)') return;
      self.set(key, (self.get(key) ?? 0) + us);
      total += us;
    });
  }
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}

const kb = (n) => `${(n / 1024).toFixed(0)} KB`.padStart(9);
const allBytes = [...bytes.values()].reduce((a, b) => a + b, 0);
console.log(`${bundle}: ${kb(allBytes).trim()} of mapped code, by package`);
for (const [k, v] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${kb(v)}  ${k}`);
console.log(`\nCPU of a run to its first request (and a 404), ${runs} runs, ms per run, by where it was spent`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20))
  console.log(`${(v / 1000 / runs).toFixed(1).padStart(7)}  ${k}`);
console.log(`${(total / 1000 / runs).toFixed(1).padStart(7)}  in all (idle time left out)`);
