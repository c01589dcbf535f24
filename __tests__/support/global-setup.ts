/**
 * Jest globalSetup for the integration tests: checks that the external
 * programs the registry harness runs are installed, and builds the Go
 * referrers registry (__tests__/support/referrers-registry) once per test
 * run into <rootDir>/.cache/referrers-registry/.
 *
 * Jest loads this file outside its test runtime: with Node 24 it ends up
 * imported natively (Node's own TypeScript type stripping, not ts-jest), so
 * moduleNameMapper does not apply and `./x.js` imports would not resolve to
 * x.ts. Keep it self-contained (node: imports only, no relative imports, and
 * only erasable TypeScript syntax: no enums or parameter properties); it
 * takes the repository root from Jest's project config.
 *
 * Set OCI_HARNESS_SKIP_SETUP=1 to skip everything (e.g. to run only unit
 * tests on a machine without the registry tooling).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Programs the harness runs, and where a fresh Debian/Ubuntu machine gets them. */
const REQUIRED_TOOLS: Array<{ bin: string; install: string }> = [
  { bin: 'docker-registry', install: 'apt-get install docker-registry  (distribution 2.8)' },
  { bin: 'htpasswd', install: 'apt-get install apache2-utils' },
  { bin: 'openssl', install: 'apt-get install openssl' },
  { bin: 'go', install: 'Go >= 1.25 (https://go.dev/dl/ or apt-get install golang-go if recent enough)' },
];

async function onPath(bin: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, bin);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Throws one message listing every missing program and how to install it. */
export async function checkTools(): Promise<void> {
  const missing: string[] = [];
  for (const tool of REQUIRED_TOOLS) {
    if (!(await onPath(tool.bin))) missing.push(`  - ${tool.bin}: ${tool.install}`);
  }
  if (missing.length > 0) {
    throw new Error(
      `The registry test harness needs programs that are not on PATH:\n${missing.join('\n')}\n` +
        'Install them, or set OCI_HARNESS_SKIP_SETUP=1 to run tests that do not start registries.',
    );
  }
}

/**
 * Builds the referrers registry if its sources (or the Go version) changed
 * since the last build, and returns the binary's path. Safe against two
 * concurrent callers: the binary is built under a unique name and renamed
 * into place atomically.
 */
export async function ensureReferrersRegistry(rootDir: string): Promise<string> {
  const srcDir = join(rootDir, '__tests__', 'support', 'referrers-registry');
  const cacheDir = join(rootDir, '.cache', 'referrers-registry');
  const bin = join(cacheDir, 'referrers-registry');
  const stampFile = join(cacheDir, 'stamp');

  const hash = createHash('sha256');
  for (const file of ['main.go', 'go.mod', 'go.sum']) {
    hash
      .update(`${file}\0`)
      .update(await readFile(join(srcDir, file)))
      .update('\0');
  }
  const { stdout: goVersion } = await execFileP('go', ['version']);
  hash.update(goVersion);
  const stamp = hash.digest('hex');

  const upToDate = await readFile(stampFile, 'utf8').then(
    (s) => s.trim() === stamp,
    () => false,
  );
  const binExists = await access(bin, constants.X_OK).then(
    () => true,
    () => false,
  );
  if (upToDate && binExists) return bin;

  await mkdir(cacheDir, { recursive: true });
  const tmpBin = `${bin}.tmp-${process.pid}-${Date.now()}`;
  try {
    // -mod=readonly: go.sum is committed; a build must never rewrite it.
    await execFileP('go', ['build', '-mod=readonly', '-trimpath', '-buildvcs=false', '-o', tmpBin, '.'], {
      cwd: srcDir,
      env: { ...process.env, CGO_ENABLED: '0' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    await rm(tmpBin, { force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`Building the referrers registry failed (go build in ${srcDir}):\n${e.stderr || e.message}`);
  }
  await rename(tmpBin, bin);
  await writeFile(stampFile, `${stamp}\n`);
  return bin;
}

export default async function globalSetup(_globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  if (process.env.OCI_HARNESS_SKIP_SETUP === '1') return;
  await checkTools();
  // Workers are started after globalSetup and inherit this, so test files
  // find the binary without rebuilding (registries.ts falls back to building
  // it itself when the variable is missing).
  process.env.REFERRERS_REGISTRY_BIN = await ensureReferrersRegistry(projectConfig.rootDir);
}
