import { describe, expect, it } from '@jest/globals';
import { escapeCell, renderSummary } from '../../src/action/summary.js';
import type { PromotionResult } from '../../src/engine/promote.js';

describe('summary', () => {
  it('escapes registry-supplied strings', () => {
    expect(escapeCell('<img src=x onerror=alert(1)>|`x`\n*b*')).toBe(
      '&lt;img src=x onerror=alert(1)&gt;&#124;&#96;x&#96; &#42;b&#42;',
    );
  });

  it('renders targets and referrers as tables', () => {
    const digest = 'sha256:' + 'c'.repeat(64);
    const result: PromotionResult = {
      source: 'r.io/a:rc',
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 10,
      dryRun: false,
      targets: [{ reference: 'r.io/a:1', digest, status: 'created' }],
      referrers: [
        {
          digest: 'sha256:' + 'd'.repeat(64),
          mediaType: 'm',
          size: 1,
          artifactType: 'application/x|<b>',
          subject: digest,
          depth: 1,
        },
      ],
      referrersLookedUp: true,
      capabilities: { 'r.io/a': { referrersApi: false } },
      referrersTags: [],
      copy: {
        manifestsCopied: 2,
        manifestsPresent: 0,
        blobsUploaded: 3,
        blobsMounted: 1,
        blobsPresent: 0,
        bytesUploaded: 100,
      },
      warnings: ['odd <thing>'],
    };
    const md = renderSummary(result);
    expect(md).toContain('| <code>r.io/a:1</code> | <code>' + digest + '</code> | created |');
    expect(md).toContain('<code>application/x&#124;&lt;b&gt;</code>');
    expect(md).toContain('- odd &lt;thing&gt;');
    expect(md).not.toContain('<b>');
    expect(md).toContain('| Blobs | 3 (100 bytes) | 1 | 0 |');
    // Every table row has the same number of cells as its header.
    for (const block of md.split('\n\n').filter((b) => b.startsWith('|'))) {
      const counts = block.split('\n').map((l) => l.split(' | ').length);
      expect(new Set(counts).size).toBe(1);
    }
  });
});
