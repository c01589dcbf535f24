#!/usr/bin/env node
// `npm test`: type check, lint, the dist/ check, then every jest suite (unit, harness and
// integration tests against real registries). Ends with one line "tests: N passed, N failed".
import { spawnSync } from 'node:child_process';
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
step('jest', process.execPath, [
  '--experimental-vm-modules',
  '--no-warnings=ExperimentalWarning',
  'node_modules/jest/bin/jest.js',
  '--json',
  `--outputFile=${resultsFile}`,
  ...process.argv.slice(2),
]);

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
