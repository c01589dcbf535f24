/**
 * Jest globalSetup for the integration tests: checks that the external
 * programs the registry harness runs are installed, builds the Go referrers
 * registry (__tests__/support/referrers-registry) into
 * <rootDir>/.cache/referrers-registry/, and installs the Go programs of
 * GO_TOOLS (cosign v2 and v3, distribution v3) from the Go module proxy into
 * <rootDir>/.cache/<name>/. Each is rebuilt only when its version or the Go
 * version changes (a stamp file records both). The first run takes minutes:
 * cosign is large.
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
import { access, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Programs the harness runs, and where a fresh Debian/Ubuntu machine gets them. */
const REQUIRED_TOOLS: Array<{ bin: string; install: string }> = [
  { bin: 'docker-registry', install: 'apt-get install docker-registry  (distribution 2.8)' },
  { bin: 'htpasswd', install: 'apt-get install apache2-utils' },
  { bin: 'openssl', install: 'apt-get install openssl' },
  {
    bin: 'go',
    install:
      'Go >= 1.26 for cosign v3 and distribution v3 (https://go.dev/dl/ or apt-get install golang-go if recent enough)',
  },
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

/**
 * A program `go install` builds from the module proxy for the tests. Both
 * cosign binaries are called `cosign`, hence one directory per tool.
 */
export interface GoTool {
  /** Directory under .cache/, and the name in messages. */
  name: string;
  /** Package path of the main package. */
  pkg: string;
  version: string;
  /** File name `go install` gives the binary (the package path's last element). */
  bin: string;
  /** Environment variable that names a binary to use instead (and that globalSetup sets for the workers). */
  envVar: string;
}

export const GO_TOOLS = {
  cosignV2: {
    name: 'cosign-v2',
    pkg: 'github.com/sigstore/cosign/v2/cmd/cosign',
    version: 'v2.6.5',
    bin: 'cosign',
    envVar: 'COSIGN_V2_BIN',
  },
  cosignV3: {
    name: 'cosign-v3',
    pkg: 'github.com/sigstore/cosign/v3/cmd/cosign',
    version: 'v3.1.3',
    bin: 'cosign',
    envVar: 'COSIGN_V3_BIN',
  },
  distributionV3: {
    name: 'distribution-v3',
    pkg: 'github.com/distribution/distribution/v3/cmd/registry',
    version: 'v3.1.2',
    bin: 'registry',
    envVar: 'DISTRIBUTION_V3_BIN',
  },
} as const satisfies Record<string, GoTool>;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding a lock file (created exclusively, holding our pid), so
 * that two test runs starting at once do not both spend minutes building the
 * same program. A lock whose process is gone is taken over.
 */
async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  for (let waited = 0; ; waited++) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      // An empty file is a lock being written right now, unless it has been empty for a while.
      const age =
        Date.now() -
        (await stat(lockFile).then(
          (st) => st.mtimeMs,
          () => Date.now(),
        ));
      if (holder > 0 ? !isAlive(holder) : age > 10_000) await rm(lockFile, { force: true });
      else {
        if (waited === 0) process.stderr.write(`Waiting for process ${holder || '?'} that holds ${lockFile}\n`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile, { force: true });
  }
}

/**
 * Returns the path of `tool`, installing it into <rootDir>/.cache/<name>/
 * first if it is missing or was built from another version or by another Go.
 * `$<envVar>` overrides. Builds run under `nice`, into a directory of their
 * own, and the binary is renamed into place: safe for concurrent callers.
 */
export async function ensureGoTool(rootDir: string, tool: GoTool): Promise<string> {
  const override = process.env[tool.envVar];
  if (override) return override;
  const cacheDir = join(rootDir, '.cache', tool.name);
  const bin = join(cacheDir, tool.bin);
  const stampFile = join(cacheDir, 'stamp');
  const { stdout: goVersion } = await execFileP('go', ['version']);
  const stamp = `${tool.pkg}@${tool.version} ${goVersion.trim()}`;
  const upToDate = async () =>
    (await readFile(stampFile, 'utf8').then(
      (s) => s.trim() === stamp,
      () => false,
    )) &&
    (await access(bin, constants.X_OK).then(
      () => true,
      () => false,
    ));
  if (await upToDate()) return bin;

  await mkdir(cacheDir, { recursive: true });
  return withLock(join(cacheDir, 'lock'), async () => {
    if (await upToDate()) return bin; // built by whoever held the lock
    const gobin = join(cacheDir, `.build-${process.pid}-${Date.now()}`);
    const started = Date.now();
    process.stderr.write(
      `Building ${tool.name} (go install ${tool.pkg}@${tool.version}); the first time takes minutes\n`,
    );
    try {
      await execFileP('nice', ['-n', '10', 'go', 'install', '-trimpath', `${tool.pkg}@${tool.version}`], {
        cwd: cacheDir,
        env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
        maxBuffer: 16 * 1024 * 1024,
      });
      await rename(join(gobin, tool.bin), bin);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(
        `Installing ${tool.name} failed (go install ${tool.pkg}@${tool.version}):\n${e.stderr || e.message}`,
      );
    } finally {
      await rm(gobin, { recursive: true, force: true });
    }
    await writeFile(stampFile, `${stamp}\n`);
    process.stderr.write(`Built ${tool.name} in ${Math.round((Date.now() - started) / 1000)} s\n`);
    return bin;
  });
}

export default async function globalSetup(_globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  if (process.env.OCI_HARNESS_SKIP_SETUP === '1') return;
  await checkTools();
  // Workers are started after globalSetup and inherit this, so test files
  // find the binary without rebuilding (registries.ts falls back to building
  // it itself when the variable is missing).
  process.env.REFERRERS_REGISTRY_BIN = await ensureReferrersRegistry(projectConfig.rootDir);
  // One after the other: each build already uses every core.
  for (const tool of Object.values(GO_TOOLS)) {
    process.env[tool.envVar] = await ensureGoTool(projectConfig.rootDir, tool);
  }
}
