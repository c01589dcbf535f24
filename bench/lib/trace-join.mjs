// The action's own request trace (its `trace` input: each request with the phase that issued
// it) joined onto the counting proxies' rows, so that the action's waterfalls are coloured by
// phase. Both see the same requests: the k-th request with a given host, method and path in
// the trace is the k-th the proxy of that host logged with them (query strings are left out:
// the trace hides their secret values).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The trace files the action wrote into `dir` (its RUNNER_TEMP), oldest first. */
export function traceFiles(dir) {
  return readdirSync(dir)
    .filter((f) => /^oci-promote-trace-\d+-\d+\.json$/.test(f))
    .sort((a, b) => Number(a.split('-')[3]) - Number(b.split('-')[3]))
    .map((f) => join(dir, f));
}

export function readTrace(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

const pathname = (path) => path.split('?')[0];

/**
 * Sets `phase` on each proxy row (`{ registry, method, path }`, in arrival order) from the
 * trace's requests (`{ host, method, path, phase }`, in the order sent). `hosts` maps a proxy's
 * host to the row's `registry` label. Returns how many rows got a phase.
 */
export function joinPhases(rows, traceRequests, hosts) {
  const queues = new Map();
  for (const t of traceRequests) {
    const key = `${hosts[t.host] ?? t.host} ${t.method} ${pathname(t.path)}`;
    if (!queues.has(key)) queues.set(key, []);
    queues.get(key).push(t);
  }
  let matched = 0;
  for (const row of rows) {
    const t = queues.get(`${row.registry} ${row.method} ${pathname(row.path)}`)?.shift();
    if (!t) continue;
    row.phase = t.phase;
    matched++;
  }
  return matched;
}

/** Round trips on a critical path, counted by phase in the order the phases came. */
export function phasesOf(chain) {
  const out = {};
  for (const r of chain) out[r.phase ?? 'unknown'] = (out[r.phase ?? 'unknown'] ?? 0) + 1;
  return out;
}
