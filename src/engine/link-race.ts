import { causeOf } from './copy-error.js';
import { RegistryError } from '../registry/errors.js';

/**
 * distribution rewrites a repository's blob link in place when a blob is mounted or uploaded
 * there, so while a concurrent promotion links the same blob, a manifest PUT that validates
 * its blobs can find one missing (MANIFEST_BLOB_UNKNOWN, BLOB_UNKNOWN) or its link half written
 * (DIGEST_INVALID). Such an answer passes; it is worth a second try, a moment later.
 */
export function isBlobLinkRace(err: unknown): boolean {
  const cause = causeOf(err);
  return (
    cause instanceof RegistryError &&
    cause.errors.some(
      (e) => e.code === 'MANIFEST_BLOB_UNKNOWN' || e.code === 'BLOB_UNKNOWN' || e.code === 'DIGEST_INVALID',
    )
  );
}

/** Tries of a manifest PUT that met a blob-link race, the first included. */
export const LINK_RACE_ATTEMPTS = 3;

export const linkRaceDelay = (attempt: number) => new Promise((resolve) => setTimeout(resolve, 100 * attempt));
