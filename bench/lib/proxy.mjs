// Counting + latency reverse proxy, one in front of each registry.
//
// Every tool in the benchmark talks only to these proxies, so that all of them are measured
// the same way (the registries' own logs differ in format and timing) and so that the 25 ms
// condition applies to all of them alike.
//
// - Counts requests by method, request-body bytes (= bytes uploaded) and keeps a log of
//   method + path + status (to list which requests a tool made).
// - Delays each request by `delayMs` before forwarding it. Each request waits on its own
//   timer: requests on parallel connections stay parallel (nothing is queued behind a
//   global lock), so the delay models one round trip per request, as across the internet.
//   A client that sends everything over one connection serialises itself, as it would there.
// - Keeps the Host header as the client sent it, so registries that build absolute Location
//   URLs (distribution) name the proxy, and the client's next request comes back through it.
// - Streams bodies both ways (a 1 GiB blob is never buffered).
import { performance } from 'node:perf_hooks';
import http from 'node:http';

// Hop-by-hop headers: the proxy's own connections to the client and to the registry are
// separate, so these must not be forwarded. `expect` is answered by the proxy itself (Node
// sends 100 Continue to the client), the registry gets the body straight away.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect']);

export async function startProxy({ name, upstreamPort }) {
  // Keep-alive pool towards the registry, unbounded: the proxy must not cap a client's concurrency.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
  let delayMs = 0;
  let state = freshState();

  function freshState() {
    return {
      byMethod: {},
      total: 0,
      bytesUp: 0,
      bytesDown: 0,
      log: [], // { method, path, status, t (arrival), end (answer finished) }
      firstRequestAt: null, // performance.now() of the first request since reset
      nonHttp: 0, // connections that did not speak HTTP (e.g. a TLS ClientHello from crane's https ping)
    };
  }

  const server = http.createServer(
    // No server-side timeouts: a 1 GiB upload through a slow client must not be cut off.
    { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 30_000 },
    (req, res) => {
      const s = state; // a reset during this request must not move its counts to the next measurement
      const entry = { method: req.method, path: req.url, status: 0, t: performance.now() };
      if (s.firstRequestAt === null) s.firstRequestAt = entry.t;
      s.byMethod[req.method] = (s.byMethod[req.method] ?? 0) + 1;
      s.total++;
      s.log.push(entry);
      req.on('data', (chunk) => (s.bytesUp += chunk.length));
      req.pause(); // the body waits for the delay like the headers (backpressure on the client)

      const forward = () => {
        const headers = {};
        for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
        const up = http.request({
          host: '127.0.0.1',
          port: upstreamPort,
          method: req.method,
          path: req.url,
          headers, // includes `host` as the client sent it
          agent,
        });
        up.on('response', (ur) => {
          entry.status = ur.statusCode;
          const out = {};
          for (const [k, v] of Object.entries(ur.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
          res.writeHead(ur.statusCode, ur.statusMessage, out);
          ur.on('data', (c) => (s.bytesDown += c.length));
          ur.pipe(res);
          ur.on('error', () => res.destroy());
        });
        up.on('error', (err) => {
          entry.status = 502;
          if (!res.headersSent) {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end(`proxy ${name}: ${err.message}`);
          } else res.destroy();
        });
        res.on('close', () => {
          entry.end = performance.now();
          if (!res.writableFinished) up.destroy();
        });
        req.pipe(up);
        req.resume();
      };
      if (delayMs > 0) setTimeout(forward, delayMs);
      else forward();
    },
  );
  server.on('clientError', (err, socket) => {
    state.nonHttp++;
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = server.address().port;

  return {
    name,
    port,
    host: `127.0.0.1:${port}`,
    setDelay(ms) {
      delayMs = ms;
    },
    reset() {
      state = freshState();
    },
    /** Counts since the last reset (the log array is a copy). */
    snapshot() {
      return { ...state, byMethod: { ...state.byMethod }, log: [...state.log] };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}

/** Sums snapshots of several proxies (a tool may talk to a source and a target registry). */
export function mergeSnapshots(snaps) {
  const out = { byMethod: {}, total: 0, bytesUp: 0, bytesDown: 0, log: [], nonHttp: 0, firstRequestAt: null };
  for (const [proxyName, s] of snaps) {
    for (const [m, n] of Object.entries(s.byMethod)) out.byMethod[m] = (out.byMethod[m] ?? 0) + n;
    out.total += s.total;
    out.bytesUp += s.bytesUp;
    out.bytesDown += s.bytesDown;
    out.nonHttp += s.nonHttp;
    out.log.push(...s.log.map((e) => ({ ...e, registry: proxyName })));
    if (s.firstRequestAt !== null && (out.firstRequestAt === null || s.firstRequestAt < out.firstRequestAt)) {
      out.firstRequestAt = s.firstRequestAt;
    }
  }
  out.log.sort((a, b) => a.t - b.t);
  return out;
}
