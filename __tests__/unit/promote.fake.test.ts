/**
 * promote() on the in-memory STAND-IN registry, for the order of its writes (which a real
 * registry shows only in its request log) on targets with and without the referrers API, the
 * overwrite guard, and faults at a chosen write. The same promotions against real registries
 * are in __tests__/integration/promote-*.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { CopyError } from '../../src/engine/copy-error.js';
import { promote, PromotionError } from '../../src/engine/promote.js';
import { RegistryError } from '../../src/registry/errors.js';
import {
  MemoryRegistries,
  MemoryRegistry,
  OCI_INDEX,
  formatOperation,
  tagOf,
  type Operation,
} from '../support/memory-registry.js';
import { firstWrites, writtenBeforeWhatNamesThem } from '../support/memory-order.js';
import { registryError } from '../support/memory-content.js';
import { COUNTER, SIG, seedArtifact, seedGraph, seedImage } from '../support/memory-seed.js';
import { promotionRequest as request } from '../support/promotion.js';

const OPTIONS = { indexSettleMs: 1, concurrency: 4 };
const isWrite = (op: Operation) => op.method === 'PUT' || op.method === 'POST' || op.method === 'DELETE';

/** A source registry and a target registry, both with or both without the referrers API. */
function across(referrersApi: boolean) {
  const from = new MemoryRegistry({ name: 'from.example', referrersApi });
  const to = new MemoryRegistry({ name: 'to.example', referrersApi });
  const g = seedGraph(from.content('app'), { seed: `across-${referrersApi}`, referrersTags: !referrersApi });
  return { from, to, g, provider: new MemoryRegistries([from, to]) };
}

describe('promote() into another registry (in-memory stand-in)', () => {
  for (const referrersApi of [true, false]) {
    const kind = referrersApi ? 'with the referrers API' : 'without the referrers API';

    it(`writes children before parents, referrers after their subjects, tags last (${kind})`, async () => {
      const { to, g, provider } = across(referrersApi);

      const result = await promote(provider, request('from.example/app:rc', ['to.example/app:1.0']), OPTIONS);

      expect(result.targets).toEqual([{ reference: 'to.example/app:1.0', digest: g.index.digest, status: 'created' }]);
      expect(writtenBeforeWhatNamesThem(to, 'app')).toEqual([]);
      const writes = to.log.filter(isWrite);
      // The tag is the last write of all.
      expect(formatOperation(writes[writes.length - 1]!)).toBe('PUT manifest 1.0');
      expect(writes.filter((op) => op.reference === '1.0')).toHaveLength(1);
      // Every referrer is there, each once.
      const first = firstWrites(to, 'app');
      for (const r of [g.sbom, g.sig, g.att, g.counter]) expect(first.has(r.digest)).toBe(true);
      expect(new Set(writes.map(formatOperation)).size).toBe(writes.length);
    });

    it(`maintains referrers tags only on a target without the API, after the referrers they list (${kind})`, async () => {
      const { to, g, provider } = across(referrersApi);

      const result = await promote(provider, request('from.example/app:rc', ['to.example/app:1.0']), OPTIONS);

      const first = firstWrites(to, 'app');
      const referrersTagWrites = [...first.keys()].filter((r) => r.startsWith('sha256-'));
      if (referrersApi) {
        expect(referrersTagWrites).toEqual([]);
        expect(result.referrersTags).toEqual([]);
        return;
      }
      const expected = new Map([
        [g.index.digest, [g.sbom, g.sig]],
        [g.amd64.digest, [g.att]],
        [g.sig.digest, [g.counter]],
      ]);
      expect(referrersTagWrites.sort()).toEqual([...expected.keys()].map(tagOf).sort());
      expect(result.referrersTags.sort()).toEqual([...expected.keys()].map((d) => `to.example/app:${tagOf(d)}`).sort());
      for (const [subject, referrers] of expected) {
        const tagWrite = first.get(tagOf(subject))!;
        for (const r of referrers) expect(first.get(r.digest)!.seq).toBeLessThan(tagWrite.seq);
        const listed = (to.content('app').json(tagOf(subject)) as { manifests: { digest: string }[] }).manifests;
        expect(listed.map((d) => d.digest).sort()).toEqual(referrers.map((r) => r.digest).sort());
      }
    });
  }

  it('writes nothing in a dry run', async () => {
    const { to, provider } = across(false);
    const result = await promote(
      provider,
      request('from.example/app:rc', ['to.example/app:1.0'], { dryRun: true }),
      OPTIONS,
    );
    expect(result.targets[0]).toMatchObject({ status: 'created' });
    expect(to.log.filter(isWrite)).toEqual([]);
  });

  it('leaves no tag when a write fails half way, and says on which side', async () => {
    const { to, g, provider } = across(true);
    to.options.hooks.before = (op) => {
      if (op.method === 'PUT' && op.reference === g.amd64.digest) {
        throw new RegistryError({
          registry: op.registry,
          operation: 'push manifest',
          reference: `to.example/app@${op.reference}`,
          method: 'PUT',
          status: 400,
          errors: [{ code: 'MANIFEST_INVALID' }],
        });
      }
    };
    const err = await promote(provider, request('from.example/app:rc', ['to.example/app:1.0']), OPTIONS).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CopyError);
    expect(err).toMatchObject({ side: 'target', repository: 'to.example/app' });
    expect((err as Error).message).toMatch(/^On the target to\.example\/app: push manifest /);
    expect(to.content('app').tags.has('1.0')).toBe(false);
    expect(to.content('app').resolve(g.index.digest)).toBeUndefined();
  });
});

describe('the copy while the referrers are found, the tags after the referrers tags are read back (in-memory stand-in)', () => {
  /** Source operations that find the referrers: listings, referrers tags, the tag list. */
  const isDiscovery = (op: Operation) =>
    op.kind === 'referrers' ||
    op.kind === 'tags' ||
    (op.kind === 'manifest' && op.reference.startsWith('sha256-') && !op.reference.includes('.'));
  /** Holds each source listing a moment, as a far registry would. */
  const slowListings = (from: MemoryRegistry) => {
    from.options.hooks.before = async (op) => {
      if (isDiscovery(op)) await new Promise((resolve) => setTimeout(resolve, 5));
    };
  };

  for (const referrersApi of [true, false]) {
    const kind = referrersApi ? 'with the referrers API' : 'without the referrers API';

    it(`reads the target while the referrers are still being found, and writes only after the last is (${kind})`, async () => {
      const { from, to, provider } = across(referrersApi);
      slowListings(from);

      await promote(provider, request('from.example/app:rc', ['to.example/app:1.0']), OPTIONS);

      const lastDiscovery = Math.max(...from.log.filter(isDiscovery).map((op) => op.seq));
      const firstWrite = Math.min(...to.log.filter(isWrite).map((op) => op.seq));
      const firstCheck = Math.min(
        ...to.log.filter((op) => op.method === 'HEAD' && op.kind === 'manifest').map((op) => op.seq),
      );
      expect(firstCheck).toBeLessThan(lastDiscovery);
      expect(firstWrite).toBeGreaterThan(lastDiscovery);
    });
  }

  it('writes nothing when the policy gate refuses, though the copy had started reading', async () => {
    const { from, to, provider } = across(false);
    slowListings(from);

    const err = await promote(
      provider,
      request('from.example/app:rc', ['to.example/app:1.0'], { requireReferrers: ['application/x-missing'] }),
      OPTIONS,
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PromotionError);
    expect(to.log.some((op) => op.method === 'HEAD')).toBe(true);
    expect(to.log.filter(isWrite)).toEqual([]);
  });

  it('writes the tag only once every referrers tag is written and read back', async () => {
    const { to, g, provider } = across(false);

    await promote(provider, request('from.example/app:rc', ['to.example/app:1.0']), {
      ...OPTIONS,
      indexSettleMs: 30,
    });

    const tagPut = to.log.find((op) => op.method === 'PUT' && op.reference === '1.0')!;
    const indexPuts = to.log.filter((op) => op.method === 'PUT' && op.reference.startsWith('sha256-'));
    expect(indexPuts.length).toBeGreaterThan(0);
    for (const put of indexPuts) {
      expect(put.seq).toBeLessThan(tagPut.seq);
      // Each referrers tag is read back after its write, and before the tag.
      const readBack = to.log.filter((op) => op.method === 'GET' && op.reference === put.reference && op.seq > put.seq);
      expect(readBack).toHaveLength(1);
      expect(readBack[0]!.seq).toBeLessThan(tagPut.seq);
    }
    expect(indexPuts.some((op) => op.reference === tagOf(g.index.digest))).toBe(true);
    // The tag is the last write.
    const writes = to.log.filter(isWrite);
    expect(writes[writes.length - 1]).toBe(tagPut);
  });

  it('moves no tag when a referrers tag keeps losing its entries after its write', async () => {
    const { to, g, provider } = across(false);
    const rootTag = tagOf(g.index.digest);
    // Another writer puts back an index without our entries after each of our writes.
    to.options.hooks.after = (op) => {
      if (op.method === 'PUT' && op.reference === rootTag) {
        to.content('app').putManifest({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }, rootTag);
      }
    };

    const err = await promote(provider, request('from.example/app:rc', ['to.example/app:1.0']), OPTIONS).catch(
      (e: unknown) => e,
    );

    expect((err as Error).message).toMatch(
      /the referrers index of sha256:[0-9a-f]{64} kept changing under concurrent writers; gave up after 6 attempts$/,
    );
    expect(to.content('app').tags.has('1.0')).toBe(false);
  });
});

describe('referrers-tag entries checked against their manifests (in-memory stand-in)', () => {
  it('reads each referrer manifest once: the check and the copy share it', async () => {
    const { from, g, provider } = across(false);

    const result = await promote(
      provider,
      request('from.example/app:rc', ['to.example/app:1.0'], { requireReferrers: [SIG] }),
      OPTIONS,
    );

    expect(result.warnings).toEqual([]);
    for (const m of [g.sbom, g.sig, g.att, g.counter]) {
      expect(from.log.filter((op) => op.method === 'GET' && op.reference === m.digest)).toHaveLength(1);
    }
  });

  it('leaves out what refers to a dangling entry', async () => {
    const { from, to, provider } = across(false);
    const content = from.content('other');
    const image = seedImage(content, { seed: 'below-dangling', tag: 'rc' });
    // The index lists a manifest that is not there, and a countersignature of it is listed too.
    const gone = { ...image.descriptor, digest: `sha256:${'d'.repeat(64)}`, artifactType: SIG };
    const counter = seedArtifact(content, { ...image, digest: gone.digest, descriptor: gone }, COUNTER);
    content.putManifest({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [gone] }, tagOf(image.digest));
    content.putManifest(
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [counter.descriptor] },
      tagOf(gone.digest),
    );

    const result = await promote(provider, request('from.example/other:rc', ['to.example/other:1.0']), OPTIONS);

    expect(result.referrers).toEqual([]);
    expect(result.warnings).toHaveLength(1);
    expect(to.content('other').manifests.has(counter.digest)).toBe(false);
    expect([...to.content('other').tags.keys()]).toEqual(['1.0']);
  });
});

describe('promote() within one repository (in-memory stand-in)', () => {
  for (const referrersApi of [true, false]) {
    it(`only PUTs the target tags, never a sha256-* tag (${referrersApi ? 'API' : 'no API'})`, async () => {
      const registry = new MemoryRegistry({ name: 'r.example', referrersApi });
      const content = registry.content('app');
      const g = seedGraph(content, { seed: `retag-${referrersApi}`, referrersTags: !referrersApi });
      // An artifact with a subject, promoted by digest: tagging it is not pushing new content.
      const sbomTag = `app@${g.sbom.digest}`;

      await promote(registry, request('r.example/app:rc', ['r.example/app:1.0', 'r.example/app:stable']), OPTIONS);
      await promote(registry, request(`r.example/${sbomTag}`, ['r.example/app:sbom-1']), OPTIONS);

      expect(registry.log.filter(isWrite).map(formatOperation).sort()).toEqual([
        'PUT manifest 1.0',
        'PUT manifest sbom-1',
        'PUT manifest stable',
      ]);
    });
  }
});

describe('the referrers a retag reports (in-memory stand-in)', () => {
  it('leaves a dangling referrers-tag entry out of the referrers, with a warning', async () => {
    const registry = new MemoryRegistry({ name: 'r.example', referrersApi: false });
    const content = registry.content('app');
    const image = seedImage(content, { seed: 'retag-dangling', tag: 'rc' });
    const sig = seedArtifact(content, image, SIG);
    const gone = { ...sig.descriptor, digest: `sha256:${'e'.repeat(64)}` };
    content.putManifest(
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [sig.descriptor, gone] },
      tagOf(image.digest),
    );

    const result = await promote(registry, request('r.example/app:rc', ['r.example/app:1.0']), OPTIONS);

    expect(result.referrers.map((r) => r.digest)).toEqual([sig.digest]);
    expect(result.warnings.filter((w) => w.includes(gone.digest))).toHaveLength(1);
    expect(registry.log.filter(isWrite).map(formatOperation)).toEqual(['PUT manifest 1.0']);
  });

  it('tags, then lists the referrers found first and says so, when there are more than max-referrers', async () => {
    const registry = new MemoryRegistry({ name: 'r.example', referrersApi: true });
    const g = seedGraph(registry.content('app'), { seed: 'retag-bound', referrersTags: false });

    const result = await promote(registry, request('r.example/app:rc', ['r.example/app:1.0']), {
      ...OPTIONS,
      maxReferrers: 1,
    });

    expect(result.targets.map((t) => t.status)).toEqual(['created']);
    expect(result.referrersComplete).toBe(false);
    expect(result.referrers).toHaveLength(1);
    expect(
      result.warnings.some((w) => w.startsWith('The referrers output is incomplete: ') && w.includes(g.index.digest)),
    ).toBe(true);
  });

  it('fails before any write when a copy has more referrers than max-referrers', async () => {
    const { to, provider } = across(true);

    const err = await promote(provider, request('from.example/app:rc', ['to.example/app:1.0']), {
      ...OPTIONS,
      maxReferrers: 1,
    }).catch((e: unknown) => e);

    expect((err as Error).message).toMatch(
      /more than the input max-referrers allows \(1\)\. Nothing was written: raise max-referrers/,
    );
    expect(to.log.filter(isWrite)).toEqual([]);
  });
});

describe('a blob-link race on the target (in-memory stand-in)', () => {
  it('tags again when a tag PUT meets a blob relinked by a concurrent promotion', async () => {
    let refused = 0;
    const registry = new MemoryRegistry({
      name: 'r.example',
      hooks: {
        before: (op) => {
          // distribution's answer while another promotion rewrites the link of one of its blobs.
          if (op.method === 'PUT' && op.reference === '1.0' && refused++ === 0) {
            throw registryError(op, 400, 'MANIFEST_BLOB_UNKNOWN', 'push manifest');
          }
        },
      },
    });
    seedImage(registry.content('app'), { seed: 'link-race', tag: 'rc' });

    const result = await promote(registry, request('r.example/app:rc', ['r.example/app:1.0']), OPTIONS);

    expect(result.targets.map((t) => t.status)).toEqual(['created']);
    expect(refused).toBe(2);
    expect(registry.log.filter((op) => op.method === 'PUT').map(formatOperation)).toEqual([
      'PUT manifest 1.0',
      'PUT manifest 1.0',
    ]);
  });
});

describe('the overwrite guard (in-memory stand-in)', () => {
  it('fails before any write when a target tag points at another digest', async () => {
    const { to, g, provider } = across(false);
    const other = seedImage(to.content('app'), { seed: 'other', tag: '1.0' });

    const err = await promote(
      provider,
      request('from.example/app:rc', ['to.example/app:1.0', 'to.example/app:new'], { overwrite: false }),
      OPTIONS,
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PromotionError);
    expect((err as Error).message).toBe(
      `overwrite is false and a target tag points at another digest: to.example/app:1.0 is ${other.digest}, not ${g.index.digest}. Nothing was written.`,
    );
    expect(to.log.filter(isWrite)).toEqual([]);
    expect(to.content('app').tags.get('1.0')).toBe(other.digest);
  });

  it('lets a promotion through whose target tags already name the digest', async () => {
    const registry = new MemoryRegistry({ name: 'r.example' });
    const image = seedImage(registry.content('app'), { seed: 'same', tag: 'rc' });
    registry.content('app').tags.set('1.0', image.digest);
    seedArtifact(registry.content('app'), image, 'application/example');

    const result = await promote(
      registry,
      request('r.example/app:rc', ['r.example/app:1.0'], { overwrite: false }),
      OPTIONS,
    );

    expect(result.targets[0]).toMatchObject({ status: 'unchanged' });
    expect(registry.log.filter(isWrite)).toEqual([]);
  });
});

describe('the request check of the engine (in-memory stand-in)', () => {
  // The action's inputs refuse these too; the engine refuses them for any other caller.
  for (const target of ['r.example/app:sha256-', 'r.example/other:sha256-', 'r.example/app:sha512-']) {
    it(`refuses a target tag of the referrers tag schema before any request (${target}<hex>)`, async () => {
      const registry = new MemoryRegistry({ name: 'r.example' });
      const image = seedImage(registry.content('app'), { seed: 'schema-tag', tag: 'rc' });
      const hex = target.endsWith('sha512-') ? 'ab'.repeat(32) : image.digest.slice('sha256:'.length);
      const tag = `${target.slice(target.lastIndexOf(':') + 1)}${hex}`;

      const err = await promote(registry, request('r.example/app:rc', [`${target}${hex}`]), OPTIONS).catch(
        (e: unknown) => e,
      );

      expect(err).toBeInstanceOf(PromotionError);
      expect((err as Error).message).toContain(`The target tag ${tag} has the form of a referrers tag`);
      expect(registry.log).toEqual([]);
    });
  }
});
