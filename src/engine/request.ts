/** What a promotion is asked to do, with what options, and what it reports. */
import type { CopyHooks, CopyStats } from './copy.js';
import type { Logger } from './logger.js';
import { SILENT_LOGGER } from './logger.js';
import type { RepositoryPlan } from './plan.js';
import { DEFAULT_INDEX_MERGE_OPTIONS } from './referrers-index.js';
import { DEFAULT_DISCOVER_OPTIONS, type ReferrerInfo } from './referrers.js';
import type { StrayReferrersTag } from './stray-tags.js';
import { isReferrersTag } from '../oci/digest.js';
import { formatReference, sameRepository, type Reference } from '../oci/reference.js';
import { UserFacingError } from '../oci/user-facing-error.js';
import type { RepositoryCapabilities } from '../registry/types.js';

export interface PromotionRequest {
  source: Reference;
  /** Each target names a tag; targets in another repository get the whole graph copied. */
  targets: Reference[];
  copyReferrers: boolean;
  dryRun: boolean;
  /** Artifact types the source must have as referrers before any tag moves (a policy gate). */
  requireReferrers?: string[];
  /** Where the gate looks on an index: the index itself, or every child manifest. */
  requireReferrersScope?: 'root' | 'per-platform';
  /** Glob patterns (`*` for any run of characters): only referrers of a matching artifactType are copied. */
  referrerTypes?: string[];
  /** false: a target tag that points at another digest fails the run before anything is written. */
  overwrite?: boolean;
  /** Delete stray `sha256-<hex>` tags (see strayReferrersTags) in the repositories this run writes to. */
  removeStrayReferrersTags?: boolean;
  /**
   * Look up the source's referrers and each repository's referrers API on every run (default
   * true). false skips that where nothing needs it: copying referrers to another repository,
   * `requireReferrers` and `removeStrayReferrersTags` still look them up.
   */
  discoverReferrers?: boolean;
}

export interface PromotionOptions {
  /** Registry operations in flight at once, per target repository. */
  concurrency: number;
  maxReferrerDepth: number;
  maxReferrers: number;
  /** Check afterwards that every target resolves to the digest and every copied referrer is discoverable. */
  verify: boolean;
  logger: Logger;
  hooks?: CopyHooks;
  /** Settle time before reading a referrers index back (concurrent writers). */
  indexSettleMs: number;
}

export const DEFAULT_PROMOTION_OPTIONS: PromotionOptions = {
  concurrency: DEFAULT_DISCOVER_OPTIONS.concurrency,
  maxReferrerDepth: DEFAULT_DISCOVER_OPTIONS.maxDepth,
  maxReferrers: DEFAULT_DISCOVER_OPTIONS.maxCount,
  verify: true,
  logger: SILENT_LOGGER,
  indexSettleMs: DEFAULT_INDEX_MERGE_OPTIONS.settleMs,
};

/** `created`: the tag did not exist; `updated`: it pointed elsewhere; `unchanged`: already there. */
export type TargetStatus = 'created' | 'updated' | 'unchanged';

export interface TargetResult {
  reference: string;
  digest: string;
  status: TargetStatus;
  /** The digest the tag pointed at before, when it was `updated`. */
  previous?: string;
}

export interface PromotionResult {
  source: string;
  digest: string;
  mediaType: string;
  size: number;
  dryRun: boolean;
  targets: TargetResult[];
  referrers: ReferrerInfo[];
  /** false when the run did not look them up (`discoverReferrers: false` and nothing needed them). */
  referrersLookedUp: boolean;
  /** false when max-referrers stopped the lookup of a plain retag: `referrers` holds those found first. */
  referrersComplete: boolean;
  /** Keyed by `registry/repository`. */
  capabilities: Record<string, RepositoryCapabilities>;
  /** Referrers-schema tags this run wrote, as full references (never any within one repository). */
  referrersTags: string[];
  /** What the graph copy into other repositories did (in a dry run: would do), summed over them. */
  copy: CopyStats;
  /** Per target repository in another repository, each node and what happened (would happen) to it. */
  plan: RepositoryPlan[];
  /** `sha256-<hex>` tags left by other clients on repositories with the referrers API. */
  strayReferrersTags: StrayReferrersTag[];
  warnings: string[];
}

export class PromotionError extends UserFacingError {}

/** Checks what can be checked before the first request, so that a bad request writes nothing. */
export function checkRequest(request: PromotionRequest): void {
  if (request.targets.length === 0) throw new PromotionError('No targets given');
  if (request.source.tag === undefined && request.source.digest === undefined) {
    throw new PromotionError(`The source ${formatReference(request.source)} names neither a tag nor a digest`);
  }
  for (const target of request.targets) {
    const same = sameRepository(request.source, target);
    if (target.digest !== undefined && request.source.digest !== undefined && target.digest !== request.source.digest) {
      throw new PromotionError(
        `The target ${formatReference(target)} names another digest than the source ${formatReference(request.source)}`,
      );
    }
    // distribution-spec v1.1 "Referrers Tag Schema" owns `<alg>-<hex>`: a tag of that form
    // would pass for the referrers index of a digest. The action's inputs refuse it already;
    // this guards every other caller of the engine.
    if (target.tag !== undefined && isReferrersTag(target.tag)) {
      throw new PromotionError(
        `The target tag ${target.tag} has the form of a referrers tag (<algorithm>-<hex digest>, the OCI referrers tag schema): tagging must never create one`,
      );
    }
    if (same && target.tag === undefined) {
      throw new PromotionError(
        `The target ${formatReference(target)} names no tag: within one repository a target is a tag`,
      );
    }
  }
}
