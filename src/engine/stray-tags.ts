import { causeOf, onSide } from './copy-error.js';
import type { Logger } from './logger.js';
import { isReferrersTag, referrersTagFor } from '../oci/digest.js';
import { formatReferenceIn } from '../oci/reference.js';
import { UserFacingError } from '../oci/user-facing-error.js';
import type { Repository } from '../registry/types.js';
import { RegistryError } from '../registry/errors.js';

/**
 * `found`: reported, left alone; `removed`: deleted; `would remove`: a dry run's verdict;
 * `kept`: removal was asked for but the tag did not meet every condition (`reason` says which).
 */
export type StrayOutcome = 'found' | 'removed' | 'would remove' | 'kept';

export interface StrayReferrersTag {
  /** `registry/repository:sha256-<hex>` */
  reference: string;
  /** The digest the tag's name stands for. */
  subject: string;
  outcome: StrayOutcome;
  reason?: string;
}

export interface StrayTagOptions {
  remove: boolean;
  dryRun: boolean;
  logger: Logger;
}

/**
 * On a repository with the referrers API, a `sha256-<hex>` tag is a leftover of a client that
 * maintained the referrers tag schema without checking for the API. Finds those named after
 * `digests` (from the repository's tag list, read once per run) and, when asked, removes one
 * only when all of this holds: its name is exactly a referrers-schema name, it holds an OCI
 * image index, and the referrers API lists every entry of that index (so nothing is lost).
 * Nothing else is ever deleted. Repositories without the API are left alone: there the tag is
 * the referrers list.
 */
export async function strayReferrersTags(
  repo: Repository,
  digests: Iterable<string>,
  options: StrayTagOptions,
): Promise<StrayReferrersTag[]> {
  if (repo.capabilities().referrersApi !== true) return [];
  const tags = await repo.digestTagList();
  if (!tags) return [];
  const found: StrayReferrersTag[] = [];
  for (const subject of new Set(digests)) {
    const tag = referrersTagFor(subject);
    if (!tags.has(tag) || !isReferrersTag(tag)) continue;
    const stray: StrayReferrersTag = { reference: formatReferenceIn(repo, tag), subject, outcome: 'found' };
    found.push(stray);
    if (!options.remove) continue;
    try {
      Object.assign(stray, await removeIfRedundant(repo, subject, tag, options));
    } catch (err) {
      // Cleaning up is not the promotion: a registry failure here keeps the tag and says why.
      // A bug stays a bug, reported as unexpected rather than as a kept tag.
      if (!(err instanceof UserFacingError)) throw err;
      Object.assign(stray, { outcome: 'kept', reason: `checking it failed: ${err.message}` });
    }
  }
  return found;
}

async function removeIfRedundant(
  repo: Repository,
  subject: string,
  tag: string,
  options: StrayTagOptions,
): Promise<Pick<StrayReferrersTag, 'outcome' | 'reason'>> {
  const side = <T>(work: Promise<T>) => onSide('target', repo, work);
  let entries: string[];
  try {
    entries = (await side(repo.readReferrersIndex(subject))).descriptors.map((d) => d.digest);
  } catch (err) {
    if (causeOf(err) instanceof RegistryError) throw err;
    return { outcome: 'kept', reason: 'it does not hold an OCI image index' };
  }
  // The API's answer alone: a fallback to the tag schema would read this very tag.
  const listing = await side(repo.listReferrersFromApi(subject));
  if (!listing) return { outcome: 'kept', reason: 'the referrers API did not answer with a list for its subject' };
  const listed = new Set(listing.descriptors.map((d) => d.digest));
  const unlisted = entries.filter((d) => !listed.has(d));
  if (unlisted.length > 0) {
    return {
      outcome: 'kept',
      reason: `the referrers API does not list ${unlisted.length} of its ${entries.length} entries (${unlisted.join(', ')})`,
    };
  }
  if (options.dryRun) return { outcome: 'would remove' };
  try {
    await side(repo.deleteTag(tag));
  } catch (err) {
    if (!(causeOf(err) instanceof RegistryError)) throw err;
    return { outcome: 'kept', reason: `the registry refused to delete it: ${(err as Error).message}` };
  }
  options.logger.info(`Removed the stray referrers tag ${formatReferenceIn(repo, tag)}`);
  return { outcome: 'removed' };
}

/** A repository to look at for stray tags, and whether this run writes to it (only then is it cleaned). */
export interface StrayTagScope {
  repo: Repository;
  writes: boolean;
}

export interface StrayTagReview {
  tags: StrayReferrersTag[];
  /** One per tag left in place (or, in a dry run, that would be removed), for the log and the summary. */
  warnings: string[];
}

/**
 * The stray-tag step of a promotion: looks for stray tags named after `digests` in each
 * repository of `scopes` in turn, removes them (when asked, and only where this run writes),
 * and says what is left.
 */
export async function reviewStrayReferrersTags(
  scopes: StrayTagScope[],
  digests: string[],
  options: StrayTagOptions,
): Promise<StrayTagReview> {
  const tags: StrayReferrersTag[] = [];
  for (const { repo, writes } of scopes) {
    tags.push(...(await strayReferrersTags(repo, digests, { ...options, remove: options.remove && writes })));
  }
  const warnings: string[] = [];
  for (const stray of tags) {
    if (stray.outcome === 'removed') continue;
    const w =
      stray.outcome === 'would remove'
        ? `[dry run] would remove the stray referrers tag ${stray.reference}`
        : `Stray referrers tag ${stray.reference}: the repository has the referrers API, so this tag is a leftover of a client that did not check${
            stray.outcome === 'kept'
              ? `; kept because ${stray.reason}`
              : options.remove
                ? ' (on a repository this run only reads)'
                : ''
          }`;
    options.logger.warning(w);
    warnings.push(w);
  }
  return { tags, warnings };
}
