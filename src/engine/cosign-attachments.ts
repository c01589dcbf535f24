import { onSide } from './copy-error.js';
import type { GraphCopier } from './copy.js';
import type { Logger } from './logger.js';
import type { PlanRecorder } from './plan.js';
import { COSIGN_SUFFIXES, cosignTag } from './policy.js';
import { mapLimit } from './pool.js';
import type { Repository } from '../registry/types.js';

/** What copying cosign attachments into one target repository works with. */
export interface CosignCopyContext {
  source: Repository;
  target: Repository;
  /** The graph copy into the target: the attachment's manifest goes through it. */
  copier: GraphCopier;
  plan: PlanRecorder;
  dryRun: boolean;
  concurrency: number;
  logger: Logger;
}

/**
 * Copies cosign's tag-based attachments of `digest` (`sha256-<hex>.sig`, `.att`, `.sbom`) that
 * the source has: the attachment's manifest with its graph, then the tag, which names the
 * digest it is attached to and so waits until that is in the target.
 */
export async function copyCosignAttachments(context: CosignCopyContext, digest: string): Promise<void> {
  const { source, target, copier, plan, dryRun, logger } = context;
  await mapLimit(COSIGN_SUFFIXES, context.concurrency, async (suffix) => {
    const tag = cosignTag(digest, suffix);
    // One listing of the source's tags answers for all three, where the registry lists them.
    if ((await source.hasDigestTag(tag)) === false) return;
    const found = await onSide('source', source, source.statManifest(tag));
    if (!found) return;
    await copier.copyManifest({ mediaType: found.mediaType, digest: found.digest, size: found.size }, undefined, {
      node: { parent: digest },
    });
    const there = await onSide('target', target, target.statManifest(tag));
    const needed = there?.digest !== found.digest;
    await copier.whenCopied(digest);
    plan.record({
      kind: 'cosign-tag',
      digest: found.digest,
      tag,
      action: needed ? 'copy' : 'present',
      mediaType: found.mediaType,
      parent: digest,
    });
    if (needed && !dryRun) {
      const m = await onSide('source', source, source.fetchManifest(found.digest));
      await onSide('target', target, target.pushManifest(tag, m));
    }
    if (needed) logger.info(`${dryRun ? '[dry run] would copy' : 'Copied'} cosign attachment ${tag}`);
  });
}
