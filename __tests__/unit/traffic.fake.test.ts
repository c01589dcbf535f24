/**
 * The request counter under a stand-in transport: rate-limit headers are something neither
 * registry the tests start can send.
 */
import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { TrafficCounter } from '../../src/registry/http/traffic.js';
import type { HttpRequest, HttpTransport } from '../../src/registry/http/transport.js';

function fakeTransport(remaining: () => string | undefined): HttpTransport {
  const headers = (extra: Record<string, string | undefined>) => (name: string) => extra[name];
  return {
    request: async (req: HttpRequest) => {
      if (req.url.includes('/fail')) throw new Error('connection reset');
      return {
        method: req.method,
        status: 200,
        url: req.url,
        body: new Uint8Array(10),
        header: headers({ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': remaining() }),
      };
    },
    stream: async (req: HttpRequest) => ({
      method: req.method,
      status: 200,
      url: req.url,
      body: Readable.from([]),
      header: headers({ 'content-length': '4096' }),
    }),
    close: async () => undefined,
  };
}

describe('TrafficCounter', () => {
  it('counts requests by host and method, bytes both ways, and the lowest remaining rate limit', async () => {
    const left = ['80;w=21600', '78;w=21600', '79;w=21600'];
    const counter = new TrafficCounter();
    const t = counter.wrap(fakeTransport(() => left.shift()));
    await t.request({ method: 'GET', url: 'https://registry-1.docker.io/v2/a/manifests/1' });
    await t.request({ method: 'PUT', url: 'https://registry-1.docker.io/v2/a/manifests/1', body: 'x'.repeat(300) });
    await t.request({ method: 'HEAD', url: 'https://registry-1.docker.io/v2/a/manifests/2' });
    await t.stream({
      method: 'PUT',
      url: 'https://ghcr.io/v2/b/blobs/uploads/1',
      body: Readable.from([]),
      headers: { 'content-length': '1000' },
    });
    await expect(t.request({ method: 'GET', url: 'https://ghcr.io/fail' })).rejects.toThrow('connection reset');
    expect(counter.snapshot()).toEqual({
      'registry-1.docker.io': {
        requests: { GET: 1, PUT: 1, HEAD: 1 },
        total: 3,
        bytesUp: 300,
        bytesDown: 30,
        rateLimit: { limit: 100, remaining: 78, windowSeconds: 21600 },
      },
      'ghcr.io': { requests: { PUT: 1, GET: 1 }, total: 2, bytesUp: 1000, bytesDown: 4096 },
    });
  });
});
