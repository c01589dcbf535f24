/**
 * Promotion within one repository against real registries: Debian's docker-registry
 * (distribution 2.8, no referrers API) and go-containerregistry's registry with the referrers
 * API switched on. The same cases run on both.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote, type PromotionRequest } from '../../src/engine/promote.js';
import { RegistryClient } from '../../src/registry/client.js';
import { RegistryError } from '../../src/registry/errors.js';
import { parseReference } from '../../src/oci/reference.js';
import {
  getManifest,
  listTags,
  pushArtifact,
  pushImage,
  pushIndex,
  writeReferrersTagIndex,
  referrersTag,
  type PushedManifest,
  type SeedTarget,
} from '../support/oci-seed.js';
import {
  startDistribution,
  startDistributionV3,
  startReferrersRegistry,
  type RunningRegistry,
} from '../support/registries.js';

const SIG = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SBOM = 'application/spdx+json';
const COUNTER = 'application/vnd.example.countersignature';

describe.each([
  ['distribution 2.8 (no referrers API)', () => startDistribution()],
  ['distribution v3 (no referrers API)', () => startDistributionV3()],
  ['go-containerregistry (referrers API)', () => startReferrersRegistry()],
])('promotion within a repository on %s', (_name, start) => {
  let registry: RunningRegistry;
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    registry = await start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await registry?.stop();
  });

  const newClient = () => {
    const client = new RegistryClient({ plainHttp: true });
    clients.push(client);
    return client;
  };
  const request = (
    repo: string,
    source: string,
    tags: string[],
    extra: Partial<PromotionRequest> = {},
  ): PromotionRequest => {
    const src = parseReference(`${registry.host}/${repo}${source.startsWith('sha256:') ? '@' : ':'}${source}`);
    return {
      source: src,
      targets: tags.map((tag) => ({ registry: src.registry, repository: src.repository, tag })),
      copyReferrers: true,
      dryRun: false,
      ...extra,
    };
  };
  /** Pushes referrers the way a client would on this registry: with the API, the registry indexes them; without, the pushing client maintains the referrers tag. */
  const attach = async (
    t: SeedTarget,
    subject: PushedManifest,
    artifactType: string,
    existing: PushedManifest[] = [],
  ) => {
    const a = await pushArtifact(t, subject.descriptor, artifactType, {
      annotations: { 'org.example.kind': artifactType },
    });
    if (!registry.referrersApi)
      await writeReferrersTagIndex(
        t,
        subject.digest,
        [...existing, a].map((x) => x.descriptor),
      );
    return a;
  };

  it('retags to several tags, lists every referrer recursively and the referrers API, and writes only the tags', async () => {
    const t = registry.target('acme/plain');
    const image = await pushImage(t, 'rc', { layers: 2, seed: 'plain' });
    const sig = await attach(t, image, SIG);
    const sbom = await attach(t, image, SBOM, [sig]);
    const counter = await attach(t, sig, COUNTER);
    const tagsBefore = (await listTags(t)).sort();
    const ofRepo = async () => (await registry.requests()).filter((r) => r.path.startsWith('/v2/acme/plain/'));
    const before = (await ofRepo()).length;

    const result = await promote(newClient(), request('acme/plain', 'rc', ['1.2.3', 'latest']));

    expect(result.targets.map((x) => x.status)).toEqual(['created', 'created']);
    expect(result.referrersLookedUp).toBe(true);
    const byDigest = new Map(result.referrers.map((r) => [r.digest, r]));
    expect([...byDigest.keys()].sort()).toEqual([sig.digest, sbom.digest, counter.digest].sort());
    expect(byDigest.get(sig.digest)).toMatchObject({ artifactType: SIG, subject: image.digest, depth: 1 });
    expect(byDigest.get(sbom.digest)).toMatchObject({ artifactType: SBOM, subject: image.digest, depth: 1 });
    expect(byDigest.get(counter.digest)).toMatchObject({ artifactType: COUNTER, subject: sig.digest, depth: 2 });
    expect(result.capabilities).toEqual({ [`${registry.host}/acme/plain`]: { referrersApi: registry.referrersApi } });
    expect(result.referrersTags).toEqual([]);
    // The registry's own log: exactly the two tags written; everything else was a read. With
    // the API, a listing per manifest of the graph; without it, the referrers tags that exist.
    const made = (await ofRepo()).slice(before).map((r) => `${r.method} ${r.path.replace(/\?.*$/, '')}`);
    // Without it, each entry of those tags is read too: it counts only when its manifest is there
    // and names the subject. The tag list is read, then once past its last tag, which proves it
    // whole.
    const referrersReads = registry.referrersApi
      ? [image, sig, sbom, counter].map((m) => `GET /v2/acme/plain/referrers/${m.digest}`)
      : [
          `GET /v2/acme/plain/referrers/${image.digest}`,
          `GET /v2/acme/plain/manifests/${referrersTag(image.digest)}`,
          `GET /v2/acme/plain/manifests/${referrersTag(sig.digest)}`,
          ...[sig, sbom, counter].map((m) => `GET /v2/acme/plain/manifests/${m.digest}`),
        ];
    expect(made.sort()).toEqual(
      [
        'GET /v2/acme/plain/manifests/rc',
        'GET /v2/acme/plain/tags/list',
        'GET /v2/acme/plain/tags/list',
        'HEAD /v2/acme/plain/manifests/1.2.3',
        'HEAD /v2/acme/plain/manifests/latest',
        'PUT /v2/acme/plain/manifests/1.2.3',
        'PUT /v2/acme/plain/manifests/latest',
        ...referrersReads,
      ].sort(),
    );
    expect((await listTags(t)).sort()).toEqual([...tagsBefore, '1.2.3', 'latest'].sort());

    // A rerun writes nothing, and finds the same referrers.
    const writesBefore = await registry.writeCount();
    const again = await promote(newClient(), request('acme/plain', 'rc', ['1.2.3', 'latest']));
    expect(again.targets.map((x) => x.status)).toEqual(['unchanged', 'unchanged']);
    expect(again.referrers.map((r) => r.digest).sort()).toEqual([...byDigest.keys()].sort());
    expect(again.capabilities).toEqual(result.capabilities);
    expect(await registry.writeCount()).toBe(writesBefore);
  });

  it('looks nothing up with discoverReferrers false: the minimum of requests, and outputs that say so', async () => {
    const t = registry.target('acme/bare');
    const image = await pushImage(t, 'rc', { seed: 'bare' });
    await attach(t, image, SIG);
    const ofRepo = async () => (await registry.requests()).filter((r) => r.path.startsWith('/v2/acme/bare/'));
    const before = (await ofRepo()).length;

    const result = await promote(newClient(), request('acme/bare', 'rc', ['1.0'], { discoverReferrers: false }));

    expect(result.referrersLookedUp).toBe(false);
    expect(result.referrers).toEqual([]);
    expect(result.capabilities).toEqual({ [`${registry.host}/acme/bare`]: {} });
    const made = (await ofRepo()).slice(before).map((r) => `${r.method} ${r.path}`);
    expect(made.sort()).toEqual(
      ['GET /v2/acme/bare/manifests/rc', 'HEAD /v2/acme/bare/manifests/1.0', 'PUT /v2/acme/bare/manifests/1.0'].sort(),
    );
  });

  it('promotes to several tags, keeps the bytes, and with a policy gate reports referrers recursively', async () => {
    const t = registry.target('acme/app');
    const image = await pushImage(t, 'rc', { layers: 2, seed: 'several' });
    const sig = await attach(t, image, SIG);
    const sbom = await attach(t, image, SBOM, [sig]);
    const counter = await attach(t, sig, COUNTER);

    const result = await promote(newClient(), {
      ...request('acme/app', 'rc', ['1.2.3', 'latest']),
      requireReferrers: [SIG, SBOM],
    });

    expect(result.digest).toBe(image.digest);
    expect(result.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(result.targets).toEqual([
      { reference: `${registry.host}/acme/app:1.2.3`, digest: image.digest, status: 'created' },
      { reference: `${registry.host}/acme/app:latest`, digest: image.digest, status: 'created' },
    ]);
    for (const tag of ['1.2.3', 'latest']) {
      const m = await getManifest(t, tag);
      expect(Buffer.from(m!.bytes).equals(Buffer.from(image.bytes))).toBe(true);
      expect(m!.mediaType).toBe(image.mediaType);
    }
    const byDigest = new Map(result.referrers.map((r) => [r.digest, r]));
    expect([...byDigest.keys()].sort()).toEqual([sig.digest, sbom.digest, counter.digest].sort());
    expect(byDigest.get(sig.digest)).toMatchObject({
      artifactType: SIG,
      subject: image.digest,
      depth: 1,
      annotations: { 'org.example.kind': SIG },
    });
    expect(byDigest.get(sbom.digest)).toMatchObject({ artifactType: SBOM, subject: image.digest, depth: 1 });
    expect(byDigest.get(counter.digest)).toMatchObject({ artifactType: COUNTER, subject: sig.digest, depth: 2 });
    expect(result.capabilities).toEqual({ [`${registry.host}/acme/app`]: { referrersApi: registry.referrersApi } });
    expect(result.referrersTags).toEqual([]);
  });

  it('writes nothing on a rerun', async () => {
    const t = registry.target('acme/rerun');
    await pushImage(t, 'rc', { seed: 'rerun' });
    await promote(newClient(), request('acme/rerun', 'rc', ['1.0.0', 'latest']));
    const writesBefore = await registry.writeCount();
    const again = await promote(newClient(), request('acme/rerun', 'rc', ['1.0.0', 'latest']));
    expect(again.targets.map((x) => x.status)).toEqual(['unchanged', 'unchanged']);
    expect(await registry.writeCount()).toBe(writesBefore);
  });

  it('reports a tag that pointed elsewhere as updated', async () => {
    const t = registry.target('acme/update');
    const old = await pushImage(t, 'latest', { seed: 'old' });
    const fresh = await pushImage(t, 'rc', { seed: 'new' });
    const result = await promote(newClient(), request('acme/update', 'rc', ['latest']));
    expect(result.targets[0]).toMatchObject({ status: 'updated', digest: fresh.digest, previous: old.digest });
    expect((await getManifest(t, 'latest'))!.digest).toBe(fresh.digest);
  });

  it('tags a referrer without creating or changing any sha256-* tag', async () => {
    const t = registry.target('acme/referrer');
    const image = await pushImage(t, 'rc', { seed: 'referrer' });
    const sig = await attach(t, image, SIG);
    // A second subject whose referrer exists but which has no referrers tag at all.
    const other = await pushImage(t, 'other', { seed: 'referrer-other' });
    const orphan = await pushArtifact(t, other.descriptor, SBOM);

    const tagsBefore = (await listTags(t)).sort();
    const indexBefore = registry.referrersApi ? null : await getManifest(t, referrersTag(image.digest));
    const logBefore = (await registry.requests()).length;

    const r1 = await promote(newClient(), request('acme/referrer', sig.digest, ['signature-1']));
    const r2 = await promote(newClient(), request('acme/referrer', orphan.digest, ['sbom-1']));
    expect(r1.targets[0]!.status).toBe('created');
    expect(r2.targets[0]!.status).toBe('created');
    expect(r1.referrersTags).toEqual([]);

    const tagsAfter = (await listTags(t)).sort();
    expect(tagsAfter).toEqual([...tagsBefore, 'signature-1', 'sbom-1'].sort());
    expect(tagsAfter.filter((x) => x.startsWith('sha256-'))).toEqual(tagsBefore.filter((x) => x.startsWith('sha256-')));
    if (indexBefore) expect((await getManifest(t, referrersTag(image.digest)))!.digest).toBe(indexBefore.digest);
    expect(await getManifest(t, referrersTag(other.digest))).toBeNull();
    // The registry's own log: the promotions wrote exactly the two tags, and nothing else.
    const during = (await registry.requests()).slice(logBefore);
    expect(during.filter((q) => q.method !== 'GET' && q.method !== 'HEAD').map((q) => `${q.method} ${q.path}`)).toEqual(
      [`PUT /v2/acme/referrer/manifests/signature-1`, `PUT /v2/acme/referrer/manifests/sbom-1`],
    );
  });

  it('promotes a source given by digest', async () => {
    const t = registry.target('acme/bydigest');
    const image = await pushImage(t, undefined, { seed: 'bydigest' });
    const result = await promote(newClient(), request('acme/bydigest', image.digest, ['v1']));
    expect(result.targets[0]).toMatchObject({ status: 'created', digest: image.digest });
    expect((await getManifest(t, 'v1'))!.digest).toBe(image.digest);
  });

  it.each([
    ['a Docker schema2 manifest', 'docker-image'],
    ['an OCI index', 'oci-index'],
    ['a Docker manifest list', 'docker-list'],
  ])('keeps the bytes and media type of %s', async (_what, kind) => {
    const t = registry.target(`acme/${kind}`);
    let source: PushedManifest;
    if (kind === 'docker-image') {
      source = await pushImage(t, 'rc', { mediaType: 'docker', seed: kind });
    } else {
      const docker = kind === 'docker-list';
      const amd = await pushImage(t, undefined, {
        seed: `${kind}-amd64`,
        mediaType: docker ? 'docker' : 'oci',
        platform: { os: 'linux', architecture: 'amd64' },
      });
      const arm = await pushImage(t, undefined, {
        seed: `${kind}-arm64`,
        mediaType: docker ? 'docker' : 'oci',
        platform: { os: 'linux', architecture: 'arm64' },
      });
      source = await pushIndex(t, 'rc', [amd.descriptor, arm.descriptor], { mediaType: docker ? 'docker' : 'oci' });
    }
    const result = await promote(newClient(), request(`acme/${kind}`, 'rc', ['1.0']));
    expect(result.mediaType).toBe(source.mediaType);
    const m = await getManifest(t, '1.0');
    expect(m!.digest).toBe(source.digest);
    expect(m!.mediaType).toBe(source.mediaType);
    expect(Buffer.from(m!.bytes).equals(Buffer.from(source.bytes))).toBe(true);
  });

  it('writes nothing in a dry run', async () => {
    const t = registry.target('acme/dry');
    const image = await pushImage(t, 'rc', { seed: 'dry' });
    const writesBefore = await registry.writeCount();
    const result = await promote(newClient(), request('acme/dry', 'rc', ['1.0'], { dryRun: true }));
    expect(result.targets[0]).toMatchObject({ status: 'created', digest: image.digest });
    expect(await registry.writeCount()).toBe(writesBefore);
    expect(await getManifest(t, '1.0')).toBeNull();
  });

  it('says a missing source tag was not found, and writes nothing', async () => {
    const t = registry.target('acme/missing');
    await pushImage(t, 'present', { seed: 'missing' });
    const writesBefore = await registry.writeCount();
    const err = await promote(newClient(), request('acme/missing', 'nope', ['1.0'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).status).toBe(404);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^get manifest ${registry.host.replace(/\./g, '\\.')}/acme/missing:nope failed: ${registry.host.replace(/\./g, '\\.')} answered HTTP 404 \\(not found\\) MANIFEST_UNKNOWN`,
      ),
    );
    expect(await registry.writeCount()).toBe(writesBefore);
  });
});
