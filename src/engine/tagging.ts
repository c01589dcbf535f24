import { onSide } from './copy-error.js';
import type { Logger } from './logger.js';
import { isBlobLinkRace, LINK_RACE_ATTEMPTS, linkRaceDelay } from './link-race.js';
import { mapLimit } from './pool.js';
import type { TargetResult, TargetStatus } from './request.js';
import { formatReference, type Reference } from '../oci/reference.js';
import type { FetchedManifest, ManifestInfo, PushResult, Repository } from '../registry/types.js';

export interface TagOptions {
  manifest: FetchedManifest;
  /** What each target tag named before this run (by formatted reference), looked at first. */
  before: ReadonlyMap<string, ManifestInfo | undefined>;
  dryRun: boolean;
  /** Whether a failure names the side (a copy has two; a retag within the source has one). */
  labelSide: boolean;
  concurrency: number;
  logger: Logger;
}

export interface Tagging {
  results: TargetResult[];
  /** Tags whose PUT was not answered with our digest: the verify step reads them back. */
  unconfirmed: Reference[];
}

/**
 * Points every target tag of one repository at the manifest: a PUT of the same bytes with the
 * same media type. A tag that already names the digest is left alone. Within the source's
 * repository this is not pushing new content, so no referrers tag is touched (distribution-spec
 * v1.1 "Pushing Manifests with Subject").
 */
export async function tagTargets(repo: Repository, targets: Reference[], options: TagOptions): Promise<Tagging> {
  const { manifest, before, dryRun, logger } = options;
  const side = <T>(work: Promise<T>) => (options.labelSide ? onSide('target', repo, work) : work);
  const unconfirmed: Reference[] = [];
  const tagged = targets.filter((t) => t.tag !== undefined);
  const results = await mapLimit(tagged, options.concurrency, async (target): Promise<TargetResult> => {
    const tag = target.tag!;
    const reference = formatReference({ registry: target.registry, repository: target.repository, tag });
    const current = before.get(formatReference(target));
    if (current?.digest === manifest.digest) {
      logger.info(`${reference} is already ${manifest.digest}: unchanged`);
      return { reference, digest: manifest.digest, status: 'unchanged' };
    }
    const status: TargetStatus = current ? 'updated' : 'created';
    // A PUT answered with our digest (Docker-Content-Digest) proves the tag; else verify reads it.
    if (!dryRun && !(await pushTag(() => side(repo.pushManifest(tag, manifest)), reference, logger)).digestConfirmed) {
      unconfirmed.push(target);
    }
    logger.info(`${dryRun ? '[dry run] would tag' : 'Tagged'} ${reference} -> ${manifest.digest} (${status})`);
    return { reference, digest: manifest.digest, status, ...(current && { previous: current.digest }) };
  });
  // A target by digest alone is a copy without a tag.
  for (const t of targets.filter((x) => x.tag === undefined)) {
    results.push({
      reference: formatReference({ ...t, digest: manifest.digest }),
      digest: manifest.digest,
      status: 'unchanged',
    });
  }
  return { results, unconfirmed };
}

/**
 * One tag's PUT. The manifest's blobs are in the repository (this run copied or found them), so
 * an answer that one is missing comes from a concurrent promotion relinking the same blob: the
 * PUT is tried again a moment later (see link-race.ts).
 */
async function pushTag(put: () => Promise<PushResult>, reference: string, logger: Logger): Promise<PushResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await put();
    } catch (err) {
      if (!isBlobLinkRace(err) || attempt >= LINK_RACE_ATTEMPTS) throw err;
      logger.info(`The registry did not see every blob of ${reference} for a moment; tagging again`);
      await linkRaceDelay(attempt);
    }
  }
}
