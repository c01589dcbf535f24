import { causeOf, onSide } from './copy-error.js';
import { CosignAttachments } from './cosign-attachments.js';
import { GraphCopier, type CopyHooks, type CopyOutcome, type CopyStats } from './copy.js';
import { aliasRefusal, type ListedOnTarget } from './target-checks.js';
import type { Logger } from './logger.js';
import { PlanRecorder, type PlanNode, type RepositoryPlan } from './plan.js';
import { settleAll } from './pool.js';
import { DEFAULT_INDEX_MERGE_OPTIONS, mergeIntoReferrersIndex } from './referrers-index.js';
import type { ReferrerChecks } from './referrer-checks.js';
import { referrerDescriptor, type ReferrerInfo } from './referrers.js';
import { referrersTagFor } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { MediaType, isManifestMediaType } from '../oci/media-types.js';
import { inPhase, phased } from '../oci/phase.js';
import { formatReferenceIn, formatRepository } from '../oci/reference.js';
import { ReferrersTagContentError } from '../registry/errors.js';
import type { FetchedManifest, Repository } from '../registry/types.js';

// Within the referrers' phase, these requests are told apart in the request trace (src/oci/phase.ts).
const mergeReferrersIndex = phased('referrers index', mergeIntoReferrersIndex);

/** What the promotion's checks before its first write settled for one target. */
export interface CheckedForTarget {
  /** The referrers to copy (already selected by referrer-types). */
  referrers: ReferrerInfo[];
  /** What the target's checks read of its referrers of a digest it has. */
  listed?: ListedOnTarget;
}

/** One target repository in another repository than the source: what to copy there, and how. */
export interface TargetCopySpec {
  source: Repository;
  target: Repository;
  manifest: FetchedManifest;
  /**
   * Resolves once the promotion may write (every referrer found, the policy gate and the checks
   * of the targets passed), with what they settled. Until then the copy only reads; a rejection
   * stops it before its first write.
   */
  checked: Promise<CheckedForTarget>;
  /** Where an entry of the source's referrers tags is checked before it is copied (shared by all targets). */
  checks: ReferrerChecks;
  copyReferrers: boolean;
  /** Reads what a copy would read and writes nothing. */
  dryRun: boolean;
  /** A tag in the target already names the manifest: its whole image graph is there. */
  rootPresent: boolean;
  concurrency: number;
  logger: Logger;
  hooks?: CopyHooks;
  /** Settle time before reading a referrers index back (concurrent writers). */
  indexSettleMs: number;
}

/** What the copy into one target repository did (in a dry run: would do). */
export interface TargetCopyReport {
  plan: RepositoryPlan;
  stats: CopyStats;
  /** Referrers-schema tags written (would be written), as full references. */
  referrersTags: string[];
  /** Copied referrers whose discoverability the target has not proved (no OCI-Subject). */
  unverified: ReferrerInfo[];
  /**
   * Settles once every referrers tag written was read back whole (merged again where a
   * concurrent writer dropped entries): the tags need not wait for it.
   */
  indexesConfirmed: Promise<void>;
}

/**
 * The copy of a promotion into one other repository: the image graph, then the referrers level
 * by level so that subjects come first, the referrers tags of subjects that received referrers
 * on a target without the referrers API, and cosign's tag attachments of every manifest the copy
 * handles (see cosign-attachments.ts).
 * It starts as soon as the source manifest is known, with reads only (existence checks, the
 * source's manifests) while the referrers are still being found; its first write waits for
 * `checked`. The referrers' own content is fetched and copied while the image graph is; each
 * referrer manifest is pushed only once its subject is in the target.
 */
export class TargetCopy {
  private readonly copier: GraphCopier;
  private readonly plan: PlanRecorder;
  /** cosign's tag attachments of every manifest this copy handles, copied with it. */
  private readonly attachments: CosignAttachments;
  /** Per subject: the referrers the target lists already (a subject this run creates has none). */
  private readonly listedOnTarget = new Map<string, Set<string>>();
  private readonly referrersTags: string[] = [];
  private readonly unverified: ReferrerInfo[] = [];
  /** The read-backs of the referrers tags written, still under way. */
  private readonly confirmations: Promise<void>[] = [];
  /** The promoted manifest was not in the target: this run creates it. Known once its check answered. */
  private rootCreated = false;
  private referrersApiAnswer?: Promise<boolean | undefined>;

  constructor(private readonly spec: TargetCopySpec) {
    this.plan = new PlanRecorder(formatRepository(spec.target));
    this.copier = new GraphCopier(spec.source, spec.target, {
      concurrency: spec.concurrency,
      logger: spec.logger,
      dryRun: spec.dryRun,
      plan: this.plan,
      writeGate: spec.checked,
      ...(spec.hooks && { hooks: spec.hooks }),
      // With the referrers, each manifest's cosign attachments, as soon as the copy takes it on.
      ...(spec.copyReferrers && {
        onManifest: (digest: string) => inPhase('cosign', () => this.attachments.copyFor(digest)),
      }),
    });
    this.attachments = new CosignAttachments({
      source: spec.source,
      target: spec.target,
      copier: this.copier,
      plan: this.plan,
      dryRun: spec.dryRun,
      logger: spec.logger,
    });
  }

  async run(): Promise<TargetCopyReport> {
    const { manifest } = this.spec;
    const root = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
    if (this.spec.rootPresent) this.copier.knownPresent(root);
    const work: Promise<unknown>[] = [inPhase('copy', () => this.copier.copyManifest(root, manifest))];
    if (this.spec.copyReferrers) {
      work.push(
        inPhase('referrers', () => this.copyReferrers()),
        this.attachToChildren(),
      );
    }
    // The attachments go on while the graph is copied; a failure of the graph is the one told.
    const graph = await settleAll(work).then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    const attached = await this.attachments.done().then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    if (graph ?? attached) throw (graph ?? attached)!.err;
    const stats = { ...this.copier.stats };
    const would = this.spec.dryRun ? '[dry run] would be: ' : '';
    this.spec.logger.info(
      `${this.plan.repository}: ${would}${stats.manifestsCopied} manifest(s) copied, ${stats.manifestsPresent} already there; ${stats.blobsUploaded} blob(s) uploaded (${stats.bytesUploaded} bytes), ${stats.blobsMounted} mounted, ${stats.blobsPresent} already there`,
    );
    const indexesConfirmed = settleAll(this.confirmations).then(() => undefined);
    indexesConfirmed.catch(() => undefined);
    return {
      plan: this.plan.plan(),
      stats,
      referrersTags: [...this.referrersTags],
      unverified: [...this.unverified],
      indexesConfirmed,
    };
  }

  /**
   * The referrers, level by level. What the target already lists is not copied again; a subject
   * this run created can have nothing listed, so neither a listing nor an existence check is
   * spent on its referrers.
   */
  private async copyReferrers(): Promise<void> {
    const { manifest } = this.spec;
    const { referrers, listed } = await this.spec.checked;
    if (listed) this.listedOnTarget.set(listed.subject, listed.digests);
    // Once the root's existence check answered, its children's copies are under way too, so
    // willCreate answers for every subject of the first level.
    this.rootCreated = await this.copier.willCreate(manifest.digest);
    if (!this.rootCreated) await this.referrersApi();
    const depths = [...new Set(referrers.map((r) => r.depth))].sort((a, b) => a - b);
    for (const depth of depths) {
      const bySubject = new Map<string, ReferrerInfo[]>();
      for (const r of referrers.filter((x) => x.depth === depth)) {
        // What refers to a dangling entry stays behind with it.
        if (this.spec.checks.isDropped(r.subject)) {
          await this.spec.checks.check(r);
          continue;
        }
        bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r]);
      }
      // Every subject at once: the requests take slots of the copy's limit, the waits do not.
      await settleAll([...bySubject].map(([subject, ofSubject]) => this.copyReferrersOf(subject, ofSubject)));
    }
  }

  /**
   * The cosign attachments of the children of the promoted index (`cosign sign --recursive`)
   * are copied even where the target had the index already, so the copy does not walk them.
   * Started once the index's check answered: a child this run copies is then known to the copy,
   * so its attachments' tags wait for it.
   */
  private async attachToChildren(): Promise<void> {
    const { manifest } = this.spec;
    await this.copier.willCreate(manifest.digest);
    for (const child of parseManifest(manifest.bytes, manifest.mediaType).manifests) {
      if (isManifestMediaType(child.mediaType)) inPhase('cosign', () => this.attachments.copyFor(child.digest));
    }
  }

  /**
   * Whether the target has the referrers API, learned once and only when needed. Within one
   * registry the source's answer says. Otherwise a probe, sent only where the repository surely
   * exists (a registry may answer 404 NAME_UNKNOWN for a repository it has never seen, which
   * says nothing about the API): at once when the root was already there, else once the root
   * is in. A dry run cannot wait for that: its answer is then unknown (the first write tells).
   */
  private referrersApi(): Promise<boolean | undefined> {
    this.referrersApiAnswer ??= (async () => {
      const { target, manifest } = this.spec;
      const known = target.capabilities().referrersApi;
      if (known !== undefined) return known;
      if (this.rootCreated) {
        if (this.spec.dryRun) return undefined;
        await this.copier.whenCopied(manifest.digest);
      }
      const probe = await this.limited(() => target.probeReferrersApi(manifest.digest));
      if (probe && !this.rootCreated) {
        this.listedOnTarget.set(manifest.digest, new Set(probe.descriptors.map((d) => d.digest)));
      }
      return target.capabilities().referrersApi ?? false;
    })();
    return this.referrersApiAnswer;
  }

  /** Copies the referrers of one subject, then makes them discoverable there. */
  private async copyReferrersOf(subject: string, ofSubject: ReferrerInfo[]): Promise<void> {
    const subjectCreated = await this.copier.willCreate(subject);
    const listed = subjectCreated ? new Set<string>() : await this.listedReferrersOf(subject);
    const toCopy = ofSubject.filter((r) => !listed.has(r.digest));
    // A referrer of a subject this run creates is pushed once the subject is in. Observed at
    // once: the copies below await it only when their turn comes.
    const subjectCopied = subjectCreated ? this.copier.whenCopied(subject) : undefined;
    subjectCopied?.catch(() => undefined);
    const copied = await settleAll(
      toCopy.map(async (referrer) => {
        // An entry of the source's referrers tag is copied only once its manifest proved it
        // (and those bytes serve the copy); a dangling one stays behind. The read, where one
        // is needed, is the referrer's manifest, which its copy uses.
        const check = await this.spec.checks.check(referrer, (fn) => this.copier.limit(fn));
        if (check.dangling) return undefined;
        // Not listed by the API means absent; not listed in a referrers tag may still be
        // present (a run that died before updating the index), so check then.
        const assumeAbsent = subjectCreated || (await this.referrersApi()) === true;
        const outcome = await this.copier.copyManifest(referrerDescriptor(referrer), check.manifest, {
          assumeAbsent,
          ...(subjectCopied && { after: subjectCopied }),
          node: referrerNode(referrer),
        });
        return { referrer, outcome };
      }),
    );
    if (subjectCopied) await subjectCopied;
    const api = await this.referrersApi();
    const kept = ofSubject.filter((r) => !this.spec.checks.isDropped(r.digest));
    // A referrer the target listed already: its attachments may still be missing there.
    for (const r of kept) inPhase('cosign', () => this.attachments.copyFor(r.digest));
    this.recordListed(kept, listed, api);
    if (api)
      this.unverified.push(
        ...unconfirmedByOciSubject(
          subject,
          copied.filter((c) => c !== undefined),
        ),
      );
    if (api === true || kept.every((r) => listed.has(r.digest))) return;
    await this.updateReferrersTag(subject, kept, api);
  }

  /** What the target lists as referrers of a subject that was there before this run. */
  private async listedReferrersOf(subject: string): Promise<Set<string>> {
    let listed = this.listedOnTarget.get(subject);
    if (!listed) {
      const { target } = this.spec;
      const listing = (await this.referrersApi())
        ? await this.limited(() => target.listReferrers(subject))
        : await this.limited(() => target.readReferrersIndex(subject));
      listed = new Set(listing.descriptors.map((d) => d.digest));
      this.listedOnTarget.set(subject, listed);
    }
    return listed;
  }

  /** The plan's entries for referrers the target listed already, and how the target lists each. */
  private recordListed(ofSubject: ReferrerInfo[], listed: Set<string>, api: boolean | undefined): void {
    const listedBy: PlanNode['listedBy'] = api === undefined ? undefined : api ? 'referrers API' : 'referrers tag';
    for (const r of ofSubject) {
      if (listed.has(r.digest)) {
        this.plan.record({
          digest: r.digest,
          action: 'present',
          mediaType: r.mediaType,
          size: r.size,
          ...referrerNode(r),
        });
      }
      if (listedBy) this.plan.annotate(r.digest, { listedBy });
    }
  }

  /**
   * distribution-spec v1.1 "Pushing Manifests with Subject", on a target without the API (or,
   * in a dry run, not known to have it): the subject's referrers tag lists every referrer.
   */
  private async updateReferrersTag(
    subject: string,
    ofSubject: ReferrerInfo[],
    api: boolean | undefined,
  ): Promise<void> {
    const { target, dryRun, logger } = this.spec;
    const tag = referrersTagFor(subject);
    const merge = await onSide(
      'target',
      target,
      mergeReferrersIndex(target, subject, ofSubject.map(referrerDescriptor), {
        ...DEFAULT_INDEX_MERGE_OPTIONS,
        settleMs: this.spec.indexSettleMs,
        logger,
        limit: (fn) => this.copier.limit(fn),
        dryRun,
      }),
    ).catch((err: unknown) => {
      // The one case the checks before the first write cannot tell (see target-checks.ts).
      const cause = causeOf(err);
      if (!(cause instanceof ReferrersTagContentError) || !cause.alias) throw err;
      throw aliasRefusal(
        target,
        `seen when ${formatReferenceIn(target, tag)} was read, before it was written`,
        dryRun
          ? 'Nothing was written (dry run).'
          : 'Part of the graph was copied there; no referrers tag was written and no tag moved.',
      );
    });
    const confirmed = onSide('target', target, merge.confirmed);
    // Observed here; the report's indexesConfirmed reports its failure.
    confirmed.catch(() => undefined);
    this.confirmations.push(confirmed);
    const written = merge.wrote || merge.wouldWrite === true;
    this.plan.record({
      kind: 'referrers-tag',
      digest: subject,
      tag,
      action: !written ? 'present' : merge.existed ? 'merge' : 'create',
      mediaType: MediaType.OciIndex,
      parent: subject,
      ...(api === undefined && { condition: 'if the target has no referrers API (its first write will tell)' }),
    });
    if (written && api !== undefined) {
      const reference = formatReferenceIn(target, tag);
      this.referrersTags.push(reference);
      logger.info(
        `${dryRun ? '[dry run] would update' : 'Updated'} the referrers tag ${reference} (${ofSubject.length} referrer(s) of ${subject})`,
      );
    }
  }

  /** A registry request of the referrers copy: under the copy's limit, its failure said to be the target's. */
  private limited<T>(fn: () => Promise<T>): Promise<T> {
    return this.copier.limit(() => onSide('target', this.spec.target, fn()));
  }
}

/** How a referrer shows in the plan. */
function referrerNode(r: ReferrerInfo) {
  return {
    kind: 'referrer' as const,
    parent: r.subject,
    ...(r.artifactType !== undefined && { artifactType: r.artifactType }),
  };
}

/** Referrers pushed to a registry with the API whose answer did not name the subject it indexed. */
function unconfirmedByOciSubject(
  subject: string,
  copied: { referrer: ReferrerInfo; outcome: CopyOutcome }[],
): ReferrerInfo[] {
  return copied.filter(({ outcome }) => outcome.pushed?.ociSubject !== subject).map(({ referrer }) => referrer);
}
