/**
 * cosign's tag attachments (`sha256-<hex>.sig`, `.att`, `.sbom`) of every manifest a promotion
 * copies, on the in-memory STAND-IN registry, for what only its log shows: the order of the
 * writes, the one listing of the source's tags, the requests where that listing is not there,
 * and the plan of a dry run. Real cosign clients: __tests__/integration/cosign.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { promote, type PromotionRequest } from '../../src/engine/promote.js';
import { parseReference } from '../../src/oci/reference.js';
import { firstWrites } from '../support/memory-order.js';
import { MemoryRegistries, MemoryRegistry, tagOf, type RepositoryContent } from '../support/memory-registry.js';
import { SBOM, seedArtifact, seedImage, seedIndex, seedReferrersTag, type Seeded } from '../support/memory-seed.js';

const OPTIONS = { indexSettleMs: 1, concurrency: 4 };
const COSIGN_SIG = 'application/vnd.dev.cosign.simplesigning.v1+json';

function request(extra: Partial<PromotionRequest> = {}): PromotionRequest {
  return {
    source: parseReference('from.example/app:rc'),
    targets: [parseReference('to.example/app:1.0')],
    copyReferrers: true,
    dryRun: false,
    ...extra,
  };
}

/** A cosign v2 style attachment of `subject`: an image of its own under `sha256-<hex>.<suffix>`. */
function attach(content: RepositoryContent, subject: Seeded, suffix: 'sig' | 'att' | 'sbom'): Seeded {
  return seedImage(content, { seed: `${suffix} of ${subject.digest}`, tag: `${tagOf(subject.digest)}.${suffix}` });
}

/**
 * An index of two platforms, each signed (`sign --recursive`); the index signed, attested and
 * with an SBOM attached, whose SBOM is signed itself; an OCI 1.1 SBOM referrer on the index,
 * signed with a tag too. Returns every attachment tag with the digest it is attached to.
 */
function seedSigned(from: MemoryRegistry, referrersApi: boolean) {
  const content = from.content('app');
  const amd64 = seedImage(content, { seed: 'amd64' });
  const arm64 = seedImage(content, { seed: 'arm64', architecture: 'arm64' });
  const index = seedIndex(content, [amd64, arm64], 'rc');
  const referrer = seedArtifact(content, index, SBOM);
  if (!referrersApi) seedReferrersTag(content, index.digest, [referrer]);
  const sbom = attach(content, index, 'sbom');
  const attached: [string, Seeded][] = [
    [index.digest, attach(content, index, 'sig')],
    [index.digest, attach(content, index, 'att')],
    [index.digest, sbom],
    [amd64.digest, attach(content, amd64, 'sig')],
    [arm64.digest, attach(content, arm64, 'sig')],
    [sbom.digest, attach(content, sbom, 'sig')],
    [referrer.digest, attach(content, referrer, 'sig')],
  ];
  const tags = attached.map(([subject, a]) => ({
    subject,
    tag: [...content.tags].find(([, d]) => d === a.digest)![0],
    digest: a.digest,
  }));
  return { index, amd64, arm64, referrer, tags };
}

describe('cosign attachments of every manifest a promotion copies (in-memory stand-in)', () => {
  for (const referrersApi of [true, false]) {
    const kind = referrersApi ? 'with the referrers API' : 'without it';

    it(`copies the attachments of the index, its children, a referrer and an attachment, each after its subject (${kind})`, async () => {
      const from = new MemoryRegistry({ name: 'from.example', referrersApi });
      const to = new MemoryRegistry({ name: 'to.example', referrersApi });
      const { tags } = seedSigned(from, referrersApi);

      await promote(new MemoryRegistries([from, to]), request(), OPTIONS);

      const target = to.content('app');
      const writes = firstWrites(to, 'app');
      for (const { subject, tag, digest } of tags) {
        expect(target.tags.get(tag)).toBe(digest);
        // The tag names the manifest it is attached to: written only once that is there.
        expect(writes.get(tag)!.seq).toBeGreaterThan(writes.get(subject)!.seq);
        expect(writes.get(tag)!.seq).toBeGreaterThan(writes.get(digest)!.seq);
      }
      // One listing of the source's tags, whatever the number of candidates.
      expect(from.log.filter((op) => op.kind === 'tags')).toHaveLength(1);
      // Attachments are fetched once each, by tag; no candidate that the listing rules out is asked for.
      const byTag = from.log.filter((op) => op.kind === 'manifest' && /\.(sig|att|sbom)$/.test(op.reference));
      expect(byTag.map((op) => `${op.method} ${op.reference}`).sort()).toEqual(tags.map((t) => `GET ${t.tag}`).sort());
    });
  }

  it('asks for each candidate tag when the tag listing is not there', async () => {
    const from = new MemoryRegistry({
      name: 'from.example',
      hooks: {
        before: (op) => {
          if (op.kind === 'tags') throw new Error('no listing');
        },
      },
    });
    const to = new MemoryRegistry({ name: 'to.example' });
    const { tags, index, amd64, arm64, referrer } = seedSigned(from, true);

    await promote(new MemoryRegistries([from, to]), request(), OPTIONS);

    for (const { tag, digest } of tags) expect(to.content('app').tags.get(tag)).toBe(digest);
    const manifests = [index, amd64, arm64, referrer].map((m) => m.digest);
    const attachments = tags.map((t) => t.digest);
    const asked = from.log.filter((op) => op.kind === 'manifest' && /\.(sig|att|sbom)$/.test(op.reference));
    // Three candidates for every manifest copied, attachments included.
    expect(asked).toHaveLength(3 * (manifests.length + attachments.length));
  });

  it('copies the attachments of the children of an index the target already has', async () => {
    const from = new MemoryRegistry({ name: 'from.example' });
    const to = new MemoryRegistry({ name: 'to.example' });
    const { tags } = seedSigned(from, true);
    await promote(new MemoryRegistries([from, to]), request({ copyReferrers: false }), OPTIONS);
    expect([...to.content('app').tags.keys()]).toEqual(['1.0']);

    await promote(new MemoryRegistries([from, to]), request(), OPTIONS);

    for (const { tag, digest } of tags) expect(to.content('app').tags.get(tag)).toBe(digest);
  });

  it('plans each attachment tag in a dry run, and writes nothing', async () => {
    const from = new MemoryRegistry({ name: 'from.example', referrersApi: false });
    const to = new MemoryRegistry({ name: 'to.example', referrersApi: false });
    const { tags } = seedSigned(from, false);

    const result = await promote(new MemoryRegistries([from, to]), request({ dryRun: true }), OPTIONS);

    const planned = result.plan[0]!.nodes.filter((n) => n.kind === 'cosign-tag');
    expect(planned.map((n) => [n.tag, n.digest, n.parent, n.action]).sort()).toEqual(
      tags.map((t) => [t.tag, t.digest, t.subject, 'copy']).sort(),
    );
    expect(to.log.filter((op) => op.method !== 'HEAD' && op.method !== 'GET')).toEqual([]);
  });

  it("counts a child's .sig for that child with require-referrers-scope per-platform", async () => {
    const from = new MemoryRegistry({ name: 'from.example', referrersApi: false });
    const content = from.content('app');
    const amd64 = seedImage(content, { seed: 'gate-amd64' });
    const arm64 = seedImage(content, { seed: 'gate-arm64', architecture: 'arm64' });
    const index = seedIndex(content, [amd64, arm64], 'rc');
    attach(content, amd64, 'sig');
    const gate = { requireReferrers: [COSIGN_SIG], requireReferrersScope: 'per-platform' as const };
    const registries = new MemoryRegistries([from, new MemoryRegistry({ name: 'to.example' })]);

    const err = await promote(registries, request(gate), OPTIONS).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `require-referrers: ${arm64.digest} has no ${COSIGN_SIG}. Nothing was written.`,
    );

    attach(content, arm64, 'sig');
    from.newClient();
    const result = await promote(registries, request(gate), OPTIONS);
    expect(result.targets[0]).toMatchObject({ digest: index.digest, status: 'created' });
  });
});
