import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

export interface BufferGarbageOptions {
  /** Socket-sized buffers (ArrayBuffers) beyond this many bytes are collected. */
  thresholdBytes: number;
  /** How often to look. */
  everyMs: number;
  /**
   * Beyond this many bytes young collections have not kept up: buffers that stayed in flight
   * long enough (a busy machine) moved to the old generation, which only a full collection
   * frees. Then one is asked for.
   */
  fullCollectionBytes: number;
}

/**
 * 2 MB, looked at every 5 ms: at the 200–300 MB/s of a blob copy on loopback a look sees at
 * most a few MB more. Measured on 512 MiB copies between two registries on loopback: the former
 * 24 MB every 50 ms let about 36 MB pile up (peak RSS 130–134 MB) and left most of them to full
 * collections (CPU profile: about 0.8 ms in the collector per MiB copied); 8 MB every 10 ms
 * peaked at 104–105 MB, 4 MB every 5 ms at 100–103 MB, 2 MB every 5 ms at 97–99 MB with about
 * 0.2 ms in the collector per MiB, young-generation collections of about a millisecond. Looking
 * much more often does not help: buffers still in flight survive two young collections, move
 * to the old generation and wait for a full one. On a loaded machine (two CPU-bound processes
 * beside it) that happens anyway: young collections alone peaked at 99–121 MB, with a full
 * collection beyond 8 MB at 101–103 MB.
 */
export const DEFAULT_BUFFER_GARBAGE_OPTIONS: BufferGarbageOptions = {
  thresholdBytes: 2 * 1024 * 1024,
  everyMs: 5,
  fullCollectionBytes: 8 * 1024 * 1024,
};

/**
 * Keeps the memory of a streamed blob copy bounded. Every chunk a socket reads is a Buffer
 * outside V8's heap; V8 collects them only after tens of MB of them have piled up, and then
 * with full collections, so a large layer copy otherwise holds that much garbage at its peak
 * and spends its time collecting it. An action cannot pass Node flags, so the collector is
 * reached this way and asked for a young-generation collection (about a millisecond) whenever
 * such buffers exceed the threshold. The collector is reached (a new V8 context, about 3 ms)
 * only the first time they do: a run that copies no blob never pays for it, and none pays
 * before its first request. Returns a stop function; without the collector it does nothing.
 */
export function boundBufferGarbage(options: Partial<BufferGarbageOptions> = {}): () => void {
  const { thresholdBytes, everyMs, fullCollectionBytes } = { ...DEFAULT_BUFFER_GARBAGE_OPTIONS, ...options };
  let gc: Gc | undefined;
  const timer = setInterval(() => {
    const buffers = process.memoryUsage().arrayBuffers;
    if (buffers <= thresholdBytes) return;
    gc ??= reachCollector();
    if (gc) gc({ type: buffers > fullCollectionBytes ? 'major' : 'minor' });
    else clearInterval(timer);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

function reachCollector(): Gc | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  }
}
