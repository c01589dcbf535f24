/**
 * A tag list is not proof that a `sha256-<hex>` tag is absent: some registries cut the list
 * short without a `Link` header. Distribution 2.8 (no referrers API, so its referrers live in
 * `sha256-<hex>` tags) behind a STAND-IN proxy that cuts its tag list short: the referrer the
 * cut list hides must still be found and copied.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote } from '../../src/engine/promote.js';
import {
  getManifest,
  listTags,
  pushArtifact,
  pushImage,
  referrersTag,
  writeReferrersTagIndex,
} from '../support/oci-seed.js';
import { clientsClosedAfterAll, promotionRequest } from '../support/promotion.js';
import { startDistribution, type RunningRegistry } from '../support/registries.js';
import { startTagListProxy, type TagListMode, type TagListProxy } from '../support/tag-list-proxy.js';

const client = clientsClosedAfterAll();
const SIG = 'application/vnd.dev.sigstore.bundle.v0.3+json';

let registry: RunningRegistry;
beforeAll(async () => {
  registry = await startDistribution();
});
afterAll(async () => registry?.stop());

describe.each<[TagListMode, string]>([
  ['cut', 'cuts the list and ignores last'],
  ['pages', 'pages by last but sends no Link'],
])('a registry that %s (%s)', (mode) => {
  let proxy: TagListProxy;
  beforeAll(async () => {
    proxy = await startTagListProxy({ target: registry.url, mode, pageSize: 3 });
  });
  afterAll(async () => proxy?.stop());

  it('still finds the referrer whose referrers tag the cut list hides, and copies it', async () => {
    const src = registry.target(`${mode}/staging`);
    const image = await pushImage(src, 'rc', { seed: `cut-${mode}` });
    // Three tags sort before `rc` and `sha256-…`: a list cut at three shows neither.
    for (const tag of ['0.1', '0.2', '0.3']) await pushImage(src, tag, { seed: `cut-${mode}` });
    const sig = await pushArtifact(src, image.descriptor, SIG, { payload: `sig ${mode}` });
    await writeReferrersTagIndex(src, image.digest, [sig.descriptor]);

    const result = await promote(
      client(),
      promotionRequest(`${proxy.host}/${mode}/staging:rc`, [`${proxy.host}/${mode}/prod:1.0`]),
      { indexSettleMs: 1 },
    );

    expect(result.referrers.map((r) => r.digest)).toEqual([sig.digest]);
    const dst = registry.target(`${mode}/prod`);
    expect((await getManifest(dst, sig.digest))?.digest).toBe(sig.digest);
    const index = await getManifest(dst, referrersTag(image.digest));
    expect(JSON.parse(Buffer.from(index!.bytes).toString()).manifests.map((d: { digest: string }) => d.digest)).toEqual(
      [sig.digest],
    );
    const sourceListings = proxy.tagListRequests.filter((p) => p.startsWith(`/v2/${mode}/staging/`));
    if (mode === 'pages') {
      // Read to the end through `last`: [0.1 0.2 0.3], [rc], [sha256-…], then an empty page.
      expect(sourceListings).toEqual([
        '/v2/pages/staging/tags/list?n=1000',
        '/v2/pages/staging/tags/list?n=1&last=0.3',
        '/v2/pages/staging/tags/list?n=1000&last=rc',
        `/v2/pages/staging/tags/list?n=1000&last=${referrersTag(image.digest)}`,
      ]);
    } else {
      // Asked for one tag after the last, it answers the first tag again: the list proves
      // nothing absent, so the referrers tag was asked for itself.
      expect(sourceListings).toEqual(['/v2/cut/staging/tags/list?n=1000', '/v2/cut/staging/tags/list?n=1&last=0.3']);
    }
  });
});

describe('a registry with a fixed cap and no pages (ignores n and last, cuts at 25)', () => {
  let proxy: TagListProxy;
  beforeAll(async () => {
    proxy = await startTagListProxy({ target: registry.url, mode: 'capped', pageSize: 25 });
  });
  afterAll(async () => proxy?.stop());

  it('takes a list of a round number of tags for no proof, and finds the referrer it hides', async () => {
    const src = registry.target('capped/staging');
    const image = await pushImage(src, 'rc', { seed: 'capped' });
    // 25 tags sort before `rc` and `sha256-…`: the capped answer shows neither, twice alike.
    for (let i = 10; i < 35; i++) await pushImage(src, `0.${i}`, { seed: 'capped' });
    const sig = await pushArtifact(src, image.descriptor, SIG, { payload: 'sig capped' });
    await writeReferrersTagIndex(src, image.digest, [sig.descriptor]);

    const result = await promote(
      client(),
      promotionRequest(`${proxy.host}/capped/staging:rc`, [`${proxy.host}/capped/prod:1.0`]),
      { indexSettleMs: 1 },
    );

    expect(result.referrers.map((r) => r.digest)).toEqual([sig.digest]);
    expect((await getManifest(registry.target('capped/prod'), sig.digest))?.digest).toBe(sig.digest);
    expect(proxy.tagListRequests.filter((p) => p.startsWith('/v2/capped/staging/'))).toEqual([
      '/v2/capped/staging/tags/list?n=1000',
      '/v2/capped/staging/tags/list?n=1&last=0.34',
    ]);
  });
});

describe('a registry without pages (distribution 2.8 itself: it ignores n and last)', () => {
  it('takes its one answer as the whole list, and asks for no tag it does not list', async () => {
    const src = registry.target('unpaged/staging');
    const image = await pushImage(src, 'rc', { seed: 'unpaged' });
    for (const tag of ['0.1', '0.2', '0.3']) await pushImage(src, tag, { seed: 'unpaged' });
    const sig = await pushArtifact(src, image.descriptor, SIG, { payload: 'sig unpaged' });
    await writeReferrersTagIndex(src, image.digest, [sig.descriptor]);
    const before = (await registry.requests()).length;

    const result = await promote(
      client(),
      promotionRequest(`${registry.host}/unpaged/staging:rc`, [`${registry.host}/unpaged/prod:1.0`]),
      { indexSettleMs: 1 },
    );

    expect(result.referrers.map((r) => r.digest)).toEqual([sig.digest]);
    const reads = (await registry.requests()).slice(before).filter((q) => q.path.startsWith('/v2/unpaged/staging/'));
    // The listing, and one look past its last tag (distribution 2.8 lists tags in storage order,
    // not sorted: `last` is whatever it listed last).
    const listed = await listTags(src);
    expect(reads.filter((q) => q.path.includes('/tags/list')).map((q) => q.path)).toEqual([
      '/v2/unpaged/staging/tags/list?n=1000',
      `/v2/unpaged/staging/tags/list?n=1&last=${listed[listed.length - 1]!}`,
    ]);
    // Of the source's sha256-* tags, only the one it lists was read: none that it does not list.
    const tagReads = reads.filter((q) => /\/manifests\/sha256-/.test(q.path)).map((q) => q.path);
    expect(tagReads).toEqual([`/v2/unpaged/staging/manifests/${referrersTag(image.digest)}`]);
  });
});
