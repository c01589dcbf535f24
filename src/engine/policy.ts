/**
 * What a promotion demands of the source and what it takes along: the policy gate
 * (require-referrers), the referrer-types selection, and cosign's tag-based attachments.
 */
import type { ReferrerChecks } from './referrer-checks.js';
import type { ReferrerInfo } from './referrers.js';
import { PromotionError } from './request.js';
import { referrersTagFor } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import type { FetchedManifest, Repository } from '../registry/types.js';

/**
 * Cosign's tag-based attachments of a digest (`sha256-<hex>.<suffix>`), still what many signing
 * workflows produce, and the artifact types each stands for in the policy gate.
 */
export const COSIGN_ATTACHMENTS = {
  sig: ['application/vnd.dev.cosign.simplesigning.v1+json', 'application/vnd.dev.cosign.artifact.sig.v1+json'],
  att: ['application/vnd.dsse.envelope.v1+json', 'application/vnd.in-toto+json'],
  sbom: ['application/spdx+json', 'text/spdx', 'application/vnd.cyclonedx+json', 'application/vnd.cyclonedx'],
} as const satisfies Record<string, readonly string[]>;

export type CosignSuffix = keyof typeof COSIGN_ATTACHMENTS;

export const COSIGN_SUFFIXES = Object.keys(COSIGN_ATTACHMENTS) as CosignSuffix[];

/** The tag of a cosign attachment of `digest`: `sha256-<hex>.sig`. */
export function cosignTag(digest: string, suffix: CosignSuffix): string {
  return `${referrersTagFor(digest)}.${suffix}`;
}

export interface GateOptions {
  /** Artifact types that must be there. */
  required: string[];
  /** `root`: on the promoted manifest; `per-platform`: on every child of an index. */
  scope: 'root' | 'per-platform';
  /** Where a referrer listed by a referrers tag is checked against its manifest. */
  checks: ReferrerChecks;
}

/**
 * The policy gate: every required artifact type must be among the referrers of the promoted
 * manifest (scope `root`) or of every child of the index (`per-platform`), before any write.
 * Cosign's `.sig`/`.att`/`.sbom` tags count for the types they carry. A referrer counts only
 * where its manifest is in the source and names that subject (see ReferrerChecks).
 */
export async function checkRequiredReferrers(
  source: Repository,
  manifest: FetchedManifest,
  referrers: ReferrerInfo[],
  options: GateOptions,
): Promise<void> {
  const parsed = parseManifest(manifest.bytes, manifest.mediaType);
  const subjects =
    options.scope === 'per-platform' && parsed.isIndex ? parsed.manifests.map((m) => m.digest) : [manifest.digest];
  const missing: string[] = [];
  for (const subject of subjects) {
    const have = new Set<string>();
    for (const type of options.required) {
      // A referrers tag's entry counts once its manifest proved it: one read per required type
      // at most, while the candidates of that type last.
      for (const r of referrers.filter((x) => x.subject === subject && x.artifactType === type)) {
        if (!(await options.checks.check(r)).dangling) {
          have.add(type);
          break;
        }
      }
    }
    for (const suffix of COSIGN_SUFFIXES) {
      const types: readonly string[] = COSIGN_ATTACHMENTS[suffix];
      if (!options.required.some((t) => types.includes(t))) continue;
      const tag = cosignTag(subject, suffix);
      if ((await source.hasDigestTag(tag)) === false) continue;
      if (await source.statManifest(tag)) for (const t of types) have.add(t);
    }
    const lacking = options.required.filter((t) => !have.has(t));
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
