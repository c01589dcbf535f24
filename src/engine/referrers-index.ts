import type { Logger } from './logger.js';
import type { Descriptor } from '../oci/manifest.js';
import { missingDescriptors } from '../oci/referrers-index.js';
import type { ReferrersIndexStore } from '../registry/types.js';
import { UserFacingError } from '../oci/user-facing-error.js';

export interface IndexMergeOptions {
  /** Rounds of read, merge, write before a conflict is reported. */
  maxAttempts: number;
  /** Wait before reading back, so that a concurrent writer's PUT has landed (jittered). */
  settleMs: number;
  logger: Logger;
  /** Reads and compares only: says whether a write would be needed. */
  dryRun?: boolean;
  /** Runs each request under a concurrency limit (the waits between them are not limited). */
  limit?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export const DEFAULT_INDEX_MERGE_OPTIONS: Omit<IndexMergeOptions, 'logger'> = { maxAttempts: 6, settleMs: 25 };

export interface IndexMergeOutcome {
  /** This call wrote the tag. */
  wrote: boolean;
  /** The tag existed when first read. */
  existed: boolean;
  /** Dry run: a write would have been needed. */
  wouldWrite?: boolean;
}

export class ReferrersIndexConflictError extends UserFacingError {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * distribution-spec v1.1 "Pushing Manifests with Subject", for a repository without the
 * referrers API: makes the subject's `sha256-<hex>` index list every descriptor in `wanted`,
 * keeping every entry already there, never duplicating one, and writing only when something is
 * missing. The write is conditional where the registry gave an ETag. Registries such as
 * distribution have no conditional PUT, so two writers can each read the old index and the
 * later PUT drops the other's entries: after writing, wait (jittered, and at least three times as long
 * as the write took, so that a writer that read before our PUT has landed its own) and read back,
 * merging again until a read shows everything. Says whether this call wrote the tag.
 */
export async function mergeIntoReferrersIndex(
  store: ReferrersIndexStore,
  subject: string,
  wanted: Descriptor[],
  options: IndexMergeOptions,
): Promise<IndexMergeOutcome> {
  const limit = options.limit ?? (<T>(fn: () => Promise<T>) => fn());
  let wrote = false;
  let existed = false;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    const current = await limit(() => store.readReferrersIndex(subject));
    const missing = missingDescriptors(current.descriptors, wanted);
    if (attempt === 1) existed = current.exists;
    if (missing.length === 0) return { wrote, existed };
    if (options.dryRun) return { wrote: false, existed, wouldWrite: true };
    if (wrote) {
      options.logger.info(
        `The referrers index of ${subject} lost ${missing.length} entr${missing.length === 1 ? 'y' : 'ies'} to a concurrent writer; merging again`,
      );
    }
    // How long the write itself took, not its wait for a slot of the limit.
    let took = 0;
    const written = await limit(async () => {
      const started = Date.now();
      try {
        return await store.writeReferrersIndex(subject, [...current.descriptors, ...missing], current.etag);
      } finally {
        took = Date.now() - started;
      }
    });
    if (written === undefined) {
      options.logger.info(`The referrers index of ${subject} changed while it was being merged; merging again`);
      continue;
    }
    wrote = true;
    const settle = Math.max(options.settleMs, 3 * took);
    // Jitter upwards only: two writers re-merging fall out of step, and neither waits less than
    // the settle time a concurrent writer's PUT needs to land.
    await sleep(settle * (1 + Math.random() / 2));
  }
  throw new ReferrersIndexConflictError(
    `the referrers index of ${subject} kept changing under concurrent writers; gave up after ${options.maxAttempts} attempts`,
  );
}
