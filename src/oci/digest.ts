import { createHash } from 'node:crypto';
import { UserFacingError } from './user-facing-error.js';

/**
 * image-spec v1.1 "Digests": algorithm ":" encoded. sha256 and sha512 are the registered
 * algorithms; each has a fixed lowercase-hex length, which we enforce because a digest is
 * interpolated into URL paths and tag names.
 */
const REGISTERED: Record<string, number> = { sha256: 64, sha512: 128 };
const GENERIC = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export class InvalidDigestError extends UserFacingError {
  constructor(readonly value: string) {
    super(`Invalid digest '${value}': expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>`);
  }
}

export function isDigest(value: string): boolean {
  if (!GENERIC.test(value)) return false;
  const [algorithm, encoded] = splitDigest(value);
  const length = REGISTERED[algorithm];
  return length !== undefined && encoded.length === length && /^[a-f0-9]+$/.test(encoded);
}

export function parseDigest(value: string): string {
  if (!isDigest(value)) throw new InvalidDigestError(value);
  return value;
}

export function splitDigest(digest: string): [algorithm: string, encoded: string] {
  const i = digest.indexOf(':');
  return [digest.slice(0, i), digest.slice(i + 1)];
}

export function computeDigest(bytes: Uint8Array, algorithm = 'sha256'): string {
  if (!(algorithm in REGISTERED)) throw new InvalidDigestError(`${algorithm}:`);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** True when `bytes` hash to `digest`, whichever registered algorithm the digest names. */
export function matchesDigest(bytes: Uint8Array, digest: string): boolean {
  if (!isDigest(digest)) return false;
  return computeDigest(bytes, splitDigest(digest)[0]) === digest;
}

/**
 * distribution-spec v1.1 "Referrers Tag Schema": `<alg>-<ref>`, with the algorithm truncated
 * to 32 characters and the encoded part to 64. For sha256 this is always `sha256-<64 hex>`.
 */
export function referrersTagFor(digest: string): string {
  const [algorithm, encoded] = splitDigest(parseDigest(digest));
  return `${algorithm.slice(0, 32)}-${encoded.slice(0, 64)}`;
}

/**
 * True for tag names that follow the referrers tag schema for a registered algorithm
 * (image-spec v1.1 "Registered algorithms": sha256, sha512, blake3): `<alg>-<64 hex>`, the
 * encoded part truncated to 64 characters, and sha512's full 128 as older clients wrote it.
 */
export function isReferrersTag(tag: string): boolean {
  return /^(?:(?:sha256|sha512|blake3)-[a-f0-9]{64}|sha512-[a-f0-9]{128})$/.test(tag);
}
