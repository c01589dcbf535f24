/**
 * The require-referrers gate of promote() on the in-memory STAND-IN registry: scope root and
 * per-platform, and cosign's `.sig`/`.att`/`.sbom` tags counting for their types. Nothing is
 * written when it refuses. Against real registries: __tests__/integration/policy.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { promote, PromotionError, type PromotionRequest } from '../../src/engine/promote.js';
import { parseReference } from '../../src/oci/reference.js';
import { MemoryRegistry, OCI_INDEX, tagOf, type Operation } from '../support/memory-registry.js';
import { ATT, SBOM, seedGraph, seedImage } from '../support/memory-seed.js';

const COSIGN_SIG = 'application/vnd.dev.cosign.simplesigning.v1+json';
const isWrite = (op: Operation) => op.method === 'PUT' || op.method === 'POST' || op.method === 'DELETE';

function request(extra: Partial<PromotionRequest>): PromotionRequest {
  return {
    source: parseReference('r.example/app:rc'),
    targets: [parseReference('r.example/app:1.0')],
    copyReferrers: true,
    dryRun: false,
    ...extra,
  };
}

async function refusal(registry: MemoryRegistry, extra: Partial<PromotionRequest>): Promise<unknown> {
  return promote(registry, request(extra), { indexSettleMs: 1 }).catch((e: unknown) => e);
}

describe('the policy gate (in-memory stand-in)', () => {
  for (const referrersApi of [true, false]) {
    const kind = referrersApi ? 'API' : 'tag schema';

    it(`scope root: passes on the index's own referrers, refuses a type only a child has (${kind})`, async () => {
      const registry = new MemoryRegistry({ name: 'r.example', referrersApi });
      const g = seedGraph(registry.content('app'), { seed: `gate-${referrersApi}`, referrersTags: !referrersApi });

      await promote(registry, request({ requireReferrers: [SBOM] }), { indexSettleMs: 1 });
      expect(registry.content('app').tags.get('1.0')).toBe(g.index.digest);

      const writesBefore = registry.log.filter(isWrite).length;
      const err = await refusal(registry, { targets: [parseReference('r.example/app:2.0')], requireReferrers: [ATT] });
      expect(err).toBeInstanceOf(PromotionError);
      expect((err as Error).message).toBe(`require-referrers: ${g.index.digest} has no ${ATT}. Nothing was written.`);
      expect(registry.log.filter(isWrite)).toHaveLength(writesBefore);
    });

    it(`scope per-platform: every child must have the type (${kind})`, async () => {
      const registry = new MemoryRegistry({ name: 'r.example', referrersApi });
      const g = seedGraph(registry.content('app'), { seed: `platform-${referrersApi}`, referrersTags: !referrersApi });

      const err = await refusal(registry, { requireReferrers: [ATT], requireReferrersScope: 'per-platform' });

      expect(err).toBeInstanceOf(PromotionError);
      // amd64 has its attestation; arm64 has none.
      expect((err as Error).message).toBe(`require-referrers: ${g.arm64.digest} has no ${ATT}. Nothing was written.`);
      expect(registry.log.filter(isWrite)).toEqual([]);
    });
  }

  it("counts a cosign .sig tag for cosign's signature types", async () => {
    const registry = new MemoryRegistry({ name: 'r.example', referrersApi: false });
    const content = registry.content('app');
    const image = seedImage(content, { seed: 'cosign', tag: 'rc' });

    const err = await refusal(registry, { requireReferrers: [COSIGN_SIG] });
    expect((err as Error).message).toBe(
      `require-referrers: ${image.digest} has no ${COSIGN_SIG}. Nothing was written.`,
    );

    seedImage(content, { seed: 'cosign signature', tag: `${tagOf(image.digest)}.sig` });
    registry.newClient();
    await promote(registry, request({ requireReferrers: [COSIGN_SIG] }), { indexSettleMs: 1 });
    expect(content.tags.get('1.0')).toBe(image.digest);
  });

  it('reads the manifests of referrers-tag entries of the required types only, once each', async () => {
    const registry = new MemoryRegistry({ name: 'r.example', referrersApi: false });
    const content = registry.content('app');
    const g = seedGraph(content, { seed: 'gate-reads', referrersTags: true });

    await promote(registry, request({ requireReferrers: [SBOM] }), { indexSettleMs: 1 });

    const referrerDigests = new Set([g.sbom, g.sig, g.att, g.counter].map((m) => m.digest));
    const read = registry.log.filter((op) => op.method === 'GET' && referrerDigests.has(op.reference));
    expect(read.map((op) => op.reference)).toEqual([g.sbom.digest]);
  });

  it('does not count a referrers-tag entry whose manifest is gone, and says so', async () => {
    const registry = new MemoryRegistry({ name: 'r.example', referrersApi: false });
    const content = registry.content('app');
    const image = seedImage(content, { seed: 'gone', tag: 'rc' });
    const gone = { ...image.descriptor, digest: `sha256:${'e'.repeat(64)}`, artifactType: ATT };
    content.putManifest({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [gone] }, tagOf(image.digest));

    const err = await refusal(registry, { requireReferrers: [ATT] });

    expect((err as Error).message).toBe(`require-referrers: ${image.digest} has no ${ATT}. Nothing was written.`);
    expect(registry.log.filter(isWrite)).toEqual([]);
  });
});
