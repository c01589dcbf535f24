import { onSide } from './copy-error.js';
import { emptyStats, type CopyStats } from './copy.js';
import { checkRequiredReferrers, selectReferrers } from './policy.js';
import { ReferrerChecks } from './referrer-checks.js';
import { mapLimit, settleAll } from './pool.js';
import {
  probeTargets,
  referrersAfterTags,
  reportDiscovery,
  startFirstReads,
  TAG_CONCURRENCY,
  type TargetGroup,
} from './first-reads.js';
import {
  DEFAULT_PROMOTION_OPTIONS,
  PromotionError,
  checkRequest,
  type PromotionOptions,
  type PromotionRequest,
  type PromotionResult,
} from './request.js';
import { reviewStrayReferrersTags } from './stray-tags.js';
import { refuseTargetsWithoutReferrersIndex } from './target-checks.js';
import { tagTargets } from './tagging.js';
import { TargetCopy, type TargetCopyReport } from './target-copy.js';
import type { Discovery } from './referrers.js';
import type { ListedOnTarget } from './target-checks.js';
import { verifyPromotion, type Unproved } from './verify.js';
import { parseManifest } from '../oci/manifest.js';
import { phased } from '../oci/phase.js';
import { formatReference, formatRepository, sameRepository, type Reference } from '../oci/reference.js';
import type { FetchedManifest, ManifestInfo, Repository, RepositoryProvider } from '../registry/types.js';

// Each step runs within its phase, which the request trace names (src/oci/phase.ts).
const checkGate = phased('policy', checkRequiredReferrers);
const tag = phased('tag', tagTargets);
const verify = phased('verify', verifyPromotion);
const reviewStrayTags = phased('stray tags', reviewStrayReferrersTags);
const checkTargets = phased('probe targets', refuseTargetsWithoutReferrersIndex);
const probeTargetApis = phased('probe targets', probeTargets);

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

  // 1 and 2. Every request that waits for no other starts at once (see first-reads.ts): the
  // source manifest, what each target tag names now (for the overwrite guard, and so that the
  // statuses say what the tags were before this run), and the source's referrers.
  const source = registry.repository(request.source, retagsSource && !request.dryRun ? 'push' : 'pull');
  const groups: TargetGroup[] = byRepository.map((targets) => {
    const isSource = sameRepository(targets[0]!, request.source);
    const repo = isSource ? source : registry.repository(targets[0]!, request.dryRun ? 'pull' : 'push');
    return { repo, targets, isSource };
  });
  const gate = (request.requireReferrers?.length ?? 0) > 0;
  const copiesReferrers = copying && request.copyReferrers;
  // What needs the referrers looks them up whatever discoverReferrers says.
  const lookUpReferrers =
    request.discoverReferrers !== false || copiesReferrers || gate || request.removeStrayReferrersTags === true;
  const reads = startFirstReads({
    source,
    reference: request.source,
    groups,
    lookUpReferrers,
    sourceSide,
    maxReferrerDepth: opts.maxReferrerDepth,
    maxReferrers: opts.maxReferrers,
    concurrency: opts.concurrency,
    logger: log,
  });
  const manifest = await reads.manifest;
  log.info(
    `Resolved ${formatReference(request.source)} to ${manifest.digest} (${manifest.mediaType}, ${manifest.size} bytes)`,
  );
  checkTargetDigests(request.targets, manifest);
  const before = await reads.before;

  // 3 and 4. What must hold before the first write: every referrer found (a plain retag does not
  // wait for them: they are found while the tags are written; the policy gate and a copy of the
  // referrers need them first), the policy gate, the overwrite guard, and targets that could not
  // list the referrers copied there. Entries of referrers tags count once their manifests prove
  // them, checked where the gate or a copy reads them.
  const checks = new ReferrerChecks(source, log);
  const referrersFirst = gate || copiesReferrers;
  const copyTargets = groups.filter((group) => !group.isSource);
  // The targets are looked at as soon as the source shows a referrer to copy, not once the
  // whole lookup ended: by then their answers are in.
  const targetChecks =
    copiesReferrers && request.copyReferrers
      ? reads.referrersSeen.then((found) =>
          found
            ? checkTargets(
                copyTargets.map((group) => ({
                  repo: group.repo,
                  existing: group.targets.flatMap((t) => before.get(formatReference(t))?.digest ?? []),
                })),
              )
            : undefined,
        )
      : Promise.resolve(undefined);
  targetChecks.catch(() => undefined);
  const checked = (async () => {
    const early = referrersFirst ? await reads.discovery : undefined;
    if (early) reportDiscovery(early, log);
    // The policy gate (a refusal is not a registry failure: its message stands without a side),
    // then the referrers to copy.
    if (early && request.requireReferrers?.length) {
      await checkGate(source, manifest, early.referrers, {
        required: request.requireReferrers,
        scope: request.requireReferrersScope ?? 'root',
        checks,
      });
      log.info(`Policy: the source has every required referrer type (${request.requireReferrers.join(', ')})`);
    }
    const found = early?.referrers ?? [];
    const toCopy = selectReferrers(found, request.referrerTypes);
    if (toCopy.length !== found.length) {
      log.info(`referrer-types selects ${toCopy.length} of ${found.length} referrer(s) to copy`);
    }
    if (request.overwrite === false) refuseToMoveTags(before, manifest);
    // A target's check matters only where referrers go there.
    const listedOnTargets =
      toCopy.length === 0 || !request.copyReferrers ? new Map<Repository, ListedOnTarget>() : await targetChecks;
    return { early, toCopy, listedOnTargets: listedOnTargets ?? new Map<Repository, ListedOnTarget>() };
  })();
  checked.catch(() => undefined);

  // 5. Every graph (into each other repository at once), every tag after: a failed copy leaves no
  // tag moved anywhere. Each copy starts now, reading what it can while the checks above run,
  // and writes only once they passed.
  const copyRuns = copyTargets.map((group) =>
    new TargetCopy({
      source,
      target: group.repo,
      manifest,
      checked: checked.then((c) => ({
        referrers: c.toCopy,
        ...(c.listedOnTargets.has(group.repo) && { listed: c.listedOnTargets.get(group.repo)! }),
      })),
      checks,
      copyReferrers: request.copyReferrers,
      dryRun: request.dryRun,
      // A tag there that already names the digest proves the whole image graph is there.
      rootPresent: group.targets.some((t) => before.get(formatReference(t))?.digest === manifest.digest),
      concurrency: opts.concurrency,
      logger: log,
      indexSettleMs: opts.indexSettleMs,
      ...(opts.hooks && { hooks: opts.hooks }),
    }).run(),
  );
  for (const run of copyRuns) run.catch(() => undefined);
  let early: Discovery | undefined;
  try {
    ({ early } = await checked);
  } catch (err) {
    // Nothing was written; the copies stop at their first write. Their reads end first.
    await Promise.allSettled(copyRuns);
    throw err;
  }
  const copies: TargetCopyReport[] = await settleAll(copyRuns);

  // 6. The referrers tags written are read back first: each listed its referrers once its write
  // landed, and the read-back finds out whether a concurrent writer dropped some since (and
  // merges again). Only then the tags, the last writes; meanwhile other registries' targets are
  // asked what they can do, where the copy did not have to (their repository exists now, so the
  // answer means something).
  await settleAll(copies.map((c) => c.indexesConfirmed));
  const [tagging, probed] = await settleInOrder(
    Promise.all(
      groups.map((group) =>
        tag(group.repo, group.targets, {
          manifest,
          before,
          dryRun: request.dryRun,
          labelSide: !group.isSource,
          concurrency: TAG_CONCURRENCY,
          logger: log,
        }),
      ),
    ),
    lookUpReferrers ? probeTargetApis(groups, manifest.digest, log) : Promise.resolve([]),
  );
  const discovery =
    early ??
    (await referrersAfterTags(
      reads.discovery,
      tagging.flatMap((t) => t.results),
      log,
    ));
  // The entries of referrers tags that nothing checked yet (a plain retag's): a dangling one is
  // no referrer, in the output too.
  if (!early) await mapLimit(discovery.referrers, opts.concurrency, (r) => checks.check(r));

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
    referrers: discovery.referrers.filter((r) => !checks.isDropped(r.digest)),
    referrersLookedUp: lookUpReferrers,
    referrersComplete: discovery.incomplete !== true,
    capabilities,
    referrersTags: copies.flatMap((c) => c.referrersTags),
    copy: sumStats(copies.map((c) => c.stats)),
    plan: copies.map((c) => c.plan),
    strayReferrersTags: stray.tags,
    warnings: [...discovery.warnings, ...probed, ...checks.warnings(), ...stray.warnings],
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

/** Waits for both, so neither is left running unobserved, then throws the first failure in argument order. */
async function settleInOrder<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  for (const r of [ra, rb]) if (r.status === 'rejected') throw r.reason;
  return [(ra as PromiseFulfilledResult<A>).value, (rb as PromiseFulfilledResult<B>).value];
}

function sumStats(all: CopyStats[]): CopyStats {
  const total = emptyStats();
  for (const s of all) for (const k of Object.keys(total) as (keyof CopyStats)[]) total[k] += s[k];
  return total;
}
