/**
 * When a promotion's first requests go out, on the in-memory STAND-IN registry, whose hooks can
 * hold one operation while the test looks at what else was sent meanwhile (a real registry
 * cannot be paused on cue; the same retags against real registries, and their request logs,
 * are in __tests__/integration/promote-within-repo.test.ts): every read that waits for no other
 * starts at once, and a plain retag writes its tags while the referrers are still being found.
 */
import { describe, expect, it } from '@jest/globals';
import { promote, PromotionError } from '../../src/engine/promote.js';
import {
  MemoryRegistries,
  MemoryRegistry,
  formatOperation,
  registryError,
  type Operation,
} from '../support/memory-registry.js';
import { SBOM, SIG, seedGraph } from '../support/memory-seed.js';
import { promotionRequest as request } from '../support/promotion.js';

const OPTIONS = { indexSettleMs: 1, concurrency: 4 };

/** Holds every operation `matches` picks until `release()`; `held` says whether one is waiting. */
function holder(matches: (op: Operation) => boolean) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  return {
    before: async (op: Operation) => {
      if (!matches(op)) return;
      held++;
      await gate;
    },
    release: () => release(),
    get held() {
      return held;
    },
  };
}

/** Waits until `condition` holds (the operations in flight interleave through setImmediate). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const sent = (registry: MemoryRegistry) => registry.log.map(formatOperation);

describe('the first requests of a retag (in-memory stand-in)', () => {
  for (const referrersApi of [true, false]) {
    const kind = referrersApi ? 'with the referrers API' : 'without it';

    it(`reads the target tags and the tag list while the source tag resolves, and tags while the referrers are listed (${kind})`, async () => {
      const manifestHeld = holder((op) => op.method === 'GET' && op.kind === 'manifest' && op.reference === 'rc');
      const listingHeld = holder((op) => op.kind === 'referrers');
      const registry = new MemoryRegistry({
        name: 'r.example',
        referrersApi,
        hooks: { before: async (op) => (await manifestHeld.before(op), await listingHeld.before(op)) },
      });
      const g = seedGraph(registry.content('app'), { seed: `first-${referrersApi}`, referrersTags: !referrersApi });

      const running = promote(
        registry,
        request('r.example/app:rc', ['r.example/app:1.0', 'r.example/app:2.0']),
        OPTIONS,
      );
      await until(() => manifestHeld.held === 1, 'the source manifest');
      await until(() => sent(registry).length >= 4, 'the other first reads');
      // While the source tag resolves: a HEAD per target tag and the tag list; nothing else can go yet.
      expect(sent(registry).sort()).toEqual(['GET manifest rc', 'GET tags', 'HEAD manifest 1.0', 'HEAD manifest 2.0']);

      manifestHeld.release();
      await until(() => listingHeld.held >= 1, 'the referrers listing');
      // The tags go out while the referrers API has not answered yet.
      await until(() => sent(registry).filter((s) => s.startsWith('PUT')).length === 2, 'the tag PUTs');
      expect(sent(registry)).toContain(`GET referrers ${g.index.digest}`);
      expect(registry.content('app').tags.get('1.0')).toBe(g.index.digest);

      listingHeld.release();
      const result = await running;
      expect(result.referrersLookedUp).toBe(true);
      expect(result.referrers.map((r) => r.digest).sort()).toEqual(
        [g.sbom.digest, g.sig.digest, g.counter.digest, g.att.digest].sort(),
      );
      expect(result.capabilities['r.example/app']!.referrersApi).toBe(referrersApi);
      expect(registry.log.filter((op) => op.method !== 'GET' && op.method !== 'HEAD').map(formatOperation)).toEqual([
        'PUT manifest 1.0',
        'PUT manifest 2.0',
      ]);
    });
  }

  it('lists the referrers of a source given by digest before its manifest answers', async () => {
    const manifestHeld = holder((op) => op.method === 'GET' && op.kind === 'manifest');
    const registry = new MemoryRegistry({ name: 'r.example', hooks: { before: (op) => manifestHeld.before(op) } });
    const g = seedGraph(registry.content('app'), { seed: 'by-digest', referrersTags: false });

    const running = promote(registry, request(`r.example/app@${g.index.digest}`, ['r.example/app:1.0']), OPTIONS);
    await until(() => sent(registry).length >= 4, 'the first reads');
    expect(manifestHeld.held).toBe(1);
    expect(sent(registry)).toEqual(
      expect.arrayContaining([
        `GET manifest ${g.index.digest}`,
        `GET referrers ${g.index.digest}`,
        'GET tags',
        'HEAD manifest 1.0',
      ]),
    );
    // The lookup goes on below the root (its referrers' referrers); the children wait for the manifest.
    expect(
      sent(registry).filter((s) => !/^(GET referrers|GET tags|HEAD manifest 1\.0|GET manifest sha256:)/.test(s)),
    ).toEqual([]);
    expect(sent(registry)).not.toContain(`GET referrers ${g.amd64.digest}`);
    manifestHeld.release();
    expect((await running).referrers).toHaveLength(4);
  });

  it('waits for the referrers before any tag when a policy gate asks for them', async () => {
    const listingHeld = holder((op) => op.kind === 'referrers');
    const registry = new MemoryRegistry({ name: 'r.example', hooks: { before: (op) => listingHeld.before(op) } });
    seedGraph(registry.content('app'), { seed: 'gate', referrersTags: false });

    const running = promote(
      registry,
      request('r.example/app:rc', ['r.example/app:1.0'], { requireReferrers: [SIG, SBOM] }),
      OPTIONS,
    );
    await until(() => listingHeld.held >= 1, 'the referrers listing');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent(registry).filter((s) => s.startsWith('PUT'))).toEqual([]);
    listingHeld.release();
    await running;
    expect(sent(registry).filter((s) => s.startsWith('PUT'))).toEqual(['PUT manifest 1.0']);
  });

  it('looks nothing up with discoverReferrers false, and says so', async () => {
    const registry = new MemoryRegistry({ name: 'r.example' });
    seedGraph(registry.content('app'), { seed: 'off', referrersTags: false });

    const result = await promote(
      registry,
      request('r.example/app:rc', ['r.example/app:1.0'], { discoverReferrers: false }),
      OPTIONS,
    );

    expect(sent(registry).sort()).toEqual(['GET manifest rc', 'HEAD manifest 1.0', 'PUT manifest 1.0']);
    expect(result.referrersLookedUp).toBe(false);
    expect(result.referrers).toEqual([]);
    expect(result.capabilities).toEqual({ 'r.example/app': {} });
  });

  it('still looks the referrers up with discoverReferrers false when the policy gate needs them', async () => {
    const registry = new MemoryRegistry({ name: 'r.example' });
    seedGraph(registry.content('app'), { seed: 'off-gate', referrersTags: false });

    const result = await promote(
      registry,
      request('r.example/app:rc', ['r.example/app:1.0'], { discoverReferrers: false, requireReferrers: [SIG] }),
      OPTIONS,
    );

    expect(result.referrersLookedUp).toBe(true);
    expect(result.referrers).toHaveLength(4);
  });

  it('says the tags were written when the lookup fails after them', async () => {
    const registry = new MemoryRegistry({
      name: 'r.example',
      hooks: {
        before: (op) => {
          if (op.kind === 'referrers') throw registryError(op, 500, 'UNKNOWN', 'list referrers of');
        },
      },
    });
    const g = seedGraph(registry.content('app'), { seed: 'fails', referrersTags: false });

    const err = await promote(registry, request('r.example/app:rc', ['r.example/app:1.0']), OPTIONS).catch(
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(PromotionError);
    expect((err as Error).message).toMatch(
      /^Looking up the referrers failed after r\.example\/app:1\.0 was tagged \(a rerun leaves the tags as they are\): /,
    );
    expect(registry.content('app').tags.get('1.0')).toBe(g.index.digest);
  });
});

describe('the capabilities of a target in another registry (in-memory stand-in)', () => {
  it('asks the target for the referrers API once its repository exists, while the tags are written', async () => {
    const from = new MemoryRegistry({ name: 'from.example', referrersApi: false });
    const to = new MemoryRegistry({ name: 'to.example', referrersApi: true });
    seedGraph(from.content('app'), { seed: 'probe', referrersTags: true });

    // Without the referrers, the copy never needs to know: the capability is asked for the output.
    const result = await promote(
      new MemoryRegistries([from, to]),
      request('from.example/app:rc', ['to.example/app:1.0'], { copyReferrers: false }),
      OPTIONS,
    );

    expect(result.capabilities['to.example/app']!.referrersApi).toBe(true);
    expect(result.capabilities['from.example/app']!.referrersApi).toBe(false);
    const probe = to.log.find((op) => op.kind === 'referrers')!;
    const rootPut = to.log.find((op) => op.method === 'PUT' && op.reference.startsWith('sha256:'));
    expect(probe.seq).toBeGreaterThan((rootPut ?? to.log.find((op) => op.method === 'PUT'))!.seq);
    expect(to.log.filter((op) => op.kind === 'referrers')).toHaveLength(1);
  });
});
