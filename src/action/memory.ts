import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/**
 * Keeps the memory of a streamed blob copy bounded. Every chunk a socket reads is a Buffer
 * outside V8's heap; V8 collects them only after about 64 MB of them have piled up, so a
 * large layer copy otherwise holds that much garbage at its peak. An action cannot pass Node
 * flags, so the collector is reached this way and asked for a young-generation collection
 * (about a millisecond) whenever such buffers exceed `thresholdBytes`.
 * Returns a stop function; without the collector it does nothing.
 */
export function boundBufferGarbage(thresholdBytes = 24 * 1024 * 1024, everyMs = 50): () => void {
  let gc: Gc | undefined;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
  } catch {
    return () => undefined;
  }
  if (typeof gc !== 'function') return () => undefined;
  const collect = gc;
  const timer = setInterval(() => {
    if (process.memoryUsage().arrayBuffers > thresholdBytes) collect({ type: 'minor' });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
