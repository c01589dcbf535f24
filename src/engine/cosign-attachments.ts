import { onSide } from './copy-error.js';
import type { GraphCopier } from './copy.js';
import type { Logger } from './logger.js';
import type { PlanRecorder } from './plan.js';
import { COSIGN_SUFFIXES, cosignTag } from './policy.js';
import { settleAll } from './pool.js';
import { RegistryError } from '../registry/errors.js';
import type { FetchedManifest, Repository } from '../registry/types.js';

/** What copying cosign attachments into one target repository works with. */
export interface CosignCopyContext {
  source: Repository;
  target: Repository;
  /** The graph copy into the target: the attachment's manifest goes through it. */
  copier: GraphCopier;
  plan: PlanRecorder;
  dryRun: boolean;
  logger: Logger;
}

/**
 * cosign's tag-based attachments (`sha256-<hex>.sig`, `.att`, `.sbom`) of every manifest a copy
 * handles: the promoted manifest, the children of an index (`cosign sign --recursive`), every
 * referrer, and the attachments themselves (a signed SBOM: the `.sbom` manifest's own `.sig`).
 * Each is copied while the graph is: the attachment's manifest through the graph copy, then its
 * tag, which names the digest it is attached to and so waits until that is in the target.
 *
 * Which tags exist comes from the one listing of the source's tags the run reads anyway; where
 * that listing cannot prove a tag absent, the tag itself is asked for (one request per candidate).
 */
export class CosignAttachments {
  private readonly handled = new Map<string, Promise<void>>();

  constructor(private readonly context: CosignCopyContext) {}

  /** Starts copying the attachments of `digest`, once per digest; `done` waits for them. */
  copyFor(digest: string): void {
    if (this.handled.has(digest)) return;
    const copying = settleAll(COSIGN_SUFFIXES.map((suffix) => this.copyTag(digest, cosignTag(digest, suffix))));
    // Observed here; `done` reports a failure.
    copying.catch(() => undefined);
    this.handled.set(
      digest,
      copying.then(() => undefined),
    );
  }

  /** Resolves once every attachment started so far, and those that started others, is copied. */
  async done(): Promise<void> {
    for (let seen = -1; seen !== this.handled.size;) {
      seen = this.handled.size;
      await settleAll([...this.handled.values()]);
    }
  }

  private async copyTag(digest: string, tag: string): Promise<void> {
    const { source, target, copier, plan, dryRun, logger } = this.context;
    // One listing of the source's tags answers for every candidate, where it can prove absence.
    if ((await source.hasDigestTag(tag)) === false) return;
    // Nothing else waits on finding an attachment: the copy's own requests go first.
    const found = await copier.limit(() => onSide('source', source, fetchIfThere(source, tag)), 'low');
    if (!found) return;
    const descriptor = { mediaType: found.mediaType, digest: found.digest, size: found.size };
    // The attachment's own graph (and, through the copy's hook, its own attachments).
    await copier.copyManifest(descriptor, found, { node: { parent: digest } });
    const there = await copier.limit(() => onSide('target', target, target.statManifest(tag)));
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
    if (!needed) return;
    if (!dryRun) {
      await copier.whenWritable();
      await copier.limit(() => onSide('target', target, target.pushManifest(tag, found)));
    }
    logger.info(`${dryRun ? '[dry run] would copy' : 'Copied'} cosign attachment ${tag}`);
  }
}

/** The manifest under `tag`, or undefined when the repository has no such tag. */
async function fetchIfThere(repo: Repository, tag: string): Promise<FetchedManifest | undefined> {
  try {
    return await repo.fetchManifest(tag);
  } catch (err) {
    if (err instanceof RegistryError && err.status === 404) return undefined;
    throw err;
  }
}
