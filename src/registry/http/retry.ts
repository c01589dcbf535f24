import { Readable } from 'node:stream';
import { RETRYABLE_STATUSES } from '../errors.js';
import {
  TransportError,
  type HttpRequest,
  type HttpResponse,
  type HttpStreamResponse,
  type HttpTransport,
  type RetrySummary,
} from './transport.js';

/**
 * Why not undici's RetryHandler: a retry here must span our redirect handling and read the
 * whole buffered body again when a connection is cut mid-body, and a streamed upload cannot be
 * replayed at this level at all (the engine restarts its upload session instead).
 */
export interface RetryOptions {
  /** Tries in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the request gives up instead. */
  maxRetryAfterMs: number;
  /** No retry starts once this much time has passed since the first try. */
  maxTotalMs: number;
  /** Told of each retry before it waits (for the log). */
  onRetry?: (event: RetryEvent) => void;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RetryEvent {
  method: string;
  url: string;
  attempt: number;
  maxAttempts: number;
  reason: string;
  delayMs: number;
}

export const DEFAULT_RETRY_OPTIONS: RetryOptions = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
  maxTotalMs: 180_000,
};

/** `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Retries what is safe to retry and may heal: connection failures and timeouts (a body cut off
 * mid-way included, for buffered answers; not a certificate, a name that does not resolve or
 * a passed deadline), and 408, 429, 500, 502, 503, 504, with exponential backoff
 * and full jitter, honouring `Retry-After` within a bound. A request whose body is a stream is
 * never re-sent. Gives up after a bounded number of tries and total time.
 */
export function withRetry(inner: HttpTransport, options: Partial<RetryOptions> = {}): HttpTransport {
  const opts = { ...DEFAULT_RETRY_OPTIONS, ...options };
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? defaultSleep;

  async function attempt<R extends { status: number; header(name: string): string | undefined }>(
    req: HttpRequest,
    perform: () => Promise<R>,
    discard: (res: R) => void,
  ): Promise<R & { retry?: RetrySummary }> {
    const started = Date.now();
    const replayable = !(req.body instanceof Readable);
    for (let n = 1; ; n++) {
      let reason: string;
      let retryAfterMs: number | undefined;
      let result: R | undefined;
      let failure: TransportError | undefined;
      try {
        result = await perform();
        if (!RETRYABLE_STATUSES.has(result.status))
          return n > 1 ? Object.assign(result, { retry: { attempts: n } }) : result;
        reason = `HTTP ${result.status}`;
        retryAfterMs = parseRetryAfter(result.header('retry-after'));
      } catch (err) {
        // A certificate that does not verify, a host that does not resolve, a passed deadline:
        // trying again cannot help.
        if (!(err instanceof TransportError) || !replayable || !err.retryable) throw err;
        reason = err.reason;
        failure = err;
      }
      const backoff = random() * Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (n - 1));
      const delay = Math.max(backoff, retryAfterMs ?? 0);
      let stop: string | undefined;
      if (!replayable) stop = 'its body was a stream that cannot be sent again';
      else if (n >= opts.maxAttempts) stop = `gave up after ${n} attempts`;
      else if (retryAfterMs !== undefined && retryAfterMs > opts.maxRetryAfterMs) {
        stop = `the registry asked to wait ${Math.ceil(retryAfterMs / 1000)} s (Retry-After), longer than the ${opts.maxRetryAfterMs / 1000} s this action waits`;
      } else if (Date.now() - started + delay > opts.maxTotalMs)
        stop = `gave up after ${n} attempts in ${Math.round((Date.now() - started) / 1000)} s`;
      if (stop) {
        if (failure) {
          failure.message += ` (${stop})`;
          throw failure;
        }
        // Hand the last answer to the caller, whose error then carries the registry's own
        // code, and say why retrying stopped.
        return Object.assign(result!, { retry: { attempts: n, stoppedBecause: stop } });
      }
      opts.onRetry?.({
        method: req.method,
        url: req.url,
        attempt: n + 1,
        maxAttempts: opts.maxAttempts,
        reason,
        delayMs: Math.round(delay),
      });
      if (result) discard(result);
      await sleep(delay);
    }
  }

  return {
    request: (req) =>
      attempt(
        req,
        () => inner.request(req),
        () => undefined,
      ) as Promise<HttpResponse>,
    stream: (req) =>
      attempt(
        req,
        () => inner.stream(req),
        (r) => r.body.resume(),
      ) as Promise<HttpStreamResponse>,
    close: () => inner.close(),
  };
}
