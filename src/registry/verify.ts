import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError } from './errors.js';
import { splitDigest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';

/**
 * A pass-through that hashes what flows and checks digest and size at the end. It holds back
 * the latest chunk until the next one arrives, and the last one until the check passed, so a
 * consumer (an upload) never receives the complete body of a blob that does not match.
 */
export function verifyingStream(descriptor: Descriptor, where: string): Transform {
  const [algorithm] = splitDigest(descriptor.digest);
  const hash = createHash(algorithm);
  let size = 0;
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      size += chunk.length;
      if (size > descriptor.size) {
        callback(
          new DigestMismatchError(`the blob ${where} is larger than the ${descriptor.size} bytes its descriptor says`),
        );
        return;
      }
      hash.update(chunk);
      const previous = held;
      held = chunk;
      callback(null, previous);
    },
    flush(callback: TransformCallback) {
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (size !== descriptor.size) {
        callback(
          new DigestMismatchError(
            `the blob ${where} has ${size} bytes, not the ${descriptor.size} its descriptor says`,
          ),
        );
      } else if (actual !== descriptor.digest) {
        callback(new DigestMismatchError(`the blob ${where} does not match its digest: its bytes hash to ${actual}`));
      } else {
        callback(null, held);
      }
    },
  });
}
