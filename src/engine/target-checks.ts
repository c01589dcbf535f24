import { onSide } from './copy-error.js';
import { PromotionError } from './request.js';
import { referrersTagFor } from '../oci/digest.js';
import { formatReferenceIn, formatRepository } from '../oci/reference.js';
import { ReferrersTagContentError } from '../registry/errors.js';
import type { Repository } from '../registry/types.js';

/** A target repository that is to receive referrers, and what its tags named before this run. */
export interface ReferrersTarget {
  repo: Repository;
  /** Digests the target's tags named before this run (manifests the repository surely has). */
  existing: string[];
}

/** What a check read that the copy would read again: the referrers the target lists for a digest. */
export interface ListedOnTarget {
  subject: string;
  digests: Set<string>;
}

/**
 * distribution-spec v1.1 "Referrers Tag Schema": without the referrers API, the referrers of a
 * subject are listed in its tag `sha256-<hex>`. A registry that answers that tag with the manifest
 * `sha256:<hex>` itself (GitLab's registry does, for any manifest it has) cannot hold such a list:
 * copying referrers there would leave them undiscoverable. Found out before the first write,
 * the way the source is probed, and then the run fails before copying anything:
 *
 * - a registry with the referrers API needs no referrers tag: nothing to check;
 * - a registry already seen aliasing in this run (in any of its repositories) stands for itself;
 * - a manifest the target surely has (one its tags named) is read under its referrers tag;
 * - else the registry's `GET /v2/` (GitLab's registry names itself there).
 *
 * A new repository on a registry that neither has the API nor says what it is cannot be told
 * before the first write: there the alias shows when the first referrers tag is read, before
 * it is written, and the run fails before any tag is moved.
 *
 * Returns what the checks read of the target's referrers of a digest, for the copy to reuse.
 */
export async function refuseTargetsWithoutReferrersIndex(
  targets: ReferrersTarget[],
): Promise<Map<Repository, ListedOnTarget>> {
  const listed = new Map<Repository, ListedOnTarget>();
  await Promise.all(
    targets.map(async ({ repo, existing }) => {
      const found = await onSide('target', repo, aliasOf(repo, existing[0]));
      if (found.listed) listed.set(repo, found.listed);
      if (found.alias) throw aliasRefusal(repo, found.alias, 'Nothing was written.');
    }),
  );
  return listed;
}

/** The refusal of a target that cannot hold a referrers index: how it showed, what was done, the two ways on. */
export function aliasRefusal(repo: Repository, how: string, done: string): PromotionError {
  return new PromotionError(
    `${formatRepository(repo)} cannot hold a referrers index: ${repo.registry} answers a referrers tag (sha256-<hex>) with the manifest of that digest itself, as GitLab's registry does, and has no referrers API (${how}). ${done} To promote, set copy-referrers: false (the referrers stay behind), or promote into a registry with the referrers API.`,
  );
}

/** How the alias showed (undefined: it did not), and what was read on the way. */
async function aliasOf(
  repo: Repository,
  existing: string | undefined,
): Promise<{ alias?: string; listed?: ListedOnTarget }> {
  if (repo.capabilities().referrersApi === true) return {};
  if (repo.capabilities().referrersTagAliasesDigest === true) return { alias: 'seen in this run' };
  if (existing !== undefined) {
    // The copy probes the API here anyway, at this digest: what it lists is kept for it.
    if (repo.capabilities().referrersApi === undefined) {
      const viaApi = await repo.probeReferrersApi(existing);
      if (repo.capabilities().referrersApi === true) {
        return viaApi
          ? { listed: { subject: existing, digests: new Set(viaApi.descriptors.map((d) => d.digest)) } }
          : {};
      }
    }
    const tag = formatReferenceIn(repo, referrersTagFor(existing));
    try {
      const index = await repo.readReferrersIndex(existing);
      return { listed: { subject: existing, digests: new Set(index.descriptors.map((d) => d.digest)) } };
    } catch (err) {
      if (err instanceof ReferrersTagContentError && err.alias) return { alias: `${tag} is ${existing}` };
      // Another content there is for the copy to report; it says nothing of an alias.
      if (err instanceof ReferrersTagContentError) return {};
      throw err;
    }
  }
  return (await repo.announcesDigestAlias()) ? { alias: "it names itself GitLab's on GET /v2/" } : {};
}
