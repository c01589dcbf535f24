import { Outputs } from './constants.js';
import type { PromotionResult } from '../engine/promote.js';

/** The action's outputs as strings, computed without touching the runner. */
export function buildOutputs(
  result: PromotionResult,
): Record<Exclude<(typeof Outputs)[keyof typeof Outputs], typeof Outputs.TraceFile>, string> {
  return {
    [Outputs.Digest]: result.digest,
    [Outputs.MediaType]: result.mediaType,
    [Outputs.Targets]: JSON.stringify(
      result.targets.map((t) => ({ reference: t.reference, digest: t.digest, status: t.status })),
    ),
    [Outputs.Referrers]: JSON.stringify(
      result.referrers.map((r) => ({
        digest: r.digest,
        mediaType: r.mediaType,
        artifactType: r.artifactType ?? null,
        subject: r.subject,
        annotations: r.annotations ?? {},
      })),
    ),
    [Outputs.Capabilities]: JSON.stringify(
      Object.fromEntries(
        Object.entries(result.capabilities).map(([repo, c]) => [
          repo,
          {
            referrersApi: c.referrersApi ?? null,
            ociSubjectHeader: c.ociSubjectHeader ?? null,
            blobMount: c.blobMount ?? null,
            referrersTagAliasesDigest: c.referrersTagAliasesDigest ?? null,
          },
        ]),
      ),
    ),
    [Outputs.ReferrersTags]: JSON.stringify(result.referrersTags),
    [Outputs.StrayReferrersTags]: JSON.stringify(
      result.strayReferrersTags.map((t) => ({
        reference: t.reference,
        outcome: t.outcome,
        ...(t.reason && { reason: t.reason }),
      })),
    ),
  };
}
