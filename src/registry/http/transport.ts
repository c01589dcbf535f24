import { channel } from 'node:diagnostics_channel';
import { PassThrough, Readable } from 'node:stream';
import { Agent, request } from './undici.js';
import { UserFacingError } from '../../oci/user-facing-error.js';
import { expectedBytes, startDeadline, type Deadline } from './deadline.js';
import { describeNetworkError, TransportError } from './failures.js';
import { resolveHeaderUrl } from './header-url.js';

export { TransportError } from './failures.js';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/**
 * How redirects are treated. `follow` follows any (blob downloads go to object storage),
 * `same-host` follows only to the same origin and returns the 3xx otherwise (the referrers
 * probe: ghcr.io redirects that path to another host), `none` never follows.
 */
export type RedirectPolicy = 'follow' | 'same-host' | 'none';

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** A Readable is streamed (blob uploads); it cannot be re-sent on a redirect or retry. */
  body?: Uint8Array | string | Readable;
  /** Largest body this caller will buffer; more fails with ResponseTooLargeError. */
  maxResponseBytes?: number;
  redirect?: RedirectPolicy;
  /**
   * Bytes the answer or the body is expected to carry (a blob's size), for the deadline; else
   * the request body's size. See deadline.ts.
   */
  expectedBytes?: number;
  /** What the request is for (`get manifest ghcr.io/acme/app:rc`), named in the errors it raises. */
  operation?: string;
}

/** Set on an answer when retries happened: how many tries, and why trying stopped. */
export interface RetrySummary {
  attempts: number;
  stoppedBecause?: string;
}

export interface HttpResponse {
  /** The method of the request that answered (a 303 turns it into GET). */
  method: HttpMethod;
  status: number;
  /** The URL that answered, after redirects. */
  url: string;
  header(name: string): string | undefined;
  body: Uint8Array;
  retry?: RetrySummary;
}

/** A response whose body is a stream the caller must read to the end or destroy. */
export interface HttpStreamResponse extends Omit<HttpResponse, 'body'> {
  body: Readable;
}

export interface HttpTransport {
  /** Sends and buffers the answer, up to `maxResponseBytes`. */
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Sends and hands back the answer's body as a stream (blob downloads). */
  stream(req: HttpRequest): Promise<HttpStreamResponse>;
  close(): Promise<void>;
}

export interface TransportOptions {
  /**
   * Connect timeout and the longest wait for headers or between body chunks; each request also
   * has an overall deadline derived from it (deadline.ts).
   */
  timeoutMs: number;
  /**
   * Keep-alive connections per origin, opened only as requests need them. Enough for a run's
   * first round of reads at once (the source manifest, its referrers, a HEAD per target tag:
   * 20 tags and more), so that such a round costs one round trip.
   */
  connections: number;
  /** Extra headers on every request (User-Agent). */
  userAgent: string;
  /**
   * Told once, when the first request's headers are written to its connection (undici's
   * diagnostics channel `undici:client:sendHeaders`): from then on the run waits on the network.
   */
  onFirstSent?: () => void;
}

export const DEFAULT_TRANSPORT_OPTIONS: TransportOptions = {
  timeoutMs: 60_000,
  connections: 32,
  userAgent: 'oci-promote-action',
};

export class ResponseTooLargeError extends UserFacingError {
  constructor(
    readonly url: string,
    readonly limit: number,
  ) {
    super(`the response from ${new URL(url).host} is larger than ${limit} bytes`);
  }
}

const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;

/**
 * The one place that talks to undici. One Agent holds one keep-alive pool per origin, so each
 * registry gets its own pool; connections are reused across requests and tokens.
 */
export function createTransport(options: Partial<TransportOptions> = {}): HttpTransport {
  const opts = { ...DEFAULT_TRANSPORT_OPTIONS, ...options };
  if (opts.onFirstSent) {
    const onFirstSent = opts.onFirstSent;
    const sent = channel('undici:client:sendHeaders');
    const first = () => {
      sent.unsubscribe(first);
      onFirstSent();
    };
    sent.subscribe(first);
  }
  const agent = new Agent({
    connections: opts.connections,
    connect: { timeout: opts.timeoutMs },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
  });

  /** One request, no redirects; the body is left for the caller to read or dump. */
  async function send(req: HttpRequest, url: URL, deadline: Deadline): Promise<HttpStreamResponse> {
    let res;
    deadline.at(url.host);
    try {
      res = await request(agent, {
        origin: url.origin,
        path: url.pathname + url.search,
        method: req.method,
        headers: { 'user-agent': opts.userAgent, ...req.headers },
        body: req.body ?? null,
        signal: deadline.signal,
      });
    } catch (err) {
      if (req.body instanceof Readable && req.body.errored) throw toTransportError(req.body.errored, req.method, url);
      throw toTransportError(err, req.method, url);
    }
    const headers = res.headers;
    const body = res.body;
    return {
      method: req.method,
      status: res.statusCode,
      url: url.href,
      header(name: string) {
        const v = headers[name.toLowerCase()];
        return Array.isArray(v) ? v.join(', ') : v;
      },
      body: body as unknown as Readable,
    };
  }

  /** Follows redirects as `req.redirect` allows, never carrying Authorization to another origin. */
  async function follow(req: HttpRequest, deadline: Deadline): Promise<HttpStreamResponse> {
    let url = new URL(req.url);
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await send(current, url, deadline);
      const location = res.header('location');
      const isRedirect = [301, 302, 303, 307, 308].includes(res.status) && location !== undefined;
      if (!isRedirect || req.redirect === 'none' || hop >= MAX_REDIRECTS) return res;
      let next: URL;
      try {
        next = resolveHeaderUrl('Location', location, {
          base: url.href,
          method: current.method,
          ...(req.operation && { operation: req.operation }),
        });
      } catch (err) {
        res.body.resume();
        throw err;
      }
      const toGet = res.status === 303 && current.method !== 'HEAD';
      // A streamed body cannot be sent twice; such a redirect is the caller's to handle.
      const unrepeatable = !toGet && current.body instanceof Readable;
      if ((next.origin !== url.origin && req.redirect === 'same-host') || unrepeatable) return res;
      if (next.protocol !== 'https:' && next.protocol !== 'http:') return res;
      res.body.resume();
      const headers = { ...current.headers };
      // Never forward the registry's credentials to another host (S3, Azure Blob, a CDN):
      // they reject it, and it would leak the token.
      if (next.origin !== url.origin) delete headers.authorization;
      current = { ...current, method: toGet ? 'GET' : current.method, headers, ...(toGet && { body: undefined }) };
      url = next;
    }
  }

  function deadlineFor(req: HttpRequest): Deadline {
    return startDeadline({
      method: req.method,
      host: new URL(req.url).host,
      ...(req.operation && { operation: req.operation }),
      timeoutMs: opts.timeoutMs,
      expectedBytes: expectedBytes(req),
    });
  }

  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const deadline = deadlineFor(req);
      try {
        const res = await follow(req, deadline);
        const limit = req.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
        const chunks: Buffer[] = [];
        let total = 0;
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            total += chunk.length;
            if (total > limit) {
              res.body.destroy();
              throw new ResponseTooLargeError(res.url, limit);
            }
            chunks.push(chunk);
          }
        } catch (err) {
          throw toTransportError(err, res.method, new URL(res.url));
        }
        return { ...res, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
      } finally {
        deadline.clear();
      }
    },
    async stream(req: HttpRequest): Promise<HttpStreamResponse> {
      const deadline = deadlineFor(req);
      let res: HttpStreamResponse;
      try {
        res = await follow(req, deadline);
      } catch (err) {
        deadline.clear();
        throw err;
      }
      return { ...res, body: guardBody(res.body, res.method, new URL(res.url), deadline) };
    },
    close: () => agent.close(),
  };
}

/** Errors written for users pass as they are (a deadline, a header); anything else is described. */
function toTransportError(err: unknown, method: string, url: URL): UserFacingError {
  if (err instanceof UserFacingError) return err;
  const { reason, retryable } = describeNetworkError(err, url);
  return new TransportError(method, url.host, reason, { cause: err, retryable });
}

/**
 * A streamed body whose failures reach the reader as TransportErrors (undici's own errors are
 * not written for users), and whose deadline ends when the body does.
 */
function guardBody(body: Readable, method: string, url: URL, deadline: Deadline): Readable {
  const out = new PassThrough();
  body.on('error', (err) => out.destroy(toTransportError(err, method, url)));
  // Readers listen for errors their own way (async iteration, a listener); one that only
  // drains the body (a discarded answer) must not crash the process.
  out.on('error', () => undefined);
  out.on('close', () => {
    deadline.clear();
    if (!body.destroyed && !body.readableEnded) body.destroy();
  });
  body.pipe(out);
  return out;
}
