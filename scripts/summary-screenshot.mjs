#!/usr/bin/env node
// `node scripts/summary-screenshot.mjs [summary.md] [out.png]`: the job summary as people see
// it. Renders the markdown the way GitHub does (GFM with `marked`, GitHub's stylesheet from
// `github-markdown-css`) in the ~1,000 px GitHub gives a job summary, and screenshots it with
// headless Chromium (Debian: apt-get install chromium). Without a markdown file it first makes
// one: a cross-registry promotion of a two-platform image with a signature and an SBOM, from
// one throwaway registry into another whose `latest` named an older build, run by the built
// dist/index.js with the runner's GITHUB_* variables. Default output: docs/summary.png.
// OPEN_DETAILS=1 opens the collapsed <details> blocks (to check them too).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { marked } from 'marked';
import { MT, repository, root, runAction, startRegistry } from './lib/throwaway.mjs';

/** GitHub shows a job summary in a column about this wide. */
const WIDTH = 1000;
const dir = mkdtempSync(join(tmpdir(), 'summary-screenshot-'));
const out = resolve(process.argv[3] ?? join(root, 'docs', 'summary.png'));

/** A promotion from one registry to another; returns its job summary. */
async function crossRegistrySummary() {
  const staging = await startRegistry(join(dir, 'staging'));
  const prod = await startRegistry(join(dir, 'prod'));
  try {
    const src = repository(staging.host, 'acme/app');
    const amd64 = await src.image(undefined, 'app for amd64\n');
    const arm64 = await src.image(undefined, 'app for arm64\n', { architecture: 'arm64', os: 'linux' });
    const index = await src.manifest('rc', {
      schemaVersion: 2,
      mediaType: MT.index,
      manifests: [amd64, arm64].map(({ platform, ...d }) => ({ ...d, platform })),
    });
    const signature = await src.referrer(index, MT.sigstore, 'signature of the index');
    const sbom = await src.referrer(index, MT.spdx, '{"spdxVersion":"SPDX-2.3","name":"app"}');
    await src.referrersTag(index, [signature, sbom]);
    await repository(prod.host, 'acme/app').image('latest', 'the previous release\n');

    const run = runAction(join(dir, 'run'), {
      inputs: {
        source: `${staging.host}/acme/app:rc`,
        targets: ['1.2.3', '1.2', 'latest'].map((t) => `${prod.host}/acme/app:${t}`).join('\n'),
        'plain-http': 'true',
      },
      env: { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '1234567890' },
      stdio: 'ignore',
    });
    if (run.status !== 0) throw new Error(`the action failed (exit ${run.status})`);
    return run.summary;
  } finally {
    staging.stop();
    prod.stop();
  }
}

function chromium(args) {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync(
      name,
      ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--force-device-scale-factor=1', ...args],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (!r.error) return r;
  }
  throw new Error('Chromium is not installed (Debian: apt-get install chromium)');
}

try {
  const md = process.argv[2] ? readFileSync(process.argv[2], 'utf8') : await crossRegistrySummary();
  const css = readFileSync(join(root, 'node_modules', 'github-markdown-css', 'github-markdown-light.css'), 'utf8');
  const html = join(dir, 'summary.html');
  writeFileSync(
    html,
    `<!doctype html><html><head><meta charset="utf-8"><style>${css}
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; width: ${WIDTH}px; padding: 16px 24px; }
</style></head><body><article class="markdown-body">${marked
      .parse(md, { gfm: true })
      .replaceAll('<details>', process.env.OPEN_DETAILS ? '<details open>' : '<details>')}</article>
<script>document.title = String(document.documentElement.scrollHeight);</script></body></html>`,
  );
  // One run to learn the page's height, one to take a picture of exactly that.
  const dom = chromium(['--virtual-time-budget=2000', '--dump-dom', pathToFileURL(html).href]);
  const height = Number(/<title>(\d+)<\/title>/.exec(dom.stdout)?.[1]);
  if (!height) throw new Error(`Chromium did not render the page: ${dom.stderr.slice(0, 500)}`);
  const shot = chromium([`--window-size=${WIDTH},${height}`, `--screenshot=${out}`, pathToFileURL(html).href]);
  if (shot.status !== 0) throw new Error(`Chromium failed: ${shot.stderr.slice(0, 500)}`);
  // A page of text needs few colours: pngquant (Debian: apt-get install pngquant), where
  // installed, makes the picture about a third of the size.
  spawnSync('pngquant', ['--quality=70-95', '--speed=1', '--force', '--output', out, out], { stdio: 'ignore' });
  console.log(`${out}: ${WIDTH} × ${height} px, ${readFileSync(out).length} bytes`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
