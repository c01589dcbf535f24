#!/usr/bin/env node
// `npm run bench`: the action's engine (the built dist/index.js, run as the GitHub runner runs
// it) against the reference clients (oras, crane, regctl) on local registries, without and
// with the referrers API, on plain loopback and through a proxy adding 25 ms per request.
// Prints one table and writes it, with the machine and the versions, to bench/results.md.
//
// Environment:
//   BENCH_RUNS=3          repetitions per measurement (median, min, max)
//   BENCH_BIG_RUNS=2      repetitions of scenario 5 (1 GiB)
//   BENCH_BIG_MB=1024     size of scenario 5's layer
//   BENCH_SCENARIOS=1,2   only these scenarios (7: scenario 2's graph with 4 platforms)
//   BENCH_KINDS=distribution,referrers
//   BENCH_TOOLS=action,oras,crane,regctl   (add action-noverify to see what verify costs)
//   BENCH_ALT_BUNDLE=path/index.js   with BENCH_TOOLS=...,action-alt: another build, side by side
//   BENCH_ALT_INPUTS={"concurrency":"16"}   other inputs for action-alt (with or without BENCH_ALT_BUNDLE)
//   BENCH_LATENCY_MS=25   the added delay of the second condition
//   BENCH_S5_ALL_KINDS=1  also run scenario 5 on the referrers registry (see results.md)
//   BENCH_QUICK=1         smoke test: 1 run, 64 MiB instead of 1 GiB, 3 start-up runs
//   BENCH_OUT=file.md     write the report there instead of bench/results.md
//
// Exits non-zero only when the harness itself fails; a tool that fails or misses a target
// is a result, shown with ✗ in the table.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { checkResult } from './lib/check.mjs';
import { minimumRequests } from './lib/minimum.mjs';
import { mergeSnapshots, startProxy } from './lib/proxy.mjs';
import { startRegistry } from './lib/registries.mjs';
import { joinPhases, phasesOf, readTrace, traceFiles } from './lib/trace-join.mjs';
import { criticalPath, renderCriticalPath, renderWaterfall } from './lib/waterfall.mjs';
import { machineFacts, renderReport } from './lib/report.mjs';
import { graphStats, seedBigImage, seedImage, seedIndex, seedManyReferrers } from './lib/seed.mjs';
import { cleanEnv, curlBaselineInvocation, ensureTools, timed, toolDefs, versions } from './lib/tools.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const RUNS = Number(env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const BIG_RUNS = Number(env.BENCH_BIG_RUNS ?? (QUICK ? 1 : 2));
const BIG_MB = Number(env.BENCH_BIG_MB ?? (QUICK ? 64 : 1024));
const STARTUP_RUNS = Number(env.BENCH_STARTUP_RUNS ?? (QUICK ? 3 : 7));
const LATENCY = Number(env.BENCH_LATENCY_MS ?? 25);
const SCENARIOS = (env.BENCH_SCENARIOS ?? '1,2,7,3,4,5,6').split(',').map((s) => s.trim());
const KINDS = (env.BENCH_KINDS ?? 'distribution,referrers').split(',').map((s) => s.trim());
const TOOLS = (env.BENCH_TOOLS ?? 'action,oras,crane,regctl').split(',').map((s) => s.trim());
// Scenario 5 on the referrers registry measures the registry more than the clients:
// go-containerregistry's registry hashes the whole blob file on every HEAD and buffers
// blob GETs and PATCH uploads in memory. Distribution streams to and from disk.
const S5_KINDS = env.BENCH_S5_ALL_KINDS === '1' ? KINDS : KINDS.filter((k) => k === 'distribution');
const CONDITIONS = [
  { name: 'loopback', short: 'lo', delay: 0 },
  { name: `${LATENCY} ms`, short: `rtt${LATENCY}`, delay: LATENCY },
];
const DETAIL_DIR = join(root, '.cache', 'bench');
// The source repository of each scenario (the same seeded graph may serve several).
const SOURCE_OF = { 1: 's1', 2: 's2', 3: 's2', 6: 's2', 4: 's4', 5: 's5', 7: 's7' };
// No '|' in labels: they end up in markdown tables.
const CURL_LABELS = { curl: 'curl GET → curl PUT (baseline)', 'curl-direct': 'curl GET → PUT, no proxy' };

const cleanups = [];
async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping registries and proxies`);
    cleanup().finally(() => process.exit(130));
  });
}

const log = (...a) => console.error(...a);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const t0 = Date.now();
  for (const s of SCENARIOS) if (!/^[1-7]$/.test(s)) throw new Error(`BENCH_SCENARIOS: unknown scenario ${s}`);
  for (const k of KINDS) if (!['distribution', 'referrers'].includes(k)) throw new Error(`BENCH_KINDS: unknown ${k}`);
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/index.js is missing: npm run build');
  const bins = ensureTools(root);
  // The action runs on the Node 24 of the `node` devDependency, as npm scripts do, even when
  // this script was started with another node.
  const localNode = join(root, 'node_modules', '.bin', 'node');
  const nodeBin = existsSync(localNode) ? localNode : process.execPath;
  const defs = toolDefs(bins, { root, nodeBin });
  for (const t of TOOLS) if (!defs[t]) throw new Error(`BENCH_TOOLS: unknown tool ${t}`);
  const facts = { ...machineFacts(), versions: versions(bins, root, nodeBin) };
  log(`machine: ${facts.cpu}, ${facts.nproc} CPUs, ${facts.memory}; node ${facts.versions.node}`);
  log(`scenarios ${SCENARIOS.join(',')} on ${KINDS.join(', ')}; tools ${TOOLS.join(', ')}; ${RUNS} run(s)`);
  mkdirSync(DETAIL_DIR, { recursive: true });

  const work = await mkdtemp(join(tmpdir(), 'bench-work-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));

  // Scenario 5's layer: pseudo-random bytes on disk, never in memory.
  let big = null;
  if (SCENARIOS.includes('5') && S5_KINDS.length) {
    const layerFile = join(work, 'big-layer');
    log(`generating a ${BIG_MB} MiB layer`);
    await run('sh', ['-c', `head -c ${BIG_MB * 1024 * 1024} /dev/urandom > "${layerFile}"`]);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(layerFile, { highWaterMark: 1 << 20 })) hash.update(chunk);
    big = { layerFile, digest: `sha256:${hash.digest('hex')}`, size: BIG_MB * 1024 * 1024 };
  }

  const results = [];
  let startup = null;
  for (const kind of KINDS) {
    // Registry A holds the sources (and the targets within one registry); registry B, a
    // second process of the same kind, is the target of scenarios 3 and 5.
    const needB = SCENARIOS.includes('3') || (SCENARIOS.includes('5') && S5_KINDS.includes(kind));
    const kindCleanups = cleanups.length; // this kind's registries and proxies stop when it is done
    const regA = await startRegistry(kind, { root, name: 'A' });
    cleanups.push(() => regA.stop());
    const proxyA = await startProxy({ name: 'A', upstreamPort: regA.port });
    cleanups.push(() => proxyA.close());
    let regB = null;
    let proxyB = null;
    if (needB) {
      regB = await startRegistry(kind, { root, name: 'B' });
      cleanups.push(() => regB.stop());
      proxyB = await startProxy({ name: 'B', upstreamPort: regB.port });
      cleanups.push(() => proxyB.close());
    }
    const proxies = [proxyA, proxyB].filter(Boolean);
    log(
      `\n== ${kind}: registry A ${regA.host} (proxy ${proxyA.host})${regB ? `, B ${regB.host} (proxy ${proxyB.host})` : ''}`,
    );

    // Seeding goes straight to the registry, never through the proxies.
    const graphs = {};
    graphs.s1 = await seedImage(regA, 'bench/s1', 'v1');
    if (SCENARIOS.some((s) => ['2', '3', '6'].includes(s))) graphs.s2 = await seedIndex(regA, 'bench/s2', 'v1');
    // Scenario 7: the smaller graph of issue 13, where fixed costs weigh more.
    if (SCENARIOS.includes('7')) graphs.s7 = await seedIndex(regA, 'bench/s7', 'v1', { platforms: 4 });
    if (SCENARIOS.includes('4')) graphs.s4 = await seedManyReferrers(regA, 'bench/s4', 'v1', 200);
    if (big && S5_KINDS.includes(kind)) {
      log(`seeding the ${BIG_MB} MiB image`);
      graphs.s5 = await seedBigImage(regA, 'bench/s5', 'v1', big);
    }
    log(`seeded: ${Object.keys(graphs).join(', ')}`);

    if (!startup) startup = await measureStartup(defs, proxyA, regA, graphs.s1);

    for (const scenario of SCENARIOS) {
      if (scenario === '5' && !S5_KINDS.includes(kind)) continue;
      const variants = scenario === '1' ? [1, 20] : [null];
      for (const variant of variants) {
        for (const cond of CONDITIONS) {
          for (const p of proxies) p.setDelay(cond.delay);
          // Scenario 5's baseline: curl | curl through the same proxies, and on loopback also
          // straight to the registries, which shows what the proxies themselves cost.
          const tools = scenario !== '5' ? TOOLS : cond.delay ? [...TOOLS, 'curl'] : [...TOOLS, 'curl', 'curl-direct'];
          const runs = scenario === '5' ? BIG_RUNS : RUNS;
          const rows = new Map(tools.map((t) => [t, null]));
          for (let r = 1; r <= runs; r++) {
            for (const tool of tools) {
              const m = await measure({
                scenario,
                variant,
                kind,
                cond,
                tool,
                run: r,
                defs,
                regA,
                regB,
                proxyA,
                proxyB,
                proxies,
                graphs,
              });
              let row = rows.get(tool);
              if (!row) {
                row = {
                  scenario,
                  variant,
                  kind,
                  cond: cond.name,
                  tool,
                  label: CURL_LABELS[tool] ?? defs[tool].label,
                  runs: [],
                  minimum: m.minimum,
                  copiesReferrers: tool.startsWith('curl') || defs[tool].copiesReferrers,
                };
                rows.set(tool, row);
                results.push(row);
              }
              row.runs.push(m.result);
              const c = m.result.counts;
              log(
                `  S${scenario}${variant ? `×${variant}` : ''} ${kind} ${cond.name} ${tool} #${r}: ` +
                  `${(m.result.wallMs / 1000).toFixed(2)} s, ${c.total} req, ${(m.result.rssKB / 1024).toFixed(0)} MB, ` +
                  `${m.result.check.ok ? 'ok' : `✗ ${m.result.check.problems.join('; ')}`}`,
              );
            }
          }
        }
      }
    }
    while (cleanups.length > kindCleanups) await cleanups.pop()();
  }

  writeWaterfalls(results);
  const { text, markdown } = await renderReport({
    results,
    startup,
    facts,
    config: { RUNS, BIG_RUNS, BIG_MB, LATENCY, SCENARIOS, KINDS, TOOLS, S5_KINDS, QUICK, STARTUP_RUNS },
    elapsedMs: Date.now() - t0,
  });
  console.log(text);
  const out = env.BENCH_OUT ? resolve(env.BENCH_OUT) : join(root, 'bench', 'results.md');
  writeFileSync(out, markdown);
  writeFileSync(join(DETAIL_DIR, 'results.json'), JSON.stringify({ facts, startup, results }, null, 1));
  log(`\nwrote ${out} (per-request logs of every measurement: ${join(DETAIL_DIR, 'results.json')})`);
}

/**
 * One waterfall per scenario, registry kind and tool, from the first run with latency (where
 * round trips in a row decide the wall time), into bench/waterfalls/; where there are too many
 * requests to label them, a second one of the critical path alone. Each run also gets the
 * length of its critical path and, for the action, its round trips by phase, which the report
 * prints.
 */
function writeWaterfalls(results) {
  const dir = join(root, 'bench', 'waterfalls');
  mkdirSync(dir, { recursive: true });
  for (const row of results) {
    if (row.tool.startsWith('curl')) continue;
    for (const run of row.runs) {
      const chain = criticalPath(run.log);
      run.roundTripsInARow = chain.length;
      if (run.phasesJoined) run.criticalByPhase = phasesOf(chain);
    }
    if (row.cond !== CONDITIONS[1].name || row.runs.length === 0 || row.scenario === '5') continue;
    const run = row.runs[0];
    const name = `s${row.scenario}${row.variant ? `x${row.variant}` : ''}-${row.kind}-${row.tool}`;
    const title = `Scenario ${row.scenario}${row.variant ? ` ×${row.variant}` : ''}, ${row.kind}, ${row.label}`;
    const subtitle = `${row.cond} per request, ${(run.wallMs / 1000).toFixed(2)} s wall`;
    const { svg, labelled } = renderWaterfall({ title, subtitle, rows: run.log, t0: 0 });
    writeFileSync(join(dir, `${name}.svg`), svg);
    if (!labelled) {
      writeFileSync(join(dir, `${name}-critical.svg`), renderCriticalPath({ title, subtitle, rows: run.log, t0: 0 }));
    }
  }
}

/** Runs a command to completion (harness steps, not measurements); throws on failure. */
function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/** One measurement: fresh target names, proxies reset, the tool's invocations, then checks. */
async function measure({
  scenario,
  variant,
  kind,
  cond,
  tool,
  run: r,
  defs,
  regA,
  regB,
  proxyA,
  proxyB,
  proxies,
  graphs,
}) {
  const id = `${tool}-${cond.short}-${r}`;
  const api = regA.referrersApi;
  const { env: envBase, home } = await cleanEnv();
  try {
    let op;
    let g;
    let target;
    let checkOpts;
    let minimum;
    if (scenario === '1') {
      g = graphs.s1;
      const tags = Array.from({ length: variant }, (_, i) => `s1-${id}-${variant}x-${i + 1}`);
      op = {
        type: 'tag',
        src: `${proxyA.host}/bench/s1:v1`,
        repoRef: `${proxyA.host}/bench/s1`,
        tags,
        hosts: [proxyA.host],
      };
      target = { reg: regA, repo: 'bench/s1', tags };
      checkOpts = { content: false, referrers: false };
      minimum = minimumRequests('1', graphStats(g), api, variant);
    } else {
      const src = SOURCE_OF[scenario];
      g = graphs[src];
      const cross = scenario === '3' || scenario === '5';
      const dstReg = cross ? regB : regA;
      const dstProxy = cross ? proxyB : proxyA;
      const repo = `bench/s${scenario}-${id}`;
      op = {
        type: 'copy',
        src: `${proxyA.host}/bench/${src}:v1`,
        dst: `${dstProxy.host}/${repo}:v1`,
        hosts: [...new Set([proxyA.host, dstProxy.host])],
      };
      target = { reg: dstReg, repo, tags: ['v1'] };
      checkOpts = { content: true, referrers: tool.startsWith('curl') ? false : defs[tool].copiesReferrers };
      minimum = minimumRequests(scenario, graphStats(g), api);
      if (tool.startsWith('curl')) {
        const direct = tool === 'curl-direct';
        op = {
          type: 'blob',
          srcUrl: direct ? regA.url : `http://${proxyA.host}`,
          srcRepo: `bench/${src}`,
          dstUrl: direct ? dstReg.url : `http://${dstProxy.host}`,
          dstRepo: repo,
          digest: bigLayerDigest(g),
        };
      }
    }

    const invocations = tool.startsWith('curl')
      ? [curlBaselineInvocation(op, envBase)]
      : defs[tool].invocations(op, envBase);

    if (scenario === '6') {
      // The first run (not measured) puts everything there; the rerun is what is measured.
      for (const p of proxies) p.setDelay(0);
      for (const inv of invocations) await timed(inv.cmd, inv.args, { env: inv.env });
      for (const p of proxies) p.setDelay(cond.delay);
    }

    // The action's trace of the measured run is the one written from here on.
    const tracesBefore = new Set(traceFiles(home));
    for (const p of proxies) p.reset();
    const startedAt = performance.now();
    let wallMs = 0;
    let rssKB = 0;
    let cpuMs = 0;
    const exits = [];
    let failure = '';
    for (const inv of invocations) {
      const res = await timed(inv.cmd, inv.args, { env: inv.env });
      wallMs += res.wallMs;
      rssKB = Math.max(rssKB, res.rssKB || 0);
      cpuMs += res.cpuMs || 0;
      exits.push(res.code);
      if (res.code !== 0 && !failure) failure = `exit ${res.code}: ${lastLines(res.stderr || res.stdout)}`;
    }
    const snap = mergeSnapshots(proxies.map((p) => [p === proxyA ? 'A' : 'B', p.snapshot()]));
    const log = snap.log.map((e) => ({
      registry: e.registry,
      method: e.method,
      path: e.path,
      status: e.status,
      start: e.t - startedAt,
      end: e.end === undefined ? undefined : e.end - startedAt,
    }));
    // The action's phases onto the proxies' rows (its waterfall is coloured by them).
    let actionTrace;
    const traces = traceFiles(home).filter((f) => !tracesBefore.has(f));
    if (traces.length) {
      const trace = readTrace(traces[traces.length - 1]);
      const hosts = { [proxyA.host]: 'A', ...(proxyB && { [proxyB.host]: 'B' }) };
      actionTrace = {
        phasesJoined: joinPhases(log, trace.requests, hosts),
        firstRequestMs: trace.firstRequestMs,
        clientRoundTrips: trace.criticalPath.roundTrips,
      };
    }

    let check;
    if (tool.startsWith('curl')) {
      const res = await fetch(`${target.reg.url}/v2/${target.repo}/blobs/${bigLayerDigest(g)}`, { method: 'HEAD' });
      check =
        res.status === 200 ? { ok: true, problems: [] } : { ok: false, problems: [`blob missing (${res.status})`] };
    } else {
      // A registry answering the checks strangely after a tool's run is that tool's result.
      check = await checkResult(g, target, checkOpts).catch((err) => ({
        ok: false,
        problems: [`check failed: ${err.message}`],
      }));
    }
    if (failure) check = { ...check, ok: false, problems: [failure, ...check.problems] };
    return {
      minimum,
      result: {
        run: r,
        wallMs,
        rssKB,
        cpuMs,
        exits,
        counts: {
          byMethod: snap.byMethod,
          total: snap.total,
          bytesUp: snap.bytesUp,
          bytesDown: snap.bytesDown,
          nonHttp: snap.nonHttp,
        },
        log,
        ...actionTrace,
        names: {
          srcRepo: `bench/${SOURCE_OF[scenario]}`,
          dstRepo: target.repo,
        },
        check,
        layerBytes: scenario === '5' ? (g.blobs.get(bigLayerDigest(g)) ?? 0) : undefined,
      },
    };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function bigLayerDigest(g) {
  // The biggest blob of the graph is scenario 5's layer.
  let best = null;
  for (const [d, size] of g.blobs) if (!best || size > best[1]) best = [d, size];
  return best?.[0];
}

function lastLines(text, n = 3) {
  return text.trim().split('\n').slice(-n).join(' | ').slice(0, 400);
}

/**
 * Start-up of dist/index.js: from spawn to the first request the proxy sees (a retag to one
 * new tag on loopback), median of several runs, next to a bare `node -e 0` (spawn to exit)
 * for scale: the difference is what loading the bundle and reading the inputs cost.
 */
async function measureStartup(defs, proxy, reg, g) {
  proxy.setDelay(0);
  const firstRequest = [];
  const bare = [];
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const { env: envBase, home } = await cleanEnv();
    try {
      const tags = [`startup-${i}`];
      const [inv] = defs.action.invocations({ type: 'tag', src: `${proxy.host}/bench/s1:v1`, tags }, envBase);
      proxy.reset();
      const t0 = performance.now();
      const child = spawn(inv.cmd, inv.args, { env: inv.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c) => (output += c));
      child.stderr.on('data', (c) => (output += c));
      const code = await new Promise((resolve) => child.on('close', resolve));
      const first = proxy.snapshot().firstRequestAt;
      if (code !== 0 || first === null) {
        throw new Error(`start-up run of dist/index.js failed (exit ${code}):\n${output.slice(-2000)}`);
      }
      firstRequest.push(first - t0);

      const t1 = performance.now();
      const n = spawn(inv.cmd, ['-e', '0'], { stdio: 'ignore' });
      await new Promise((resolve) => n.on('close', resolve));
      bare.push(performance.now() - t1);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }
  const out = {
    medianMs: median(firstRequest),
    minMs: Math.min(...firstRequest),
    maxMs: Math.max(...firstRequest),
    bareNodeMs: median(bare),
    runs: STARTUP_RUNS,
  };
  log(
    `start-up of dist/index.js (spawn to first request): ${out.medianMs.toFixed(0)} ms median; bare node: ${out.bareNodeMs.toFixed(0)} ms`,
  );
  return out;
}

try {
  await main();
  await cleanup();
} catch (err) {
  console.error(`bench failed: ${err.stack ?? err}`);
  await cleanup();
  process.exit(1);
}
