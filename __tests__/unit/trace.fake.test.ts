/**
 * The request trace under a stand-in transport whose answers come when the test says, so that
 * times, overlaps and failures are exact; the phases as the engine's limiter and pools carry
 * them. (The integration test in __tests__/integration/trace.test.ts runs it against real
 * registries.)
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { buildTraceFile, describeTrace, writeTraceFile } from '../../src/action/trace.js';
import { Limiter } from '../../src/engine/limiter.js';
import { currentPhases, inPhase, phased } from '../../src/oci/phase.js';
import { criticalPath, RequestTrace, tracePath, type TracedRequest } from '../../src/registry/http/trace.js';
import type { HttpRequest, HttpStreamResponse, HttpTransport } from '../../src/registry/http/transport.js';

/** A clock the test moves, and a transport that answers each request when the test releases it. */
function harness() {
  let clock = 0;
  const pending: Array<{ req: HttpRequest; answer: (status: number) => void; fail: (err: Error) => void }> = [];
  const streams: PassThrough[] = [];
  const transport: HttpTransport = {
    request: (req) =>
      new Promise((resolve, reject) =>
        pending.push({
          req,
          answer: (status) =>
            resolve({ method: req.method, status, url: req.url, body: new Uint8Array(7), header: () => undefined }),
          fail: reject,
        }),
      ),
    stream: (req) =>
      new Promise<HttpStreamResponse>((resolve, reject) =>
        pending.push({
          req,
          answer: (status) => {
            const body = new PassThrough();
            streams.push(body);
            resolve({
              method: req.method,
              status,
              // Redirected to object storage.
              url: 'https://storage.example/blob?X-Amz-Signature=abc',
              body,
              header: (n) => (n === 'content-length' ? '5' : undefined),
            });
          },
          fail: reject,
        }),
      ),
    close: async () => undefined,
  };
  const trace = new RequestTrace({ phases: currentPhases, now: () => clock });
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return {
    transport: trace.wrap(transport),
    trace,
    pending,
    streams,
    flush,
    at: (t: number) => {
      clock = t;
    },
  };
}

describe('tracePath', () => {
  it.each([
    ['/v2/a/manifests/v1', '/v2/a/manifests/v1'],
    [
      '/v2/a/blobs/uploads/u1?_state=c2VjcmV0&digest=sha256%3Aabc',
      '/v2/a/blobs/uploads/u1?_state=…&digest=sha256%3Aabc',
    ],
    ['/v2/a/blobs/uploads/?mount=sha256%3Aabc&from=b', '/v2/a/blobs/uploads/?mount=sha256%3Aabc&from=b'],
    [
      '/data?X-Amz-Signature=s3cr3t&X-Amz-Credential=AKIA&X-Amz-Expires=60',
      '/data?X-Amz-Signature=…&X-Amz-Credential=…&X-Amz-Expires=…',
    ],
    ['/blob?sv=2020&sig=s3cr3t', '/blob?sv=…&sig=…'],
    [
      '/token?service=reg&scope=repository%3Aa%3Apull&account=me',
      '/token?service=reg&scope=repository%3Aa%3Apull&account=…',
    ],
    ['/v2/a/tags/list?n=1000&last=v9', '/v2/a/tags/list?n=1000&last=v9'],
  ])('%s → %s', (path, expected) => {
    expect(tracePath(new URL(`https://r.example${path}`))).toBe(expected);
  });
});

describe('RequestTrace', () => {
  it('records start, end, status, host, path, bytes and the phase of each request, and failures', async () => {
    const h = harness();
    h.at(10);
    const resolved = inPhase('resolve', () =>
      h.transport.request({ method: 'GET', url: 'https://r.example/v2/a/manifests/v1' }),
    );
    h.at(11);
    const token = inPhase('copy', () =>
      inPhase('auth', () => h.transport.request({ method: 'GET', url: 'https://auth.example/token?service=r' })),
    );
    h.at(12);
    const failed = inPhase('tag', () =>
      h.transport.request({ method: 'PUT', url: 'https://r.example/v2/a/manifests/v2', body: 'x'.repeat(40) }),
    );
    const unlabelled = h.transport.request({ method: 'HEAD', url: 'https://r.example/v2/' });
    expect(h.pending).toHaveLength(4);
    h.at(30);
    h.pending[0]!.answer(200);
    await resolved;
    h.at(35);
    h.pending[1]!.answer(200);
    await token;
    h.at(40);
    h.pending[2]!.fail(new Error('connection reset by peer'));
    await expect(failed).rejects.toThrow('connection reset');
    h.pending[3]!.answer(404);
    await unlabelled;
    expect(h.trace.requests()).toEqual([
      {
        start: 10,
        headers: 30,
        end: 30,
        method: 'GET',
        host: 'r.example',
        path: '/v2/a/manifests/v1',
        status: 200,
        phase: 'resolve',
        bytesUp: 0,
        bytesDown: 7,
      },
      {
        start: 11,
        headers: 35,
        end: 35,
        method: 'GET',
        host: 'auth.example',
        path: '/token?service=r',
        status: 200,
        phase: 'auth',
        within: ['copy'],
        bytesUp: 0,
        bytesDown: 7,
      },
      {
        start: 12,
        end: 40,
        method: 'PUT',
        host: 'r.example',
        path: '/v2/a/manifests/v2',
        phase: 'tag',
        bytesUp: 40,
        bytesDown: 0,
        error: 'connection reset by peer',
      },
      {
        start: 12,
        headers: 40,
        end: 40,
        method: 'HEAD',
        host: 'r.example',
        path: '/v2/',
        status: 404,
        bytesUp: 0,
        bytesDown: 7,
      },
    ]);
  });

  it('ends a streamed answer when its body does, not when its headers come', async () => {
    const h = harness();
    h.at(5);
    const answer = inPhase('copy', () =>
      h.transport.stream({ method: 'GET', url: 'https://r.example/v2/a/blobs/sha256:abc' }),
    );
    h.at(8);
    h.pending[0]!.answer(200);
    const res = await answer;
    expect(h.trace.requests()[0]).toMatchObject({ headers: 8, status: 200, answeredBy: 'storage.example' });
    expect(h.trace.requests()[0]!.end).toBeUndefined();
    h.at(50);
    res.body.resume();
    h.streams[0]!.end(Buffer.from('12345'));
    await new Promise((resolve) => res.body.once('close', resolve));
    expect(h.trace.requests()[0]).toMatchObject({ start: 5, headers: 8, end: 50, bytesDown: 5, phase: 'copy' });
  });
});

describe('phases', () => {
  it('stay with the work that was started in them, through a limiter queue and interleaved awaits', async () => {
    const limiter = new Limiter(1);
    const seen: string[] = [];
    let open!: () => void;
    const gate = { promise: new Promise<void>((resolve) => (open = resolve)) };
    const step = (label: string) =>
      limiter.run(async () => {
        await gate.promise;
        seen.push(`${label}:${currentPhases().join('>')}`);
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(`${label}:${currentPhases().join('>')}`);
      });
    const copy = phased('copy', step);
    const all = Promise.all([
      copy('a'),
      inPhase('referrers', () => Promise.all([step('b'), inPhase('referrers index', () => step('c'))])),
      inPhase('tag', () => step('d')),
      step('e'),
    ]);
    open();
    await all;
    expect(seen).toEqual([
      'a:copy',
      'a:copy',
      'b:referrers',
      'b:referrers',
      'c:referrers>referrers index',
      'c:referrers>referrers index',
      'd:tag',
      'd:tag',
      'e:',
      'e:',
    ]);
    expect(currentPhases()).toEqual([]);
  });
});

const r = (start: number, end: number, phase: string): TracedRequest => ({
  start,
  end,
  phase,
  method: 'GET',
  host: 'r',
  path: `/${phase}/${start}`,
  bytesUp: 0,
  bytesDown: 0,
});

describe('criticalPath', () => {
  it.each<[string, TracedRequest[], string[]]>([
    ['nothing', [], []],
    ['one request', [r(0, 10, 'resolve')], ['/resolve/0']],
    [
      'a chain with requests beside it',
      [
        r(0, 10, 'resolve'),
        r(11, 20, 'discover'),
        r(11, 30, 'look at tags'),
        r(31, 40, 'copy'),
        r(31, 35, 'copy'),
        r(41, 50, 'tag'),
      ],
      ['/resolve/0', '/look at tags/11', '/copy/31', '/tag/41'],
    ],
    [
      'of overlapping requests, the one that ended last before the next started is on the path',
      [r(0, 10, 'copy'), r(5, 28, 'copy'), r(29, 40, 'tag')],
      ['/copy/5', '/tag/29'],
    ],
    [
      'an answer that ends a moment after the next request started still counts (slack)',
      [r(0, 10, 'copy'), r(5, 29.5, 'copy'), r(29, 40, 'tag')],
      ['/copy/5', '/tag/29'],
    ],
    [
      'but not one that ended well after it started',
      [r(0, 10, 'copy'), r(5, 35, 'copy'), r(29, 40, 'tag')],
      ['/copy/0', '/tag/29'],
    ],
    [
      'a request without an end is left out',
      [r(0, 10, 'resolve'), { ...r(11, 0, 'copy'), end: undefined }],
      ['/resolve/0'],
    ],
  ])('%s', (_name, requests, expected) => {
    expect(criticalPath(requests).map((x) => x.path)).toEqual(expected);
  });
});

describe('the trace file', () => {
  const requests = [r(70.04, 80, 'resolve'), r(81, 90, 'auth'), r(81, 85, 'discover'), r(91, 120.06, 'tag')];

  it('holds every request, the critical path by phase and the start-up', () => {
    const file = buildTraceFile(requests, Date.UTC(2025, 0, 1));
    expect(file.processStart).toBe('2025-01-01T00:00:00.000Z');
    expect(file.firstRequestMs).toBe(70);
    expect(file.lastAnswerMs).toBe(120.1);
    expect(file.requests).toHaveLength(4);
    expect(file.criticalPath).toEqual({
      roundTrips: 3,
      byPhase: { resolve: 1, auth: 1, tag: 1 },
      requests: [0, 1, 3],
    });
    const lines = describeTrace(file);
    expect(lines[1]).toBe('Critical path: 3 round trip(s) in a row (resolve 1, auth 1, tag 1)');
    expect(lines.slice(2).map((l) => /\d+\. at +(\d+) ms, .*? (\S+) +GET/.exec(l)?.slice(1))).toEqual([
      ['70', 'resolve'],
      ['81', 'auth'],
      ['91', 'tag'],
    ]);
  });

  it('lists at most maxLines round trips in the log, with digests shortened', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const chain = Array.from({ length: 5 }, (_, i) => ({
      ...r(i * 10, i * 10 + 9, 'copy'),
      path: `/v2/a/manifests/${digest}`,
    }));
    const lines = describeTrace(buildTraceFile(chain), 3);
    expect(lines[1]).toBe('Critical path: 5 round trip(s) in a row (copy 5)');
    expect(lines.slice(2)).toHaveLength(4);
    expect(lines[2]).toContain(`GET r/v2/a/manifests/sha256:${'ab'.repeat(6)}… →`);
    expect(lines[5]).toBe('  … 2 more');
  });

  it('is written under RUNNER_TEMP', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trace-test-'));
    try {
      const path = await writeTraceFile(buildTraceFile(requests), { RUNNER_TEMP: dir });
      expect(path.startsWith(dir)).toBe(true);
      expect(JSON.parse(await readFile(path, 'utf8')).criticalPath.roundTrips).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
