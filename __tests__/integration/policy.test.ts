/**
 * Release engineers' guards against real registries (with and without the referrers API):
 * the require-referrers gate, the referrer-types filter and the overwrite guard. Each refusal
 * happens before anything is written, which the registry's own log shows.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote, PromotionError, type PromotionRequest } from '../../src/engine/promote.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/oci/reference.js';
import {
  getManifest,
  listTags,
  pushArtifact,
  pushImage,
  pushIndex,
  referrersTag,
  writeReferrersTagIndex,
  type PushedManifest,
} from '../support/oci-seed.js';
import { startDistribution, startReferrersRegistry, type RunningRegistry } from '../support/registries.js';

const SIGSTORE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SPDX = 'application/spdx+json';
const INTOTO = 'application/vnd.in-toto+json';
const COUNTER = 'application/vnd.example.countersignature';

const clients: RegistryClient[] = [];
afterAll(async () => Promise.all(clients.map((c) => c.close())));
function run(request: PromotionRequest) {
  const c = new RegistryClient({ plainHttp: true });
  clients.push(c);
  return promote(c, request);
}

describe.each([
  ['distribution 2.8 (no referrers API)', () => startDistribution()],
  ['go-containerregistry (referrers API)', () => startReferrersRegistry()],
])('policy on %s', (_name, start) => {
  let registry: RunningRegistry;
  let index: PushedManifest;
  let amd64: PushedManifest;
  let arm64: PushedManifest;
  let sig: PushedManifest;
  let sbom: PushedManifest;
  let att: PushedManifest;
  let counter: PushedManifest;
  beforeAll(async () => {
    registry = await start();
    const t = registry.target('policy/app');
    amd64 = await pushImage(t, undefined, { seed: 'policy-amd64', platform: { os: 'linux', architecture: 'amd64' } });
    arm64 = await pushImage(t, undefined, { seed: 'policy-arm64', platform: { os: 'linux', architecture: 'arm64' } });
    index = await pushIndex(t, 'rc', [amd64.descriptor, arm64.descriptor]);
    sig = await pushArtifact(t, index.descriptor, SIGSTORE);
    sbom = await pushArtifact(t, index.descriptor, SPDX);
    att = await pushArtifact(t, amd64.descriptor, INTOTO);
    counter = await pushArtifact(t, sig.descriptor, COUNTER);
    if (!registry.referrersApi) {
      await writeReferrersTagIndex(t, index.digest, [sig.descriptor, sbom.descriptor]);
      await writeReferrersTagIndex(t, amd64.digest, [att.descriptor]);
      await writeReferrersTagIndex(t, sig.digest, [counter.descriptor]);
    }
  });
  afterAll(async () => registry?.stop());

  const request = (targets: string[], extra: Partial<PromotionRequest> = {}): PromotionRequest => ({
    source: parseReference(`${registry.host}/policy/app:rc`),
    targets: targets.map((t) => parseReference(`${registry.host}/${t}`)),
    copyReferrers: true,
    dryRun: false,
    ...extra,
  });
  const writesDuring = async (work: () => Promise<unknown>) => {
    const before = await registry.writeCount();
    const outcome = await work().catch((e: unknown) => e);
    return { outcome, writes: (await registry.writeCount()) - before };
  };

  it('lets a promotion through when every required referrer type is there', async () => {
    const result = await run(request(['gate/app:1.0'], { requireReferrers: [SIGSTORE, SPDX] }));
    expect(result.targets[0]!.status).toBe('created');
  });

  it('stops before any write when a required type is missing, naming it and the digest', async () => {
    const { outcome, writes } = await writesDuring(() =>
      run(
        request(['gate/app:2.0', 'policy/app:2.0'], {
          requireReferrers: [SIGSTORE, 'application/vnd.cncf.notary.signature'],
        }),
      ),
    );
    expect(outcome).toBeInstanceOf(PromotionError);
    expect((outcome as Error).message).toBe(
      `require-referrers: ${index.digest} has no application/vnd.cncf.notary.signature. Nothing was written.`,
    );
    expect(writes).toBe(0);
  });

  it('checks every platform with per-platform scope', async () => {
    const { outcome, writes } = await writesDuring(() =>
      run(request(['gate/app:3.0'], { requireReferrers: [INTOTO], requireReferrersScope: 'per-platform' })),
    );
    expect((outcome as Error).message).toBe(
      `require-referrers: ${arm64.digest} has no ${INTOTO}. Nothing was written.`,
    );
    expect(writes).toBe(0);
  });

  it('copies only the referrer types asked for, and not what refers to an excluded one', async () => {
    const result = await run(
      request(['filtered/app:1.0'], { referrerTypes: ['application/spdx*', 'application/vnd.in-toto+json'] }),
    );
    expect(result.targets[0]!.status).toBe('created');
    const dst = registry.target('filtered/app');
    expect((await getManifest(dst, sbom.digest))?.digest).toBe(sbom.digest);
    expect((await getManifest(dst, att.digest))?.digest).toBe(att.digest);
    expect(await getManifest(dst, sig.digest)).toBeNull();
    expect(await getManifest(dst, counter.digest)).toBeNull();
    if (!registry.referrersApi) {
      expect((await listTags(dst)).filter((t) => t.startsWith('sha256-')).sort()).toEqual(
        [referrersTag(index.digest), referrersTag(amd64.digest)].sort(),
      );
    }
  });

  it('with overwrite false, refuses to move a tag before writing anything, and allows what does not move', async () => {
    const t = registry.target('guard/app');
    const old = await pushImage(t, '1.0', { seed: 'guard-old' });
    const { outcome, writes } = await writesDuring(() =>
      run(request(['guard/app:1.0', 'guard/app:latest'], { overwrite: false })),
    );
    expect(outcome).toBeInstanceOf(PromotionError);
    expect((outcome as Error).message).toBe(
      `overwrite is false and a target tag points at another digest: ${registry.host}/guard/app:1.0 is ${old.digest}, not ${index.digest}. Nothing was written.`,
    );
    expect(writes).toBe(0);
    expect((await listTags(t)).sort()).toEqual(['1.0']);
    // The same promotion to new tags, and then again (unchanged), passes the guard.
    const ok = await run(request(['guard/app:2.0'], { overwrite: false }));
    expect(ok.targets[0]!.status).toBe('created');
    const again = await run(request(['guard/app:2.0'], { overwrite: false }));
    expect(again.targets[0]!.status).toBe('unchanged');
  });
});
