import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { boundBufferGarbage } from '../../src/action/memory.js';

describe('boundBufferGarbage', () => {
  it('frees unreachable socket-sized buffers once they exceed the threshold', async () => {
    const threshold = 16 * 1024 * 1024;
    const stop = boundBufferGarbage(threshold, 10);
    try {
      // 48 MiB of 64 KiB chunks, dropped at once, as a streamed copy drops what it forwarded.
      for (let i = 0; i < 768; i++) Buffer.alloc(64 * 1024, i).at(0);
      expect(process.memoryUsage().arrayBuffers).toBeGreaterThan(threshold);
      let left = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 100 && left > threshold; i++) {
        await sleep(10);
        left = process.memoryUsage().arrayBuffers;
      }
      expect(left).toBeLessThanOrEqual(threshold);
    } finally {
      stop();
    }
  });
});
