/**
 * The bound on referrers (the input max-referrers), against real registries with and without
 * the referrers API: a source with more referrers than the bound fails the promotion before
 * anything is written, naming the digest, the count and the input; at the bound it goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote } from '../../src/engine/promote.js';
import { RegistryClient } from '../../src/registry/client.js';
import { listTags, pushArtifact, pushImage, writeReferrersTagIndex } from '../support/oci-seed.js';
import { promotionRequest } from '../support/promotion.js';
import { startDistribution, startReferrersRegistry, type RunningRegistry } from '../support/registries.js';

const SBOM = 'application/spdx+json';

describe.each([
  ['distribution 2.8 (no referrers API)', () => startDistribution()],
  ['go-containerregistry (referrers API)', () => startReferrersRegistry()],
])('max-referrers on %s', (_name, start) => {
  let registry: RunningRegistry;
  const clients: RegistryClient[] = [];
  /** A client as the action makes it: its per-list bound is max-referrers too. */
  const client = (maxReferrers: number) => {
    const c = new RegistryClient({ plainHttp: true, maxReferrers });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    registry = await start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await registry?.stop();
  });

  it('fails before any write with more referrers than the bound, and copies them all at the bound', async () => {
    const src = registry.target('staging/many');
    const image = await pushImage(src, 'rc', { seed: 'many' });
    const sboms = [];
    for (let i = 0; i < 5; i++) sboms.push(await pushArtifact(src, image.descriptor, SBOM, { payload: `sbom ${i}` }));
    if (!registry.referrersApi) {
      await writeReferrersTagIndex(
        src,
        image.digest,
        sboms.map((s) => s.descriptor),
      );
    }
    const req = promotionRequest(`${registry.host}/staging/many:rc`, [`${registry.host}/prod/many:1.0`]);
    const writes = await registry.writeCount();

    const err = await promote(client(4), req, { maxReferrers: 4 }).catch((e: unknown) => e);

    expect((err as Error).message).toBe(
      `On the source ${registry.host}/staging/many: ${registry.host}/staging/many@${image.digest} has more than 4 referrers (5 listed), more than the input max-referrers allows (4). Nothing was written: raise max-referrers to promote them all.`,
    );
    expect(await registry.writeCount()).toBe(writes);
    expect(await listTags(registry.target('prod/many'))).toEqual([]);

    const result = await promote(client(5), req, { maxReferrers: 5 });
    expect(result.referrers).toHaveLength(5);
    expect(result.warnings).toEqual([]);
  });
});
