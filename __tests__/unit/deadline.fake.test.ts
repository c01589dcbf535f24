/**
 * The overall deadline of a request, against a FAKE registry on loopback that drips its answer
 * a byte a second: slow enough to hold a run for minutes, fast enough never to trip the idle
 * timeout between chunks. No real registry answers like this on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserFacingError } from '../../src/oci/user-facing-error.js';
import { RegistryClient } from '../../src/registry/client.js';
import { deadlineMs, describeDeadline } from '../../src/registry/http/deadline.js';
import { TransportError } from '../../src/registry/http/transport.js';

const TIMEOUT_MS = 2000;
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let server: Server;
let host: string;
let requests: string[] = [];
let handle: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => void r.writeHead(404).end();
const timers = new Set<NodeJS.Timeout>();

/** Sends the headers at once, then one byte a second of `length`, until done or cut off. */
function drip(res: ServerResponse, length: number, headers: Record<string, string>) {
  res.writeHead(200, { 'content-length': String(length), ...headers });
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed || sent >= length) {
      clearInterval(timer);
      timers.delete(timer);
      return void (sent >= length && res.end());
    }
    res.write('x');
    sent++;
  }, 1000);
  timers.add(timer);
}

beforeAll(async () => {
  server = createServer((q, r) => {
    requests.push(`${q.method} ${q.url}`);
    handle(q, r);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
const clients: RegistryClient[] = [];
afterAll(async () => {
  for (const t of timers) clearInterval(t);
  await Promise.all(clients.map((c) => c.close()));
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function repo() {
  const c = new RegistryClient({ plainHttp: true, timeoutMs: TIMEOUT_MS, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
  clients.push(c);
  return c.repository({ registry: host, repository: 'a/b' }, 'pull');
}

describe('request deadline (fake registry dripping a byte a second)', () => {
  it('states the rule: 2 × timeout, plus one timeout per 8 MiB expected', () => {
    expect(deadlineMs(60_000, 0)).toBe(120_000);
    expect(deadlineMs(60_000, 80 * 1024 * 1024)).toBe(720_000);
    expect(describeDeadline(2000, 0)).toBe('its deadline of 4 s (2 × the timeout of 2 s)');
  });

  it('fails a manifest answer within 2 × timeout, naming the deadline, the host and the operation', async () => {
    requests = [];
    handle = (_q, r) => drip(r, 500, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    const started = Date.now();
    const err = await repo()
      .fetchManifest('rc')
      .catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(UserFacingError);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toBe(
      `get manifest ${host}/a/b:rc failed: ${host} gave no complete answer within its deadline of 4 s (2 × the timeout of 2 s); not retried`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(3900);
    expect(elapsed).toBeLessThan(5500);
    // A deadline that passed is not retried: that would multiply the wait.
    expect(requests).toEqual(['GET /v2/a/b/manifests/rc']);
  }, 15_000);

  it('gives a blob one more timeout per 8 MiB it carries, then fails its stream', async () => {
    requests = [];
    const size = 4 * 1024 * 1024;
    handle = (_q, r) => drip(r, size, { 'content-type': 'application/octet-stream' });
    const started = Date.now();
    const stream = await repo().fetchBlob({ mediaType: 'application/octet-stream', digest: sha('blob'), size });
    const err = await (async () => {
      for await (const _chunk of stream) void _chunk;
    })().catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(UserFacingError);
    expect((err as Error).message).toBe(
      `get blob ${host}/a/b@${sha('blob')} failed: ${host} gave no complete answer within its deadline of 5 s (2 × the timeout of 2 s, plus one timeout per 8 MiB of the 4194304 bytes expected); not retried`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(4900);
    expect(elapsed).toBeLessThan(6500);
    expect(requests).toHaveLength(1);
  }, 15_000);
});
