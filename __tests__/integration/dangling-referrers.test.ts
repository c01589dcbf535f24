/**
 * A referrer counts only when its manifest is in the source repository and names that subject.
 * On distribution 2.8 (no referrers API: the `sha256-<hex>` referrers tag is the list, written
 * by whichever client pushed), an entry whose manifest was deleted, or that names another
 * subject or none, "dangles": a warning, not counted by require-referrers, not copied, not
 * listed in the target's referrers index.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote, PromotionError } from '../../src/engine/promote.js';
import {
  deleteManifest,
  getManifest,
  listTags,
  pushArtifact,
  pushImage,
  referrersTag,
  writeReferrersTagIndex,
  type SeedTarget,
} from '../support/oci-seed.js';
import { clientsClosedAfterAll, promotionRequest } from '../support/promotion.js';
import { startDistribution, type RunningRegistry } from '../support/registries.js';

const client = clientsClosedAfterAll();
const SIG = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const ATT = 'application/vnd.in-toto+json';
const SBOM = 'application/spdx+json';
const OPTIONS = { indexSettleMs: 1 };

let registry: RunningRegistry;
beforeAll(async () => {
  registry = await startDistribution();
});
afterAll(async () => registry?.stop());

async function indexOf(t: SeedTarget, subject: string): Promise<string[]> {
  const index = await getManifest(t, referrersTag(subject));
  if (!index) return [];
  return (JSON.parse(Buffer.from(index.bytes).toString()) as { manifests: { digest: string }[] }).manifests
    .map((d) => d.digest)
    .sort();
}

describe('dangling referrers tag entries on distribution 2.8', () => {
  it('leaves out an entry whose manifest was deleted: warned, not counted, not copied', async () => {
    const src = registry.target('deleted/staging');
    const dst = registry.target('deleted/prod');
    const image = await pushImage(src, 'rc', { seed: 'deleted' });
    const sig = await pushArtifact(src, image.descriptor, SIG, { payload: 'sig' });
    const att = await pushArtifact(src, image.descriptor, ATT, { payload: 'att' });
    await writeReferrersTagIndex(src, image.digest, [sig.descriptor, att.descriptor]);
    // distribution with storage.delete.enabled: the manifest goes, the referrers tag keeps its entry.
    await deleteManifest(src, att.digest);
    expect(await getManifest(src, att.digest)).toBeNull();
    const source = `${registry.host}/deleted/staging:rc`;

    const writes = await registry.writeCount();
    const refused = await promote(
      client(),
      promotionRequest(source, [`${registry.host}/deleted/prod:1.0`], { requireReferrers: [ATT] }),
      OPTIONS,
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PromotionError);
    expect((refused as Error).message).toBe(`require-referrers: ${image.digest} has no ${ATT}. Nothing was written.`);
    expect(await registry.writeCount()).toBe(writes);

    const result = await promote(
      client(),
      promotionRequest(source, [`${registry.host}/deleted/prod:1.0`], { requireReferrers: [SIG] }),
      OPTIONS,
    );
    const warning = `The referrers tag ${registry.host}/deleted/staging:${referrersTag(image.digest)} lists ${att.digest}, whose manifest is not in ${registry.host}/deleted/staging (deleted?): a dangling entry, neither counted nor copied`;
    expect(result.warnings).toEqual([warning]);
    expect(result.referrers.map((r) => r.digest)).toEqual([sig.digest]);
    expect(await indexOf(dst, image.digest)).toEqual([sig.digest]);
    expect(await getManifest(dst, att.digest)).toBeNull();
    expect((await listTags(dst)).sort()).toEqual(['1.0', referrersTag(image.digest)].sort());
  });

  it('leaves out entries whose manifests name another subject or none', async () => {
    const src = registry.target('elsewhere/staging');
    const dst = registry.target('elsewhere/prod');
    const image = await pushImage(src, 'rc', { seed: 'elsewhere' });
    const other = await pushImage(src, 'other', { seed: 'elsewhere-other' });
    const sig = await pushArtifact(src, image.descriptor, SIG, { payload: 'sig' });
    // An SBOM of the other image, and a plain image, both listed as referrers of `image`.
    const misplaced = await pushArtifact(src, other.descriptor, SBOM, { payload: 'sbom of the other image' });
    const unrelated = await pushImage(src, undefined, { seed: 'elsewhere-unrelated' });
    await writeReferrersTagIndex(src, image.digest, [
      sig.descriptor,
      misplaced.descriptor,
      { ...unrelated.descriptor, artifactType: SBOM },
    ]);
    const source = `${registry.host}/elsewhere/staging:rc`;

    const refused = await promote(
      client(),
      promotionRequest(source, [`${registry.host}/elsewhere/staging:1.0`], { requireReferrers: [SBOM] }),
      OPTIONS,
    ).catch((e: unknown) => e);
    expect((refused as Error).message).toBe(`require-referrers: ${image.digest} has no ${SBOM}. Nothing was written.`);

    const result = await promote(client(), promotionRequest(source, [`${registry.host}/elsewhere/prod:1.0`]), OPTIONS);
    const tag = `${registry.host}/elsewhere/staging:${referrersTag(image.digest)}`;
    expect(result.warnings.sort()).toEqual(
      [
        `The referrers tag ${tag} lists ${misplaced.digest}, whose manifest names another subject (${other.digest}): a dangling entry, neither counted nor copied`,
        `The referrers tag ${tag} lists ${unrelated.digest}, whose manifest names no subject: a dangling entry, neither counted nor copied`,
      ].sort(),
    );
    expect(result.referrers.map((r) => r.digest)).toEqual([sig.digest]);
    expect(await indexOf(dst, image.digest)).toEqual([sig.digest]);
    expect(await getManifest(dst, misplaced.digest)).toBeNull();
    expect(await getManifest(dst, unrelated.digest)).toBeNull();
  });
});
