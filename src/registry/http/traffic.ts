import type { HttpRequest, HttpResponse, HttpStreamResponse, HttpTransport } from './transport.js';

/** A registry's rate limit as it announced it (Docker Hub: `ratelimit-limit: 100;w=21600`). */
export interface RateLimit {
  limit: number;
  /** The lowest `ratelimit-remaining` seen during the run. */
  remaining: number;
  /** The window in seconds, where the registry said (`w=`). */
  windowSeconds?: number;
}

/** What the run sent to one host and received from it. */
export interface HostTraffic {
  /**
   * Requests by method, each retry counted. A request the transport followed through redirects
   * counts once, under the host it was sent to (a blob served by object storage included).
   */
  requests: Record<string, number>;
  total: number;
  /** Request bodies (manifests, blobs) in bytes. */
  bytesUp: number;
  /** Response bodies in bytes, streamed ones as their Content-Length announced. */
  bytesDown: number;
  rateLimit?: RateLimit;
}

/** `100;w=21600` → { value: 100, window: 21600 }; undefined for anything else. */
export function parseRateLimitHeader(value: string | undefined): { value: number; window?: number } | undefined {
  if (value === undefined) return undefined;
  const [first, ...params] = value.split(';').map((s) => s.trim());
  if (!first || !/^\d+$/.test(first)) return undefined;
  const w = params.find((p) => /^w=\d+$/.test(p));
  return { value: Number(first), ...(w && { window: Number(w.slice(2)) }) };
}

/** A request body's size in bytes; a stream's as its Content-Length declares, else 0. */
export function bodyBytes(req: Pick<HttpRequest, 'body' | 'headers'>): number {
  const body = req.body;
  if (body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  const declared = Number(req.headers?.['content-length']);
  return Number.isFinite(declared) ? declared : 0;
}

/**
 * Counts every request per host and notes the rate limit a registry announces, for the job
 * summary. Placed under the retries, so a retried request counts each time it was sent; above
 * the redirects, so a redirected request counts once.
 */
export class TrafficCounter {
  private readonly hosts = new Map<string, HostTraffic>();

  wrap(inner: HttpTransport): HttpTransport {
    const count = (
      req: HttpRequest,
      res: { status: number; header(name: string): string | undefined } | undefined,
      down: number,
    ) => {
      const host = new URL(req.url).host;
      let t = this.hosts.get(host);
      if (!t) {
        t = { requests: {}, total: 0, bytesUp: 0, bytesDown: 0 };
        this.hosts.set(host, t);
      }
      t.requests[req.method] = (t.requests[req.method] ?? 0) + 1;
      t.total++;
      t.bytesUp += bodyBytes(req);
      t.bytesDown += down;
      const limit = parseRateLimitHeader(res?.header('ratelimit-limit'));
      const remaining = parseRateLimitHeader(res?.header('ratelimit-remaining'));
      if (limit && remaining) {
        t.rateLimit = {
          limit: limit.value,
          remaining: Math.min(remaining.value, t.rateLimit?.remaining ?? Infinity),
          ...((limit.window ?? remaining.window) !== undefined && { windowSeconds: limit.window ?? remaining.window }),
        };
      }
    };
    return {
      request: async (req): Promise<HttpResponse> => {
        try {
          const res = await inner.request(req);
          count(req, res, res.body.byteLength);
          return res;
        } catch (err) {
          count(req, undefined, 0);
          throw err;
        }
      },
      stream: async (req): Promise<HttpStreamResponse> => {
        try {
          const res = await inner.stream(req);
          const length = Number(res.header('content-length'));
          count(req, res, Number.isFinite(length) ? length : 0);
          return res;
        } catch (err) {
          count(req, undefined, 0);
          throw err;
        }
      },
      close: () => inner.close(),
    };
  }

  /** Per host, in the order first contacted. */
  snapshot(): Record<string, HostTraffic> {
    return Object.fromEntries([...this.hosts].map(([h, t]) => [h, { ...t, requests: { ...t.requests } }]));
  }
}
