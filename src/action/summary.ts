import type { PromotionResult } from '../engine/promote.js';

/** Escapes a string for a markdown table cell; registry-supplied text must not become markup. */
export function escapeCell(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '&#124;')
    .replace(/`/g, '&#96;')
    .replace(/[*_[\]\\]/g, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/\r?\n|\r/g, ' ');
}

function code(value: string): string {
  return `<code>${escapeCell(value)}</code>`;
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** The job summary as markdown: the digest, each target and its status, the referrers found. */
export function renderSummary(result: PromotionResult): string {
  const out: string[] = [];
  out.push(`## OCI promotion${result.dryRun ? ' (dry run: nothing was written)' : ''}`);
  out.push(
    `Source ${code(result.source)} is ${code(result.digest)} (${code(result.mediaType)}, ${result.size} bytes).`,
  );
  out.push('### Targets');
  out.push(
    table(
      ['Reference', 'Digest', result.dryRun ? 'Would be' : 'Status'],
      result.targets.map((t) => [code(t.reference), code(t.digest), t.status]),
    ),
  );
  out.push(`### Referrers (${result.referrersLookedUp ? result.referrers.length : 'not looked up'})`);
  if (!result.referrersLookedUp) {
    out.push('A promotion within one repository leaves the referrers where they are; nothing asked for them.');
  } else if (result.referrers.length === 0) {
    out.push('None found.');
  } else {
    out.push(
      table(
        ['Artifact type', 'Digest', 'Subject', 'Depth'],
        result.referrers.map((r) => [
          r.artifactType ? code(r.artifactType) : '',
          code(r.digest),
          code(r.subject),
          String(r.depth),
        ]),
      ),
    );
  }
  const c = result.copy;
  if (c.manifestsCopied + c.manifestsPresent + c.blobsUploaded + c.blobsMounted + c.blobsPresent > 0) {
    out.push('### Copied');
    out.push(
      table(
        ['', 'Copied', 'Mounted', 'Already there'],
        [
          ['Manifests', String(c.manifestsCopied), '', String(c.manifestsPresent)],
          ['Blobs', `${c.blobsUploaded} (${c.bytesUploaded} bytes)`, String(c.blobsMounted), String(c.blobsPresent)],
        ],
      ),
    );
  }
  const caps = Object.entries(result.capabilities);
  if (caps.length > 0) {
    out.push('### Registries');
    const seen = (v: boolean | undefined, yes = 'yes', no = 'no') => (v === undefined ? 'not observed' : v ? yes : no);
    out.push(
      table(
        ['Repository', 'Referrers API', 'OCI-Subject on push', 'Blob mount'],
        caps.map(([repo, c]) => [
          code(repo),
          seen(
            c.referrersApi,
            'yes',
            c.referrersTagAliasesDigest
              ? escapeCell('no (and sha256-<hex> resolves to the subject)')
              : 'no (referrers tag schema)',
          ),
          seen(c.ociSubjectHeader),
          seen(c.blobMount),
        ]),
      ),
    );
  }
  if (result.referrersTags.length > 0) {
    out.push('### Referrers tags written');
    out.push(result.referrersTags.map((t) => `- ${code(t)}`).join('\n'));
  }
  if (result.warnings.length > 0) {
    out.push('### Warnings');
    out.push(result.warnings.map((w) => `- ${escapeCell(w)}`).join('\n'));
  }
  return out.join('\n\n') + '\n';
}
