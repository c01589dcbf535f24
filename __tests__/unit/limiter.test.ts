/** The copy's concurrency limit: never more in flight than the limit, freed slots by priority. */
import { describe, expect, it } from '@jest/globals';
import { Limiter, type Priority } from '../../src/engine/limiter.js';

/** A task that runs until released, recording when it started. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { done, release };
}

describe('Limiter', () => {
  it('never has more than its limit in flight, even when slots are freed and taken at once', async () => {
    const limiter = new Limiter(3);
    let active = 0;
    let most = 0;
    const task = async () => {
      active++;
      most = Math.max(most, active);
      await new Promise((resolve) => setImmediate(resolve));
      active--;
    };
    // Waves of new tasks arrive while earlier ones finish, in the same turns.
    const all: Promise<void>[] = [];
    for (let wave = 0; wave < 10; wave++) {
      for (let i = 0; i < 5; i++) all.push(limiter.run(task, (['high', 'normal', 'low'] as const)[i % 3]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(all);
    expect(most).toBe(3);
  });

  it('gives a freed slot to the waiting task of the highest priority, the longest waiting first', async () => {
    const limiter = new Limiter(1);
    const started: string[] = [];
    const first = gate();
    const running = limiter.run(async () => {
      started.push('first');
      await first.done;
    });
    const queued: [string, Priority][] = [
      ['low 1', 'low'],
      ['normal 1', 'normal'],
      ['high 1', 'high'],
      ['low 2', 'low'],
      ['high 2', 'high'],
      ['normal 2', 'normal'],
    ];
    const rest = queued.map(([name, priority]) =>
      limiter.run(async () => {
        started.push(name);
      }, priority),
    );
    first.release();
    await Promise.all([running, ...rest]);
    expect(started).toEqual(['first', 'high 1', 'high 2', 'normal 1', 'normal 2', 'low 1', 'low 2']);
  });

  it('frees the slot of a task that failed', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});
