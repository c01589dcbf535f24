/**
 * Stray referrers tags: `sha256-<hex>` tags that clients wrote on a registry that has the
 * referrers API. Found, reported, and removed only when asked and only when provably redundant,
 * against go-containerregistry's registry (with the API) and distribution (without: there such
 * a tag is the referrers list, never stray).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote } from '../../src/engine/promote.js';
import {
  listTags,
  pushArtifact,
  pushImage,
  pushManifest,
  referrersTag,
  writeReferrersTagIndex,
  type PushedManifest,
  type SeedTarget,
} from '../support/oci-seed.js';
import { clientsClosedAfterAll, promotionRequest } from '../support/promotion.js';
import { startDistribution, startReferrersRegistry, type RunningRegistry } from '../support/registries.js';

const SIG = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const COUNTER = 'application/vnd.example.countersignature';

const client = clientsClosedAfterAll();
const request = promotionRequest;

interface Seeded {
  image: PushedManifest;
  sig: PushedManifest;
  counter: PushedManifest;
  unrelated: PushedManifest;
}

/**
 * An image with a signature and a countersignature, and the tags an unaware client left:
 * the image's index listing the signature (redundant: the API lists it too), the signature's
 * index listing something the API does not know, an image manifest (not an index) under the
 * countersignature's name, a cosign `.sig` tag, and a stray index of an unrelated image.
 */
async function seed(t: SeedTarget, name: string): Promise<Seeded> {
  const unrelated = await pushImage(t, 'other', { seed: `${name}-unrelated` });
  const other = await pushArtifact(t, unrelated.descriptor, SIG, { payload: `${name} other` });
  await writeReferrersTagIndex(t, unrelated.digest, [other.descriptor]);
  const image = await pushImage(t, 'rc', { seed: `${name}-image` });
  const sig = await pushArtifact(t, image.descriptor, SIG, { payload: `${name} sig` });
  const counter = await pushArtifact(t, sig.descriptor, COUNTER, { payload: `${name} counter` });
  await writeReferrersTagIndex(t, image.digest, [sig.descriptor]);
  // The unrelated image is in the repository but refers to nothing: the API does not list it.
  await writeReferrersTagIndex(t, sig.digest, [counter.descriptor, unrelated.descriptor]);
  await pushManifest(t, referrersTag(counter.digest), image.bytes, image.mediaType);
  await pushManifest(t, `${referrersTag(image.digest)}.sig`, sig.bytes, sig.mediaType);
  return { image, sig, counter, unrelated };
}

describe('stray referrers tags on a registry with the referrers API', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startReferrersRegistry();
  });
  afterAll(async () => registry?.stop());

  const deletes = async () => (await registry.requests()).filter((r) => r.method === 'DELETE');

  it('reports those of the promoted digest and its referrers, and deletes nothing unless asked', async () => {
    const src = registry.target('staging/report');
    const s = await seed(src, 'report');
    const result = await promote(
      client(),
      request(`${registry.host}/staging/report:rc`, [`${registry.host}/prod/report:1.0`]),
    );
    const where = `${registry.host}/staging/report`;
    expect(result.strayReferrersTags.map((t) => [t.reference, t.outcome]).sort()).toEqual(
      [
        [`${where}:${referrersTag(s.image.digest)}`, 'found'],
        [`${where}:${referrersTag(s.sig.digest)}`, 'found'],
        [`${where}:${referrersTag(s.counter.digest)}`, 'found'],
      ].sort(),
    );
    expect(result.warnings.filter((w) => w.startsWith('Stray referrers tag'))).toHaveLength(3);
    expect(await deletes()).toEqual([]);
    // None of them reached the target (it has the API: the copy wrote no referrers tag); the
    // cosign attachment, a tag of its own kind, did.
    expect((await listTags(registry.target('prod/report'))).filter((t) => t.startsWith('sha256-'))).toEqual([
      `${referrersTag(s.image.digest)}.sig`,
    ]);
  });

  it('removes, when asked, only a referrers-schema index whose every entry the API lists; a dry run only says so', async () => {
    const t = registry.target('acme/clean');
    const s = await seed(t, 'clean');
    const tagsBefore = await listTags(t);
    const ask = request(`${registry.host}/acme/clean:rc`, [`${registry.host}/acme/clean:1.0`], {
      removeStrayReferrersTags: true,
    });

    const dry = await promote(client(), { ...ask, dryRun: true });
    expect(await deletes()).toEqual([]);
    expect(await listTags(t)).toEqual(tagsBefore);
    const outcome = (r: typeof dry) =>
      Object.fromEntries(r.strayReferrersTags.map((x) => [x.subject, [x.outcome, x.reason ?? '']]));
    expect(outcome(dry)).toEqual({
      [s.image.digest]: ['would remove', ''],
      [s.sig.digest]: ['kept', expect.stringContaining(`does not list 1 of its 2 entries (${s.unrelated.digest})`)],
      [s.counter.digest]: ['kept', 'it does not hold an OCI image index'],
    });

    const real = await promote(client(), ask);
    expect(outcome(real)).toEqual({ ...outcome(dry), [s.image.digest]: ['removed', ''] });
    expect((await deletes()).map((r) => r.path)).toEqual([`/v2/acme/clean/manifests/${referrersTag(s.image.digest)}`]);
    const tagsAfter = await listTags(t);
    expect(tagsBefore.filter((x) => !tagsAfter.includes(x))).toEqual([referrersTag(s.image.digest)]);
    // Still there: the cosign tag, the kept ones, the unrelated image's index, and the manifests themselves.
    for (const kept of [
      `${referrersTag(s.image.digest)}.sig`,
      referrersTag(s.sig.digest),
      referrersTag(s.counter.digest),
      referrersTag(s.unrelated.digest),
      'rc',
      '1.0',
    ])
      expect(tagsAfter).toContain(kept);
  });
});

describe('sha256-* tags on a registry without the referrers API', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startDistribution();
  });
  afterAll(async () => registry?.stop());

  it('are the referrers lists there: never reported, never removed', async () => {
    const t = registry.target('acme/schema');
    await seed(t, 'schema');
    const tagsBefore = await listTags(t);
    const result = await promote(
      client(),
      request(`${registry.host}/acme/schema:rc`, [`${registry.host}/acme/schema:1.0`], {
        removeStrayReferrersTags: true,
      }),
    );
    expect(result.strayReferrersTags).toEqual([]);
    expect((await registry.requests()).filter((r) => r.method === 'DELETE')).toEqual([]);
    expect((await listTags(t)).sort()).toEqual([...tagsBefore, '1.0'].sort());
  });
});
