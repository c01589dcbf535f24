import { onSide } from './copy-error.js';
import { emptyStats, type CopyStats } from './copy.js';
import { checkRequiredReferrers, selectReferrers } from './policy.js';
import { mapLimit, settleAll } from './pool.js';
import { discoverPromotionReferrers, type Discovery } from './referrers.js';
import {
  DEFAULT_PROMOTION_OPTIONS,
  PromotionError,
  checkRequest,
  type PromotionOptions,
  type PromotionRequest,
  type PromotionResult,
} from './request.js';
import { reviewStrayReferrersTags } from './stray-tags.js';
import { tagTargets } from './tagging.js';
import { TargetCopy, type TargetCopyReport } from './target-copy.js';
import { verifyPromotion, type Unproved } from './verify.js';
import { parseManifest } from '../oci/manifest.js';
import { phased } from '../oci/phase.js';
import { formatReference, formatRepository, sameRepository, type Reference } from '../oci/reference.js';
import type { FetchedManifest, ManifestInfo, Repository, RepositoryProvider } from '../registry/types.js';

// Each step runs within its phase, which the request trace names (src/oci/phase.ts).
const resolve = phased('resolve', (repo: Repository, reference: string) => repo.fetchManifest(reference));
const lookAtTags = phased('look at tags', lookAtTargetTags);
const discover = phased('discover', discoverPromotionReferrers);
const checkGate = phased('policy', checkRequiredReferrers);
const tag = phased('tag', tagTargets);
const verify = phased('verify', verifyPromotion);
const reviewStrayTags = phased('stray tags', reviewStrayReferrersTags);

export {
  DEFAULT_PROMOTION_OPTIONS,
  PromotionError,
  checkRequest,
  type PromotionOptions,
  type PromotionRequest,
  type PromotionResult,
  type TargetResult,
  type TargetStatus,
} from './request.js';

/** The targets in one repository, and the repository they are written through. */
interface TargetGroup {
  repo: Repository;
  targets: Reference[];
  /** The source's own repository: its targets are tags of what is there, nothing is copied. */
  isSource: boolean;
}

/**
 * Promotes the source manifest to each target. This function is the order of a promotion;
 * each step has a module of its own.
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
  const byRepository = groupTargets(request.source, request.targets);
  const retagsSource = byRepository.some((targets) => sameRepository(targets[0]!, request.source));
  const copying = byRepository.some((targets) => !sameRepository(targets[0]!, request.source));
  // Which side failed is worth saying only when there are two sides.
  const sourceSide = <T>(work: Promise<T>) => (copying ? onSide('source', source, work) : work);

  // 1. Resolve the source.
  const source = registry.repository(request.source, retagsSource && !request.dryRun ? 'push' : 'pull');
  const manifest = await sourceSide(resolve(source, (request.source.digest ?? request.source.tag)!));
  log.info(
    `Resolved ${formatReference(request.source)} to ${manifest.digest} (${manifest.mediaType}, ${manifest.size} bytes)`,
  );
  checkTargetDigests(request.targets, manifest);
  const groups: TargetGroup[] = byRepository.map((targets) => {
    const isSource = sameRepository(targets[0]!, request.source);
    const repo = isSource ? source : registry.repository(targets[0]!, request.dryRun ? 'pull' : 'push');
    return { repo, targets, isSource };
  });

  // 2. Every target tag is looked at before anything is written (for the overwrite guard, and
  // so that the statuses say what the tags were before this run), while the referrers are found.
  const lookingAtTags = lookAtTags(groups, opts.concurrency);
  // Observed either way, so that a failure of one does not leave the other unhandled.
  lookingAtTags.catch(() => undefined);
  const gate = (request.requireReferrers?.length ?? 0) > 0;
  const perPlatformGate = gate && request.requireReferrersScope === 'per-platform';
  // Within one repository the referrers stay where they are: looking them up would only fill
  // an output, so it is done only for the policy gate or to copy them elsewhere.
  const lookUpReferrers = (copying && request.copyReferrers) || gate || request.removeStrayReferrersTags === true;
  const [discovery, before] = await Promise.all([
    lookUpReferrers
      ? sourceSide(
          discover(source, manifest, {
            children: (copying && request.copyReferrers) || perPlatformGate,
            maxDepth: opts.maxReferrerDepth,
            maxCount: opts.maxReferrers,
            concurrency: opts.concurrency,
            logger: log,
          }),
        )
      : Promise.resolve<Discovery>({ referrers: [], warnings: [] }),
    lookingAtTags,
  ]);
  for (const w of discovery.warnings) log.warning(w);
  if (lookUpReferrers) log.info(`Found ${discovery.referrers.length} referrer(s)`);

  // 3. The policy gate (a refusal is not a registry failure: its message stands without a
  // side), then the referrers to copy.
  if (request.requireReferrers?.length) {
    await checkGate(source, manifest, discovery.referrers, {
      required: request.requireReferrers,
      scope: request.requireReferrersScope ?? 'root',
    });
    log.info(`Policy: the source has every required referrer type (${request.requireReferrers.join(', ')})`);
  }
  const toCopy = selectReferrers(discovery.referrers, request.referrerTypes);
  if (toCopy.length !== discovery.referrers.length) {
    log.info(`referrer-types selects ${toCopy.length} of ${discovery.referrers.length} referrer(s) to copy`);
  }

  // 4. The overwrite guard.
  if (request.overwrite === false) refuseToMoveTags(before, manifest);

  // 5. Every graph first (into each other repository at once), every tag after: a failed copy
  // leaves no tag moved anywhere.
  const copies: TargetCopyReport[] = await settleAll(
    groups
      .filter((group) => !group.isSource)
      .map((group) =>
        new TargetCopy({
          source,
          target: group.repo,
          manifest,
          referrers: toCopy,
          copyReferrers: request.copyReferrers,
          dryRun: request.dryRun,
          // A tag there that already names the digest proves the whole image graph is there.
          rootPresent: group.targets.some((t) => before.get(formatReference(t))?.digest === manifest.digest),
          concurrency: opts.concurrency,
          logger: log,
          indexSettleMs: opts.indexSettleMs,
          ...(opts.hooks && { hooks: opts.hooks }),
        }).run(),
      ),
  );

  // 6. The tags.
  const tagging = await Promise.all(
    groups.map((group) =>
      tag(group.repo, group.targets, {
        manifest,
        before,
        dryRun: request.dryRun,
        labelSide: !group.isSource,
        concurrency: opts.concurrency,
        logger: log,
      }),
    ),
  );

  // What the run learned of each repository, as the copy and the tags left it.
  const capabilities: PromotionResult['capabilities'] = {};
  for (const group of groups) capabilities[formatRepository(group.targets[0]!)] = group.repo.capabilities();
  capabilities[formatRepository(request.source)] = source.capabilities();

  // 7. Verification of what the registries' own answers have not proved yet.
  if (opts.verify && !request.dryRun) {
    const copied = groups.filter((group) => !group.isSource);
    const unproved: Unproved[] = [
      ...copies.map((report, i) => ({ repo: copied[i]!.repo, tags: [], referrers: report.unverified })),
      ...groups.map((group, i) => ({ repo: group.repo, tags: tagging[i]!.unconfirmed, referrers: [] })),
    ];
    await verify(unproved, manifest, opts);
  }

  // 8. Stray referrers tags of the promoted manifest, its children and its referrers. The
  // source is looked at where its tag list was read anyway, and cleaned only when this run
  // writes to it; other targets are looked at when cleaning was asked for.
  const remove = request.removeStrayReferrersTags === true;
  const stray = lookUpReferrers
    ? await reviewStrayTags(
        [
          { repo: source, writes: retagsSource },
          ...(remove ? groups.filter((g) => !g.isSource).map((g) => ({ repo: g.repo, writes: true })) : []),
        ],
        [
          manifest.digest,
          ...parseManifest(manifest.bytes, manifest.mediaType).manifests.map((m) => m.digest),
          ...discovery.referrers.map((r) => r.digest),
        ],
        { remove, dryRun: request.dryRun, logger: log },
      )
    : { tags: [], warnings: [] };

  return {
    source: formatReference(request.source),
    digest: manifest.digest,
    mediaType: manifest.mediaType,
    size: manifest.size,
    dryRun: request.dryRun,
    targets: tagging.flatMap((t) => t.results),
    referrers: discovery.referrers,
    referrersLookedUp: lookUpReferrers,
    capabilities,
    referrersTags: copies.flatMap((c) => c.referrersTags),
    copy: sumStats(copies.map((c) => c.stats)),
    plan: copies.map((c) => c.plan),
    strayReferrersTags: stray.tags,
    warnings: [...discovery.warnings, ...stray.warnings],
  };
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

function checkTargetDigests(targets: Reference[], manifest: FetchedManifest): void {
  for (const t of targets) {
    if (t.digest !== undefined && t.digest !== manifest.digest) {
      throw new PromotionError(
        `The target ${formatReference(t)} names another digest than the source resolved to (${manifest.digest})`,
      );
    }
  }
}

/** What each target tag names now, by formatted reference (undefined: the tag does not exist). */
async function lookAtTargetTags(
  groups: TargetGroup[],
  concurrency: number,
): Promise<Map<string, ManifestInfo | undefined>> {
  const before = new Map<string, ManifestInfo | undefined>();
  const tags = groups.flatMap((group) => group.targets.filter((t) => t.tag !== undefined).map((t) => ({ group, t })));
  await mapLimit(tags, concurrency, async ({ group, t }) => {
    const found = group.repo.statManifest(t.tag!);
    before.set(formatReference(t), await (group.isSource ? found : onSide('target', group.repo, found)));
  });
  return before;
}

/** overwrite: false. A target tag that points at another digest fails the run before any write. */
function refuseToMoveTags(before: Map<string, ManifestInfo | undefined>, manifest: FetchedManifest): void {
  const moving = [...before].filter(([, info]) => info !== undefined && info.digest !== manifest.digest);
  if (moving.length === 0) return;
  throw new PromotionError(
    `overwrite is false and ${moving.length === 1 ? 'a target tag points' : 'target tags point'} at another digest: ${moving
      .map(([ref, info]) => `${ref} is ${info!.digest}, not ${manifest.digest}`)
      .join('; ')}. Nothing was written.`,
  );
}

function sumStats(all: CopyStats[]): CopyStats {
  const total = emptyStats();
  for (const s of all) for (const k of Object.keys(total) as (keyof CopyStats)[]) total[k] += s[k];
  return total;
}
