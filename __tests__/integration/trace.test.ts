/**
 * The request trace of a promotion into another repository, against real registries: each
 * request carries the phase that issued it, and the trace shows the order a promotion keeps
 * (the image graph before its referrers are made discoverable, children before their index,
 * every copy before the tag). distribution 2.8 behind token auth (no referrers API: referrers
 * tags are merged, tokens are fetched) and go-containerregistry's registry (referrers API).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote } from '../../src/engine/promote.js';
import { RegistryClient } from '../../src/registry/client.js';
import { criticalPath, type TracedRequest } from '../../src/registry/http/trace.js';
import { referrersTag } from '../support/oci-seed.js';
import { seedGraph } from '../support/graph.js';
import { promotionRequest } from '../support/promotion.js';
import { startDistribution, startReferrersRegistry, type RunningRegistry } from '../support/registries.js';

const ended = (r: TracedRequest) => r.end ?? Infinity;

describe.each([
  ['distribution 2.8 with token auth (no referrers API)', () => startDistribution({ auth: 'token' })],
  ['go-containerregistry (referrers API)', () => startReferrersRegistry()],
])('the request trace of a promotion into another repository on %s', (_name, start) => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await start();
  });
  afterAll(async () => {
    await client?.close();
    await registry?.stop();
  });

  it('names the phase of every request, in the order a promotion keeps', async () => {
    const src = registry.target('staging/app');
    const g = await seedGraph(registry, src, 'trace');
    const user = registry.users[0];
    client = new RegistryClient({
      plainHttp: true,
      trace: true,
      ...(user && { credentials: async () => ({ username: user.username, password: user.password }) }),
    });
    const { host } = registry;
    await promote(client, promotionRequest(`${host}/staging/app:rc`, [`${host}/prod/app:1.0`]));
    const trace = client.requestTrace()!;
    const at = (method: string, path: string) => trace.filter((r) => r.method === method && r.path === path);
    const inPhase = (phase: string) => trace.filter((r) => r.phase === phase);

    expect(trace.length).toBeGreaterThan(10);
    expect(trace.filter((r) => r.phase === undefined)).toEqual([]);
    expect(trace.filter((r) => r.status === undefined || r.end === undefined)).toEqual([]);

    // Token requests, and only they, are `auth`, within the phase that needed the token.
    const tokenHost = registry.tokenServer ? new URL(registry.tokenServer.url).host : undefined;
    expect(inPhase('auth').map((r) => r.host)).toEqual(trace.filter((r) => r.host === tokenHost).map(() => tokenHost));
    if (tokenHost) {
      expect(inPhase('auth').length).toBeGreaterThan(0);
      for (const r of inPhase('auth')) expect(r.within?.length).toBeGreaterThan(0);
      // The first reads go out together, so whichever of them meets the 401 first asks for the
      // token: a phase of that first round, not a later one.
      const firstToken = [...inPhase('auth')].sort((x, y) => x.start - y.start)[0]!;
      expect(['resolve', 'discover', 'look at tags', 'copy', 'probe targets']).toContain(firstToken.within![0]);
    }

    // 1. The source is resolved first.
    const registryRequests = trace.filter((r) => r.phase !== 'auth');
    expect(registryRequests[0]).toMatchObject({
      method: 'GET',
      path: '/v2/staging/app/manifests/rc',
      phase: 'resolve',
    });
    expect(inPhase('resolve').filter((r) => r.host === host)).toHaveLength(
      tokenHost ? 2 : 1, // the first try, answered 401, and the one with the token
    );
    // 2. The target tag is looked at; the referrers are found in the source.
    // (With token auth, a first try answered 401 and a second with the token.)
    const looks = at('HEAD', '/v2/prod/app/manifests/1.0').map((r) => r.phase);
    expect(looks.length).toBeGreaterThan(0);
    expect(new Set(looks)).toEqual(new Set(['look at tags']));
    expect(inPhase('discover').length).toBeGreaterThan(0);
    for (const r of inPhase('discover')) expect(r.path.startsWith('/v2/staging/app/')).toBe(true);

    // 5. The image graph is copied in `copy`, children before their index; the referrers in
    // `referrers`, after their subjects are in.
    const putOf = (digest: string) => at('PUT', `/v2/prod/app/manifests/${digest}`);
    for (const m of [g.index, g.amd64, g.arm64]) expect(putOf(m.digest).map((r) => r.phase)).toEqual(['copy']);
    for (const m of [g.sbom, g.sig, g.att, g.counter])
      expect(putOf(m.digest).map((r) => r.phase)).toEqual(['referrers']);
    const indexPut = putOf(g.index.digest)[0]!;
    for (const child of [g.amd64, g.arm64]) expect(ended(putOf(child.digest)[0]!)).toBeLessThanOrEqual(indexPut.start);
    expect(ended(indexPut)).toBeLessThanOrEqual(putOf(g.sbom.digest)[0]!.start);
    expect(ended(putOf(g.sig.digest)[0]!)).toBeLessThanOrEqual(putOf(g.counter.digest)[0]!.start);
    // Within one registry the blobs are mounted, in the phase of the manifest that names them.
    const mounts = trace.filter((r) => r.method === 'POST' && r.path.includes('mount='));
    expect(mounts.length).toBeGreaterThan(0);
    for (const r of mounts) {
      expect(r.path).toMatch(/^\/v2\/prod\/app\/blobs\/uploads\/\?mount=sha256%3A[0-9a-f]{64}&from=staging%2Fapp$/);
      expect(['copy', 'referrers']).toContain(r.phase);
    }

    // Without the referrers API the subjects' referrers tags are merged in `referrers index`.
    const indexWrites = trace.filter((r) => r.method === 'PUT' && /\/manifests\/sha256-/.test(r.path));
    if (registry.referrersApi) expect(indexWrites).toEqual([]);
    else {
      expect(indexWrites.map((r) => r.path).sort()).toEqual(
        [g.index.digest, g.amd64.digest, g.sig.digest].map((d) => `/v2/prod/app/manifests/${referrersTag(d)}`).sort(),
      );
      for (const r of indexWrites) expect(r).toMatchObject({ phase: 'referrers index', within: ['referrers'] });
    }

    // 6. The tag is written last: after every write of the copy has ended. Only the read-back
    // of each referrers tag written (a GET after its PUT, looking for a concurrent writer) may
    // still be under way: the tag goes in the same round trip.
    const tagPut = at('PUT', '/v2/prod/app/manifests/1.0');
    expect(tagPut.map((r) => r.phase)).toEqual(['tag']);
    const copying = trace.filter((r) => ['copy', 'referrers', 'referrers index', 'cosign'].includes(r.phase!));
    const isWrite = (r: { method: string }) => ['PUT', 'POST', 'PATCH', 'DELETE'].includes(r.method);
    expect(Math.max(...copying.filter(isWrite).map(ended))).toBeLessThanOrEqual(tagPut[0]!.start);
    const afterTag = copying.filter((r) => ended(r) > tagPut[0]!.start);
    for (const r of afterTag) expect(r).toMatchObject({ method: 'GET', phase: 'referrers index' });
    for (const write of indexWrites) {
      const readBack = trace.filter((r) => r.method === 'GET' && r.path === write.path && r.start >= ended(write));
      expect(readBack.length).toBeGreaterThan(0);
    }

    // The critical path starts with one of the first reads, sent together, and passes through the tag.
    const chain = criticalPath(trace);
    expect(['resolve', 'auth', 'look at tags', 'discover']).toContain(chain[0]!.phase);
    expect(chain.map((r) => r.phase)).toContain('tag');
    expect(chain.map((r) => r.phase)).toContain('copy');
  });
});
