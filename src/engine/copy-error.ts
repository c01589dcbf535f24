import { formatRepository } from '../oci/reference.js';
import { UserFacingError } from '../oci/user-facing-error.js';
import type { Repository } from '../registry/types.js';

/** Which side of a copy an error came from. */
export type Side = 'source' | 'target';

/**
 * A registry operation of a copy failed: on which side, in which repository, and why (`cause`,
 * the registry layer's own error, kept whole). Only errors written for users are wrapped, so
 * a bug stays a bug that main.ts reports as unexpected.
 */
export class CopyError extends UserFacingError {
  declare readonly cause: UserFacingError;

  constructor(
    readonly side: Side,
    /** `registry/repository` */
    readonly repository: string,
    cause: UserFacingError,
  ) {
    super(`On the ${side} ${repository}: ${cause.message}`, { cause });
  }
}

/** The error below a CopyError (what the registry layer threw), or the error itself. */
export function causeOf(err: unknown): unknown {
  return err instanceof CopyError ? err.cause : err;
}

/** Says which side and repository `work` failed on; an error that already says so passes as it is. */
export function onSide<T>(side: Side, repo: Repository, work: Promise<T>): Promise<T> {
  return work.catch((err: unknown) => {
    if (err instanceof UserFacingError && !(err instanceof CopyError)) {
      throw new CopyError(side, formatRepository(repo), err);
    }
    throw err;
  });
}
