import { onSide } from './copy-error.js';
import type { Logger } from './logger.js';
import { mapLimit } from './pool.js';
import type { ReferrerInfo } from './referrers.js';
import { PromotionError } from './request.js';
import { formatReference, formatRepository, type Reference } from '../oci/reference.js';
import type { FetchedManifest, Repository } from '../registry/types.js';

/** What the registries' own answers have not proved yet, in one repository. */
export interface Unproved {
  repo: Repository;
  /** Tags whose PUT was not answered with the digest. */
  tags: Reference[];
  /** Referrers pushed to a registry with the API that did not name the subject it indexed. */
  referrers: ReferrerInfo[];
}

export interface VerifyOptions {
  concurrency: number;
  logger: Logger;
}

/**
 * Checks that every target resolves to the digest and every copied referrer is discoverable.
 * Most of it was proved on the way by the registries' own answers: a tag PUT answered with our
 * digest, an existence check, a referrers index read back after it was written, a referrer PUT
 * answered with OCI-Subject. Only what was not is read again here.
 */
export async function verifyPromotion(
  unproved: Unproved[],
  manifest: FetchedManifest,
  options: VerifyOptions,
): Promise<void> {
  let reads = 0;
  for (const { repo, tags, referrers } of unproved) {
    for (const t of tags) {
      reads++;
      const found = await onSide('target', repo, repo.statManifest(t.tag!));
      if (found?.digest !== manifest.digest) {
        throw new PromotionError(
          `Verification failed: ${formatReference(t)} resolves to ${found?.digest ?? 'nothing'}, not ${manifest.digest}`,
        );
      }
    }
    const subjects = [...new Set(referrers.map((r) => r.subject))];
    reads += subjects.length;
    await mapLimit(subjects, options.concurrency, async (subject) => {
      const listed = new Set(
        (await onSide('target', repo, repo.listReferrers(subject))).descriptors.map((d) => d.digest),
      );
      const missing = referrers.filter((r) => r.subject === subject && !listed.has(r.digest));
      if (missing.length > 0) {
        throw new PromotionError(
          `Verification failed: ${formatRepository(repo)} does not list ${missing.map((m) => m.digest).join(', ')} as referrers of ${subject}`,
        );
      }
    });
  }
  options.logger.info(
    `Verified: every target resolves to the digest and every copied referrer is discoverable (${reads} read(s) beyond what the copy proved)`,
  );
}
