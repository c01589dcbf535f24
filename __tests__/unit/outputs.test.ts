/**
 * The outputs stay within what GitHub accepts (1 MB, counted in UTF-16), with every list
 * complete in a file and a shortened inline list flagged; the job summary of the same run
 * stays within its 1 MiB.
 */
import { describe, expect, it } from '@jest/globals';
import {
  OUTPUT_BUDGET_UTF16_BYTES,
  fittingPrefix,
  planOutputs,
  shareBudget,
  utf16Bytes,
} from '../../src/action/outputs.js';
import { renderSummary } from '../../src/action/summary.js';
import { emptyStats } from '../../src/engine/copy.js';
import type { PromotionResult } from '../../src/engine/promote.js';
import type { ReferrerInfo } from '../../src/engine/referrers.js';
import { checkMarkdownStructure } from '../support/markdown.js';

const hex = (i: number, c = '0') => i.toString(16).padStart(64, c);
const ROOT = `sha256:${'c'.repeat(64)}`;

/** A cosign-style signature as a registry lists it: about 350 characters in the output. */
function signature(i: number): ReferrerInfo {
  return {
    digest: `sha256:${hex(i)}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 1234,
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    subject: ROOT,
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1',
      'org.opencontainers.image.created': `2026-01-${String((i % 28) + 1).padStart(2, '0')}T12:00:00Z`,
    },
    depth: 1,
  };
}

function result(extra: Partial<PromotionResult> = {}): PromotionResult {
  return {
    source: 'ghcr.io/acme/app:rc',
    digest: ROOT,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 1536,
    dryRun: false,
    targets: [
      { reference: 'ghcr.io/acme/app:1.2.3', digest: ROOT, status: 'created' },
      { reference: 'ghcr.io/acme/app:latest', digest: ROOT, status: 'updated', previous: `sha256:${hex(7)}` },
    ],
    referrers: [signature(1)],
    referrersLookedUp: true,
    referrersComplete: true,
    capabilities: { 'ghcr.io/acme/app': { referrersApi: false } },
    referrersTags: [],
    copy: emptyStats(),
    plan: [],
    strayReferrersTags: [],
    warnings: [],
    ...extra,
  };
}

const weight = (outputs: Record<string, string>) => Object.values(outputs).reduce((a, v) => a + utf16Bytes(v), 0);
const fileOf = (plan: ReturnType<typeof planOutputs>, name: string) =>
  JSON.parse(plan.files.find((f) => f.path === plan.outputs[`${name}-file` as keyof typeof plan.outputs])!.content);

describe('planOutputs', () => {
  it('gives small lists whole, inline and in files, and flags nothing', () => {
    const plan = planOutputs(result(), { dir: '/runner/temp/oci-promote-x' });
    expect(plan.outputs['truncated-outputs']).toBe('[]');
    expect(plan.warnings).toEqual([]);
    expect(JSON.parse(plan.outputs.referrers)).toEqual([
      {
        digest: signature(1).digest,
        mediaType: signature(1).mediaType,
        artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        subject: ROOT,
        annotations: signature(1).annotations,
      },
    ]);
    expect(plan.outputs['referrers-file']).toBe('/runner/temp/oci-promote-x/referrers.json');
    expect(plan.outputs['targets-file']).toBe('/runner/temp/oci-promote-x/targets.json');
    for (const name of ['targets', 'referrers', 'referrers-tags', 'stray-referrers-tags'] as const) {
      expect(fileOf(plan, name)).toEqual(JSON.parse(plan.outputs[name]));
    }
    expect(plan.outputs['referrers-count']).toBe('1');
    expect(plan.outputs['referrers-looked-up']).toBe('true');
    expect(JSON.parse(plan.outputs.capabilities)).toEqual({
      'ghcr.io/acme/app': {
        referrersApi: false,
        ociSubjectHeader: null,
        blobMount: null,
        referrersTagAliasesDigest: null,
      },
    });
  });

  it('keeps 3,000 referrers whole in the file and shortens the inline list, flagged and warned about', () => {
    const referrers = Array.from({ length: 3000 }, (_, i) => signature(i));
    // The measure: 1,000 such referrers weigh about 690 KB as GitHub counts.
    const thousand = planOutputs(result({ referrers: referrers.slice(0, 1000) }), { dir: '/t', budget: 1e9 });
    expect(utf16Bytes(thousand.outputs.referrers)).toBeGreaterThan(600_000);

    const plan = planOutputs(result({ referrers }), { dir: '/t' });

    expect(weight(plan.outputs)).toBeLessThanOrEqual(OUTPUT_BUDGET_UTF16_BYTES);
    const all = fileOf(plan, 'referrers') as { digest: string }[];
    expect(all).toHaveLength(3000);
    expect(all.map((r) => r.digest)).toEqual(referrers.map((r) => r.digest));
    const inline = JSON.parse(plan.outputs.referrers) as { digest: string }[];
    expect(inline.length).toBeGreaterThan(500);
    expect(inline.length).toBeLessThan(1000);
    expect(inline).toEqual(all.slice(0, inline.length));
    expect(plan.outputs['referrers-count']).toBe('3000');
    expect(JSON.parse(plan.outputs['truncated-outputs'])).toEqual(['referrers']);
    expect(plan.warnings).toEqual([
      `The referrers output lists the first ${inline.length} of 3000 entries: GitHub limits the size of outputs (1 MB). The referrers-file output names a file with all of them (/t/referrers.json).`,
    ]);
    // The other lists are whole.
    expect(JSON.parse(plan.outputs.targets)).toHaveLength(2);
  });

  it("flags the referrers when max-referrers cut a retag's lookup short, though the list fits", () => {
    const plan = planOutputs(result({ referrers: [signature(1)], referrersComplete: false }), { dir: '/t' });

    expect(JSON.parse(plan.outputs['truncated-outputs'])).toEqual(['referrers']);
    expect(JSON.parse(plan.outputs.referrers)).toHaveLength(1);
  });

  it('shares the budget so that one huge list never crowds out the others', () => {
    const referrers = Array.from({ length: 3000 }, (_, i) => signature(i));
    const strayReferrersTags = Array.from({ length: 3000 }, (_, i) => ({
      reference: `ghcr.io/acme/app:sha256-${hex(i)}`,
      subject: `sha256:${hex(i)}`,
      outcome: 'found' as const,
    }));
    const targets = Array.from({ length: 50 }, (_, i) => ({
      reference: `ghcr.io/acme/app:v${i}`,
      digest: ROOT,
      status: 'created' as const,
    }));
    const plan = planOutputs(result({ referrers, strayReferrersTags, targets }), { dir: '/t' });
    expect(weight(plan.outputs)).toBeLessThanOrEqual(OUTPUT_BUDGET_UTF16_BYTES);
    expect(JSON.parse(plan.outputs.targets)).toHaveLength(50);
    expect(JSON.parse(plan.outputs['truncated-outputs'])).toEqual(['referrers', 'stray-referrers-tags']);
    const shares = [plan.outputs.referrers, plan.outputs['stray-referrers-tags']].map(utf16Bytes);
    // Both got about the same room.
    expect(Math.abs(shares[0]! - shares[1]!)).toBeLessThan(2_000);
    expect(plan.warnings).toHaveLength(2);
    expect(plan.warnings[1]).toContain('The stray-referrers-tags-file output names a file');
  });

  it('counts as GitHub does: two bytes per UTF-16 code unit', () => {
    expect(utf16Bytes('abc')).toBe(6);
    expect(utf16Bytes('é')).toBe(2);
    expect(utf16Bytes('😀')).toBe(4);
  });

  it.each([
    ['every list fits', [10, 20], 100, [10, 20]],
    ['a big list gets what the small one leaves', [100, 10], 60, [50, 10]],
    ['two big lists share alike', [100, 100, 10], 100, [45, 45, 10]],
    ['nothing left', [5, 5], -3, [0, 0]],
  ])('shares a budget: %s', (_what, sizes, budget, expected) => {
    expect(shareBudget(sizes, budget)).toEqual(expected);
  });

  it('cuts a list at the last entry that fits, and stays a JSON array', () => {
    // '["aa","bb"]' is 11 characters: 22 bytes.
    expect(fittingPrefix(['aa', 'bb'], 22)).toEqual({ json: '["aa","bb"]', count: 2 });
    expect(fittingPrefix(['aa', 'bb'], 21)).toEqual({ json: '["aa"]', count: 1 });
    expect(fittingPrefix(['aa', 'bb'], 3)).toEqual({ json: '[]', count: 0 });
  });
});

describe('the job summary of a run with 3,000 referrers', () => {
  it("stays under GitHub's 1 MiB, and points at the file for the rest", () => {
    const referrers = Array.from({ length: 3000 }, (_, i) => signature(i));
    const md = renderSummary(result({ referrers }));
    checkMarkdownStructure(md);
    expect(Buffer.byteLength(md)).toBeLessThan(1024 * 1024);
    expect(md).toContain('### Referrers (3000)');
    expect(md).toMatch(/- … and \d+ more lines; the `referrers-file` output lists every referrer/);
  });
});
