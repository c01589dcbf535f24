import type { Logger } from './logger.js';
import { mapLimit } from './pool.js';
import { artifactTypeOf, parseManifest, type Descriptor } from '../oci/manifest.js';
import { MediaType, isManifestMediaType } from '../oci/media-types.js';
import { UserFacingError } from '../oci/user-facing-error.js';
import { TooManyReferrersError } from '../registry/errors.js';
import type { FetchedManifest, ReferrersListing, Repository } from '../registry/types.js';

/** One referrer found in the source repository, as the `referrers` output reports it. */
export interface ReferrerInfo {
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  /** The digest this referrer names as its `subject`. */
  subject: string;
  annotations?: Record<string, string>;
  /** How deep below the promoted manifest: 1 for its direct referrers. */
  depth: number;
  /**
   * Where the source listed it: the referrers API's list is the registry's own (trusted); an
   * entry of a referrers tag is checked against its manifest before it counts (ReferrerChecks).
   */
  listedBy?: 'referrers API' | 'referrers tag';
}

export interface DiscoverOptions {
  /** Referrers of referrers are followed this many levels deep; deeper ones are an error. */
  maxDepth: number;
  /** At most this many referrers in all (the input max-referrers); more are an error. */
  maxCount: number;
  concurrency: number;
  logger: Logger;
  /** The subject's own listing, already asked for (the first level then costs no request). */
  firstListing?: Promise<ReferrersListing>;
  /** Told when a listing names a referrer (the first such answer is the one that matters). */
  onFound?: () => void;
}

export const DEFAULT_DISCOVER_OPTIONS: Omit<DiscoverOptions, 'logger'> = {
  maxDepth: 8,
  maxCount: 10_000,
  concurrency: 16,
};

export interface Discovery {
  referrers: ReferrerInfo[];
  warnings: string[];
  /** The bound stopped the lookup: `referrers` holds those found first (a run that only reports them). */
  incomplete?: boolean;
}

/**
 * More referrers than the bound, or nested deeper: the promotion stops before anything is
 * written, since a partial copy would lose signatures without a word.
 */
export class ReferrersBoundError extends UserFacingError {
  /** The referrers found before the bound stopped the lookup, for a run that only reports them. */
  found: ReferrerInfo[] = [];

  /** `reason` says which bound; the message adds that nothing was written, and the remedy. */
  constructor(
    readonly reason: string,
    { remedy }: { remedy?: string } = { remedy: 'raise max-referrers to promote them all' },
  ) {
    super(`${reason} Nothing was written${remedy ? `: ${remedy}` : ''}.`);
  }
}

/** The bound passed: the error, with the referrers found first for a run that only reports them. */
function tooMany(
  subject: string,
  found: ReferrerInfo[],
  max: number,
  { withChildren = false }: { withChildren?: boolean } = {},
): ReferrersBoundError {
  const err = new ReferrersBoundError(
    `${subject} has more than ${max} referrers (${found.length} found, counted recursively${withChildren ? ', with those of its platform manifests' : ''}), more than the input max-referrers allows (${max}).`,
  );
  err.found = found.slice(0, max);
  return err;
}

/**
 * Finds the referrers of `subject`, and theirs, breadth first. A set of visited digests guards
 * against cycles (a registry can be made to list a manifest as its own referrer's referrer).
 * More than `maxCount` referrers, or referrers deeper than `maxDepth` levels, are an error: the
 * whole graph is found, or the promotion stops before its first write.
 */
export async function discoverReferrers(
  repo: Repository,
  subject: string,
  options: DiscoverOptions,
): Promise<Discovery> {
  const referrers: ReferrerInfo[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>([subject]);
  let level = [subject];
  for (let depth = 1; level.length > 0; depth++) {
    const listings = await mapLimit(level, options.concurrency, (digest) =>
      depth === 1 && options.firstListing ? options.firstListing : listReferrersOf(repo, digest),
    );
    const next: string[] = [];
    if (listings.some((l) => l.descriptors.length > 0)) options.onFound?.();
    for (const [i, listing] of listings.entries()) {
      warnings.push(...listing.warnings);
      for (const d of listing.descriptors) {
        if (seen.has(d.digest)) continue;
        if (depth > options.maxDepth) {
          const err = new ReferrersBoundError(
            `The referrers below ${subject} nest more than ${options.maxDepth} levels deep (${level[i]!}, at level ${options.maxDepth}, has referrers of its own); the action follows at most ${options.maxDepth} levels.`,
            {},
          );
          err.found = referrers;
          throw err;
        }
        seen.add(d.digest);
        referrers.push({
          digest: d.digest,
          mediaType: d.mediaType,
          size: d.size,
          ...(d.artifactType !== undefined && { artifactType: d.artifactType }),
          subject: level[i]!,
          ...(d.annotations && { annotations: d.annotations }),
          depth,
          listedBy: listing.source === 'api' ? 'referrers API' : 'referrers tag',
        });
        next.push(d.digest);
      }
    }
    if (referrers.length > options.maxCount) throw tooMany(subject, referrers, options.maxCount);
    level = next;
  }
  await fixReportedArtifactTypes(repo, referrers, options);
  return { referrers, warnings };
}

/** One subject's listing; a list longer than the bound stops the promotion before any write. */
async function listReferrersOf(repo: Repository, digest: string): Promise<ReferrersListing> {
  try {
    return await repo.listReferrers(digest);
  } catch (err) {
    if (err instanceof TooManyReferrersError) {
      throw new ReferrersBoundError(
        `${err.where} has more than ${err.max} referrers (${err.count} listed), more than the input max-referrers allows (${err.max}).`,
      );
    }
    throw err;
  }
}

/**
 * A registry that reports the empty config media type as a referrer's artifactType took the
 * config's type where the manifest has its own `artifactType` (image-spec requires one when the
 * config is empty). Read those manifests to report the real type.
 */
async function fixReportedArtifactTypes(
  repo: Repository,
  referrers: ReferrerInfo[],
  options: DiscoverOptions,
): Promise<void> {
  const suspect = referrers.filter((r) => r.artifactType === MediaType.Empty && isManifestMediaType(r.mediaType));
  await mapLimit(suspect, options.concurrency, async (r) => {
    const m = await repo.fetchManifest(r.digest);
    const actual = artifactTypeOf(parseManifest(m.bytes, m.mediaType));
    options.logger.debug(
      `${repo.registry} reported artifactType ${r.artifactType} for ${r.digest}; the manifest says ${actual}`,
    );
    if (actual !== undefined) r.artifactType = actual;
  });
}

export interface PromotionDiscoverOptions extends DiscoverOptions {
  /** Also the referrers of an index's children (per-platform attestations and signatures). */
  children: boolean;
}

/** The promoted manifest: its digest, known at once when the source names it, and the manifest. */
export interface PromotedSubject {
  digest: string | Promise<string>;
  manifest: Promise<FetchedManifest>;
}

/**
 * The referrers of the promoted manifest and, when asked, of its children, each once. The
 * root's listing starts as soon as its digest is known (at once for a source given by digest,
 * before its manifest answers); the children's start once the root's first answer settled
 * whether the repository has the referrers API (asked before that, each would probe it).
 */
export async function discoverPromotionReferrers(
  repo: Repository,
  subject: PromotedSubject,
  options: PromotionDiscoverOptions,
): Promise<Discovery> {
  const digest = await subject.digest;
  const firstListing = listReferrersOf(repo, digest);
  // Observed here: awaited below only when the children are looked up.
  firstListing.catch(() => undefined);
  const rootDiscovery = discoverReferrers(repo, digest, { ...options, firstListing });
  if (!options.children) return rootDiscovery;
  // Per-platform attestations and signatures refer to the child manifests of an index.
  const perChildDiscovery = (async () => {
    const manifest = await subject.manifest;
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    if (parsed.manifests.length === 0) return [];
    await firstListing;
    return mapLimit(parsed.manifests, options.concurrency, (child) => discoverReferrers(repo, child.digest, options));
  })();
  perChildDiscovery.catch(() => undefined);
  const root = await rootDiscovery;
  const perChild = await perChildDiscovery;
  const seen = new Set(root.referrers.map((r) => r.digest));
  const referrers = [...root.referrers];
  for (const d of perChild)
    for (const r of d.referrers) if (!seen.has(r.digest) && seen.add(r.digest)) referrers.push(r);
  if (referrers.length > options.maxCount) throw tooMany(digest, referrers, options.maxCount, { withChildren: true });
  return { referrers, warnings: [...root.warnings, ...perChild.flatMap((d) => d.warnings)] };
}

/** The descriptor a referrers index lists for a referrer: with its artifactType and annotations. */
export function referrerDescriptor(r: ReferrerInfo): Descriptor {
  return {
    mediaType: r.mediaType,
    digest: r.digest,
    size: r.size,
    ...(r.artifactType !== undefined && { artifactType: r.artifactType }),
    ...(r.annotations && { annotations: r.annotations }),
  };
}
