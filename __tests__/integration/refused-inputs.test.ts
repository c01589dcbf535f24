/**
 * Inputs that would write something spurious or half a promotion, against real distribution
 * 2.8 through the built bundle (dist/index.js): a digest in another algorithm than sha256 and a
 * target tag of the referrers tag schema are refused before the first request.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { listTags, pushImage, type PushedManifest } from '../support/oci-seed.js';
import { startDistribution, type RunningRegistry } from '../support/registries.js';
import { runAction } from '../support/run-action.js';

let registry: RunningRegistry;
let image: PushedManifest;
let sha512: string;
beforeAll(async () => {
  registry = await startDistribution();
  image = await pushImage(registry.target('acme/sha512'), 'rc', { seed: 'sha512' });
  sha512 = `sha512:${createHash('sha512').update(image.bytes).digest('hex')}`;
});
afterAll(async () => registry?.stop());

describe('digests in sha512 (distribution 2.8)', () => {
  it.each<[string, (host: string) => { source: string; targets: string }, string]>([
    ['a source by digest', (h) => ({ source: `${h}/acme/sha512@${sha512}`, targets: 'v1' }), 'source'],
    ['a source by tag and digest', (h) => ({ source: `${h}/acme/sha512:rc@${sha512}`, targets: 'v1' }), 'source'],
    [
      'a target pinned by digest',
      (h) => ({ source: `${h}/acme/sha512:rc`, targets: `${h}/acme/sha512:v1@${sha512}` }),
      'target',
    ],
  ])('%s is refused before any request, and nothing is written', async (_name, inputs, which) => {
    const { source, targets } = inputs(registry.host);
    const requestsBefore = (await registry.requests()).length;
    const writesBefore = await registry.writeCount();

    const run = await runAction({ source, targets, 'plain-http': 'true' });

    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors).toEqual([
      `::error::Invalid ${which} '${which === 'source' ? source : targets}': only sha256 digests are supported, not sha512; name the manifest by its sha256 digest (registries report and compare manifests by sha256)`,
    ]);
    expect((await registry.writeCount()) - writesBefore).toBe(0);
    expect((await registry.requests()).length - requestsBefore).toBe(0);
    expect(await listTags(registry.target('acme/sha512'))).toEqual(['rc']);
  });
});

describe('a target tag of the referrers tag schema (distribution 2.8)', () => {
  it('is refused before any request, and no such tag appears', async () => {
    const tag = `sha256-${image.digest.slice('sha256:'.length)}`;
    const requestsBefore = (await registry.requests()).length;

    const run = await runAction({ source: `${registry.host}/acme/sha512:rc`, targets: tag, 'plain-http': 'true' });

    expect(run.code).toBe(1);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([
      `::error::Invalid target '${tag}': a tag of the form <algorithm>-<hex digest> names the referrers of ${image.digest} in the OCI referrers tag schema; tagging must never create one`,
    ]);
    expect((await registry.requests()).length - requestsBefore).toBe(0);
    expect(await listTags(registry.target('acme/sha512'))).toEqual(['rc']);
  });
});
