import type { Logger } from './logger.js';
import type { Descriptor } from '../oci/manifest.js';
import { missingDescriptors } from '../oci/referrers-index.js';
import type { ReferrersIndex, ReferrersIndexStore } from '../registry/types.js';
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

/** The index as read, and when the read was sent (`Date.now()`, before any wait for a slot). */
interface TimedRead {
  index: ReferrersIndex;
  at: number;
}

export const DEFAULT_INDEX_MERGE_OPTIONS: Omit<IndexMergeOptions, 'logger'> = { maxAttempts: 6, settleMs: 25 };

export interface IndexMergeOutcome {
  /** This call wrote the tag. */
  wrote: boolean;
  /** The tag existed when first read. */
  existed: boolean;
  /** Dry run: a write would have been needed. */
  wouldWrite?: boolean;
  /**
   * Settles once a read after the write showed every wanted entry, merging again as often as a
   * concurrent writer dropped some (at once when nothing was written). Rejects with
   * ReferrersIndexConflictError when the rounds ran out.
   */
  confirmed: Promise<void>;
}

export class ReferrersIndexConflictError extends UserFacingError {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * distribution-spec v1.1 "Pushing Manifests with Subject", for a repository without the
 * referrers API: makes the subject's `sha256-<hex>` index list every descriptor in `wanted`,
 * keeping every entry already there, never duplicating one, and writing only when something is
 * missing. The write is conditional where the registry gave an ETag.
 *
 * Registries such as distribution have no conditional PUT (they send an ETag and ignore
 * If-Match), so two writers can each read the old index and the later PUT drops the other's
 * entries, whether the index existed or each of them created it (two promotions into a new
 * repository both read 404). So after writing, wait and read back, merging again until a read
 * shows everything. The wait must let a writer that read the index just before our write landed
 * land its own: it lasts at least three times as long as our write took, and twice as long as our
 * own window from sending the read to the end of the write (a concurrent run of this action holds
 * a read about as long) less the write's time, jittered upwards. (Counted from the read's answer
 * instead, the window proved too short: two promotions at once lost entries in the race test.)
 * Resolves once the first write landed (the referrers are listed from then on); `confirmed` says when the read-back agreed, so that the caller's next writes
 * (the tags) need not wait for it.
 */
export async function mergeIntoReferrersIndex(
  store: ReferrersIndexStore,
  subject: string,
  wanted: Descriptor[],
  options: IndexMergeOptions,
): Promise<IndexMergeOutcome> {
  const limit = options.limit ?? (<T>(fn: () => Promise<T>) => fn());
  // Read just before the write, never earlier: a concurrent writer can drop our entries unseen
  // only if its own read-to-write window outlasts our wait after writing, so that window must stay
  // one read and one write long. (Read while the referrers were still being pushed, it spanned
  // their pushes, whose time varies: under load it proved several times ours, and entries were
  // lost.)
  const { index: first, at: firstAt } = await readNow(store, subject, limit);
  const existed = first.exists;
  const settled = Promise.resolve();
  if (missingDescriptors(first.descriptors, wanted).length === 0) return { wrote: false, existed, confirmed: settled };
  if (options.dryRun) return { wrote: false, existed, wouldWrite: true, confirmed: settled };
  const round = { attempt: 1, current: first, readAt: firstAt };
  // A conditional write refused (412) is read again and merged again: still the first write.
  for (;;) {
    const took = await writeMerged(store, subject, { wanted, current: round.current, limit });
    if (took !== undefined) {
      const wait = settleTime(options.settleMs, took, Date.now() - round.readAt);
      const confirmed = confirmAfterWrite(store, subject, wanted, { ...options, limit, round, wait });
      // Observed here; the caller awaits it and reports its failure.
      confirmed.catch(() => undefined);
      return { wrote: true, existed, confirmed };
    }
    options.logger.info(`The referrers index of ${subject} changed while it was being merged; merging again`);
    if (++round.attempt > options.maxAttempts) throw conflict(subject, options.maxAttempts);
    const again = await readNow(store, subject, limit);
    round.readAt = again.at;
    round.current = again.index;
    if (missingDescriptors(round.current.descriptors, wanted).length === 0) {
      return { wrote: false, existed, confirmed: settled };
    }
  }
}

/** Reads the index now (under the limit), noting when the read was asked for. */
async function readNow(
  store: ReferrersIndexStore,
  subject: string,
  limit: NonNullable<IndexMergeOptions['limit']>,
): Promise<TimedRead> {
  const at = Date.now();
  return { index: await limit(() => store.readReferrersIndex(subject)), at };
}

/**
 * How long to wait after a write before reading back: three times the write's time, and twice the
 * window from sending our read to the end of our write less the write's time (a concurrent writer
 * whose read was answered just before our write landed lands its own within about that window).
 */
function settleTime(settleMs: number, took: number, window: number): number {
  return Math.max(settleMs, 3 * took, 2 * window - took);
}

/** Writes the index with what `current` lacks; the write's duration, or undefined when refused (412). */
async function writeMerged(
  store: ReferrersIndexStore,
  subject: string,
  {
    wanted,
    current,
    limit,
  }: { wanted: Descriptor[]; current: ReferrersIndex; limit: NonNullable<IndexMergeOptions['limit']> },
): Promise<number | undefined> {
  const missing = missingDescriptors(current.descriptors, wanted);
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
  return written === undefined ? undefined : took;
}

/** After a write: wait, read back, and merge again until a read shows every wanted entry. */
async function confirmAfterWrite(
  store: ReferrersIndexStore,
  subject: string,
  wanted: Descriptor[],
  options: IndexMergeOptions & {
    limit: NonNullable<IndexMergeOptions['limit']>;
    round: { attempt: number };
    /** The wait before the first read-back. */
    wait: number;
  },
): Promise<void> {
  const { limit, round } = options;
  let wait: number | undefined = options.wait;
  for (;;) {
    // Jitter upwards only: two writers re-merging fall out of step, and neither waits less than
    // a concurrent writer's PUT needs to land. (A write refused with 412 is merged again at once.)
    if (wait !== undefined) await sleep(wait * (1 + Math.random() / 2));
    const { index: current, at: readAt } = await readNow(store, subject, limit);
    const missing = missingDescriptors(current.descriptors, wanted);
    if (missing.length === 0) return;
    if (++round.attempt > options.maxAttempts) throw conflict(subject, options.maxAttempts);
    options.logger.info(
      wait === undefined
        ? `The referrers index of ${subject} changed while it was being merged; merging again`
        : `The referrers index of ${subject} lost ${missing.length} entr${missing.length === 1 ? 'y' : 'ies'} to a concurrent writer; merging again`,
    );
    const took = await writeMerged(store, subject, { wanted, current, limit });
    wait = took === undefined ? undefined : settleTime(options.settleMs, took, Date.now() - readAt);
  }
}

function conflict(subject: string, attempts: number): ReferrersIndexConflictError {
  return new ReferrersIndexConflictError(
    `the referrers index of ${subject} kept changing under concurrent writers; gave up after ${attempts} attempts`,
  );
}
