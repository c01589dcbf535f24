import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseNextLink } from '../../src/registry/http/header-url.js';
import { createTransport, ResponseTooLargeError, TransportError } from '../../src/registry/http/transport.js';

/** Two real loopback HTTP servers: a "registry" that redirects to an "object store" on another port (origin). */
let registry: Server;
let store: Server;
let registryUrl: string;
let storeUrl: string;
const seenByStore: IncomingHttpHeaders[] = [];

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  store = createServer((req, res) => {
    seenByStore.push(req.headers);
    res.end('blob-bytes');
  });
  storeUrl = await listen(store);
  registry = createServer((req, res) => {
    if (req.url === '/v2/a/blobs/x') {
      res.writeHead(307, { location: `${storeUrl}/bucket/x?sig=1` });
      return res.end();
    }
    if (req.url === '/v2/a/same') {
      res.writeHead(302, { location: '/v2/a/target' });
      return res.end();
    }
    if (req.url === '/v2/a/target') return res.end(`auth=${req.headers.authorization ?? ''}`);
    if (req.url === '/v2/a/big') return res.end('x'.repeat(2048));
    res.writeHead(404).end();
  });
  registryUrl = await listen(registry);
});

afterAll(async () => {
  await new Promise((r) => registry.close(r));
  await new Promise((r) => store.close(r));
});

describe('transport', () => {
  const transport = createTransport({ timeoutMs: 5000 });
  afterAll(() => transport.close());

  it('follows a redirect to another host without the Authorization header', async () => {
    const res = await transport.request({
      method: 'GET',
      url: `${registryUrl}/v2/a/blobs/x`,
      headers: { authorization: 'Bearer secret-token' },
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(res.body).toString()).toBe('blob-bytes');
    expect(res.url).toBe(`${storeUrl}/bucket/x?sig=1`);
    expect(seenByStore.at(-1)?.authorization).toBeUndefined();
  });

  it('keeps Authorization on a same-origin redirect', async () => {
    const res = await transport.request({
      method: 'GET',
      url: `${registryUrl}/v2/a/same`,
      headers: { authorization: 'Bearer t' },
    });
    expect(Buffer.from(res.body).toString()).toBe('auth=Bearer t');
  });

  it('does not follow a redirect to another host under same-host', async () => {
    const before = seenByStore.length;
    const res = await transport.request({ method: 'GET', url: `${registryUrl}/v2/a/blobs/x`, redirect: 'same-host' });
    expect(res.status).toBe(307);
    expect(seenByStore.length).toBe(before);
  });

  it('bounds the body it buffers', async () => {
    await expect(
      transport.request({ method: 'GET', url: `${registryUrl}/v2/a/big`, maxResponseBytes: 1024 }),
    ).rejects.toBeInstanceOf(ResponseTooLargeError);
  });

  it('names the host when the connection is refused', async () => {
    const closed = createServer();
    const url = await listen(closed);
    await new Promise((r) => closed.close(r));
    const err = await transport.request({ method: 'GET', url: `${url}/v2/` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toBe(`GET request to ${new URL(url).host} failed: connection refused`);
  });
});

describe('the first request on the wire', () => {
  it('is told once, when the first request went out, not before', async () => {
    let told = 0;
    let seenByServer = 0;
    const server = createServer((_req, res) => {
      seenByServer++;
      // The transport was told before the registry answered.
      res.end(`told=${told}`);
    });
    const url = await listen(server);
    const transport = createTransport({ timeoutMs: 5000, onFirstSent: () => told++ });
    try {
      expect(told).toBe(0);
      const first = await transport.request({ method: 'GET', url: `${url}/v2/` });
      expect(Buffer.from(first.body).toString()).toBe('told=1');
      await transport.request({ method: 'GET', url: `${url}/v2/` });
      expect([told, seenByServer]).toEqual([1, 2]);
    } finally {
      await transport.close();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('parseNextLink', () => {
  it.each([
    ['</v2/a/tags/list?n=2&last=b>; rel="next"', 'http://r/v2/a/tags/list?n=2&last=b'],
    ['<http://r/x?p=2>; rel=next', 'http://r/x?p=2'],
    ['</prev>; rel="prev", </next>; rel="next"', 'http://r/next'],
    ['</other>; rel="nextish"', undefined],
    [undefined, undefined],
  ])('%s', (header, expected) => {
    expect(parseNextLink(header, 'http://r/v2/a/tags/list')).toBe(expected);
  });
});
