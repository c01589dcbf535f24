#!/usr/bin/env node
// The action end to end against a throwaway local registry. `npm run demo` runs
// scripts/demo.sh, which installs what this needs into the clone, then runs it.
//
// Starts a registry without the referrers API on a free loopback port, pushes `demo/app:rc`
// with a signature and an SBOM that refer to it (listed, as on such registries, in the
// referrers tag `sha256-<hex>`), then runs the built dist/index.js the way the runner does:
//   1. retag rc as 1.2.3 and latest: the outputs say which referrers it found and what the
//      registry can do, and the referrers tag is left exactly as it was;
//   2. the same again: nothing is written;
//   3. into another repository, prod/app, with the referrers: a dry run (the plan), then for real.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MT, repository, runAction, startRegistry } from './lib/throwaway.mjs';

const dir = mkdtempSync(join(tmpdir(), 'oci-promote-demo-'));
const registry = await startRegistry(join(dir, 'registry'));
let failed = false;
const check = (ok, what) => {
  console.log(`${ok ? '✓' : '✗'} ${what}`);
  if (!ok) failed = true;
};
const json = (text) => JSON.stringify(JSON.parse(text), null, 2).replace(/\n/g, '\n    ');

try {
  const app = repository(registry.host, 'demo/app');
  const image = await app.image('rc', 'hello from the demo layer\n');
  const signature = await app.referrer(image, MT.sigstore, 'a signature, for the demo');
  const sbom = await app.referrer(image, MT.spdx, '{"spdxVersion":"SPDX-2.3","name":"demo"}');
  const referrersTag = await app.referrersTag(image, [signature, sbom]);
  const tagsBefore = await app.tags();
  const indexBefore = await app.get(referrersTag);
  const source = `${registry.host}/demo/app:rc`;

  console.log(`Registry: ${registry.label}, no referrers API, on ${registry.host}`);
  console.log(`Pushed demo/app:rc = ${image.digest}`);
  console.log(`  with a signature ${signature.digest} (${MT.sigstore})`);
  console.log(`  and an SBOM      ${sbom.digest} (${MT.spdx}),`);
  console.log(`  both listed in the referrers tag ${referrersTag}`);
  console.log(`Tags: ${tagsBefore.join(', ')}\n`);

  const run = (label, inputs) => {
    const shown = Object.entries(inputs)
      .map(([k, v]) => `INPUT_${k.toUpperCase()}="${v}"`)
      .join(' ');
    console.log(`--- ${label}\n$ ${shown} node dist/index.js`);
    const r = runAction(join(dir, 'run'), { inputs: { 'plain-http': 'true', ...inputs } });
    if (r.status !== 0) throw new Error(`the action failed (exit ${r.status})`);
    return r;
  };

  // 1. What the action is for: a retag that reports what it found, and touches nothing else.
  const first = run('1. Retag rc as 1.2.3 and latest', { source, targets: '1.2.3, latest' });
  console.log('\nStep outputs:');
  for (const name of ['digest', 'targets', 'referrers-looked-up', 'referrers', 'capabilities'])
    console.log(`  ${name}: ${name === 'digest' ? first.outputs[name] : json(first.outputs[name])}`);
  const found = JSON.parse(first.outputs.referrers).map((r) => r.digest);
  check(
    found.length === 2 && [signature.digest, sbom.digest].every((d) => found.includes(d)),
    'referrers lists the signature and the SBOM (found by reading the referrers tag)',
  );
  const caps = JSON.parse(first.outputs.capabilities)[`${registry.host}/demo/app`];
  check(caps?.referrersApi === false, 'capabilities: this registry has no referrers API (referrersApi false)');
  console.log(`\nJob summary (markdown):\n${first.summary}`);
  const tagsAfter = await app.tags();
  console.log(`Tags: ${tagsAfter.join(', ')}`);
  check(
    tagsAfter.join() === [...tagsBefore, '1.2.3', 'latest'].sort().join(),
    'the retag wrote 1.2.3 and latest, nothing else',
  );
  const indexAfter = await app.get(referrersTag);
  check(
    indexAfter.digest === indexBefore.digest,
    `the referrers tag ${referrersTag.slice(0, 19)}… is untouched (still ${indexAfter.digest.slice(0, 19)}…, ${indexAfter.json.manifests.length} entries)`,
  );
  check(tagsAfter.filter((t) => t.startsWith('sha256-')).length === 1, 'no other sha256-* tag appeared');

  // 2. A rerun finds every tag at the digest and writes nothing.
  console.log('');
  const second = run('2. The same again', { source, targets: '1.2.3, latest' });
  check(
    JSON.parse(second.outputs.targets).every((t) => t.status === 'unchanged'),
    'every target unchanged: nothing written',
  );

  // 3. Into another repository, with the referrers: the plan first, then for real.
  console.log('');
  const prod = repository(registry.host, 'prod/app');
  const plan = run('3a. Into another repository, dry run', {
    source,
    targets: `${registry.host}/prod/app:1.2.3`,
    'dry-run': 'true',
  });
  console.log(`\nJob summary of the dry run (the plan):\n${plan.summary}`);
  check((await prod.tags()).length === 0, 'the dry run wrote nothing to prod/app');
  console.log('');
  const copy = run('3b. Into another repository', { source, targets: `${registry.host}/prod/app:1.2.3` });
  console.log(`\nStep outputs: referrers-tags ${copy.outputs['referrers-tags']}`);
  console.log(`prod/app tags: ${(await prod.tags()).join(', ')}`);
  const copied = await prod.get(referrersTag);
  check(
    [signature.digest, sbom.digest].every((d) => copied.json.manifests?.some((m) => m.digest === d)),
    `prod/app's referrers tag lists the copied signature and SBOM`,
  );
} finally {
  registry.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (failed) {
  console.log('\nThe demo found something wrong (✗ above).');
  process.exit(1);
}
