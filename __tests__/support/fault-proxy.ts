/**
 * A fault-injecting reverse proxy on loopback, between the action and a real registry. Seeded,
 * so a failing run can be replayed: each request is, with probability `rate`, answered 503,
 * answered 429 with Retry-After, or forwarded and then cut off in the middle of the answer
 * (after the registry acted on it: the client sees a reset and must cope with a write that
 * happened). The Host header is passed through, so the registry's absolute Location URLs name
 * the proxy.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind = '503' | '429' | 'cut';

export interface FaultProxy {
  url: string;
  host: string;
  /** Changes the seed (and resets the PRNG), so that each run is replayable on its own. */
  reseed(seed: number): void;
  /**
   * After `n` more requests that `match` (all by default) have been forwarded, answer
   * everything 400: the run dies there. Infinity turns it off.
   */
  failAfter(n: number, match?: (method: string, url: string) => boolean): void;
  stats(): { requests: number; faults: Record<FaultKind, number> };
  stop(): Promise<void>;
}

/** mulberry32: small, fast, good enough to pick faults reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(options: {
  target: string;
  seed: number;
  rate: number;
  kinds?: FaultKind[];
  retryAfterSeconds?: number;
}): Promise<FaultProxy> {
  const target = new URL(options.target);
  const kinds = options.kinds ?? ['503', '429', 'cut'];
  let random = prng(options.seed);
  let requests = 0;
  let dieAfter = Infinity;
  let dieMatch: (method: string, url: string) => boolean = () => true;
  const faults: Record<FaultKind, number> = { '503': 0, '429': 0, cut: 0 };

  const forward = (req: IncomingMessage, res: ServerResponse, cut: boolean) => {
    const upstream = httpRequest(
      // A fresh connection to the registry each time (agent: false): a pooled one the registry
      // closed while idle would reset, a fault nobody injected.
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: false,
      },
      (answer) => {
        if (!cut) {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
          return;
        }
        const length = Number(answer.headers['content-length'] ?? 0);
        if (req.method === 'HEAD' || length < 2) {
          // Nothing to cut in half: drop the connection before the answer.
          answer.resume();
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.statusCode!, answer.headers);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= length / 2) return;
          const part = chunk.subarray(0, Math.max(1, Math.floor(length / 2) - sent));
          sent += part.length;
          res.write(part);
          if (sent >= length / 2) setImmediate(() => res.socket?.destroy());
        });
        answer.on('end', () => res.socket?.destroy());
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  };

  const server: Server = createServer((req, res) => {
    requests++;
    if (dieAfter <= 0) {
      req.resume();
      req.on('end', () =>
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"UNSUPPORTED","message":"the run dies here"}]}'),
      );
      return;
    }
    const roll = random();
    const pick = kinds[Math.floor(random() * kinds.length)]!;
    if (dieMatch(req.method!, req.url!)) dieAfter--;
    if (roll >= options.rate) return forward(req, res, false);
    faults[pick]++;
    if (pick === 'cut') return forward(req, res, true);
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({
        errors: [{ code: pick === '429' ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected fault' }],
      });
      res.writeHead(Number(pick), {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...(pick === '429' && { 'retry-after': String(options.retryAfterSeconds ?? 1) }),
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}`,
    host,
    reseed(seed) {
      random = prng(seed);
    },
    failAfter(n, match = () => true) {
      dieAfter = n;
      dieMatch = match;
    },
    stats: () => ({ requests, faults: { ...faults } }),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
