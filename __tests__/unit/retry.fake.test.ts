/** The retry policy against a scripted FAKE transport: answers and failures in a fixed order. */
import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { parseRetryAfter, withRetry } from '../../src/registry/http/retry.js';
import {
  TransportError,
  type HttpRequest,
  type HttpResponse,
  type HttpTransport,
} from '../../src/registry/http/transport.js';

type Step = number | { status: number; headers?: Record<string, string> } | 'reset';

function scripted(steps: Step[]): HttpTransport & { calls: number } {
  const t = {
    calls: 0,
    async request(req: HttpRequest): Promise<HttpResponse> {
      const step = steps[Math.min(t.calls++, steps.length - 1)]!;
      if (step === 'reset') throw new TransportError(req.method, 'registry.test', 'connection reset');
      const { status, headers = {} } = typeof step === 'number' ? { status: step } : step;
      return {
        method: req.method,
        status,
        url: req.url,
        header: (n) => headers[n.toLowerCase()],
        body: new Uint8Array(),
      };
    },
    async stream() {
      throw new Error('not used');
    },
    async close() {},
  };
  return t;
}

function run(steps: Step[], req: Partial<HttpRequest> = {}, options = {}) {
  const inner = scripted(steps);
  const sleeps: number[] = [];
  const transport = withRetry(inner, { random: () => 1, sleep: async (ms) => void sleeps.push(ms), ...options });
  return {
    inner,
    sleeps,
    result: transport.request({ method: 'GET', url: 'https://registry.test/v2/a/manifests/x', ...req }),
  };
}

describe('withRetry', () => {
  it('retries 503 with exponential backoff and returns the answer that worked', async () => {
    const { inner, sleeps, result } = run([503, 502, 500, 200]);
    const res = await result;
    expect(res.status).toBe(200);
    expect(res.retry).toEqual({ attempts: 4 });
    expect(inner.calls).toBe(4);
    expect(sleeps).toEqual([250, 500, 1000]);
  });

  it.each([408, 429, 500, 502, 503, 504])('retries %i', async (status) => {
    expect((await run([status, 200]).result).status).toBe(200);
  });

  it.each([400, 401, 403, 404, 405, 409, 412, 501])('does not retry %i', async (status) => {
    const { inner, result } = run([status, 200]);
    expect((await result).status).toBe(status);
    expect(inner.calls).toBe(1);
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const a = run([{ status: 429, headers: { 'retry-after': '3' } }, 200]);
    await a.result;
    expect(a.sleeps).toEqual([3000]);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('does not wait for a Retry-After beyond its bound, and says so', async () => {
    const { inner, result } = run(
      [{ status: 429, headers: { 'retry-after': '3600' } }, 200],
      {},
      { maxRetryAfterMs: 60_000 },
    );
    const res = await result;
    expect(res.status).toBe(429);
    expect(res.retry?.stoppedBecause).toBe(
      'the registry asked to wait 3600 s (Retry-After), longer than the 60 s this action waits',
    );
    expect(inner.calls).toBe(1);
  });

  it('gives up after the bounded number of tries with the last answer', async () => {
    const { inner, result } = run([503]);
    const res = await result;
    expect(res.status).toBe(503);
    expect(res.retry?.stoppedBecause).toBe('gave up after 5 attempts');
    expect(inner.calls).toBe(5);
  });

  it('stops at the total time bound', async () => {
    const { inner, result } = run([503], {}, { maxTotalMs: 600 });
    // Waits of 250 and 500 ms fit in 600 ms; the third, of 1000 ms, would not.
    expect((await result).retry?.stoppedBecause).toMatch(/^gave up after 3 attempts in \d+ s$/);
    expect(inner.calls).toBe(3);
  });

  it('retries connection failures, and names them when it gives up', async () => {
    expect((await run(['reset', 'reset', 200]).result).status).toBe(200);
    await expect(run(['reset']).result).rejects.toThrow(
      'GET request to registry.test failed: connection reset (gave up after 5 attempts)',
    );
  });

  it('never re-sends a streamed body', async () => {
    const { inner, result } = run([503, 201], { method: 'PUT', body: Readable.from(['x']) });
    const res = await result;
    expect(res.status).toBe(503);
    expect(res.retry?.stoppedBecause).toBe('its body was a stream that cannot be sent again');
    expect(inner.calls).toBe(1);
    await expect(run(['reset', 201], { method: 'PUT', body: Readable.from(['x']) }).result).rejects.toThrow(
      'connection reset',
    );
  });
});
