import { describe, expect, it } from '@jest/globals';
import { rateLimitWarnings } from '../../src/action/rate-limits.js';
import {
  escapeCell,
  formatBytes,
  MAX_TREE_LINES,
  renderPlanTree,
  renderSummary,
  SUMMARY_BUDGET_BYTES,
} from '../../src/action/summary.js';
import type { PromotionResult } from '../../src/engine/promote.js';
import { parseRateLimitHeader, type HostTraffic } from '../../src/registry/http/traffic.js';
import { checkMarkdownStructure } from '../support/markdown.js';

const d = (c: string) => 'sha256:' + c.repeat(64);
const HOSTILE = 'application/x|<img src=x onerror=alert(1)>`*_[x](y)#~';

function result(extra: Partial<PromotionResult> = {}): PromotionResult {
  return {
    source: 'r.io/staging/a:rc',
    digest: d('c'),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 1536,
    dryRun: false,
    targets: [
      { reference: 'r.io/prod/a:1', digest: d('c'), status: 'created' },
      { reference: 'r.io/prod/a:latest', digest: d('c'), status: 'updated', previous: d('0') },
    ],
    referrers: [
      { digest: d('d'), mediaType: 'm', size: 700, artifactType: HOSTILE, subject: d('c'), depth: 1 },
      { digest: d('e'), mediaType: 'm', size: 10, subject: d('d'), depth: 2 },
      { digest: d('f'), mediaType: 'm', size: 10, artifactType: 'application/spdx+json', subject: d('1'), depth: 1 },
    ],
    referrersLookedUp: true,
    referrersComplete: true,
    capabilities: { 'r.io/staging/a': { referrersApi: false }, 'r.io/prod/a': { referrersApi: true, blobMount: true } },
    referrersTags: [],
    copy: {
      manifestsCopied: 3,
      manifestsPresent: 1,
      blobsUploaded: 0,
      blobsMounted: 2,
      blobsPresent: 0,
      bytesUploaded: 0,
    },
    strayReferrersTags: [],
    plan: [
      {
        repository: 'r.io/prod/a',
        nodes: [
          { kind: 'index', digest: d('c'), action: 'copy', size: 1536 },
          { kind: 'manifest', digest: d('1'), action: 'copy', size: 500, parent: d('c') },
          { kind: 'blob', digest: d('2'), action: 'mount', size: 4096, parent: d('1') },
          { kind: 'manifest', digest: d('3'), action: 'present', size: 500, parent: d('c') },
          {
            kind: 'referrer',
            digest: d('d'),
            action: 'copy',
            size: 700,
            parent: d('c'),
            artifactType: HOSTILE,
            listedBy: 'referrers API',
          },
          { kind: 'referrer', digest: d('e'), action: 'copy', size: 10, parent: d('d'), listedBy: 'referrers API' },
          { kind: 'blob', digest: d('4'), action: 'mount', size: 2, parent: d('d') },
        ],
      },
    ],
    warnings: [`odd ${HOSTILE}`],
    ...extra,
  };
}

const traffic: Record<string, HostTraffic> = {
  'registry-1.docker.io': {
    requests: { GET: 3, HEAD: 2 },
    total: 5,
    bytesUp: 0,
    bytesDown: 2048,
    rateLimit: { limit: 100, remaining: 4, windowSeconds: 21600 },
  },
  'ghcr.io': { requests: { PUT: 2, POST: 1 }, total: 3, bytesUp: 5000, bytesDown: 0 },
};

describe('summary', () => {
  it('escapes registry-supplied strings', () => {
    expect(escapeCell('<img src=x onerror=alert(1)>|`x`\n*b*')).toBe(
      '&lt;img src=x onerror=alert(1)&gt;&#124;&#96;x&#96; &#42;b&#42;',
    );
    expect(escapeCell('[a](b) #h ~s~ _u_')).toBe('&#91;a&#93;(b) &#35;h &#126;s&#126; &#95;u&#95;');
  });

  it('renders targets, the plan as a tree, the referrers graph, capabilities, requests and warnings', () => {
    const md = renderSummary(result(), { traffic, warnings: rateLimitWarnings(traffic) });
    checkMarkdownStructure(md);
    const headings = md.split('\n').filter((l) => l.startsWith('#'));
    expect(headings).toEqual([
      '## OCI promotion',
      '### Targets',
      '### Copied into <code>r.io/prod/a</code>',
      '### Referrers (3)',
      '### Registries',
      '### Requests',
      '### Warnings',
    ]);
    // The digest in full once, above the table; short forms in it, the full ones in details.
    expect(md.split(d('c')).length - 1).toBe(1);
    expect(md).toContain(`Source <code>r.io/staging/a:rc</code> is <code>${d('c')}</code>`);
    expect(md).toContain('| Target | Status | Before |');
    expect(md).toContain('| <code>r.io/prod/a:1</code> | created | no such tag |');
    expect(md).toContain('| <code>r.io/prod/a:latest</code> | updated | <code>sha256:000000000000</code> |');
    expect(md).toContain(`- <code>r.io/prod/a:latest</code> named <code>${d('0')}</code> before`);
    expect(md).toContain(
      '4 manifest(s) copied, 1 already there; 0 blob(s) uploaded (0 B), 2 mounted, 0 already there.',
    );
    // Children under their parents, referrers under their subjects.
    const tree = md.slice(md.indexOf('<details><summary>Every node'), md.lastIndexOf('</details>'));
    expect(tree).toContain(`\n- index <code>sha256:cccccccccccc</code> 1.5 KiB: **copied**`);
    expect(tree).toContain(`\n  - manifest <code>${d('1')}</code> 500 B: **copied**`);
    expect(tree).toContain(`\n    - blob <code>${d('2')}</code> 4.0 KiB: **mounted**`);
    expect(tree).toContain(`\n  - manifest <code>${d('3')}</code> 500 B: **already there**`);
    expect(tree).toContain(`\n    - referrer <code>${d('e')}</code> 10 B: **copied**, listed by the referrers API`);
    // The referrers graph: nested by subject, with where each one lives on the target.
    expect(md).toContain(`\n  - <code>application/x&#124;&lt;img`);
    expect(md).toContain(`\n    - no artifact type <code>${d('e')}</code> 10 B → r.io/prod/a: referrers API`);
    expect(md).toContain(`\n- <code>${d('1')}</code> (a child of the promoted index)`);
    expect(md).toContain(
      '| <code>registry-1.docker.io</code> | 5 (GET 3, HEAD 2) | 0 B | 2.0 KiB | 4 of 100 left per 21600 s |',
    );
    expect(md).toContain('8 request(s) in all.');
    expect(md).toContain('- registry-1.docker.io rate limit is running low: 4 of 100 requests per 6 h left');
    // Nothing a registry said became markup.
    expect(md).not.toMatch(/<img/);
    expect(md).not.toContain('](y)');
  });

  it('says a dry run would do what a real run did', () => {
    const md = renderSummary(result({ dryRun: true }));
    checkMarkdownStructure(md);
    expect(md).toContain('## OCI promotion (dry run: nothing was written)');
    expect(md).toContain('### Plan for <code>r.io/prod/a</code>');
    expect(md).toContain('4 manifest(s) to copy, 1 already there; 0 blob(s) to upload (0 B), 2 to mount');
    expect(md).toContain(`- index <code>sha256:cccccccccccc</code> 1.5 KiB: **copy**`);
    expect(md).toContain('| Target | Would be | Before |');
  });

  it('links back to the workflow run, and only to an http(s) address', () => {
    const url = 'https://github.com/acme/app/actions/runs/42';
    const md = renderSummary(result(), { runUrl: url });
    checkMarkdownStructure(md);
    expect(md.trimEnd().endsWith(`Written by [this workflow run](${url}).`)).toBe(true);
    expect(renderSummary(result())).not.toContain('workflow run');
    expect(renderSummary(result(), { runUrl: 'javascript:alert(1)' })).not.toContain('javascript');
  });

  it('has no details of full digests when no tag named another digest before', () => {
    const md = renderSummary(result({ targets: [{ reference: 'r.io/prod/a:1', digest: d('c'), status: 'created' }] }));
    expect(md).not.toContain('Full digests');
    expect(md).toContain(`- <code>sha256:cccccccccccc</code> (the promoted manifest)`);
  });

  it('says when the referrers were not looked up', () => {
    const md = renderSummary(result({ referrersLookedUp: false, referrers: [], plan: [] }));
    checkMarkdownStructure(md);
    expect(md).toContain('### Referrers (not looked up)');
  });

  it('puts a node whose parent is not in the plan at the top', () => {
    const tree = renderPlanTree(
      { repository: 'r', nodes: [{ kind: 'blob', digest: d('9'), action: 'present', size: 1, parent: d('8') }] },
      { dryRun: false },
    );
    expect(tree).toBe(`- blob <code>${d('9')}</code> 1 B: **already there**`);
  });

  it('keeps a huge graph within what GitHub accepts as a step summary', () => {
    const nodes = Array.from({ length: 10_000 }, (_, i) => ({
      kind: 'referrer' as const,
      digest: 'sha256:' + i.toString(16).padStart(64, '0'),
      action: 'copy' as const,
      size: 700,
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      parent: d('c'),
      listedBy: 'referrers tag' as const,
    }));
    const referrers = nodes.map((n) => ({ ...n, mediaType: 'm', subject: d('c'), depth: 1 }));
    const md = renderSummary(result({ plan: [{ repository: 'r.io/prod/a', nodes }], referrers }));
    checkMarkdownStructure(md);
    expect(Buffer.byteLength(md)).toBeLessThan(1024 * 1024);
    expect(md).toContain(`- … and ${10_000 - MAX_TREE_LINES} more nodes (left out of the summary)`);
    // However many target repositories: the whole stays within the budget.
    const many = renderSummary(
      result({
        plan: Array.from({ length: 8 }, (_, i) => ({ repository: `r.io/prod${i}/a`, nodes })),
        referrers,
        warnings: nodes.map((n) => `odd ${n.digest}`),
      }),
    );
    checkMarkdownStructure(many);
    expect(Buffer.byteLength(many)).toBeLessThanOrEqual(SUMMARY_BUDGET_BYTES);
    expect(many).toContain('### Plan for <code>r.io/prod7/a</code>'.replace('Plan for', 'Copied into'));
  });

  it('formats sizes', () => {
    expect([0, 1023, 1024, 1536, 1048576, 5 * 1073741824].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.5 KiB',
      '1.0 MiB',
      '5.0 GiB',
    ]);
  });
});

describe('rate limits', () => {
  it("parses Docker Hub's headers", () => {
    expect(parseRateLimitHeader('100;w=21600')).toEqual({ value: 100, window: 21600 });
    expect(parseRateLimitHeader('76')).toEqual({ value: 76 });
    expect(parseRateLimitHeader('lots')).toBeUndefined();
    expect(parseRateLimitHeader(undefined)).toBeUndefined();
  });

  it('warns when a tenth or fewer than 10 requests are left, not before', () => {
    const t = (limit: number, remaining: number): Record<string, HostTraffic> => ({
      h: { requests: {}, total: 1, bytesUp: 0, bytesDown: 0, rateLimit: { limit, remaining } },
    });
    expect(rateLimitWarnings(t(100, 50))).toEqual([]);
    expect(rateLimitWarnings(t(100, 10))).toHaveLength(1);
    expect(rateLimitWarnings(t(5000, 9))).toHaveLength(1);
    expect(rateLimitWarnings(t(5000, 600))).toEqual([]);
    expect(rateLimitWarnings({ h: { requests: {}, total: 1, bytesUp: 0, bytesDown: 0 } })).toEqual([]);
  });
});
