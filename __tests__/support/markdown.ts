import { expect } from '@jest/globals';

/** The only HTML the job summary may contain; anything else would be registry text turned markup. */
const ALLOWED_TAGS = /^<\/?(code|details|summary)>$/;

/**
 * Checks the job summary's markdown: one `##` title then `###` sections; tables with a header,
 * a separator and the same number of cells in every row; only <code>, <details> and <summary>
 * as HTML, each closed; lists nested one level at a time.
 */
export function checkMarkdownStructure(md: string): void {
  const blocks = md.trimEnd().split('\n\n');
  expect(blocks[0]).toMatch(/^## \S/);
  for (const h of md.split('\n').filter((l) => l.startsWith('#'))) expect(h).toMatch(/^#{2,3} \S/);
  expect(md.split('\n').filter((l) => l.startsWith('## '))).toHaveLength(1);

  for (const block of blocks.filter((b) => b.startsWith('|'))) {
    const rows = block.split('\n');
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const cells = rows.map((r) => r.split('|').length);
    expect(new Set(cells).size).toBe(1);
    expect(rows[1]).toMatch(/^\|( --- \|)+$/);
  }

  const tags = md.match(/<[^>]*>/g) ?? [];
  for (const t of tags) expect(t).toMatch(ALLOWED_TAGS);
  for (const name of ['code', 'details', 'summary']) {
    expect(tags.filter((t) => t === `<${name}>`).length).toBe(tags.filter((t) => t === `</${name}>`).length);
  }

  let depth = -1;
  for (const line of md.split('\n')) {
    const m = /^( *)- /.exec(line);
    if (!m) {
      if (line.trim() !== '') depth = -1;
      continue;
    }
    const level = m[1]!.length / 2;
    expect(Number.isInteger(level)).toBe(true);
    expect(level).toBeLessThanOrEqual(depth + 1);
    depth = level;
  }
}
