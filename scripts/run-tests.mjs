#!/usr/bin/env node
// `npm test`: type check, lint, the dist/ check, then every jest suite (unit, harness and
// integration tests against real registries). Ends with one line "tests: N passed, N failed".
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const failures = [];

function step(name, command, args, env = {}) {
  console.log(`\n== ${name}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) failures.push(name);
  return r.status === 0;
}

step('type check', bin('tsc'), ['--noEmit', '-p', 'tsconfig.test.json']);
step('lint', bin('eslint'), ['src', '__tests__', 'scripts']);
step('dist/ is a fresh build of src/', process.execPath, ['scripts/check-dist.mjs']);

mkdirSync(join(root, '.cache'), { recursive: true });
const resultsFile = join(root, '.cache', 'jest-results.json');
rmSync(resultsFile, { force: true });
// jest's own output is kept, to scan it for secrets: the tests' passwords all end in
// "-secret", and tokens the test token servers issue are JWTs.
console.log('\n== jest');
const jest = spawn(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings=ExperimentalWarning',
    'node_modules/jest/bin/jest.js',
    '--json',
    `--outputFile=${resultsFile}`,
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: ['inherit', 'pipe', 'pipe'] },
);
let output = '';
jest.stdout.on('data', (c) => {
  output += c;
  process.stdout.write(c);
});
jest.stderr.on('data', (c) => {
  output += c;
  process.stderr.write(c);
});
const jestStatus = await new Promise((resolve) => jest.on('close', resolve));
if (jestStatus !== 0) failures.push('jest');

console.log('\n== secret scan of the test output');
const leaks = [
  ...new Set(output.match(/\b[a-z]+(?:-[a-z]+)*-secret\b|eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/g) ?? []),
];
if (leaks.length > 0) {
  failures.push('secret scan');
  console.log(`The test output shows ${leaks.length} secret(s): ${leaks.map((l) => `${l.slice(0, 4)}…`).join(', ')}`);
} else {
  console.log('No test password or token in the test output');
}

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(resultsFile)) {
  const r = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests;
  skipped = r.numPendingTests + r.numTodoTests;
  if (r.numTotalTests === 0) failures.push('jest ran no test');
}
if (failures.length > 0) console.log(`\nFailed steps: ${failures.join(', ')}`);
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failures.length > 0 || failed > 0 ? 1 : 0);
