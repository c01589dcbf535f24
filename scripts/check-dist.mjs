#!/usr/bin/env node
// Builds the bundle into a temporary directory and compares it with the committed dist/.
// Exits 1, naming the files that differ, when dist/ is not a fresh build of src/.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'dist-check-'));
try {
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
      'build',
      'src/index.ts',
      '-o',
      out,
      '--source-map',
      '--no-source-map-register',
      '--license',
      'licenses.txt',
      '--quiet',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const committed = readdirSync(join(root, 'dist')).sort();
  const fresh = readdirSync(out).sort();
  const differ = [...new Set([...committed, ...fresh])].filter((f) => {
    try {
      return !readFileSync(join(root, 'dist', f)).equals(readFileSync(join(out, f)));
    } catch {
      return true;
    }
  });
  if (differ.length > 0) {
    console.error(
      `dist/ is not a fresh build of src/: ${differ.join(', ')} differ. Run npm run build and commit dist/.`,
    );
    process.exit(1);
  }
  console.log('dist/ equals a fresh build of src/');
} finally {
  rmSync(out, { recursive: true, force: true });
}
