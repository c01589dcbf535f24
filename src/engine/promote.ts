import { onSide } from './copy-error.js';
import { GraphCopier, emptyStats, type CopyHooks, type CopyStats } from './copy.js';
import type { Logger } from './logger.js';
import { SILENT_LOGGER } from './logger.js';
import { PlanRecorder, type PlanNode, type RepositoryPlan } from './plan.js';
import { strayReferrersTags, type StrayReferrersTag } from './stray-tags.js';
import { mapLimit, settleAll } from './pool.js';
import { DEFAULT_INDEX_MERGE_OPTIONS, mergeIntoReferrersIndex } from './referrers-index.js';
import { DEFAULT_DISCOVER_OPTIONS, discoverReferrers, type ReferrerInfo } from './referrers.js';
import { referrersTagFor } from '../oci/digest.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import {
  formatReference,
  formatReferenceIn,
  formatRepository,
  sameRepository,
  type Reference,
} from '../oci/reference.js';
import type {
  FetchedManifest,
  ManifestInfo,
  Repository,
  RepositoryCapabilities,
  RepositoryProvider,
} from '../registry/types.js';
import { UserFacingError } from '../oci/user-facing-error.js';

export interface PromotionRequest {
  source: Reference;
  /** Each target names a tag; targets in another repository get the whole graph copied. */
  targets: Reference[];
  copyReferrers: boolean;
  dryRun: boolean;
  /** Artifact types the source must have as referrers before any tag moves (a policy gate). */
  requireReferrers?: string[];
  /** Where the gate looks on an index: the index itself, or every child manifest. */
  requireReferrersScope?: 'root' | 'per-platform';
  /** Glob patterns (`*` for any run of characters): only referrers of a matching artifactType are copied. */
  referrerTypes?: string[];
  /** false: a target tag that points at another digest fails the run before anything is written. */
  overwrite?: boolean;
  /** Delete stray `sha256-<hex>` tags (see strayReferrersTags) in the repositories this run writes to. */
  removeStrayReferrersTags?: boolean;
}

export interface PromotionOptions {
  /** Registry operations in flight at once, per target repository. */
  concurrency: number;
  maxReferrerDepth: number;
  maxReferrers: number;
  /** Check afterwards that every target resolves to the digest and every copied referrer is discoverable. */
  verify: boolean;
  logger: Logger;
  hooks?: CopyHooks;
  /** Settle time before reading a referrers index back (concurrent writers). */
  indexSettleMs: number;
}

export const DEFAULT_PROMOTION_OPTIONS: PromotionOptions = {
  concurrency: DEFAULT_DISCOVER_OPTIONS.concurrency,
  maxReferrerDepth: DEFAULT_DISCOVER_OPTIONS.maxDepth,
  maxReferrers: DEFAULT_DISCOVER_OPTIONS.maxCount,
  verify: true,
  logger: SILENT_LOGGER,
  indexSettleMs: DEFAULT_INDEX_MERGE_OPTIONS.settleMs,
};

/** `created`: the tag did not exist; `updated`: it pointed elsewhere; `unchanged`: already there. */
export type TargetStatus = 'created' | 'updated' | 'unchanged';

export interface TargetResult {
  reference: string;
  digest: string;
  status: TargetStatus;
  /** The digest the tag pointed at before, when it was `updated`. */
  previous?: string;
}

export interface PromotionResult {
  source: string;
  digest: string;
  mediaType: string;
  size: number;
  dryRun: boolean;
  targets: TargetResult[];
  referrers: ReferrerInfo[];
  /** false when nothing needed them (a promotion within one repository without a policy gate). */
  referrersLookedUp: boolean;
  /** Keyed by `registry/repository`. */
  capabilities: Record<string, RepositoryCapabilities>;
  /** Referrers-schema tags this run wrote, as full references (never any within one repository). */
  referrersTags: string[];
  /** What the graph copy into other repositories did (in a dry run: would do), summed over them. */
  copy: CopyStats;
  /** Per target repository in another repository, each node and what happened (would happen) to it. */
  plan: RepositoryPlan[];
  /** `sha256-<hex>` tags left by other clients on repositories with the referrers API. */
  strayReferrersTags: StrayReferrersTag[];
  warnings: string[];
}

export class PromotionError extends UserFacingError {}

/** Checks what can be checked before the first request, so that a bad request writes nothing. */
export function checkRequest(request: PromotionRequest): void {
  if (request.targets.length === 0) throw new PromotionError('No targets given');
  if (request.source.tag === undefined && request.source.digest === undefined) {
    throw new PromotionError(`The source ${formatReference(request.source)} names neither a tag nor a digest`);
  }
  for (const target of request.targets) {
    const same = sameRepository(request.source, target);
    if (target.digest !== undefined && request.source.digest !== undefined && target.digest !== request.source.digest) {
      throw new PromotionError(
        `The target ${formatReference(target)} names another digest than the source ${formatReference(request.source)}`,
      );
    }
    if (same && target.tag === undefined) {
      throw new PromotionError(
        `The target ${formatReference(target)} names no tag: within one repository a target is a tag`,
      );
    }
  }
}

/** Targets grouped by repository, the source's own first, each tag once. */
function groupTargets(source: Reference, targets: Reference[]): Reference[][] {
  const groups = new Map<string, Reference[]>();
  groups.set(formatRepository(source), []);
  const seen = new Set<string>();
  for (const t of targets) {
    const key = formatReference(t);
    if (seen.has(key)) continue;
    seen.add(key);
    const repo = formatRepository(t);
    groups.set(repo, [...(groups.get(repo) ?? []), t]);
  }
  return [...groups.values()].filter((g) => g.length > 0);
}

/** Cosign's tag-based attachments of a digest: still what many signing workflows produce. */
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'];

/**
 * Promotes the source manifest to each target.
 *
 * Within the source's repository a target is a tag: a PUT of the same bytes with the same
 * media type. distribution-spec v1.1 "Pushing Manifests with Subject": the referrers tag schema
 * is maintained by clients pushing new content; tagging an existing manifest is not that, so no
 * `sha256-*` tag is written there, whatever the manifest's subject and whatever the registry.
 *
 * Into another repository or registry the whole graph is copied, then the referrers (when
 * asked), then, on a target without the referrers API, the referrers indexes of the subjects
 * that received referrers, and the tags last: a tag never points at something incomplete.
 */
export async function promote(
  registry: RepositoryProvider,
  request: PromotionRequest,
  options: Partial<PromotionOptions> = {},
): Promise<PromotionResult> {
  const opts = { ...DEFAULT_PROMOTION_OPTIONS, ...options };
  const log = opts.logger;
  checkRequest(request);
  const groups = groupTargets(request.source, request.targets);
  const tagsSource = groups.some((g) => sameRepository(g[0]!, request.source));

  const copying = groups.some((g) => !sameRepository(g[0]!, request.source));
  // Which side failed is worth saying only when there are two sides.
  const sourceSide = <T>(work: Promise<T>) => (copying ? onSide('source', source, work) : work);

  const source = registry.repository(request.source, tagsSource && !request.dryRun ? 'push' : 'pull');
  const manifest = await sourceSide(source.fetchManifest((request.source.digest ?? request.source.tag)!));
  log.info(
    `Resolved ${formatReference(request.source)} to ${manifest.digest} (${manifest.mediaType}, ${manifest.size} bytes)`,
  );
  for (const t of request.targets) {
    if (t.digest !== undefined && t.digest !== manifest.digest) {
      throw new PromotionError(
        `The target ${formatReference(t)} names another digest than the source resolved to (${manifest.digest})`,
      );
    }
  }

  const repositoryOf = (group: Reference[]) =>
    sameRepository(group[0]!, request.source)
      ? source
      : registry.repository(group[0]!, request.dryRun ? 'pull' : 'push');
  // Every target tag is looked at before anything is written (for the overwrite guard, and so
  // that the statuses say what the tags were before this run), while the referrers are found.
  const before = new Map<string, ManifestInfo | undefined>();
  const lookAtTags = mapLimit(
    groups.flatMap((group) => group.filter((t) => t.tag !== undefined).map((t) => [repositoryOf(group), t] as const)),
    opts.concurrency,
    async ([repo, t]) => {
      const side = <T>(work: Promise<T>) => (repo === source ? work : onSide('target', repo, work));
      before.set(formatReference(t), await side(repo.statManifest(t.tag!)));
    },
  );
  // Observed either way, so that a failure of one does not leave the other unhandled.
  lookAtTags.catch(() => undefined);

  const gate = (request.requireReferrers?.length ?? 0) > 0;
  const perPlatformGate = gate && request.requireReferrersScope === 'per-platform';
  // Within one repository the referrers stay where they are: looking them up would only fill
  // an output, so it is done only for the policy gate or to copy them elsewhere.
  const lookUpReferrers = (copying && request.copyReferrers) || gate || request.removeStrayReferrersTags === true;
  const [discovery] = await Promise.all([
    lookUpReferrers
      ? sourceSide(discoverAll(source, manifest, (copying && request.copyReferrers) || perPlatformGate, opts))
      : Promise.resolve({ referrers: [] as ReferrerInfo[], warnings: [] as string[] }),
    lookAtTags,
  ]);
  for (const w of discovery.warnings) log.warning(w);
  if (lookUpReferrers) log.info(`Found ${discovery.referrers.length} referrer(s)`);
  if (request.requireReferrers?.length) {
    // A policy refusal is not a registry failure: its message stands without a side.
    await checkRequiredReferrers(
      source,
      manifest,
      discovery.referrers,
      request.requireReferrers,
      request.requireReferrersScope ?? 'root',
    );
    log.info(`Policy: the source has every required referrer type (${request.requireReferrers.join(', ')})`);
  }
  const toCopy = selectReferrers(discovery.referrers, request.referrerTypes);
  if (toCopy.length !== discovery.referrers.length) {
    log.info(`referrer-types selects ${toCopy.length} of ${discovery.referrers.length} referrer(s) to copy`);
  }

  const result: PromotionResult = {
    source: formatReference(request.source),
    digest: manifest.digest,
    mediaType: manifest.mediaType,
    size: manifest.size,
    dryRun: request.dryRun,
    targets: [],
    referrers: discovery.referrers,
    referrersLookedUp: lookUpReferrers,
    capabilities: {},
    referrersTags: [],
    copy: emptyStats(),
    plan: [],
    strayReferrersTags: [],
    warnings: [...discovery.warnings],
  };

  if (request.overwrite === false) {
    const moving = [...before].filter(([, info]) => info !== undefined && info.digest !== manifest.digest);
    if (moving.length > 0) {
      throw new PromotionError(
        `overwrite is false and ${moving.length === 1 ? 'a target tag points' : 'target tags point'} at another digest: ${moving
          .map(([ref, info]) => `${ref} is ${info!.digest}, not ${manifest.digest}`)
          .join('; ')}. Nothing was written.`,
      );
    }
  }

  // What the registries' own answers have not proved yet, for the verify step.
  const unproved: Unproved[] = [];
  // Every graph first (into each other repository at once), every tag after: a failed copy
  // leaves no tag moved anywhere.
  await settleAll(
    groups
      .filter((group) => !sameRepository(group[0]!, request.source))
      .map(async (group) => {
        const target = repositoryOf(group);
        // A tag there that already names the digest proves the whole image graph is there.
        const present = group.some((t) => before.get(formatReference(t))?.digest === manifest.digest);
        const referrers = await copyInto(source, target, manifest, toCopy, request, opts, result, present);
        unproved.push({ repo: target, tags: [], referrers });
      }),
  );
  const tagged = await Promise.all(
    groups.map((group) => {
      const target = repositoryOf(group);
      return tagAll(target, group, manifest, before, request.dryRun, opts, target !== source);
    }),
  );
  for (const [i, group] of groups.entries()) {
    const target = repositoryOf(group);
    result.targets.push(...tagged[i]!.results);
    unproved.push({ repo: target, tags: tagged[i]!.unconfirmed, referrers: [] });
    result.capabilities[formatRepository(group[0]!)] = target.capabilities();
  }
  result.capabilities[formatRepository(request.source)] = source.capabilities();

  if (opts.verify && !request.dryRun) await verify(unproved, manifest, opts);

  if (lookUpReferrers) {
    // The promoted manifest, its children and its referrers: the digests whose stray tags count.
    const digests = [
      manifest.digest,
      ...parseManifest(manifest.bytes, manifest.mediaType).manifests.map((m) => m.digest),
      ...discovery.referrers.map((r) => r.digest),
    ];
    const remove = request.removeStrayReferrersTags === true;
    // The source is looked at where its tag list was read anyway, and cleaned only when this
    // run writes to it; other targets are looked at when cleaning was asked for.
    const repos = [source, ...(remove ? groups.map(repositoryOf).filter((r) => r !== source) : [])];
    for (const repo of repos) {
      const writes = repo !== source || tagsSource;
      const found = await strayReferrersTags(repo, digests, {
        remove: remove && writes,
        dryRun: request.dryRun,
        logger: log,
      });
      result.strayReferrersTags.push(...found);
    }
    for (const stray of result.strayReferrersTags) {
      if (stray.outcome === 'removed') continue;
      const w =
        stray.outcome === 'would remove'
          ? `[dry run] would remove the stray referrers tag ${stray.reference}`
          : `Stray referrers tag ${stray.reference}: the repository has the referrers API, so this tag is a leftover of a client that did not check${
              stray.outcome === 'kept'
                ? `; kept because ${stray.reason}`
                : remove
                  ? ' (on a repository this run only reads)'
                  : ''
            }`;
      log.warning(w);
      result.warnings.push(w);
    }
  }
  return result;
}

async function discoverAll(source: Repository, manifest: FetchedManifest, children: boolean, opts: PromotionOptions) {
  const discover = (digest: string) =>
    discoverReferrers(source, digest, {
      maxDepth: opts.maxReferrerDepth,
      maxCount: opts.maxReferrers,
      concurrency: opts.concurrency,
      logger: opts.logger,
    });
  const root = await discover(manifest.digest);
  if (!children) return root;
  // Per-platform attestations and signatures refer to the child manifests of an index.
  const parsed = parseManifest(manifest.bytes, manifest.mediaType);
  const perChild = await mapLimit(parsed.manifests, opts.concurrency, (child) => discover(child.digest));
  const seen = new Set(root.referrers.map((r) => r.digest));
  const referrers = [...root.referrers];
  for (const d of perChild)
    for (const r of d.referrers) if (!seen.has(r.digest) && seen.add(r.digest)) referrers.push(r);
  return { referrers, warnings: [...root.warnings, ...perChild.flatMap((d) => d.warnings)] };
}

/** The descriptor a referrers index lists for a referrer: with its artifactType and annotations. */
function indexDescriptor(r: ReferrerInfo): Descriptor {
  return {
    mediaType: r.mediaType,
    digest: r.digest,
    size: r.size,
    ...(r.artifactType !== undefined && { artifactType: r.artifactType }),
    ...(r.annotations && { annotations: r.annotations }),
  };
}

/** Returns the copied referrers whose discoverability the target has not proved yet. */
async function copyInto(
  source: Repository,
  target: Repository,
  manifest: FetchedManifest,
  referrers: ReferrerInfo[],
  request: PromotionRequest,
  opts: PromotionOptions,
  result: PromotionResult,
  rootPresent = false,
): Promise<ReferrerInfo[]> {
  const where = formatRepository(target);
  const unverified: ReferrerInfo[] = [];
  const plan = new PlanRecorder(where);
  // A dry run walks the same graph with the same reads, and writes nothing.
  const copier = new GraphCopier(source, target, {
    concurrency: opts.concurrency,
    logger: opts.logger,
    dryRun: request.dryRun,
    plan,
    ...(opts.hooks && { hooks: opts.hooks }),
  });
  const root = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
  if (rootPresent) copier.knownPresent(root);
  // The referrers' own content is fetched and copied while the image graph is; each referrer
  // manifest is pushed only once its subject is in the target.
  const work: Promise<unknown>[] = [copier.copyManifest(root, manifest)];
  if (request.copyReferrers) {
    work.push(
      copyReferrers(source, target, copier, manifest, referrers, opts, result, plan, request.dryRun).then((u) =>
        unverified.push(...u),
      ),
    );
  }
  await settleAll(work);
  result.plan.push(plan.plan());
  const s = copier.stats;
  for (const k of Object.keys(s) as (keyof CopyStats)[]) result.copy[k] += s[k];
  const would = request.dryRun ? '[dry run] would be: ' : '';
  opts.logger.info(
    `${where}: ${would}${s.manifestsCopied} manifest(s) copied, ${s.manifestsPresent} already there; ${s.blobsUploaded} blob(s) uploaded (${s.bytesUploaded} bytes), ${s.blobsMounted} mounted, ${s.blobsPresent} already there`,
  );
  return unverified;
}

/**
 * Copies the referrers, level by level so that subjects come first, and makes them
 * discoverable on the target. What the target already lists is not copied again; a subject this
 * run created can have nothing listed, so neither a listing nor an existence check is spent on
 * its referrers. Returns what still needs verifying: referrers pushed to a registry with the API
 * that did not confirm the subject it indexed (OCI-Subject).
 */
async function copyReferrers(
  source: Repository,
  target: Repository,
  copier: GraphCopier,
  manifest: FetchedManifest,
  referrers: ReferrerInfo[],
  opts: PromotionOptions,
  result: PromotionResult,
  plan: PlanRecorder,
  dryRun: boolean,
): Promise<ReferrerInfo[]> {
  const side = <T>(work: Promise<T>) => onSide('target', target, work);
  const limited = <T>(fn: () => Promise<T>) => copier.limit(() => side(fn()));
  const unverified: ReferrerInfo[] = [];
  const listed = new Map<string, Set<string>>();
  // Once the root's existence check answered, its children's copies are under way too, so
  // willCreate answers for every subject of the first level.
  const rootFresh = await copier.willCreate(manifest.digest);
  // Whether the target has the referrers API, learned once and only when needed. Within one
  // registry the source's answer says. Otherwise a probe, sent only where the repository surely
  // exists (a registry may answer 404 NAME_UNKNOWN for a repository it has never seen, which
  // says nothing about the API): at once when the root was already there, else once the root
  // is in. A dry run cannot wait for that: its answer is then unknown (the first write tells).
  let apiAnswer: Promise<boolean | undefined> | undefined;
  const learnApi = (): Promise<boolean | undefined> => {
    apiAnswer ??= (async () => {
      const known = target.capabilities().referrersApi;
      if (known !== undefined) return known;
      if (rootFresh) {
        if (dryRun) return undefined;
        await copier.whenCopied(manifest.digest);
      }
      const probe = await limited(() => target.probeReferrersApi(manifest.digest));
      if (probe && !rootFresh) listed.set(manifest.digest, new Set(probe.descriptors.map((d) => d.digest)));
      return target.capabilities().referrersApi ?? false;
    })();
    return apiAnswer;
  };
  if (!rootFresh) await learnApi();
  const listedByOf = (api: boolean | undefined): PlanNode['listedBy'] =>
    api === undefined ? undefined : api ? 'referrers API' : 'referrers tag';
  const referrerNode = (r: ReferrerInfo) => ({
    kind: 'referrer' as const,
    parent: r.subject,
    ...(r.artifactType !== undefined && { artifactType: r.artifactType }),
  });

  const depths = [...new Set(referrers.map((r) => r.depth))].sort((a, b) => a - b);
  for (const depth of depths) {
    const bySubject = new Map<string, ReferrerInfo[]>();
    for (const r of referrers) {
      if (r.depth !== depth) continue;
      const list = bySubject.get(r.subject);
      if (list) list.push(r);
      else bySubject.set(r.subject, [r]);
    }
    const subjects = [...bySubject.keys()];
    // Every subject at once: the requests take slots of the copy's limit, the waits do not.
    await settleAll(
      subjects.map(async (subject) => {
        // A subject this run creates has nothing listed: no listing, no existence checks, and
        // its referrers' content is copied while it is; each referrer is pushed after it.
        const fresh = await copier.willCreate(subject);
        if (!fresh && !listed.has(subject)) {
          const descriptors = (await learnApi())
            ? (await limited(() => target.listReferrers(subject))).descriptors
            : (await limited(() => target.readReferrersIndex(subject))).descriptors;
          listed.set(subject, new Set(descriptors.map((d) => d.digest)));
        }
        const already = listed.get(subject) ?? new Set<string>();
        const wanted = bySubject.get(subject)!;
        const after = fresh ? copier.whenCopied(subject) : undefined;
        // Observed at once: the copies below await it only when their turn comes.
        after?.catch(() => undefined);
        const copied = await settleAll(
          wanted
            .filter((r) => !already.has(r.digest))
            .map(async (r) => {
              // Not listed by the API means absent; not listed in a referrers tag may still be
              // present (a run that died before updating the index), so check then.
              const assumeAbsent = fresh || (await learnApi()) === true;
              const outcome = await copier.copyManifest(indexDescriptor(r), undefined, {
                assumeAbsent,
                ...(after && { after }),
                node: referrerNode(r),
              });
              return { r, outcome };
            }),
        );
        if (after) await after;
        const api = await learnApi();
        const listedBy = listedByOf(api);
        for (const r of wanted) {
          if (already.has(r.digest)) {
            plan.record({
              digest: r.digest,
              action: 'present',
              mediaType: r.mediaType,
              size: r.size,
              ...referrerNode(r),
            });
          }
          if (listedBy) plan.annotate(r.digest, { listedBy });
        }
        for (const { r, outcome } of copied) {
          if (api && outcome.pushed?.ociSubject !== subject) unverified.push(r);
        }
        if (api === true || wanted.every((r) => already.has(r.digest))) return;
        const tag = referrersTagFor(subject);
        const outcome = await side(
          mergeIntoReferrersIndex(target, subject, wanted.map(indexDescriptor), {
            ...DEFAULT_INDEX_MERGE_OPTIONS,
            settleMs: opts.indexSettleMs,
            logger: opts.logger,
            limit: copier.limit.bind(copier),
            dryRun,
          }),
        );
        const written = outcome.wrote || outcome.wouldWrite === true;
        plan.record({
          kind: 'referrers-tag',
          digest: subject,
          tag,
          action: !written ? 'present' : outcome.existed ? 'merge' : 'create',
          mediaType: MediaType.OciIndex,
          parent: subject,
          ...(api === undefined && { condition: 'if the target has no referrers API (its first write will tell)' }),
        });
        if (written && api !== undefined) {
          result.referrersTags.push(formatReferenceIn(target, tag));
          opts.logger.info(
            `${dryRun ? '[dry run] would update' : 'Updated'} the referrers tag ${formatReferenceIn(target, tag)} (${wanted.length} referrer(s) of ${subject})`,
          );
        }
      }),
    );
  }
  await copyCosignAttachments(source, target, copier, manifest.digest, opts, plan, dryRun);
  return unverified;
}

async function copyCosignAttachments(
  source: Repository,
  target: Repository,
  copier: GraphCopier,
  digest: string,
  opts: PromotionOptions,
  plan: PlanRecorder,
  dryRun: boolean,
): Promise<void> {
  await mapLimit(COSIGN_SUFFIXES, opts.concurrency, async (suffix) => {
    const tag = `${referrersTagFor(digest)}.${suffix}`;
    // One listing of the source's tags answers for all three, where the registry lists them.
    if ((await source.hasDigestTag(tag)) === false) return;
    const found = await onSide('source', source, source.statManifest(tag));
    if (!found) return;
    await copier.copyManifest({ mediaType: found.mediaType, digest: found.digest, size: found.size }, undefined, {
      node: { parent: digest },
    });
    const there = await onSide('target', target, target.statManifest(tag));
    const needed = there?.digest !== found.digest;
    // The tag names the digest it is attached to: it waits until that is in the target.
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
    if (needed) opts.logger.info(`${dryRun ? '[dry run] would copy' : 'Copied'} cosign attachment ${tag}`);
  });
}

async function tagAll(
  repo: Repository,
  targets: Reference[],
  manifest: FetchedManifest,
  before: Map<string, ManifestInfo | undefined>,
  dryRun: boolean,
  opts: PromotionOptions,
  labelSide: boolean,
): Promise<{ results: TargetResult[]; unconfirmed: Reference[] }> {
  const side = <T>(work: Promise<T>) => (labelSide ? onSide('target', repo, work) : work);
  const tagged = targets.filter((t) => t.tag !== undefined);
  const unconfirmed: Reference[] = [];
  const results = await mapLimit(tagged, opts.concurrency, async (target): Promise<TargetResult> => {
    const tag = target.tag!;
    const reference = formatReference({ registry: target.registry, repository: target.repository, tag });
    const current = before.get(formatReference(target));
    if (current?.digest === manifest.digest) {
      opts.logger.info(`${reference} is already ${manifest.digest}: unchanged`);
      return { reference, digest: manifest.digest, status: 'unchanged' };
    }
    const status: TargetStatus = current ? 'updated' : 'created';
    // A PUT answered with our digest (Docker-Content-Digest) proves the tag; else verify reads it.
    if (!dryRun && !(await side(repo.pushManifest(tag, manifest))).digestConfirmed) unconfirmed.push(target);
    opts.logger.info(`${dryRun ? '[dry run] would tag' : 'Tagged'} ${reference} -> ${manifest.digest} (${status})`);
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

interface Unproved {
  repo: Repository;
  /** Tags whose PUT was not answered with the digest. */
  tags: Reference[];
  /** Referrers pushed to a registry with the API that did not name the subject it indexed. */
  referrers: ReferrerInfo[];
}

/**
 * Checks that every target resolves to the digest and every copied referrer is discoverable.
 * Most of it was proved on the way by the registries' own answers: a tag PUT answered with our
 * digest, an existence check, a referrers index read back after it was written, a referrer PUT
 * answered with OCI-Subject. Only what was not is read again here.
 */
async function verify(unproved: Unproved[], manifest: FetchedManifest, opts: PromotionOptions): Promise<void> {
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
    await mapLimit(subjects, opts.concurrency, async (subject) => {
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
  opts.logger.info(
    `Verified: every target resolves to the digest and every copied referrer is discoverable (${reads} read(s) beyond what the copy proved)`,
  );
}

/** Cosign's tag-based attachments and the artifact types they stand for in the policy gate. */
const COSIGN_TYPES: Record<string, string[]> = {
  sig: ['application/vnd.dev.cosign.simplesigning.v1+json', 'application/vnd.dev.cosign.artifact.sig.v1+json'],
  att: ['application/vnd.dsse.envelope.v1+json', 'application/vnd.in-toto+json'],
  sbom: ['application/spdx+json', 'text/spdx', 'application/vnd.cyclonedx+json', 'application/vnd.cyclonedx'],
};

/**
 * The policy gate: every required artifact type must be among the referrers of the promoted
 * manifest (scope `root`) or of every child of the index (`per-platform`), before any write.
 * Cosign's `.sig`/`.att`/`.sbom` tags count for the types they carry.
 */
async function checkRequiredReferrers(
  source: Repository,
  manifest: FetchedManifest,
  referrers: ReferrerInfo[],
  required: string[],
  scope: 'root' | 'per-platform',
): Promise<void> {
  const parsed = parseManifest(manifest.bytes, manifest.mediaType);
  const subjects =
    scope === 'per-platform' && parsed.isIndex ? parsed.manifests.map((m) => m.digest) : [manifest.digest];
  const missing: string[] = [];
  for (const subject of subjects) {
    const have = new Set(referrers.filter((r) => r.subject === subject && r.artifactType).map((r) => r.artifactType!));
    for (const [suffix, types] of Object.entries(COSIGN_TYPES)) {
      if (!required.some((t) => types.includes(t))) continue;
      const tag = `${referrersTagFor(subject)}.${suffix}`;
      if ((await source.hasDigestTag(tag)) === false) continue;
      if (await source.statManifest(tag)) for (const t of types) have.add(t);
    }
    const lacking = required.filter((t) => !have.has(t));
    if (lacking.length > 0) missing.push(`${subject} has no ${lacking.join(', ')}`);
  }
  if (missing.length > 0) {
    throw new PromotionError(`require-referrers: ${missing.join('; ')}. Nothing was written.`);
  }
}

/** `*` matches any run of characters; everything else literally. */
function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/**
 * The referrers to copy: those whose artifactType matches one of the patterns, and only where
 * their subject is copied too (a countersignature of an excluded signature stays behind).
 */
export function selectReferrers(referrers: ReferrerInfo[], patterns: string[] | undefined): ReferrerInfo[] {
  if (!patterns || patterns.length === 0) return referrers;
  const res = patterns.map(globToRegExp);
  const dropped = new Set<string>();
  const kept: ReferrerInfo[] = [];
  for (const r of [...referrers].sort((a, b) => a.depth - b.depth)) {
    if (dropped.has(r.subject) || !res.some((re) => re.test(r.artifactType ?? ''))) {
      dropped.add(r.digest);
      continue;
    }
    kept.push(r);
  }
  return kept;
}
