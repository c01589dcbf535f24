#!/usr/bin/env node
// Smoke run of the committed bundle, as the runner starts it (`node dist/index.js`, inputs as
// INPUT_* variables), on any OS: ci.yml runs it on Linux, Windows and macOS. No registry is
// needed: each case must fail, with exit code 1, exactly one `::error::` line that says what
// is wrong (and names the host when a registry cannot be reached), no "Unexpected error", no
// stack trace, and no output set.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'oci-promote-smoke-'));

/** A loopback port nothing listens on: bound, then closed. */
const closedPort = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

const cases = [
  {
    name: 'a bad target',
    inputs: { source: 'ghcr.io/acme/app:rc', targets: '1.2.3, not a tag!' },
    error: /^Invalid target 'not a tag!': a tag is /,
  },
  {
    name: 'no source',
    inputs: { targets: '1.2.3' },
    error: /^Input source is required/,
  },
  {
    name: 'a registry that refuses the connection',
    inputs: { source: `127.0.0.1:${closedPort}/smoke/app:rc`, targets: '1.2.3', 'plain-http': 'true', timeout: '5' },
    // Windows answers a closed loopback port after about 2 s of SYN retries; the reason may read differently.
    error: new RegExp(`^GET request to 127\\.0\\.0\\.1:${closedPort} failed: `),
  },
  {
    name: 'a registry host that does not resolve',
    inputs: { source: 'registry.invalid/smoke/app:rc', targets: '1.2.3', timeout: '5' },
    error: /^GET request to registry\.invalid failed: /,
  },
];

/** The environment of the action's process: this one's without INPUT_* and GITHUB_* files. */
function actionEnv(inputs) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^INPUT_/i.test(k) && !/^GITHUB_(OUTPUT|STATE|ENV|PATH|STEP_SUMMARY)$/i.test(k),
    ),
  );
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return {
    ...env,
    DOCKER_CONFIG: join(dir, 'no-docker-config'),
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
}

let failed = 0;
try {
  for (const c of cases) {
    writeFileSync(join(dir, 'output'), '');
    writeFileSync(join(dir, 'summary'), '');
    const started = Date.now();
    const r = spawnSync(process.execPath, [join(root, 'dist', 'index.js')], {
      env: actionEnv(c.inputs),
      encoding: 'utf8',
      timeout: 120_000,
    });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const errors = out.split(/\r?\n/).filter((l) => l.startsWith('::error::'));
    const problems = [];
    if (r.error) problems.push(`could not run: ${r.error.message}`);
    if (r.status !== 1) problems.push(`exit code ${r.status}, expected 1`);
    if (errors.length !== 1) problems.push(`${errors.length} ::error:: lines, expected 1`);
    else if (!c.error.test(errors[0].slice('::error::'.length))) problems.push(`error does not match ${c.error}`);
    if (/Unexpected error/.test(out)) problems.push('says "Unexpected error"');
    if (/^\s+at .+:\d+:\d+\)?$/m.test(out)) problems.push('prints a stack trace');
    if (readFileSync(join(dir, 'output'), 'utf8') !== '') problems.push('set outputs');
    const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    if (problems.length === 0) {
      console.log(`ok   ${c.name} (${took}): ${errors[0]}`);
    } else {
      failed++;
      console.log(`FAIL ${c.name} (${took}): ${problems.join('; ')}\n${out.replace(/^/gm, '  | ')}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed === 0 ? `smoke: all ${cases.length} cases passed` : `smoke: ${failed} of ${cases.length} failed`);
process.exit(failed === 0 ? 0 : 1);
