// Turns the measurements into the printed table and bench/results.md: the main table, the
// minimum requests per scenario with each tool's ratio to it, the issue's targets (✓/✗), the
// requests the action made in scenarios 2 and 6 (by pattern), and the machine and versions.
import { execFileSync } from 'node:child_process';
import os from 'node:os';

const SCENARIO_LABELS = {
  1: (v) => `1 retag ×${v}`,
  2: () => '2 index → other repo',
  7: () => '7 4-platform index → other repo',
  3: () => '3 index → other registry',
  4: () => '4 200 referrers → other repo',
  5: () => '5 big layer → other registry',
  6: () => '6 rerun of 2',
};
// Scenario 7 (scenario 2's graph with 4 platforms) reads best beside scenario 2.
const SCENARIO_ORDER = ['1', '2', '7', '3', '4', '5', '6'];
const KIND_LABEL = { distribution: 'distribution (no API)', referrers: 'referrers API' };
// Issue 13's targets with latency: the action's wall time at most this share of `oras cp -r`'s
// (on loopback: at most as long).
const COPY_LIMITS = { 2: 0.3, 7: 0.4, 4: 0.5 };
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'];
const REFERENCE_TOOLS = ['oras', 'crane', 'regctl'];

export function machineFacts() {
  let kernel = `${os.type()} ${os.release()}`;
  try {
    kernel = execFileSync('uname', ['-srm'], { encoding: 'utf8' }).trim();
  } catch {
    // keep os.release()
  }
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function fmtMs(ms) {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms.toFixed(0)} ms`;
}

function fmtWall(runs) {
  const w = runs.map((r) => r.wallMs);
  const med = fmtMs(median(w));
  if (w.length === 1) return med;
  return `${med} [${fmtMs(Math.min(...w))}–${fmtMs(Math.max(...w))}]`;
}

function fmtBytes(n) {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtMethods(byMethod) {
  const keys = Object.keys(byMethod).sort((a, b) => {
    const ia = METHOD_ORDER.indexOf(a);
    const ib = METHOD_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  return keys.map((k) => `${k} ${byMethod[k]}`).join(' ') || '–';
}

/** Counts of the first run; totals that differ between runs are shown as a range. */
function fmtTotal(runs) {
  const totals = runs.map((r) => r.counts.total);
  const lo = Math.min(...totals);
  const hi = Math.max(...totals);
  return lo === hi ? String(lo) : `${runs[0].counts.total} (${lo}–${hi})`;
}

const writes = (byMethod) => ['POST', 'PUT', 'PATCH', 'DELETE'].reduce((a, m) => a + (byMethod[m] ?? 0), 0);
const reads = (byMethod) => ['GET', 'HEAD'].reduce((a, m) => a + (byMethod[m] ?? 0), 0);

/** Markdown table with padded columns, so that it also reads well in a terminal. */
function mdTable(headers, rows, align = []) {
  const width = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (align[i] === 'r' ? String(c).padStart(width[i]) : String(c).padEnd(width[i]))).join(' | ')} |`;
  const sep = `| ${width.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(headers), sep, ...rows.map(line)].join('\n');
}

function rowKey(r) {
  return `${r.scenario}|${r.variant ?? ''}|${r.kind}|${r.cond}`;
}

function correctness(row) {
  const bad = row.runs.filter((r) => !r.check.ok);
  if (!bad.length) {
    const c = row.runs[0].check;
    return c.referrersExpected ? `✓ (${c.referrersFound}/${c.referrersExpected} referrers)` : '✓';
  }
  const c = bad[0].check;
  const prefix = row.copiesReferrers ? '✗' : '✗ copies no referrers;';
  return `${prefix} ${c.problems.join('; ')}${bad.length < row.runs.length ? ` (${bad.length}/${row.runs.length} runs)` : ''}`;
}

/** Round trips in a row on the critical path: the median of the runs, with the range when they differ. */
function fmtInARow(row) {
  const n = row.runs.map((r) => r.roundTripsInARow).filter((x) => x !== undefined);
  if (!n.length) return '–';
  const lo = Math.min(...n);
  const hi = Math.max(...n);
  return lo === hi ? String(lo) : `${median(n)} (${lo}–${hi})`;
}

function throughput(row) {
  const r = row.runs.map((x) => (x.layerBytes ?? 0) / (x.wallMs / 1000));
  return median(r);
}

/** A request as a pattern: repository names, digests, tags and upload sessions abstracted. */
export function requestPattern(e, names) {
  const [rawPath, query] = e.path.split('?');
  let p = rawPath
    .replace(`/v2/${names.dstRepo}/`, '/v2/{dst}/')
    .replace(`/v2/${names.srcRepo}/`, '/v2/{src}/')
    .replace(/sha256:[0-9a-f]{64}/g, '<digest>')
    .replace(/sha256-[0-9a-f]{64}(\S*)/g, 'sha256-<hex>$1')
    .replace(/\/blobs\/uploads\/[^/]+$/, '/blobs/uploads/<session>')
    .replace(/\/manifests\/(?!<digest>|sha256-<hex>)[^/]+$/, '/manifests/<tag>')
    .replace(/\/v2\/(?!\{)[^{]+\/(manifests|blobs|referrers|tags)\//, '/v2/<other repo>/$1/');
  if (query) {
    const keys = [...new URLSearchParams(query).keys()].filter((k) => !k.startsWith('_'));
    if (keys.length) p += `?${keys.map((k) => `${k}=…`).join('&')}`;
  }
  return `${e.method} ${p} → ${e.status}`;
}

function patternTable(run) {
  const counts = new Map();
  for (const e of run.log) {
    const key = `${e.registry}\u0000${requestPattern(e, run.names)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows = [...counts]
    .map(([k, n]) => {
      const [reg, pat] = k.split('\u0000');
      return [reg, pat, n];
    })
    .sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
  return mdTable(['registry', 'request (method, path pattern → status)', 'count'], rows, ['l', 'l', 'r']);
}

export async function renderReport({ results, startup, facts, config, elapsedMs }) {
  const order = ['action', 'action-alt', 'action-noverify', 'oras', 'crane', 'regctl', 'curl', 'curl-direct'];
  const rows = [...results].sort(
    (a, b) =>
      SCENARIO_ORDER.indexOf(a.scenario) - SCENARIO_ORDER.indexOf(b.scenario) ||
      (a.variant ?? 0) - (b.variant ?? 0) ||
      a.kind.localeCompare(b.kind) ||
      (a.cond === 'loopback' ? 0 : 1) - (b.cond === 'loopback' ? 0 : 1) ||
      order.indexOf(a.tool) - order.indexOf(b.tool),
  );
  const groups = new Map();
  for (const r of rows) {
    if (!groups.has(rowKey(r))) groups.set(rowKey(r), []);
    groups.get(rowKey(r)).push(r);
  }

  // ---- main table
  const main = rows.map((r) => {
    const first = r.runs[0];
    const notes = [];
    if (r.scenario === '5') {
      const curl = groups.get(rowKey(r)).find((x) => x.tool === 'curl');
      const tp = throughput(r);
      notes.push(`${(tp / 2 ** 20).toFixed(0)} MiB/s`);
      if (curl && !r.tool.startsWith('curl')) notes.push(`${((100 * tp) / throughput(curl)).toFixed(0)}% of curl`);
      if (curl && r.tool === 'curl-direct')
        notes.push(`the proxies cost ${(100 - (100 * throughput(curl)) / tp).toFixed(0)}%`);
      // On a shared machine CPU time is steadier than wall time; the tools share the CPUs with
      // the registries and proxies, so what one uses the others cannot.
      const cpu = r.runs.map((x) => x.cpuMs).filter((x) => Number.isFinite(x));
      if (cpu.length) notes.push(`CPU ${(median(cpu) / 1000).toFixed(2)} s`);
    }
    if (first.counts.nonHttp) notes.push(`+${first.counts.nonHttp} non-HTTP connection(s) (TLS probe)`);
    const inv = first.exits.length;
    if (inv > 1) notes.push(`${inv} invocations`);
    return [
      SCENARIO_LABELS[r.scenario](r.variant),
      r.cond,
      KIND_LABEL[r.kind],
      r.label,
      fmtWall(r.runs),
      r.tool === 'curl-direct' ? '(not proxied)' : fmtMethods(first.counts.byMethod),
      r.tool === 'curl-direct' ? '–' : fmtTotal(r.runs),
      r.tool.startsWith('curl') ? '–' : `${(first.counts.total / r.minimum.total).toFixed(2)}×`,
      fmtInARow(r),
      r.tool === 'curl-direct' ? '–' : fmtBytes(first.counts.bytesUp),
      (Math.max(...r.runs.map((x) => x.rssKB)) / 1024).toFixed(0),
      correctness(r),
      notes.join('; '),
    ];
  });
  const mainTable = mdTable(
    [
      'scenario',
      'condition',
      'registry',
      'tool',
      'wall median [min–max]',
      'requests by method',
      'total',
      '×min',
      'in a row',
      'uploaded',
      'peak RSS MB',
      'correct',
      'notes',
    ],
    main,
    ['l', 'l', 'l', 'l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'l'],
  );

  // ---- the action's critical path by phase, with latency (where it decides the wall time)
  const phaseRows = rows
    .filter((r) => r.tool.startsWith('action') && r.cond !== 'loopback' && r.runs[0].criticalByPhase)
    .map((r) => {
      const run = r.runs[0];
      return [
        SCENARIO_LABELS[r.scenario](r.variant),
        KIND_LABEL[r.kind],
        r.label,
        run.roundTripsInARow,
        Object.entries(run.criticalByPhase)
          .map(([phase, n]) => `${phase} ${n}`)
          .join(', '),
        `${run.phasesJoined}/${run.counts.total}`,
        run.firstRequestMs === undefined ? '–' : `${run.firstRequestMs.toFixed(0)} ms`,
      ];
    });
  const phaseTable = phaseRows.length
    ? mdTable(
        ['scenario', 'registry', 'tool', 'in a row', 'by phase (in the order they came)', 'phased', 'first request'],
        phaseRows,
        ['l', 'l', 'l', 'r', 'l', 'r', 'r'],
      )
    : '(the action was not measured with latency)';

  // ---- minimum requests, and each tool's ratio (loopback counts)
  const minRows = [];
  const whys = [];
  const seenMin = new Set();
  for (const r of rows) {
    const key = `${r.scenario}|${r.variant ?? ''}|${r.kind}`;
    if (seenMin.has(key) || r.cond !== 'loopback') continue;
    seenMin.add(key);
    const same = rows.filter((x) => `${x.scenario}|${x.variant ?? ''}|${x.kind}` === key && x.cond === 'loopback');
    const ratio = (tool) => {
      const x = same.find((y) => y.tool === tool);
      if (!x) return '–';
      return `${x.runs[0].counts.total} (${(x.runs[0].counts.total / r.minimum.total).toFixed(2)}×)`;
    };
    minRows.push([
      SCENARIO_LABELS[r.scenario](r.variant),
      KIND_LABEL[r.kind],
      fmtMethods(r.minimum.byMethod),
      r.minimum.total,
      ...config.TOOLS.map(ratio),
    ]);
    whys.push(
      `- **${SCENARIO_LABELS[r.scenario](r.variant)}, ${KIND_LABEL[r.kind]}** (${r.minimum.total}): ${r.minimum.why}`,
    );
  }
  const minTable = mdTable(
    ['scenario', 'registry', 'minimum by method', 'minimum', ...config.TOOLS.map((t) => `${t} (ratio)`)],
    minRows,
    ['l', 'l', 'l', 'r', ...config.TOOLS.map(() => 'r')],
  );

  // ---- targets
  const targets = [];
  const mark = (ok) => (ok ? '✓' : '✗');
  for (const [, g] of groups) {
    const a = g.find((x) => x.tool === 'action');
    if (!a) continue;
    const where = `${SCENARIO_LABELS[a.scenario](a.variant)}, ${KIND_LABEL[a.kind]}, ${a.cond}`;
    const at = a.runs[0].counts;
    // A client that does not do the same job (crane copies no referrers) is shown, not compared.
    const sameJob = (x) => x.copiesReferrers || a.scenario === '1' || a.scenario === '5';
    const all = g.filter((x) => REFERENCE_TOOLS.includes(x.tool));
    const refs = all.filter(sameJob);
    if (refs.length) {
      const beaten = refs.filter((x) => at.total < x.runs[0].counts.total);
      const detail = all
        .map((x) => `${x.tool} ${x.runs[0].counts.total}${sameJob(x) ? '' : ' (copies no referrers: not compared)'}`)
        .join(', ');
      targets.push([
        'fewer requests than every reference client',
        where,
        `${mark(beaten.length === refs.length)} action ${at.total}; ${detail}`,
      ]);
    }
    const excess = {};
    for (const [m, n] of Object.entries(at.byMethod)) {
      const over = n - (a.minimum.byMethod[m] ?? 0);
      if (over > 0) excess[m] = over;
    }
    targets.push([
      'no request beyond the minimum',
      where,
      `${mark(at.total <= a.minimum.total && !Object.keys(excess).length)} ${at.total} vs minimum ${a.minimum.total}` +
        (Object.keys(excess).length ? `; over by ${fmtMethods(excess)}` : ''),
    ]);
    const oras = g.find((x) => x.tool === 'oras');
    if (a.scenario === '1' && oras && a.cond !== 'loopback') {
      // Issue 11: the lookup of referrers and capabilities costs no wall time beside `oras tag`,
      // which looks nothing up: one tag, no more round trips in a row; 20 tags, no more time.
      if (a.variant === 1) {
        const [mine, theirs] = [a, oras].map((x) => median(x.runs.map((r) => r.roundTripsInARow ?? NaN)));
        targets.push([
          'round trips in a row ≤ oras tag (lookup on)',
          where,
          `${mark(mine <= theirs)} action ${mine}, oras ${theirs}`,
        ]);
      } else {
        const ratio = median(a.runs.map((x) => x.wallMs)) / median(oras.runs.map((x) => x.wallMs));
        targets.push(['wall ≤ oras tag (lookup on)', where, `${mark(ratio <= 1)} ${ratio.toFixed(3)}× oras`]);
      }
    }
    if (COPY_LIMITS[a.scenario] && oras) {
      const ratio = median(a.runs.map((x) => x.wallMs)) / median(oras.runs.map((x) => x.wallMs));
      const limit = a.cond === 'loopback' ? 1 : COPY_LIMITS[a.scenario];
      targets.push([
        a.cond === 'loopback' ? 'wall ≤ oras cp -r (loopback)' : `wall ≤ ${limit}× oras cp -r (with latency)`,
        where,
        `${mark(ratio <= limit)} ${ratio.toFixed(3)}× oras (limit ${limit}×)`,
      ]);
    }
    const alt = g.find((x) => x.tool === 'action-alt');
    if (alt) {
      // A before/after comparison within one run (BENCH_ALT_BUNDLE).
      const ratio = median(a.runs.map((x) => x.wallMs)) / median(alt.runs.map((x) => x.wallMs));
      targets.push([
        'wall ≤ the other build (action-alt)',
        where,
        `${mark(ratio <= 1)} ${ratio.toFixed(3)}× action-alt; requests ${at.total} vs ${alt.runs[0].counts.total}`,
      ]);
    }
    if (a.scenario === '5') {
      const rss = Math.max(...a.runs.map((x) => x.rssKB)) / 1024;
      targets.push(['peak RSS < 150 MB', where, `${mark(rss < 150)} ${rss.toFixed(0)} MB`]);
      const curl = g.find((x) => x.tool === 'curl');
      if (curl) {
        const pct = throughput(a) / throughput(curl);
        targets.push([
          'throughput ≥ 80% of curl GET → curl PUT',
          where,
          `${mark(pct >= 0.8)} ${(100 * pct).toFixed(0)}%`,
        ]);
      }
    }
    if (a.scenario === '6') {
      const w = writes(at.byMethod);
      const rd = reads(at.byMethod);
      const minReads = reads(a.minimum.byMethod);
      targets.push([
        'rerun: only reads, no more than needed',
        where,
        `${mark(w === 0 && rd <= minReads)} ${w} writes; ${rd} reads vs minimum ${minReads}`,
      ]);
    }
    const bad = a.runs.filter((x) => !x.check.ok);
    if (bad.length) targets.push(['correct result', where, `✗ ${bad[0].check.problems.join('; ')}`]);
  }
  if (startup) {
    targets.push([
      'start-up (load to first request) < 150 ms',
      `median of ${startup.runs}`,
      `${mark(startup.medianMs < 150)} ${startup.medianMs.toFixed(0)} ms [${startup.minMs.toFixed(0)}–${startup.maxMs.toFixed(0)}] (bare node: ${startup.bareNodeMs.toFixed(0)} ms)`,
    ]);
  }
  const targetTable = mdTable(['target', 'where', 'result'], targets);

  // ---- scenario 1: round trips in a row (the critical path of the proxies' request log)
  const retags = rows
    .filter((r) => r.scenario === '1' && !r.tool.startsWith('curl'))
    .map((r) => {
      const chain = r.runs.map((x) => x.roundTripsInARow).filter((n) => Number.isFinite(n));
      const lo = Math.min(...chain);
      const hi = Math.max(...chain);
      return [
        SCENARIO_LABELS[r.scenario](r.variant),
        r.cond,
        KIND_LABEL[r.kind],
        r.label,
        fmtWall(r.runs),
        fmtTotal(r.runs),
        chain.length === 0 ? '–' : lo === hi ? String(lo) : `${median(chain)} [${lo}–${hi}]`,
      ];
    });
  const retagTable = mdTable(
    ['scenario', 'condition', 'registry', 'tool', 'wall median [min–max]', 'requests', 'round trips in a row'],
    retags,
    ['l', 'l', 'l', 'l', 'r', 'r', 'r'],
  );

  // ---- the action's requests in scenarios 2 and 6 (loopback, first run)
  const patterns = [];
  for (const r of rows) {
    if (r.tool !== 'action' || !['2', '7', '6'].includes(r.scenario) || r.cond !== 'loopback') continue;
    patterns.push(
      `#### Scenario ${SCENARIO_LABELS[r.scenario](r.variant)}, ${KIND_LABEL[r.kind]} (${r.runs[0].counts.total} requests)\n\n` +
        `${patternTable(r.runs[0])}\n`,
    );
  }

  const v = facts.versions;
  const settings =
    `${config.RUNS} run(s) per measurement (scenario 5: ${config.BIG_RUNS}), big layer ${config.BIG_MB} MiB, ` +
    `latency condition ${config.LATENCY} ms per request; scenarios ${config.SCENARIOS.join(', ')}; ` +
    `registries ${config.KINDS.join(', ')}; scenario 5 on ${config.S5_KINDS.join(', ') || 'none'}` +
    (config.QUICK ? '; BENCH_QUICK=1 (smoke test, not for quoting)' : '');

  const markdown = `# Benchmark results

Generated by \`npm run bench\` on ${facts.date} in ${(elapsedMs / 60000).toFixed(1)} min. ${settings}.

Ratios between tools measured in this run are the figures to quote; absolute times vary between machines.

## Machine and versions

| | |
| --- | --- |
| action | ${v.action} |
| CPU | ${facts.cpu} (${facts.nproc} CPUs) |
| memory | ${facts.memory} |
| kernel | ${facts.kernel} |
| Node | ${v.node} |
| Go | ${v.go} |
| oras | ${v.oras} |
| crane | ${v.crane} |
| regctl | ${v.regctl} |
| distribution | ${v['docker-registry']} |
| referrers registry | go-containerregistry v0.22.1 pkg/registry, wrapped (__tests__/support/referrers-registry) |
| curl | ${v.curl} |

## How it is measured

- Every client talks only to a reverse proxy per registry (Node, loopback) that counts requests by method and
  request-body bytes ("uploaded"), and in the "${config.LATENCY} ms" condition delays each request by ${config.LATENCY} ms
  before forwarding it, each on its own timer (concurrency is preserved). Seeding and the correctness checks
  go straight to the registries and are not counted.
- Wall time is measured around the client process (for crane and regctl, which tag one tag per call, the sum of
  the 20 calls); peak RSS is GNU time's %M (the largest of the calls). Every measurement writes to fresh
  target names, except scenario 6, which first runs scenario 2 with the same tool (not measured) and then
  measures the same command again.
- Tools run with their defaults: the action as users run it (\`verify: true\`, \`concurrency: 16\`), \`oras cp -r\`
  (concurrency 3), \`crane copy\` (jobs = GOMAXPROCS = ${facts.nproc} here), \`regctl image copy --referrers --digest-tags\`.
  crane has no way to copy referrers: its copies are marked "copies no referrers".
- "correct": the target tags resolve to the source digest, every manifest and blob of the graph is in the target
  repository, every referrer is discoverable there (referrers API, or the \`sha256-<hex>\` index on distribution),
  and no stray \`sha256-*\` tag exists (none at all with the referrers API; on distribution only the indexes of
  subjects that have referrers).
- Scenario 5 runs on distribution only by default: go-containerregistry's registry hashes the whole blob file on
  every HEAD and holds blob GETs and PATCH uploads in memory, so it would measure the registry rather than the
  clients (\`BENCH_S5_ALL_KINDS=1\` runs it anyway).

## Results

${mainTable}

"In a row": round trips on the critical path, the chain of requests each sent only after the one
before it was answered that ends with the run's last answer (from the proxies' view; median of the runs). With
${config.LATENCY} ms per request each costs at least ${config.LATENCY} ms. Waterfalls of the first run with latency, one per
scenario, registry and tool, are in [bench/waterfalls/](waterfalls/) (the action's coloured by the phase that
sent each request; \`-critical.svg\`: the critical path alone, where the full one has too many rows to label).

## The action's critical path by phase

First run with ${config.LATENCY} ms per request. The action ran with \`trace: true\`; its trace's phases are joined onto the
proxies' rows by host, method, path and order ("phased": rows that got one). "first request": from the process
start, as the trace measured it.

${phaseTable}

## Minimum requests per scenario

Counts on loopback, first run; ratio = the tool's requests / the minimum.

${minTable}

${whys.join('\n')}

The minimum is that of one algorithm meeting the issue's and the README's requirements without knowing the
target's state (written down in bench/lib/minimum.mjs): it reads the tagged manifest, the tag list (cosign's
tag attachments; without the API, which \`sha256-<hex>\` indexes exist) and the referrers of every manifest
(recursively), fetches a manifest only to copy it, HEADs the target tag and each child before writing, mounts
blobs within a registry without a HEAD, HEADs and streams them across registries, pushes the tagged manifest
last directly under its tag, pushes the referrers of a subject that was absent without a check, and knows the
target's referrers API support without a probe (same registry: from the source; across registries: from
OCI-Subject). A retag (scenario 1) reads the source's referrers too, for the \`referrers\` and \`capabilities\`
outputs. Not in the minimum: \`verify: true\` re-reads, reading a written index back (race detection).

## Scenario 1: round trips in a row

The action looks up the source's referrers and the registry's referrers API on every retag (for its
\`referrers\` and \`capabilities\` outputs), at the same time as it reads and writes the tags; \`oras tag\`
looks nothing up. "Round trips in a row" is the length of the critical path in the proxy's request log (requests
each starting only after the one before it ended; bench/lib/waterfall.mjs), across all the calls of the tools
that tag one tag per call; with 25 ms per request it decides the wall time beside the process's start-up.

${retags.length ? retagTable : '(scenario 1 not run)'}

## Targets

${targetTable}

## Requests the action made (scenarios 2, 7 and 6, loopback, first run)

Registry A holds the source and, within one registry, the target. \`{src}\` is the source repository,
\`{dst}\` the target repository.

${patterns.join('\n') || '(scenarios 2, 7 and 6 not run)'}
`;
  const text = `\n${mainTable}\n\nMinimum requests per scenario (ratio = tool / minimum):\n\n${minTable}\n\nTargets:\n\n${targetTable}\n`;
  return { text, markdown };
}
