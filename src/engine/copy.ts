import { BlobCopier, type BlobFate } from './blob-copy.js';
import { onSide } from './copy-error.js';
import { isBlobLinkRace, LINK_RACE_ATTEMPTS, linkRaceDelay } from './link-race.js';
import { Limiter, type Priority } from './limiter.js';
import type { Logger } from './logger.js';
import type { PlanNode, PlanRecorder } from './plan.js';
import { settleAll } from './pool.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { isIndexMediaType, isManifestMediaType } from '../oci/media-types.js';
import type { FetchedManifest, ManifestInfo, PushResult, Repository } from '../registry/types.js';

export interface CopyStats {
  manifestsCopied: number;
  manifestsPresent: number;
  blobsUploaded: number;
  blobsMounted: number;
  blobsPresent: number;
  bytesUploaded: number;
}

export function emptyStats(): CopyStats {
  return {
    manifestsCopied: 0,
    manifestsPresent: 0,
    blobsUploaded: 0,
    blobsMounted: 0,
    blobsPresent: 0,
    bytesUploaded: 0,
  };
}

/** Observers of the copy, so the action can report progress without the engine knowing it. */
export interface CopyHooks {
  onManifestCopied?(descriptor: Descriptor): void;
  onBlobCopied?(descriptor: Descriptor, how: 'uploaded' | 'mounted'): void;
  onSkipped?(descriptor: Descriptor): void;
}

export interface GraphCopyOptions {
  concurrency: number;
  logger: Logger;
  hooks?: CopyHooks;
  /** Reads what a copy would read and writes nothing: each node's plan says what would happen. */
  dryRun?: boolean;
  /** Where each node's fate is recorded. */
  plan?: PlanRecorder;
  /** Told of each manifest the copy takes on (copied, or found there), once, as it does. */
  onManifest?: (digest: string) => void;
  /**
   * Resolves once the promotion may write (its checks before the first write passed). Until
   * then the copy only reads: existence checks in the target, manifests from the source. A
   * rejection stops the copy before its first write.
   */
  writeGate?: Promise<unknown>;
}

/** How a manifest shows in the plan, where the caller knows more than the copy (a referrer). */
export type NodeInfo = Partial<Pick<PlanNode, 'kind' | 'artifactType' | 'parent' | 'listedBy'>>;

/** What copying one manifest did: `pushed` when this run wrote it, with what the registry answered. */
export interface CopyOutcome {
  pushed?: PushResult;
}

/** How one manifest is to be copied: what the caller knows, and what the copy must tell or wait for. */
interface ManifestCopyWork {
  /** The manifest's bytes, when the caller has them already. */
  known: FetchedManifest | undefined;
  /** The caller knows the target lacks it: no existence check. */
  assumeAbsent: boolean;
  /** Told, once the existence check answered, whether the target lacked it. */
  expanded: (absent: boolean) => void;
  /** What must be in the target before this manifest (a referrer's subject). */
  after: Promise<unknown> | undefined;
  node: NodeInfo;
}

/**
 * Copies manifests with everything they name from one repository to another: children before
 * parents, blobs before the manifests naming them, so that nothing in the target ever names
 * what is not there yet, even when a run dies half way. A manifest already in the target is
 * taken as complete (it could only have been pushed after its children); a blob already there
 * is not copied again. Each digest is copied once however often the graph names it.
 */
export class GraphCopier {
  readonly stats = emptyStats();
  private readonly limiter: Limiter;
  private readonly manifests = new Map<string, Promise<CopyOutcome>>();
  /** Per manifest in this copy: resolves once it is known whether the target lacks it, and its children are under way. */
  private readonly expansions = new Map<string, Promise<boolean>>();
  private readonly blobs = new Map<string, Promise<void>>();
  /** Existence checks of an index's children, sent with the index's own (see doCopyManifest). */
  private readonly earlyChecks = new Map<string, Promise<ManifestInfo | undefined>>();
  private readonly blobCopier: BlobCopier;
  private readonly writable: Promise<unknown>;

  constructor(
    private readonly source: Repository,
    private readonly target: Repository,
    private readonly options: GraphCopyOptions,
  ) {
    this.limiter = new Limiter(options.concurrency);
    this.writable = options.writeGate ?? Promise.resolve();
    // Observed here; each write awaits it and reports its failure.
    this.writable.catch(() => undefined);
    this.blobCopier = new BlobCopier(source, target, {
      limiter: this.limiter,
      writable: this.writable,
      dryRun: options.dryRun ?? false,
      logger: options.logger,
      ...(options.hooks && { hooks: options.hooks }),
      done: (descriptor, fate, parent) => this.blobDone(descriptor, fate, parent),
    });
  }

  /** Resolves once this copy may write; a write of the caller's (a tag) awaits it too. */
  whenWritable(): Promise<unknown> {
    return this.writable;
  }

  /**
   * Copies the manifest `descriptor` names (by digest), with its whole graph. `assumeAbsent`
   * skips the existence check where the caller already knows the target lacks it.
   */
  copyManifest(
    descriptor: Descriptor,
    known?: FetchedManifest,
    options: { assumeAbsent?: boolean; after?: Promise<unknown>; node?: NodeInfo } = {},
  ): Promise<CopyOutcome> {
    let p = this.manifests.get(descriptor.digest);
    if (!p) {
      let expanded!: (absent: boolean) => void;
      const expansion = new Promise<boolean>((resolve) => (expanded = resolve));
      this.expansions.set(descriptor.digest, expansion);
      p = this.doCopyManifest(descriptor, {
        known,
        assumeAbsent: options.assumeAbsent ?? false,
        expanded,
        after: options.after,
        node: options.node ?? {},
      });
      // A failure before the check is reported by the copy itself; the expansion then says "absent".
      p.catch(() => expanded(true));
      this.manifests.set(descriptor.digest, p);
      this.options.onManifest?.(descriptor.digest);
    } else if (options.after) {
      // Already being copied for another reason (a referrer that is also in the image graph):
      // done only once what it must follow is there too.
      const after = options.after;
      return Promise.all([p, after]).then(([outcome]) => outcome);
    }
    return p;
  }

  /**
   * Whether this run is copying the manifest because the target lacked it (so nothing in the
   * target can refer to it yet), known as soon as the existence check answered, long before the
   * copy ends. False for a manifest this copy does not handle. Once it resolves for an index, its
   * children are being copied, so `willCreate` answers for them too.
   */
  willCreate(digest: string): Promise<boolean> {
    return this.expansions.get(digest) ?? Promise.resolve(false);
  }

  /** Runs a registry request under this copy's concurrency limit (a leaf operation only). */
  limit<T>(fn: () => Promise<T>, priority: Priority = 'normal'): Promise<T> {
    return this.limiter.run(fn, priority);
  }

  /** Records a manifest the caller knows the target has (a tag there already names it). */
  knownPresent(descriptor: Descriptor, node: NodeInfo = {}): void {
    if (this.manifests.has(descriptor.digest)) return;
    this.expansions.set(descriptor.digest, Promise.resolve(false));
    this.manifests.set(descriptor.digest, Promise.resolve({}));
    this.note(descriptor, 'present', node);
    this.stats.manifestsPresent++;
    this.options.hooks?.onSkipped?.(descriptor);
    this.options.onManifest?.(descriptor.digest);
  }

  /** Resolves when the copy of the manifest is complete (at once for one this copy does not handle). */
  async whenCopied(digest: string): Promise<void> {
    await this.manifests.get(digest);
  }

  private async doCopyManifest(descriptor: Descriptor, work: ManifestCopyWork): Promise<CopyOutcome> {
    const { known, assumeAbsent, expanded, after, node } = work;
    if (!assumeAbsent && known) this.checkChildrenEarly(known);
    const present =
      !assumeAbsent &&
      (await (this.earlyChecks.get(descriptor.digest) ??
        this.limiter.run(() => onSide('target', this.target, this.target.statManifest(descriptor.digest)), 'high')));
    if (present) {
      expanded(false);
      this.note(descriptor, 'present', node);
      this.stats.manifestsPresent++;
      this.options.hooks?.onSkipped?.(descriptor);
      return {};
    }
    const manifest =
      known ??
      (await this.limiter.run(
        () => onSide('source', this.source, this.source.fetchManifest(descriptor.digest)),
        // A referrer is pushed only after its subject: reading it can wait behind the image graph.
        node.kind === 'referrer' ? 'normal' : 'high',
      ));
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    // Parents before children in the plan, as they read in a tree.
    this.note({ ...descriptor, mediaType: manifest.mediaType }, 'copy', {
      kind: parsed.isIndex ? 'index' : 'manifest',
      ...node,
    });
    const parent = descriptor.digest;
    // Blobs take their turn in the order they were asked for: the image graph's come first,
    // since it is expanded before the referrers are copied.
    const blobPriority: Priority = 'normal';
    const children: Promise<void>[] = [];
    for (const child of parsed.manifests) {
      // An index names manifests; anything else it names is carried as a blob.
      children.push(
        isManifestMediaType(child.mediaType)
          ? this.copyManifest(child, undefined, { node: { parent } }).then(() => undefined)
          : this.copyBlob(child, parent, blobPriority),
      );
    }
    if (parsed.config) children.push(this.copyBlob(parsed.config, parent, blobPriority));
    for (const layer of parsed.layers) {
      // Non-distributable layers with URLs live elsewhere; registries do not hold them.
      if (layer.urls?.length) continue;
      children.push(this.copyBlob(layer, parent, blobPriority));
    }
    expanded(true);
    // What must be in the target before this manifest (a referrer's subject) is awaited last,
    // so that fetching and copying the manifest's own content overlaps with it. A subject this
    // copy handles too (an attestation that is also an index's child, as BuildKit makes them)
    // comes first whoever asked for the copy. No cycle: a subject cannot name its referrer.
    if (after) children.push(after.then(() => undefined));
    const subject = parsed.subject?.digest;
    if (subject !== undefined && subject !== descriptor.digest && this.manifests.has(subject)) {
      children.push(this.whenCopied(subject));
    }
    await settleAll(children);
    if (this.options.dryRun) {
      this.stats.manifestsCopied++;
      return {};
    }
    await this.writable;
    const blobs = [...(parsed.config ? [parsed.config] : []), ...parsed.layers.filter((l) => !l.urls?.length)];
    let pushed: PushResult;
    for (let attempt = 1; ; attempt++) {
      try {
        pushed = await this.limiter.run(
          () => onSide('target', this.target, this.target.pushManifest(manifest.digest, manifest)),
          'high',
        );
        break;
      } catch (err) {
        // distribution rewrites a repository's blob link in place, so a concurrent promotion
        // mounting the same blob can make it look absent for a moment: link the blobs again
        // and push once more before calling it a failure.
        if (!isBlobLinkRace(err) || attempt >= LINK_RACE_ATTEMPTS) throw err;
        this.options.logger.info(
          `${this.target.registry} did not see the blobs of ${manifest.digest} yet; linking them again`,
        );
        await linkRaceDelay(attempt);
        await settleAll(blobs.map((b) => this.blobCopier.copyAgain(b, descriptor.digest)));
      }
    }
    this.stats.manifestsCopied++;
    this.options.hooks?.onManifestCopied?.(descriptor);
    this.options.logger.debug(`Copied manifest ${manifest.digest} (${manifest.mediaType})`);
    return { pushed };
  }

  /**
   * An index whose bytes are known before its existence check (the promoted one): its children
   * are checked in the same round trip, not one later. Absent, the index needs those answers
   * anyway; present, they were not needed (its children are there: registries refuse an index
   * naming what they lack), and cost a HEAD each, no bytes and no wall time.
   */
  private checkChildrenEarly(known: FetchedManifest): void {
    for (const child of parseManifest(known.bytes, known.mediaType).manifests) {
      if (!isManifestMediaType(child.mediaType) || this.manifests.has(child.digest)) continue;
      if (this.earlyChecks.has(child.digest)) continue;
      const check = this.limiter.run(
        () => onSide('target', this.target, this.target.statManifest(child.digest)),
        'high',
      );
      // Observed here: the child's copy awaits it when it comes, if it comes.
      check.catch(() => undefined);
      this.earlyChecks.set(child.digest, check);
    }
  }

  /** Records a node's fate in the plan, when there is one. */
  private note(descriptor: Descriptor, action: PlanNode['action'], node: NodeInfo & { kind?: PlanNode['kind'] }): void {
    this.options.plan?.record({
      kind:
        node.kind ??
        (isIndexMediaType(descriptor.mediaType)
          ? 'index'
          : isManifestMediaType(descriptor.mediaType)
            ? 'manifest'
            : 'blob'),
      digest: descriptor.digest,
      action,
      ...(descriptor.mediaType && { mediaType: descriptor.mediaType }),
      size: descriptor.size,
      ...(descriptor.artifactType !== undefined && { artifactType: descriptor.artifactType }),
      ...(node.artifactType !== undefined && { artifactType: node.artifactType }),
      ...(node.parent !== undefined && { parent: node.parent }),
      ...(node.listedBy !== undefined && { listedBy: node.listedBy }),
    });
  }

  copyBlob(descriptor: Descriptor, parent?: string, priority: Priority = 'normal'): Promise<void> {
    let p = this.blobs.get(descriptor.digest);
    if (!p) {
      p = this.blobCopier.copy(descriptor, parent, priority);
      this.blobs.set(descriptor.digest, p);
    }
    return p;
  }

  /** Counts a blob's fate and records it in the plan. */
  private blobDone(descriptor: Descriptor, action: BlobFate, parent: string | undefined): void {
    this.note(descriptor, action, { kind: 'blob', ...(parent !== undefined && { parent }) });
    if (action === 'mount') this.stats.blobsMounted++;
    else if (action === 'present') this.stats.blobsPresent++;
    else {
      this.stats.blobsUploaded++;
      this.stats.bytesUploaded += descriptor.size;
    }
  }
}
