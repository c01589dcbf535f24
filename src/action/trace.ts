/**
 * The `trace` input: every request of the run with the phase that issued it, written as JSON
 * under RUNNER_TEMP (output `trace-file`), and the critical path in the log. Loaded only when
 * a trace was recorded.
 */
import * as core from '@actions/core';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Outputs } from './constants.js';
import { criticalPath, type TracedRequest } from '../registry/http/trace.js';

/** What the trace file holds. Times are milliseconds since the process started. */
export interface TraceFile {
  format: 'oci-promote-action trace v1';
  /** When the process started (the time origin of every `start` and `end`). */
  processStart: string;
  /** The first request's start: what start-up cost. */
  firstRequestMs: number | null;
  /** The last answer's end. */
  lastAnswerMs: number | null;
  requests: TracedRequest[];
  criticalPath: {
    /** Round trips that ran one after another and decided when the run ended. */
    roundTrips: number;
    /** The same, counted by the phase that issued each, in the order the phases came. */
    byPhase: Record<string, number>;
    /** Indexes into `requests`, first to last. */
    requests: number[];
  };
}

export function buildTraceFile(requests: TracedRequest[], processStart = performance.timeOrigin): TraceFile {
  const chain = criticalPath(requests);
  const byPhase: Record<string, number> = {};
  for (const r of chain) byPhase[r.phase ?? 'other'] = (byPhase[r.phase ?? 'other'] ?? 0) + 1;
  const ends = requests.flatMap((r) => (r.end === undefined ? [] : [r.end]));
  return {
    format: 'oci-promote-action trace v1',
    processStart: new Date(processStart).toISOString(),
    firstRequestMs: requests.length ? round(Math.min(...requests.map((r) => r.start))) : null,
    lastAnswerMs: ends.length ? round(Math.max(...ends)) : null,
    requests: requests.map(roundTimes),
    criticalPath: { roundTrips: chain.length, byPhase, requests: chain.map((r) => requests.indexOf(r)) },
  };
}

/** The log's account of a trace: the critical path, by phase, then each of its round trips. */
export function describeTrace(trace: TraceFile, maxLines = 30): string[] {
  const { roundTrips, byPhase } = trace.criticalPath;
  const lines = [
    `${trace.requests.length} request(s); the first ${trace.firstRequestMs ?? '–'} ms after the process started, the last answer at ${trace.lastAnswerMs ?? '–'} ms`,
    `Critical path: ${roundTrips} round trip(s) in a row (${Object.entries(byPhase)
      .map(([phase, n]) => `${phase} ${n}`)
      .join(', ')})`,
  ];
  const path = trace.criticalPath.requests.map((i) => trace.requests[i]!);
  for (const [n, r] of path.entries()) {
    if (n >= maxLines) {
      lines.push(`  … ${path.length - maxLines} more`);
      break;
    }
    const took = r.end === undefined ? '' : `${(r.end - r.start).toFixed(1)} ms`;
    const shown = r.path.replace(/(sha256(?::|-|%3A))([0-9a-f]{12})[0-9a-f]{52}/g, '$1$2…');
    lines.push(
      `  ${String(n + 1).padStart(2)}. at ${r.start.toFixed(0).padStart(5)} ms, ${took.padStart(8)}  ${(r.phase ?? 'other').padEnd(15)} ${r.method} ${r.host}${shown} → ${r.status ?? r.error ?? 'no answer'}`,
    );
  }
  return lines;
}

/** Writes the trace under RUNNER_TEMP (else the system's temp directory); returns the path. */
export async function writeTraceFile(trace: TraceFile, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = env['RUNNER_TEMP'] || tmpdir();
  const file = join(dir, `oci-promote-trace-${Date.now()}-${process.pid}.json`);
  await writeFile(file, `${JSON.stringify(trace, null, 1)}\n`);
  return file;
}

/**
 * Writes the trace, logs its critical path and sets the `trace-file` output. A trace that
 * cannot be written is a warning: the promotion's own outcome stands.
 */
export async function publishTrace(requests: TracedRequest[]): Promise<void> {
  const trace = buildTraceFile(requests);
  let file: string | undefined;
  try {
    file = await writeTraceFile(trace);
  } catch (err) {
    core.warning(`The request trace could not be written: ${err instanceof Error ? err.message : String(err)}`);
  }
  await core.group('Request trace', async () => {
    for (const line of describeTrace(trace)) core.info(line);
    if (file) core.info(`Written to ${file} (output ${Outputs.TraceFile})`);
  });
  if (file) core.setOutput(Outputs.TraceFile, file);
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function roundTimes(r: TracedRequest): TracedRequest {
  return {
    ...r,
    start: round(r.start),
    ...(r.headers !== undefined && { headers: round(r.headers) }),
    ...(r.end !== undefined && { end: round(r.end) }),
  };
}
