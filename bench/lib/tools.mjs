// The clients under comparison, how to install them, and the command lines each scenario uses.
//
// The reference clients come from the Go module proxy at pinned versions and are installed
// into .cache/bin (not taken from PATH), so every machine measures the same builds.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const GO_TOOLS = {
  oras: { module: 'oras.land/oras/cmd/oras', version: 'v1.3.6', versionArgs: ['version'] },
  crane: { module: 'github.com/google/go-containerregistry/cmd/crane', version: 'v0.22.1', versionArgs: ['version'] },
  regctl: { module: 'github.com/regclient/regclient/cmd/regctl', version: 'v0.11.7', versionArgs: ['version'] },
};

export const TIME_BIN = '/usr/bin/time';

function which(bin) {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function goToolVersion(bin, name) {
  try {
    const out = execFileSync(bin, GO_TOOLS[name].versionArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (name === 'oras') return /Version:\s*(\S+)/.exec(out)?.[1] ?? out.trim();
    if (name === 'regctl') return /VCSTag:\s*(\S+)/.exec(out)?.[1] ?? out.trim();
    return out.trim();
  } catch {
    return null;
  }
}

/**
 * Installs what is missing: the Go tools into .cache/bin (`go install`, from the module
 * proxy), and GNU time and curl with apt-get when running as root. Returns the binaries.
 */
export function ensureTools(root) {
  const missingApt = [];
  if (!existsSync(TIME_BIN)) missingApt.push('time');
  if (!which('curl')) missingApt.push('curl');
  if (!which('docker-registry')) missingApt.push('docker-registry');
  if (missingApt.length) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `The benchmark needs ${missingApt.join(', ')}: sudo apt-get install -y ${missingApt.join(' ')} ` +
          `(GNU time for peak RSS, curl for the baseline, docker-registry for distribution 2.8)`,
      );
    }
    console.error(`installing ${missingApt.join(' ')} with apt-get`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missingApt], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  if (!which('go')) throw new Error('The benchmark needs Go (>= 1.25) to install oras, crane and regctl');
  const binDir = join(root, '.cache', 'bin');
  mkdirSync(binDir, { recursive: true });
  const bins = {};
  for (const [name, t] of Object.entries(GO_TOOLS)) {
    const bin = join(binDir, name);
    const want = t.version;
    const have = existsSync(bin) ? goToolVersion(bin, name) : null;
    if (!have || !have.replace(/^v/, '').startsWith(want.replace(/^v/, ''))) {
      console.error(`go install ${t.module}@${want} into ${binDir}`);
      execFileSync('go', ['install', `${t.module}@${want}`], {
        env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0' },
        stdio: 'inherit',
      });
    }
    bins[name] = bin;
  }
  return bins;
}

export function versions(bins, root, nodeBin) {
  const safe = (f) => {
    try {
      return f();
    } catch {
      return 'unknown';
    }
  };
  const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  // Which build of the action was measured: the commit, and whether dist/ differs from it.
  const action = safe(() => {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'dist'], { cwd: root, encoding: 'utf8' }).trim();
    return `dist/index.js at ${commit}${dirty ? ' + uncommitted changes in dist/' : ''}`;
  });
  return {
    action,
    node: safe(() => run(nodeBin, ['--version'])),
    go: safe(() => run('go', ['version']).replace(/^go version /, '')),
    oras: safe(() => goToolVersion(bins.oras, 'oras')),
    crane: safe(() => goToolVersion(bins.crane, 'crane')),
    regctl: safe(() => goToolVersion(bins.regctl, 'regctl')),
    'docker-registry': safe(() => run('docker-registry', ['--version'])),
    curl: safe(() => run('curl', ['--version']).split(' ').slice(0, 2).join(' ')),
  };
}

/**
 * Runs one command under GNU time (peak RSS, %M in KB; CPU time, %U + %S) and measures its wall
 * time here.
 * Never throws on a non-zero exit: a failing tool is a result, not a harness failure.
 */
export async function timed(cmd, args, { env, cwd, timeoutMs = 30 * 60_000 } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-time-'));
  const rssFile = join(dir, 'rss');
  try {
    const t0 = performance.now();
    const child = spawn(TIME_BIN, ['-f', '%U %S %M', '-o', rssFile, cmd, ...args], {
      env,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout = (stdout + c).slice(-20_000)));
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    clearTimeout(timer);
    const wallMs = performance.now() - t0;
    const [user, sys, rss] = (/([\d.]+) ([\d.]+) (\d+)\s*$/.exec(readFileSync(rssFile, 'utf8').trim()) ?? [])
      .slice(1)
      .map(Number);
    return { code, wallMs, rssKB: rss ?? NaN, cpuMs: (user + sys) * 1000, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A clean environment per invocation: no credentials, no config from the machine. */
export async function cleanEnv(extra = {}) {
  const home = await mkdtemp(join(tmpdir(), 'bench-home-'));
  mkdirSync(join(home, 'docker'), { recursive: true });
  // @actions/core refuses to write outputs to files that do not exist: the runner creates them.
  writeFileSync(join(home, 'github_output'), '');
  writeFileSync(join(home, 'github_step_summary'), '');
  return {
    home,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      DOCKER_CONFIG: join(home, 'docker'),
      REGCTL_CONFIG: join(home, 'regctl.json'),
      TMPDIR: tmpdir(),
      ...extra,
    },
  };
}

/**
 * Command lines per tool. An operation is either
 *   { type: 'tag', src: 'host/repo:tag', repoRef: 'host/repo', tags: [...] } or
 *   { type: 'copy', src: 'host/repo:tag', dst: 'host2/repo2:tag', hosts: [...] }.
 * Each tool turns it into one or more invocations (crane and regctl tag one tag per call).
 */
export function toolDefs(bins, { root, nodeBin }) {
  const action = (extraInputs = {}, bundle = join(root, 'dist', 'index.js')) => ({
    invocations(op, envBase) {
      const targets = op.type === 'tag' ? op.tags.join('\n') : op.dst;
      return [
        {
          cmd: nodeBin,
          args: [bundle],
          env: {
            ...envBase,
            INPUT_SOURCE: op.src,
            INPUT_TARGETS: targets,
            'INPUT_PLAIN-HTTP': 'true',
            GITHUB_OUTPUT: join(envBase.HOME, 'github_output'),
            GITHUB_STEP_SUMMARY: join(envBase.HOME, 'github_step_summary'),
            RUNNER_TEMP: envBase.HOME,
            // The request trace, whose phases colour the action's waterfalls (bench/lib/trace-join.mjs).
            INPUT_TRACE: 'true',
            ...extraInputs,
          },
        },
      ];
    },
    copiesReferrers: true,
  });
  // BENCH_ALT_BUNDLE=<path to another build's index.js>: measured as the tool `action-alt`, for
  // a before/after comparison within one run. BENCH_ALT_INPUTS='{"concurrency":"16"}' gives
  // `action-alt` other inputs (with or without BENCH_ALT_BUNDLE: then dist/index.js).
  const altInputs = Object.fromEntries(
    Object.entries(JSON.parse(process.env.BENCH_ALT_INPUTS ?? '{}')).map(([k, v]) => [
      `INPUT_${k.toUpperCase()}`,
      String(v),
    ]),
  );
  const alt = process.env.BENCH_ALT_BUNDLE ?? (Object.keys(altInputs).length ? join(root, 'dist', 'index.js') : '');
  const altLabel = [process.env.BENCH_ALT_BUNDLE, process.env.BENCH_ALT_INPUTS].filter(Boolean).join(', ');
  return {
    action: { label: 'action (dist/index.js)', ...action() },
    ...(alt && { 'action-alt': { label: `action (${altLabel})`, ...action(altInputs, alt) } }),
    // Not run by default (BENCH_TOOLS=...,action-noverify): shows what `verify: true` costs.
    'action-noverify': { label: 'action, verify: false', ...action({ INPUT_VERIFY: 'false' }) },
    oras: {
      label: 'oras',
      invocations(op, env) {
        if (op.type === 'tag') return [{ cmd: bins.oras, args: ['tag', '--plain-http', op.src, ...op.tags], env }];
        return [{ cmd: bins.oras, args: ['cp', '-r', '--from-plain-http', '--to-plain-http', op.src, op.dst], env }];
      },
      copiesReferrers: true,
    },
    crane: {
      label: 'crane',
      invocations(op, env) {
        if (op.type === 'tag')
          return op.tags.map((t) => ({ cmd: bins.crane, args: ['tag', '--insecure', op.src, t], env }));
        return [{ cmd: bins.crane, args: ['copy', '--insecure', op.src, op.dst], env }];
      },
      // crane copy has no option to copy referrers: its copies are marked as such.
      copiesReferrers: false,
    },
    regctl: {
      label: 'regctl',
      invocations(op, env) {
        // --host instead of `regctl registry set`: same effect (plain HTTP for that host),
        // without writing a config file; HOME/REGCTL_CONFIG point at an empty temp dir anyway.
        const hostFlags = op.hosts.flatMap((h) => ['--host', `reg=${h},tls=disabled`]);
        if (op.type === 'tag') {
          // regctl documents `image copy` within a repository as its retag.
          return op.tags.map((t) => ({
            cmd: bins.regctl,
            args: ['image', 'copy', ...hostFlags, op.src, `${op.repoRef}:${t}`],
            env,
          }));
        }
        return [
          {
            cmd: bins.regctl,
            args: ['image', 'copy', '--referrers', '--digest-tags', ...hostFlags, op.src, op.dst],
            env,
          },
        ];
      },
      copiesReferrers: true,
    },
  };
}

/**
 * The curl baseline of scenario 5: open an upload session on the target (POST), then
 * `curl GET blob | curl -T - PUT <session>?digest=`, through the same proxies as the tools.
 */
export function curlBaselineInvocation({ srcUrl, srcRepo, dstUrl, dstRepo, digest }, env) {
  const script = `set -euo pipefail
loc=$(curl -sS --fail -o /dev/null -w '%header{location}' -X POST "$DST/v2/$DST_REPO/blobs/uploads/")
case "$loc" in /*) loc="$DST$loc" ;; esac
case "$loc" in *\\?*) sep='&' ;; *) sep='?' ;; esac
curl -sS --fail "$SRC/v2/$SRC_REPO/blobs/$DIGEST" |
  curl -sS --fail -o /dev/null -T - -H 'Content-Type: application/octet-stream' "$loc\${sep}digest=$DIGEST"
`;
  return {
    cmd: 'bash',
    args: ['-c', script],
    env: { ...env, SRC: srcUrl, SRC_REPO: srcRepo, DST: dstUrl, DST_REPO: dstRepo, DIGEST: digest },
  };
}
