/**
 * A target that answers `sha256-<hex>` with the subject manifest itself (GitLab's registry)
 * cannot hold a referrers index. On the in-memory STAND-IN registry (its digest-alias switch,
 * and GitLab's header on GET /v2/): found out before the first write, the run fails before
 * copying anything and names the two ways on. The client's reading of the header: the loopback
 * fake in referrers-probe.fake.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { promote, PromotionError } from '../../src/engine/promote.js';
import { MemoryRegistries, MemoryRegistry, formatOperation, type Operation } from '../support/memory-registry.js';
import { seedGraph, seedImage } from '../support/memory-seed.js';
import { promotionRequest as request } from '../support/promotion.js';

const OPTIONS = { indexSettleMs: 1, concurrency: 4 };
const isWrite = (op: Operation) => op.method === 'PUT' || op.method === 'POST' || op.method === 'DELETE';

const refusal = (registry: string, repository: string) =>
  `${registry}/${repository} cannot hold a referrers index: ${registry} answers a referrers tag (sha256-<hex>) with the manifest of that digest itself, as GitLab's registry does, and has no referrers API`;
const WAYS_ON =
  'Nothing was written. To promote, set copy-referrers: false (the referrers stay behind), or promote into a registry with the referrers API.';

/** A source with referrers (no API) and a GitLab-like target: no API, `sha256-<hex>` aliased. */
function gitlab(options: { announces: boolean }) {
  const from = new MemoryRegistry({ name: 'from.example', referrersApi: false });
  const to = new MemoryRegistry({
    name: 'gitlab.example',
    referrersApi: false,
    digestAlias: true,
    announcesDigestAlias: options.announces,
  });
  const g = seedGraph(from.content('app'), { seed: 'gitlab', referrersTags: true });
  return { from, to, g, provider: new MemoryRegistries([from, to]) };
}

describe('a target that cannot hold a referrers index (in-memory stand-in)', () => {
  it('fails before any write where the registry says it is GitLab on GET /v2/', async () => {
    const { to, provider } = gitlab({ announces: true });

    const err = await promote(
      provider,
      request('from.example/app:rc', ['gitlab.example/group/app:1.0']),
      OPTIONS,
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PromotionError);
    expect((err as Error).message).toBe(
      `${refusal('gitlab.example', 'group/app')} (it names itself GitLab's on GET /v2/). ${WAYS_ON}`,
    );
    expect(to.log.filter(isWrite)).toEqual([]);
  });

  it('fails before any write where a target tag names a manifest whose referrers tag is that manifest', async () => {
    const { to, provider } = gitlab({ announces: false });
    const old = seedImage(to.content('group/app'), { seed: 'old', tag: '1.0' });

    const err = await promote(
      provider,
      request('from.example/app:rc', ['gitlab.example/group/app:1.0']),
      OPTIONS,
    ).catch((e: unknown) => e);

    expect((err as Error).message).toBe(
      `${refusal('gitlab.example', 'group/app')} (gitlab.example/group/app:sha256-${old.digest.slice(7)} is ${old.digest}). ${WAYS_ON}`,
    );
    expect(to.log.filter(isWrite)).toEqual([]);
    expect(to.content('group/app').tags.get('1.0')).toBe(old.digest);
  });

  it('fails a dry run the same way', async () => {
    const { to, provider } = gitlab({ announces: true });

    const err = await promote(
      provider,
      request('from.example/app:rc', ['gitlab.example/group/app:1.0'], { dryRun: true }),
      OPTIONS,
    ).catch((e: unknown) => e);

    expect((err as Error).message).toContain(refusal('gitlab.example', 'group/app'));
    expect(to.log.filter(isWrite)).toEqual([]);
  });

  it('lets a promotion through with copy-referrers false, or with nothing to list', async () => {
    const { to, provider } = gitlab({ announces: true });

    const result = await promote(
      provider,
      request('from.example/app:rc', ['gitlab.example/group/app:1.0'], { copyReferrers: false }),
      OPTIONS,
    );
    expect(result.targets[0]).toMatchObject({ status: 'created' });
    expect(to.log.filter((op) => op.kind === 'base')).toEqual([]);

    const plain = seedImage((provider.registries[0] as MemoryRegistry).content('plain'), {
      seed: 'no referrers',
      tag: 'rc',
    });
    const again = await promote(
      provider,
      request('from.example/plain:rc', ['gitlab.example/group/plain:1.0']),
      OPTIONS,
    );
    expect(again.targets[0]).toMatchObject({ digest: plain.digest, status: 'created' });
  });

  it('asks nothing of a target with the referrers API', async () => {
    const from = new MemoryRegistry({ name: 'from.example', referrersApi: false });
    const to = new MemoryRegistry({ name: 'to.example', referrersApi: true });
    seedGraph(from.content('app'), { seed: 'api', referrersTags: true });
    to.content('app');
    seedImage(to.content('app'), { seed: 'old', tag: '1.0' });

    await promote(new MemoryRegistries([from, to]), request('from.example/app:rc', ['to.example/app:1.0']), OPTIONS);

    expect(to.log.filter((op) => op.kind === 'base')).toEqual([]);
    expect(to.log.map(formatOperation).filter((o) => o.startsWith('GET manifest sha256-'))).toEqual([]);
  });

  it('cannot tell a new repository on a registry that does not say it aliases: the copy fails before any tag', async () => {
    const { to, g, provider } = gitlab({ announces: false });

    const err = await promote(
      provider,
      request('from.example/app:rc', ['gitlab.example/group/app:1.0']),
      OPTIONS,
    ).catch((e: unknown) => e);

    expect((err as Error).message).toBe(
      `${refusal('gitlab.example', 'group/app')} (seen when gitlab.example/group/app:sha256-${g.index.digest.slice(7)} was read, before it was written). Part of the graph was copied there; no referrers tag was written and no tag moved. To promote, set copy-referrers: false (the referrers stay behind), or promote into a registry with the referrers API.`,
    );
    expect(to.content('group/app').manifests.has(g.index.digest)).toBe(true);
    expect([...to.content('group/app').tags.keys()]).toEqual([]);
  });
});
