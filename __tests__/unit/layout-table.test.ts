/**
 * The README's Development section and CONTRIBUTING.md both say which file to open for which
 * change (issue 12). One table in two places drifts unless something holds them together; and
 * every file the table names must exist.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The rows of the markdown table whose header starts with `| change`, cells trimmed. */
function layoutTable(file: string): string[][] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^\s*\| change\s+\| file/.test(l));
  if (start < 0) throw new Error(`${file} has no "| change | file |" table`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith('|')) break;
    rows.push(
      line
        .trim()
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows;
}

describe('where to change what', () => {
  it('is the same table in the README and in CONTRIBUTING.md', () => {
    expect(layoutTable('README.md')).toEqual(layoutTable('CONTRIBUTING.md'));
  });

  it('names only files that exist', () => {
    const missing: string[] = [];
    for (const [, files] of layoutTable('CONTRIBUTING.md')) {
      // `src/engine/promote.ts` or `src/registry/http/`, then bare names in that folder: `copy.ts`.
      let dir = '';
      for (const [, path] of files!.matchAll(/`([^`\s*]+)`/g)) {
        if (path!.endsWith('/')) {
          dir = path!.slice(0, -1);
          continue;
        }
        if (!/\.(?:ts|mjs|yml|md)$/.test(path!)) continue;
        const candidates = path!.includes('/') ? [path!, join('src', path!)] : [join(dir, path!)];
        if (path!.includes('/')) dir = path!.slice(0, path!.lastIndexOf('/'));
        if (!candidates.some((c) => existsSync(join(root, c)))) missing.push(path!);
      }
    }
    expect(missing).toEqual([]);
  });
});
