import { join } from 'node:path';
import { Outputs } from './constants.js';
import type { PromotionResult } from '../engine/promote.js';
import { UserFacingError } from '../oci/user-facing-error.js';

/**
 * What all inline outputs of one run may weigh together, as GitHub counts: UTF-16, 2 bytes per
 * character (its docs: "Size is approximated based on UTF-16 encoding"; the runner's
 * TemplateMemory counts a string as its length × sizeof(char)). GitHub allows 1 MB per output
 * and 1 MB for a job's outputs; half of that leaves room for the job's other outputs and for
 * what `fromJSON` adds when a workflow parses one.
 */
export const OUTPUT_BUDGET_UTF16_BYTES = 500_000;

/** The list outputs: each complete in a file, inline as much as fits. */
const LIST_OUTPUTS = [Outputs.Targets, Outputs.Referrers, Outputs.ReferrersTags, Outputs.StrayReferrersTags] as const;
type ListOutput = (typeof LIST_OUTPUTS)[number];

/** The output naming the file that holds a list output complete. */
export const FILE_OUTPUTS: Record<ListOutput, (typeof Outputs)[keyof typeof Outputs]> = {
  [Outputs.Targets]: Outputs.TargetsFile,
  [Outputs.Referrers]: Outputs.ReferrersFile,
  [Outputs.ReferrersTags]: Outputs.ReferrersTagsFile,
  [Outputs.StrayReferrersTags]: Outputs.StrayReferrersTagsFile,
};

/** The outputs this module sets (`trace-file` is set where the trace is written). */
export type OutputName = Exclude<(typeof Outputs)[keyof typeof Outputs], typeof Outputs.TraceFile>;

/** The outputs of a run, the files they name, and what to warn about; computed without touching the runner. */
export interface OutputPlan {
  outputs: Record<OutputName, string>;
  /** The complete lists, to be written before the outputs that name them are set. */
  files: { path: string; content: string }[];
  /** One per shortened output, naming the file output that has it whole. */
  warnings: string[];
}

/** The files of the list outputs could not be written (RUNNER_TEMP full or not writable). */
export class OutputFileError extends UserFacingError {}

/** A string's size as GitHub counts it. */
export function utf16Bytes(value: string): number {
  return value.length * 2;
}

/** Each list output's entries, as the outputs and the files give them. */
function listItems(result: PromotionResult): Record<ListOutput, unknown[]> {
  return {
    [Outputs.Targets]: result.targets.map((t) => ({ reference: t.reference, digest: t.digest, status: t.status })),
    [Outputs.Referrers]: result.referrers.map((r) => ({
      digest: r.digest,
      mediaType: r.mediaType,
      artifactType: r.artifactType ?? null,
      subject: r.subject,
      annotations: r.annotations ?? {},
    })),
    [Outputs.ReferrersTags]: result.referrersTags,
    [Outputs.StrayReferrersTags]: result.strayReferrersTags.map((t) => ({
      reference: t.reference,
      outcome: t.outcome,
      ...(t.reason && { reason: t.reason }),
    })),
  };
}

function capabilities(result: PromotionResult): string {
  return JSON.stringify(
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
  );
}

/**
 * Shares `budget` among lists of the given sizes: a list that fits in an equal share keeps its
 * size, and what it leaves goes to the larger ones (max-min fairness), so one huge list never
 * crowds out a small one.
 */
export function shareBudget(sizes: number[], budget: number): number[] {
  const order = sizes.map((size, i) => ({ size, i })).sort((a, b) => a.size - b.size);
  const shares = new Array<number>(sizes.length).fill(0);
  let left = Math.max(0, budget);
  order.forEach(({ size, i }, k) => {
    const share = Math.min(size, Math.floor(left / (order.length - k)));
    shares[i] = share;
    left -= share;
  });
  return shares;
}

/** The JSON of the longest prefix of `items` that weighs at most `budget` (UTF-16 bytes), and its length. */
export function fittingPrefix(items: unknown[], budget: number): { json: string; count: number } {
  const parts: string[] = [];
  let size = utf16Bytes('[]');
  for (const item of items) {
    const part = JSON.stringify(item);
    const next = size + utf16Bytes(part) + (parts.length > 0 ? utf16Bytes(',') : 0);
    if (next > budget) break;
    parts.push(part);
    size = next;
  }
  return { json: `[${parts.join(',')}]`, count: parts.length };
}

/**
 * The action's outputs. Every list output is written complete, as JSON, to a file in `dir`
 * (named by its `*-file` output); inline, all outputs together stay within `budget`, a list
 * that does not fit is shortened to its first entries (still a JSON array), and
 * `truncated-outputs` names each list so shortened.
 */
export function planOutputs(
  result: PromotionResult,
  { dir, budget = OUTPUT_BUDGET_UTF16_BYTES }: { dir: string; budget?: number },
): OutputPlan {
  const items = listItems(result);
  const files = LIST_OUTPUTS.map((name) => ({ name, path: join(dir, `${name}.json`) }));
  const fixed: Omit<Record<OutputName, string>, ListOutput | typeof Outputs.TruncatedOutputs> = {
    [Outputs.Digest]: result.digest,
    [Outputs.MediaType]: result.mediaType,
    [Outputs.Capabilities]: capabilities(result),
    [Outputs.ReferrersLookedUp]: String(result.referrersLookedUp),
    [Outputs.ReferrersCount]: String(result.referrers.length),
    [Outputs.TargetsFile]: files[0]!.path,
    [Outputs.ReferrersFile]: files[1]!.path,
    [Outputs.ReferrersTagsFile]: files[2]!.path,
    [Outputs.StrayReferrersTagsFile]: files[3]!.path,
  };
  // The most truncated-outputs can weigh: every list named.
  const reserved = utf16Bytes(JSON.stringify(LIST_OUTPUTS));
  const used = Object.values(fixed).reduce((a, v) => a + utf16Bytes(v), reserved);
  const whole = LIST_OUTPUTS.map((name) => JSON.stringify(items[name]));
  const shares = shareBudget(
    whole.map((json) => utf16Bytes(json)),
    budget - used,
  );
  const inline = {} as Record<ListOutput, string>;
  const truncated: ListOutput[] = [];
  const warnings: string[] = [];
  LIST_OUTPUTS.forEach((name, i) => {
    if (utf16Bytes(whole[i]!) <= shares[i]!) {
      inline[name] = whole[i]!;
      // max-referrers stopped a retag's lookup: the list is short of what the source has (the
      // engine's warning says so), in the file too.
      if (name === Outputs.Referrers && !result.referrersComplete) truncated.push(name);
      return;
    }
    const { json, count } = fittingPrefix(items[name], shares[i]!);
    inline[name] = json;
    truncated.push(name);
    warnings.push(
      `The ${name} output lists the first ${count} of ${items[name].length} entries: GitHub limits the size of outputs (1 MB). The ${FILE_OUTPUTS[name]} output names a file with all of them (${files[i]!.path}).`,
    );
  });
  return {
    outputs: { ...fixed, ...inline, [Outputs.TruncatedOutputs]: JSON.stringify(truncated) },
    files: files.map(({ path }, i) => ({ path, content: whole[i]! })),
    warnings,
  };
}
