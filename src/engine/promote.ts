import type { Logger } from './logger.js';
import { SILENT_LOGGER } from './logger.js';
import { mapLimit } from './pool.js';
import { DEFAULT_DISCOVER_OPTIONS, discoverReferrers, type ReferrerInfo } from './referrers.js';
import { formatReference, formatRepository, sameRepository, type Reference } from '../oci/reference.js';
import type { FetchedManifest, RepositoryCapabilities, RepositoryProvider } from '../registry/types.js';

export interface PromotionRequest {
  source: Reference;
  /** Each target names a tag; targets in another repository are copied there (graph copy). */
  targets: Reference[];
  copyReferrers: boolean;
  dryRun: boolean;
}

export interface PromotionOptions {
  concurrency: number;
  maxReferrerDepth: number;
  maxReferrers: number;
  logger: Logger;
}

export const DEFAULT_PROMOTION_OPTIONS: PromotionOptions = {
  concurrency: DEFAULT_DISCOVER_OPTIONS.concurrency,
  maxReferrerDepth: DEFAULT_DISCOVER_OPTIONS.maxDepth,
  maxReferrers: DEFAULT_DISCOVER_OPTIONS.maxCount,
  logger: SILENT_LOGGER,
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
  /** Keyed by `registry/repository`. */
  capabilities: Record<string, RepositoryCapabilities>;
  /** Referrers-schema tags this run wrote (never any when tagging within a repository). */
  referrersTags: string[];
  warnings: string[];
}

export class PromotionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PromotionError';
  }
}

/** Checks what can be checked before the first request, so that a bad request writes nothing. */
export function checkRequest(request: PromotionRequest): void {
  if (request.targets.length === 0) throw new PromotionError('No targets given');
  for (const target of request.targets) {
    if (!sameRepository(request.source, target)) {
      throw new PromotionError(
        `The target ${formatReference(target)} is in another repository than the source (${formatRepository(request.source)}); promotion across repositories is not supported yet`,
      );
    }
    if (target.tag === undefined) {
      throw new PromotionError(
        `The target ${formatReference(target)} names no tag: within one repository a target is a tag`,
      );
    }
  }
}

/**
 * Promotes the source manifest to each target tag in its repository: a tag is a PUT of the same
 * bytes with the same media type. distribution-spec v1.1 "Pushing Manifests with Subject": the
 * referrers tag schema is maintained by clients pushing new content; tagging an existing manifest
 * is not that, so no `sha256-*` tag is read for writing or written here, whatever the manifest's
 * subject and whatever the registry supports.
 */
export async function promote(
  registry: RepositoryProvider,
  request: PromotionRequest,
  options: Partial<PromotionOptions> = {},
): Promise<PromotionResult> {
  const opts = { ...DEFAULT_PROMOTION_OPTIONS, ...options };
  const log = opts.logger;
  checkRequest(request);

  const repo = registry.repository(request.source, request.dryRun ? 'pull' : 'push');
  const sourceRef = request.source.digest ?? request.source.tag;
  if (sourceRef === undefined)
    throw new PromotionError(`The source ${formatReference(request.source)} names neither a tag nor a digest`);

  const manifest: FetchedManifest = await repo.fetchManifest(sourceRef);
  log.info(
    `Resolved ${formatReference(request.source)} to ${manifest.digest} (${manifest.mediaType}, ${manifest.size} bytes)`,
  );

  const discovery = await discoverReferrers(repo, manifest.digest, {
    maxDepth: opts.maxReferrerDepth,
    maxCount: opts.maxReferrers,
    concurrency: opts.concurrency,
    logger: log,
  });
  for (const w of discovery.warnings) log.warning(w);
  log.info(`Found ${discovery.referrers.length} referrer(s) of ${manifest.digest}`);

  const targets = await mapLimit(
    uniqueTargets(request.targets),
    opts.concurrency,
    async (target): Promise<TargetResult> => {
      const tag = target.tag!;
      const reference = formatReference(target);
      const current = await repo.statManifest(tag);
      if (current?.digest === manifest.digest) {
        log.info(`${reference} is already ${manifest.digest}: unchanged`);
        return { reference, digest: manifest.digest, status: 'unchanged' };
      }
      const status: TargetStatus = current ? 'updated' : 'created';
      if (!request.dryRun) await repo.pushManifest(tag, manifest);
      log.info(`${request.dryRun ? '[dry run] would tag' : 'Tagged'} ${reference} -> ${manifest.digest} (${status})`);
      return { reference, digest: manifest.digest, status, ...(current && { previous: current.digest }) };
    },
  );

  return {
    source: formatReference(request.source),
    digest: manifest.digest,
    mediaType: manifest.mediaType,
    size: manifest.size,
    dryRun: request.dryRun,
    targets,
    referrers: discovery.referrers,
    capabilities: { [formatRepository(request.source)]: repo.capabilities() },
    referrersTags: [],
    warnings: discovery.warnings,
  };
}

/** The same target written twice in the input is promoted once. */
function uniqueTargets(targets: Reference[]): Reference[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const key = formatReference(t);
    return !seen.has(key) && seen.add(key);
  });
}
