import { performance } from 'node:perf_hooks';
import { bodyBytes } from './traffic.js';
import type { HttpRequest, HttpResponse, HttpStreamResponse, HttpTransport } from './transport.js';

/** One request as the trace saw it. Times are milliseconds since the process started. */
export interface TracedRequest {
  /** When the request was handed to the connection pool. */
  start: number;
  /** When the answer's headers came. */
  headers?: number;
  /** When the answer's body ended (a streamed body: when the reader finished or dropped it). */
  end?: number;
  method: string;
  host: string;
  /** The path, with the values of query parameters that may carry secrets replaced by `…`. */
  path: string;
  /** Absent when no answer came (see `error`). */
  status?: number;
  /** The phase that issued it (innermost), and the phases that one ran within. */
  phase?: string;
  within?: string[];
  /** The host that answered, where redirects led elsewhere (object storage). */
  answeredBy?: string;
  bytesUp: number;
  bytesDown: number;
  error?: string;
}

export interface RequestTraceOptions {
  /** The phases in force where a request is sent, outermost first. */
  phases: () => readonly string[];
  now?: () => number;
}

/**
 * Query parameters shown as they are; any other's value is replaced, since upload locations
 * carry signed state (distribution's `_state`) and object storage signs its redirects
 * (`X-Amz-Signature`, Azure's `sig`, `Signature`, tokens).
 */
const SHOWN_QUERY_KEYS = new Set(['digest', 'mount', 'from', 'n', 'last', 'artifactType', 'service', 'scope']);

/** `/v2/a/blobs/uploads/x?_state=…&digest=sha256:…`: the path and a query without secrets. */
export function tracePath(url: URL): string {
  const query = [...url.searchParams]
    .map(([k, v]) => `${encodeURIComponent(k)}=${SHOWN_QUERY_KEYS.has(k) ? encodeURIComponent(v) : '…'}`)
    .join('&');
  return query ? `${url.pathname}?${query}` : url.pathname;
}

/**
 * Records every request's start, end, status and the phase that issued it, for the `trace`
 * input. Placed where the TrafficCounter is: under the retries (each try is a request of its
 * own), above the redirects (a redirected request is one, `answeredBy` names where it ended).
 */
export class RequestTrace {
  private readonly recorded: TracedRequest[] = [];
  private readonly now: () => number;

  constructor(private readonly options: RequestTraceOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  wrap(inner: HttpTransport): HttpTransport {
    const begin = (req: HttpRequest): TracedRequest => {
      const url = new URL(req.url);
      const phases = this.options.phases();
      const entry: TracedRequest = {
        start: this.now(),
        method: req.method,
        host: url.host,
        path: tracePath(url),
        ...(phases.length > 0 && { phase: phases[phases.length - 1] }),
        ...(phases.length > 1 && { within: phases.slice(0, -1) }),
        bytesUp: bodyBytes(req),
        bytesDown: 0,
      };
      this.recorded.push(entry);
      return entry;
    };
    const answered = (entry: TracedRequest, res: Omit<HttpResponse, 'body'>) => {
      entry.headers = this.now();
      entry.status = res.status;
      const host = new URL(res.url).host;
      if (host !== entry.host) entry.answeredBy = host;
    };
    const failed = (entry: TracedRequest, err: unknown) => {
      entry.end = this.now();
      entry.error = (err instanceof Error ? err.message : String(err)).slice(0, 300);
    };
    return {
      request: async (req): Promise<HttpResponse> => {
        const entry = begin(req);
        try {
          const res = await inner.request(req);
          answered(entry, res);
          entry.end = entry.headers;
          entry.bytesDown = res.body.byteLength;
          return res;
        } catch (err) {
          failed(entry, err);
          throw err;
        }
      },
      stream: async (req): Promise<HttpStreamResponse> => {
        const entry = begin(req);
        let res: HttpStreamResponse;
        try {
          res = await inner.stream(req);
        } catch (err) {
          failed(entry, err);
          throw err;
        }
        answered(entry, res);
        // Listening for data would change how the body flows; counting on close does not.
        const length = Number(res.header('content-length'));
        res.body.once('close', () => {
          entry.end = this.now();
          entry.bytesDown = res.body.readableEnded && Number.isFinite(length) ? length : 0;
        });
        return res;
      },
      close: () => inner.close(),
    };
  }

  /** What was recorded so far, in the order the requests were sent. */
  requests(): TracedRequest[] {
    return this.recorded.map((r) => ({ ...r, ...(r.within && { within: [...r.within] }) }));
  }
}

/**
 * The critical path: from the request that ended last, back to the request that ended last
 * before it started (within `slackMs`), until none is left; first to last. Without knowing
 * what waited for what, this is the chain of round trips that ran one after another and
 * decided when the run ended: its length is "round trips in a row". bench/lib/waterfall.mjs
 * computes the same from the registry proxies' view.
 */
export function criticalPath<T extends { start: number; end?: number }>(requests: readonly T[], slackMs = 1): T[] {
  const byEnd = requests.filter((r) => r.end !== undefined).sort((a, b) => a.end! - b.end!);
  let current = byEnd[byEnd.length - 1];
  if (!current) return [];
  const chain = [current];
  for (;;) {
    let best: T | undefined;
    for (const r of byEnd) {
      if (r.end! > current.start + slackMs) break;
      if (r !== current && r.start < current.start) best = r;
    }
    if (!best) break;
    chain.push(best);
    current = best;
  }
  return chain.reverse();
}
