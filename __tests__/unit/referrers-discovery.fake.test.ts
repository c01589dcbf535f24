/**
 * discoverReferrers on the in-memory STAND-IN registry: recursion, and lists no honest registry
 * serves (a referrers cycle, only possible through the tag schema, whose indexes any client can
 * write) and bounds. Discovery on real registries is covered by the promotion integration tests.
 */
import { describe, expect, it } from '@jest/globals';
import { SILENT_LOGGER } from '../../src/engine/logger.js';
import { ReferrersBoundError, discoverPromotionReferrers, discoverReferrers } from '../../src/engine/referrers.js';
import { MemoryRegistry } from '../support/memory-registry.js';
import {
  ATT,
  COUNTER,
  SBOM,
  SIG,
  seedArtifact,
  seedGraph,
  seedImage,
  seedReferrersTag,
} from '../support/memory-seed.js';

const OPTIONS = { maxDepth: 8, maxCount: 1000, concurrency: 4, logger: SILENT_LOGGER };

describe('discoverReferrers (in-memory stand-in)', () => {
  for (const referrersApi of [true, false]) {
    it(`finds referrers of referrers with their depth and subject (${referrersApi ? 'API' : 'tag schema'})`, async () => {
      const registry = new MemoryRegistry({ name: 'r.example', referrersApi });
      const g = seedGraph(registry.content('app'), { seed: 'discover', referrersTags: !referrersApi });
      const repo = registry.repository({ registry: 'r.example', repository: 'app' }, 'pull');

      const found = await discoverReferrers(repo, g.index.digest, OPTIONS);

      const summary = found.referrers.map((r) => [r.digest, r.artifactType, r.subject, r.depth]);
      expect(summary).toEqual(
        expect.arrayContaining([
          [g.sbom.digest, SBOM, g.index.digest, 1],
          [g.sig.digest, SIG, g.index.digest, 1],
          [g.counter.digest, COUNTER, g.sig.digest, 2],
        ]),
      );
      // The attestation refers to a child, not to the index or its referrers.
      expect(summary).toHaveLength(3);
      expect(found.referrers.map((r) => r.digest)).not.toContain(g.att.digest);
      expect(found.warnings).toEqual([]);
      expect(found.referrers.find((r) => r.digest === g.sbom.digest)?.annotations).toEqual({
        'org.example.seed': 'discover',
      });
    });
  }

  it('stops at a cycle: each digest is reported once, the subject never', async () => {
    const registry = new MemoryRegistry({ name: 'r.example', referrersApi: false });
    const content = registry.content('app');
    const image = seedImage(content, { seed: 'cycle', tag: 'rc' });
    const sig = seedArtifact(content, image, SIG);
    // A hostile or broken writer lists the image as a referrer of its own signature, and the
    // signature as its own referrer.
    seedReferrersTag(content, image.digest, [sig]);
    seedReferrersTag(content, sig.digest, [image, sig]);
    const repo = registry.repository({ registry: 'r.example', repository: 'app' }, 'pull');

    const found = await discoverReferrers(repo, image.digest, OPTIONS);

    expect(found.referrers.map((r) => r.digest)).toEqual([sig.digest]);
    // Two listings: the image's and the signature's; nothing is listed twice.
    const listings = registry.log.filter((op) => op.method === 'GET' && op.kind === 'manifest');
    expect(listings.map((op) => op.reference).sort()).toEqual(
      [image.digest, sig.digest].map((d) => d.replace(':', '-')).sort(),
    );
  });

  it('fails when referrers nest deeper than maxDepth levels, naming where', async () => {
    const registry = new MemoryRegistry({ name: 'r.example' });
    const content = registry.content('app');
    const image = seedImage(content, { seed: 'deep', tag: 'rc' });
    let subject = image;
    const chain = [];
    for (let i = 0; i < 4; i++) {
      subject = seedArtifact(content, subject, ATT, { payload: `level ${i + 1}` });
      chain.push(subject);
    }
    const repo = registry.repository({ registry: 'r.example', repository: 'app' }, 'pull');

    const err = await discoverReferrers(repo, image.digest, { ...OPTIONS, maxDepth: 2 }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ReferrersBoundError);
    expect((err as Error).message).toBe(
      `The referrers below ${image.digest} nest more than 2 levels deep (${chain[1]!.digest}, at level 2, has referrers of its own); the action follows at most 2 levels. Nothing was written.`,
    );
  });

  it('follows a chain exactly maxDepth levels deep', async () => {
    const registry = new MemoryRegistry({ name: 'r.example' });
    const content = registry.content('app');
    const image = seedImage(content, { seed: 'just-deep-enough', tag: 'rc' });
    const first = seedArtifact(content, image, ATT, { payload: 'level 1' });
    const second = seedArtifact(content, first, ATT, { payload: 'level 2' });
    const repo = registry.repository({ registry: 'r.example', repository: 'app' }, 'pull');

    const found = await discoverReferrers(repo, image.digest, { ...OPTIONS, maxDepth: 2 });

    expect(found.referrers.map((r) => [r.digest, r.depth])).toEqual([
      [first.digest, 1],
      [second.digest, 2],
    ]);
    expect(found.warnings).toEqual([]);
  });

  it('fails beyond maxCount referrers, naming the subject, the count and the input', async () => {
    const registry = new MemoryRegistry({ name: 'r.example' });
    const content = registry.content('app');
    const image = seedImage(content, { seed: 'many', tag: 'rc' });
    for (let i = 0; i < 5; i++) seedArtifact(content, image, SBOM, { payload: `sbom ${i}` });
    const repo = registry.repository({ registry: 'r.example', repository: 'app' }, 'pull');

    const err = await discoverReferrers(repo, image.digest, { ...OPTIONS, maxCount: 3 }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ReferrersBoundError);
    expect((err as Error).message).toBe(
      `${image.digest} has more than 3 referrers (5 found, counted recursively), more than the input max-referrers allows (3). Nothing was written: raise max-referrers to promote them all.`,
    );
  });

  it('counts the referrers of every platform manifest of an index against maxCount', async () => {
    const registry = new MemoryRegistry({ name: 'r.example' });
    const content = registry.content('app');
    const g = seedGraph(content, { seed: 'many-children', referrersTags: false });
    // The index has 3 referrers (SBOM, signature, countersignature), amd64 1: 4 in all.
    const repo = registry.repository({ registry: 'r.example', repository: 'app' }, 'pull');
    const options = { ...OPTIONS, children: true };
    const subject = { digest: g.index.digest, manifest: Promise.resolve(g.index) };

    expect((await discoverPromotionReferrers(repo, subject, { ...options, maxCount: 4 })).referrers).toHaveLength(4);
    const err = await discoverPromotionReferrers(repo, subject, { ...options, maxCount: 3 }).catch((e: unknown) => e);

    expect((err as Error).message).toBe(
      `${g.index.digest} has more than 3 referrers (4 found, counted recursively, with those of its platform manifests), more than the input max-referrers allows (3). Nothing was written: raise max-referrers to promote them all.`,
    );
  });

  it("takes GitLab's digest alias (the referrers tag answers the subject itself) as no referrers", async () => {
    const registry = new MemoryRegistry({ name: 'r.example', referrersApi: false, digestAlias: true });
    const content = registry.content('app');
    const image = seedImage(content, { seed: 'alias', tag: 'rc' });
    // As if the tag listing named it (or gave no answer): the client reads the tag to find out.
    const repo = registry.repository({ registry: 'r.example', repository: 'app' }, 'pull');
    const digestTags = await repo.digestTagList();
    digestTags?.add(image.digest.replace(':', '-'));

    const found = await discoverReferrers(repo, image.digest, OPTIONS);

    expect(found).toEqual({ referrers: [], warnings: [] });
    expect(repo.capabilities()).toMatchObject({ referrersApi: false, referrersTagAliasesDigest: true });
  });
});
