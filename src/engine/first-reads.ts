/**
 * The reads of a promotion that only look (steps 1 and 2 of promote.ts, and what a plain retag
 * finishes after its tags): the first round of requests, all sent at once; the source's
 * referrers, which a retag does not wait for; and the referrers API of targets in other
 * registries, asked while the tags are written.
 */
import { onSide } from './copy-error.js';
import type { Logger } from './logger.js';
import { mapLimit } from './pool.js';
import { discoverPromotionReferrers, ReferrersBoundError, type Discovery } from './referrers.js';
import { PromotionError, type TargetResult } from './request.js';
import { inPhase } from '../oci/phase.js';
import { formatReference, formatRepository, type Reference } from '../oci/reference.js';
import { UserFacingError } from '../oci/user-facing-error.js';
import type { FetchedManifest, ManifestInfo, Repository } from '../registry/types.js';

/**
 * A release's tags are few and their requests small (a HEAD, then a PUT of one manifest): all
 * of them go out at once, so that 20 tags cost one round trip each way, not three.
 */
export const TAG_CONCURRENCY = 32;

/** The targets in one repository, and the repository they are written through. */
export interface TargetGroup {
  repo: Repository;
  targets: Reference[];
  /** The source's own repository: its targets are tags of what is there, nothing is copied. */
  isSource: boolean;
}

export interface FirstReadsSpec {
  source: Repository;
  /** The source as the user named it: by tag, or by digest. */
  reference: Reference;
  groups: TargetGroup[];
  /** Whether the source's referrers are looked up at all. */
  lookUpReferrers: boolean;
  /** Says which side a failure of the source came from (when there are two). */
  sourceSide: <T>(work: Promise<T>) => Promise<T>;
  maxReferrerDepth: number;
  maxReferrers: number;
  concurrency: number;
  logger: Logger;
}

/** The first reads of a promotion, each under way; none of them writes. */
export interface FirstReads {
  manifest: Promise<FetchedManifest>;
  /** What each target tag names now, by formatted reference (undefined: the tag does not exist). */
  before: Promise<Map<string, ManifestInfo | undefined>>;
  /** The source's referrers, recursively (empty when they are not looked up). */
  discovery: Promise<Discovery>;
  /**
   * True as soon as a listing of the source names a referrer (its registry's referrers API is
   * known then), false once the lookup ended without one (or failed): what waits only for
   * "there is something to copy" need not wait for the whole lookup.
   */
  referrersSeen: Promise<boolean>;
}

/**
 * Starts every request of a promotion that waits for no other, at once: the source manifest,
 * a HEAD of every target tag, and, when the referrers are looked up, the source's tag list
 * (which `sha256-*` tags exist: referrers indexes without the API, stray ones with it) and the
 * referrers API probe and listing. A source given by digest is listed at once; one given by
 * tag as soon as its manifest names the digest. Each promise is observed here, so a run that
 * stops at the first failure leaves no rejection unhandled.
 */
export function startFirstReads(spec: FirstReadsSpec): FirstReads {
  const { source, reference } = spec;
  const manifest = spec.sourceSide(
    inPhase('resolve', () => source.fetchManifest((reference.digest ?? reference.tag)!)),
  );
  const before = inPhase('look at tags', () => lookAtTargetTags(spec.groups));
  let discovery: Promise<Discovery> = Promise.resolve({ referrers: [], warnings: [] });
  let seen!: (found: boolean) => void;
  const referrersSeen = new Promise<boolean>((resolve) => (seen = resolve));
  if (spec.lookUpReferrers) {
    // Needed either way: without the API it says which referrers tags exist, with it which are stray.
    void inPhase('discover', () => source.digestTagList());
    discovery = spec.sourceSide(
      inPhase('discover', () =>
        discoverPromotionReferrers(
          source,
          { digest: reference.digest ?? manifest.then((m) => m.digest), manifest },
          {
            // The output lists every referrer of the promoted graph, the children's too.
            children: true,
            maxDepth: spec.maxReferrerDepth,
            maxCount: spec.maxReferrers,
            concurrency: spec.concurrency,
            logger: spec.logger,
            onFound: () => seen(true),
          },
        ),
      ),
    );
  }
  void discovery.then(
    (d) => seen(d.referrers.length > 0),
    () => seen(false),
  );
  for (const p of [manifest, before, discovery]) p.catch(() => undefined);
  return { manifest, before, discovery, referrersSeen };
}

/** What each target tag names now, by formatted reference (undefined: the tag does not exist). */
async function lookAtTargetTags(groups: TargetGroup[]): Promise<Map<string, ManifestInfo | undefined>> {
  const before = new Map<string, ManifestInfo | undefined>();
  const tags = groups.flatMap((group) => group.targets.filter((t) => t.tag !== undefined).map((t) => ({ group, t })));
  await mapLimit(tags, TAG_CONCURRENCY, async ({ group, t }) => {
    const found = group.repo.statManifest(t.tag!);
    before.set(formatReference(t), await (group.isSource ? found : onSide('target', group.repo, found)));
  });
  return before;
}

/** What the lookup found, in the log. */
export function reportDiscovery(discovery: Discovery, log: Logger): void {
  for (const w of discovery.warnings) log.warning(w);
  log.info(`Found ${discovery.referrers.length} referrer(s)`);
}

/**
 * The referrers of a plain retag, looked up while the tags were written. A failure here comes
 * after the tags moved: the error says so, and that a rerun leaves them as they are.
 */
export async function referrersAfterTags(
  discovery: Promise<Discovery>,
  targets: TargetResult[],
  log: Logger,
): Promise<Discovery> {
  try {
    const found = await discovery;
    reportDiscovery(found, log);
    return found;
  } catch (err) {
    if (!(err instanceof UserFacingError)) throw err;
    if (err instanceof ReferrersBoundError) {
      // A retag copies no referrer, so the bound cannot leave one behind: the run reports those
      // found first, and says that the list is incomplete.
      const w = `The referrers output is incomplete: ${err.reason} It lists the ${err.found.length} found first; this run only retagged, so no referrer was left behind.`;
      log.warning(w);
      return { referrers: err.found, warnings: [w], incomplete: true };
    }
    const moved = targets.filter((t) => t.status !== 'unchanged').map((t) => t.reference);
    throw new PromotionError(
      `Looking up the referrers failed after ${
        moved.length === 0
          ? 'the targets were found unchanged'
          : `${moved.join(', ')} ${moved.length === 1 ? 'was' : 'were'} tagged`
      } (a rerun leaves the tags as they are): ${err.message}`,
      { cause: err },
    );
  }
}

/**
 * The referrers API of each target repository the run has not learned about yet (one in another
 * registry, into which the copy had no referrers to push): asked once, for the capabilities
 * output. What goes wrong here is a warning: the promotion is done.
 */
export async function probeTargets(groups: TargetGroup[], digest: string, log: Logger): Promise<string[]> {
  const warnings: string[] = [];
  await Promise.all(
    groups
      .filter((g) => !g.isSource && g.repo.capabilities().referrersApi === undefined)
      .map(async ({ repo }) => {
        try {
          await repo.probeReferrersApi(digest);
        } catch (err) {
          if (!(err instanceof UserFacingError)) throw err;
          const w = `Could not learn whether ${formatRepository(repo)} has the referrers API: ${err.message}`;
          log.warning(w);
          warnings.push(w);
        }
      }),
  );
  return warnings;
}
