// Waterfalls of one tool's requests in one measurement, as SVG: a row per request (from the
// counting proxy's view: arrival to the end of the answer), coloured by the phase that issued
// it where the action's trace names it, with the critical path outlined: the chain of
// requests, each starting only after the one before it ended, that decides when the run ends.
// Nothing here knows the tools: it reads { method, path, start, end, status, phase? } rows.

const PHASE_COLOURS = {
  resolve: '#4e79a7',
  discover: '#f28e2b',
  'look at tags': '#76b7b2',
  policy: '#d4a6c8',
  copy: '#59a14f',
  referrers: '#edc948',
  'referrers index': '#b07aa1',
  cosign: '#ff9da7',
  tag: '#e15759',
  verify: '#9c755f',
  'stray tags': '#bab0ac',
  'probe targets': '#d4a6c8',
  auth: '#8cd17d',
};
const UNKNOWN_COLOUR = '#a0a0a0';

/**
 * The critical path: from the request that ended last, walk back to the request that ended
 * last before it started (within `slackMs`, the proxy's and the client's own time between
 * an answer and the next request), until none is left. Returns the rows of the chain in
 * order, first to last. Without dependency information this is the chain of round trips that
 * ran one after another; its length is "round trips in a row".
 */
export function criticalPath(rows, { slackMs = 4 } = {}) {
  const done = rows.filter((r) => Number.isFinite(r.start) && Number.isFinite(r.end));
  if (done.length === 0) return [];
  const byEnd = [...done].sort((a, b) => a.end - b.end);
  let current = byEnd[byEnd.length - 1];
  const chain = [current];
  for (;;) {
    let best = null;
    for (const r of byEnd) {
      if (r.end > current.start + slackMs) break;
      if (r !== current && r.start < current.start) best = r;
    }
    if (!best) break;
    chain.push(best);
    current = best;
  }
  return chain.reverse();
}

/** `/v2/bench/s2-x/manifests/sha256:abc…` → `manifests/sha256:abc123456789` (the repository is in the title). */
export function shortPath(path) {
  let p = decodeURIComponent(path).replace(/^\/v2\/(?:[a-z0-9._-]+\/)*?(?=(manifests|blobs|tags|referrers)\/)/, '');
  p = p.replace(/(sha(?:256|512))([:-])([0-9a-f]{12})[0-9a-f]+/g, '$1$2$3');
  p = p.replace(/_state=[^&]+/, '_state=…').replace(/&from=[^&]+/, '');
  return p.length > 64 ? `${p.slice(0, 63)}…` : p;
}

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/**
 * Renders the waterfall. `t0` is the time the process was started (same clock as the rows),
 * so the gap before the first request is the start-up. Returns { svg, chain, labelled }:
 * beyond 250 requests the rows are too thin to label (see renderCriticalPath).
 */
export function renderWaterfall({ title, rows, t0, subtitle = '' }) {
  const sorted = [...rows].filter((r) => Number.isFinite(r.start)).sort((a, b) => a.start - b.start);
  const chain = criticalPath(sorted);
  const onPath = new Set(chain);
  const end = Math.max(...sorted.map((r) => r.end ?? r.start), t0);
  const span = Math.max(1, end - t0);
  const rowH = sorted.length <= 250 ? 11 : sorted.length <= 600 ? 5 : 3;
  const labels = rowH >= 11;
  const labelW = labels ? 330 : 0;
  const chartW = 860;
  const top = 70;
  const height = top + sorted.length * rowH + 40;
  const width = labelW + chartW + 30;
  const x = (t) => labelW + 10 + ((t - t0) / span) * chartW;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="31">${esc(subtitle)}${subtitle ? ' — ' : ''}${sorted.length} requests, ${chain.length} in a row on the critical path (outlined), ${span.toFixed(0)} ms from process start</text>`,
  );
  // Legend: the phases that occur.
  const phases = [...new Set(sorted.map((r) => r.phase ?? 'unknown'))];
  let lx = 10;
  for (const p of phases) {
    out.push(
      `<rect x="${lx}" y="40" width="10" height="10" fill="${PHASE_COLOURS[p] ?? UNKNOWN_COLOUR}"/>`,
      `<text x="${lx + 14}" y="49">${esc(p)}</text>`,
    );
    lx += 24 + p.length * 6.2;
  }
  // Time axis.
  const step = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000].find((s) => span / s <= 12) ?? 10_000;
  for (let t = 0; t <= span; t += step) {
    out.push(
      `<line x1="${x(t0 + t)}" y1="${top - 6}" x2="${x(t0 + t)}" y2="${height - 30}" stroke="#e4e4e4"/>`,
      `<text x="${x(t0 + t) + 2}" y="${top - 8}" fill="#666">${t} ms</text>`,
    );
  }
  if (sorted.length > 0) {
    // Start-up: process start to the first request.
    out.push(
      `<rect x="${x(t0)}" y="${top}" width="${Math.max(1, x(sorted[0].start) - x(t0))}" height="${rowH - 1}" fill="#dddddd"/>`,
    );
  }
  sorted.forEach((r, i) => {
    const y = top + i * rowH;
    const colour = PHASE_COLOURS[r.phase] ?? UNKNOWN_COLOUR;
    const w = Math.max(1, x(r.end ?? r.start) - x(r.start));
    const crit = onPath.has(r);
    out.push(
      `<rect x="${x(r.start).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 1}" fill="${colour}"${
        crit ? ' stroke="black" stroke-width="1.5"' : ''
      }><title>${esc(`${r.method} ${shortPath(r.path)} → ${r.status} (${(r.end - r.start).toFixed(0)} ms${r.phase ? `, ${r.phase}` : ''})`)}</title></rect>`,
    );
    if (labels) {
      out.push(
        `<text x="4" y="${y + rowH - 3}"${crit ? ' font-weight="bold"' : ''}>${esc(`${r.registry ? `${r.registry} ` : ''}${r.method} ${shortPath(r.path)}`)}</text>`,
      );
    }
  });
  out.push(
    `<text x="10" y="${height - 12}" fill="#666">Grey bar at the top: process start to the first request (start-up). Bars: arrival at the registry's proxy to the end of its answer.</text>`,
    '</svg>',
  );
  return { svg: out.join('\n'), chain, labelled: labels };
}

/** A request's shape: digests and upload sessions left out, so that a run of alike requests groups. */
function requestShape(r) {
  return `${r.phase ?? ''} ${r.method} ${shortPath(r.path)
    .replace(/sha(256|512)[:-][0-9a-f]{12}/g, '<digest>')
    .replace(/uploads\/[^?/]+/, 'uploads/<session>')
    .replace(/(\?|&)([a-zA-Z_]+)=[^&]*/g, '$1$2=…')
    .replace(/manifests\/(?!<digest>)[^/?]+$/, 'manifests/<tag>')}`;
}

/**
 * Runs of alike round trips in a row: one request shape repeated, or a cycle of up to eight
 * (HEAD blob, POST mount, HEAD blob, POST mount, …), whichever covers most from each point.
 */
function groupRepeats(chain) {
  const shapes = chain.map(requestShape);
  const groups = [];
  for (let i = 0; i < chain.length;) {
    let best = { length: 1, reps: 1 };
    for (let length = 1; length <= 8 && i + 2 * length <= chain.length; length++) {
      let reps = 1;
      while (
        i + (reps + 1) * length <= chain.length &&
        shapes.slice(i + reps * length, i + (reps + 1) * length).every((sh, k) => sh === shapes[i + k])
      )
        reps++;
      if (reps > 1 && reps * length > best.reps * best.length) best = { length, reps };
    }
    const n = best.length * best.reps;
    groups.push({
      shape: shapes.slice(i, i + best.length).join(' → '),
      reps: best.reps,
      members: chain.slice(i, i + n),
    });
    i += n;
  }
  return groups;
}

/**
 * The critical path alone, on the same time axis as the waterfall, under a strip showing how
 * many requests were in flight (what ran beside the path): one row per run of alike round trips
 * in a row (same phase, method and path but for digests), each round trip a box on it. For runs
 * with too many requests to read in the full waterfall.
 */
export function renderCriticalPath({ title, rows, t0, subtitle = '' }) {
  const done = rows.filter((r) => Number.isFinite(r.start) && Number.isFinite(r.end));
  const chain = criticalPath(done);
  const groups = groupRepeats(chain);
  const end = Math.max(...done.map((r) => r.end), t0);
  const span = Math.max(1, end - t0);
  const rowH = 14;
  const labelW = 460;
  const chartW = 700;
  const stripH = 40;
  const top = 70 + stripH + 24;
  const height = top + groups.length * rowH + 30;
  const x = (t) => labelW + 10 + ((t - t0) / span) * chartW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + chartW + 30}" height="${height}" font-family="monospace" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="16" font-size="13" font-weight="bold">${esc(title)}: critical path</text>`,
    `<text x="10" y="31">${esc(subtitle)}${subtitle ? ' — ' : ''}${chain.length} round trips in a row of ${done.length} requests, ${span.toFixed(0)} ms from process start; repeated round trips share a row (×n)</text>`,
  ];
  // Requests in flight over time, in 100 buckets.
  const buckets = 100;
  const inFlight = Array.from({ length: buckets }, (_, i) => {
    const t = t0 + ((i + 0.5) / buckets) * span;
    return done.filter((r) => r.start <= t && r.end > t).length;
  });
  const peak = Math.max(1, ...inFlight);
  const points = inFlight.map(
    (n, i) => `${x(t0 + (i / buckets) * span).toFixed(1)},${(70 + stripH - (n / peak) * stripH).toFixed(1)}`,
  );
  out.push(
    `<text x="10" y="${70 + stripH / 2}">requests in flight (peak ${peak})</text>`,
    `<polyline points="${x(t0)},${70 + stripH} ${points.join(' ')} ${x(end)},${70 + stripH}" fill="#cfd8e6" stroke="#6b7fa3"/>`,
  );
  const step = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000].find((s) => span / s <= 12) ?? 10_000;
  for (let t = 0; t <= span; t += step) {
    out.push(
      `<line x1="${x(t0 + t)}" y1="${top - 6}" x2="${x(t0 + t)}" y2="${height - 20}" stroke="#e4e4e4"/>`,
      `<text x="${x(t0 + t) + 2}" y="${top - 8}" fill="#666">${t} ms</text>`,
    );
  }
  groups.forEach(({ shape, reps, members }, i) => {
    const y = top + i * rowH;
    const colour = PHASE_COLOURS[members[0].phase] ?? UNKNOWN_COLOUR;
    for (const r of members) {
      out.push(
        `<rect x="${x(r.start).toFixed(1)}" y="${y}" width="${Math.max(1, x(r.end) - x(r.start)).toFixed(1)}" height="${rowH - 3}" fill="${colour}" stroke="black" stroke-width="0.6"/>`,
      );
    }
    const took = members.at(-1).end - members[0].start;
    out.push(
      `<text x="4" y="${y + rowH - 4}">${esc(shape.trim().replace(/ +/g, ' ').slice(0, 66))}${reps > 1 ? ` ×${reps}` : ''} (${took.toFixed(0)} ms)</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
