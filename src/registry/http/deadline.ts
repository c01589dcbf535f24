import { DeadlineError } from './failures.js';
import { bodyBytes } from './traffic.js';
import type { HttpRequest } from './transport.js';

/**
 * The overall deadline of one request (one try, redirects and the whole body included), on top
 * of the idle timeouts between chunks: a registry that sends a byte a second never trips an
 * idle timeout, and must not hold a run for minutes.
 *
 *   deadline = timeout × (2 + expected bytes / 8 MiB)
 *
 * Manifests, tag lists, tokens and other answers capped at 4 MiB get twice the timeout. A
 * blob gets one more timeout for every 8 MiB it carries: with the default timeout of 60 s a
 * floor rate of 8 MiB a minute (about 140 KB/s), which a longer timeout lowers.
 */
export const DEADLINE_TIMEOUTS = 2;
export const DEADLINE_BYTES_PER_TIMEOUT = 8 * 1024 * 1024;

export function deadlineMs(timeoutMs: number, expectedBytes: number): number {
  return Math.ceil(timeoutMs * (DEADLINE_TIMEOUTS + Math.max(0, expectedBytes) / DEADLINE_BYTES_PER_TIMEOUT));
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}

/** `4 s (2 × the timeout of 2 s)`, or with the blob share: `… + 1 timeout per 8 MiB of 3 MiB)`. */
export function describeDeadline(timeoutMs: number, expectedBytes: number): string {
  const rule =
    expectedBytes > 0
      ? `2 × the timeout of ${seconds(timeoutMs)}, plus one timeout per 8 MiB of the ${expectedBytes} bytes expected`
      : `2 × the timeout of ${seconds(timeoutMs)}`;
  return `its deadline of ${seconds(deadlineMs(timeoutMs, expectedBytes))} (${rule})`;
}

/** The size a request is expected to carry: given by the caller (a blob download), else its body's. */
export function expectedBytes(req: Pick<HttpRequest, 'body' | 'headers' | 'expectedBytes'>): number {
  return req.expectedBytes ?? bodyBytes(req);
}

export interface Deadline {
  /** Aborts the request, its redirects and its body with a DeadlineError when the time is up. */
  signal: AbortSignal;
  /** The host now being asked (redirects move it), to name in the error. */
  at(host: string): void;
  clear(): void;
}

export function startDeadline(info: {
  method: string;
  host: string;
  operation?: string;
  timeoutMs: number;
  expectedBytes: number;
}): Deadline {
  const controller = new AbortController();
  let host = info.host;
  const ms = deadlineMs(info.timeoutMs, info.expectedBytes);
  const timer = setTimeout(() => {
    controller.abort(
      new DeadlineError({
        method: info.method,
        host,
        ...(info.operation && { operation: info.operation }),
        deadline: describeDeadline(info.timeoutMs, info.expectedBytes),
      }),
    );
  }, ms);
  // An open socket keeps the process alive while it matters; the timer alone must not.
  timer.unref();
  return {
    signal: controller.signal,
    at: (h) => void (host = h),
    clear: () => clearTimeout(timer),
  };
}
