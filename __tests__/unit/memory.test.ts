import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { boundBufferGarbage, DEFAULT_BUFFER_GARBAGE_OPTIONS } from '../../src/action/memory.js';

describe('boundBufferGarbage', () => {
  it('keeps the socket-sized buffers a stream drops from piling up', async () => {
    const threshold = DEFAULT_BUFFER_GARBAGE_OPTIONS.thresholdBytes;
    const stop = boundBufferGarbage();
    try {
      // What this test process already holds (a jest worker keeps some of its own).
      const base = process.memoryUsage().arrayBuffers;
      const bound = Math.max(base, threshold) + 8 * 1024 * 1024;
      // 96 MiB through in 64 KiB chunks, each dropped once forwarded, yielding to the event
      // loop after every MiB as a stream does. Without the bound V8 lets about 64 MB pile up.
      let peak = 0;
      for (let mib = 0; mib < 96; mib++) {
        for (let i = 0; i < 16; i++) Buffer.alloc(64 * 1024, i);
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        await sleep(2);
      }
      expect(peak).toBeLessThanOrEqual(bound);
    } finally {
      stop();
    }
  });
});
