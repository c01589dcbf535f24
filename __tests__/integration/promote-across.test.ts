/**
 * Promotion into other repositories and registries with the whole referrers graph, against
 * real registries: distribution 2.8 and v3 (no referrers API: the action maintains the target's
 * referrers tags) and go-containerregistry's registry (referrers API: no sha256-* tag at all).
 *
 * The graph: a multi-arch index with two platforms; an SBOM and a signature on the index; an
 * attestation on the amd64 child; a countersignature on the signature.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { causeOf, CopyError } from '../../src/engine/copy-error.js';
import { promote, type PromotionResult } from '../../src/engine/promote.js';
import type { Credential } from '../../src/registry/auth.js';
import { DigestMismatchError } from '../../src/registry/errors.js';
import {
  getManifest,
  getReferrersApi,
  listTags,
  pushArtifact,
  pushBlob,
  pushImage,
  pushIndex,
  pushManifest,
  referrersTag,
  seededBytes,
  sha256Digest,
  writeReferrersTagIndex,
  type SeedTarget,
} from '../support/oci-seed.js';
import {
  startDistribution,
  startDistributionV3,
  startReferrersRegistry,
  type RunningRegistry,
} from '../support/registries.js';
import { expectedReferrers, seedGraph, SIG } from '../support/graph.js';
import { clientsClosedAfterAll, promotionRequest } from '../support/promotion.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const client = clientsClosedAfterAll();
const request = promotionRequest;

/** Flips one byte of a blob in distribution's storage, so that it no longer matches its digest. */
async function corruptBlob(registry: RunningRegistry, digest: string, at: 'first' | 'last'): Promise<void> {
  const hex = digest.slice('sha256:'.length);
  const file = join(registry.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  const bytes = await readFile(file);
  const i = at === 'first' ? 0 : bytes.length - 1;
  bytes[i] = bytes[i]! ^ 0xff;
  await writeFile(file, bytes);
}

/** The referrers the target shows for a subject: through the API, or its referrers tag. */
async function referrersOnTarget(registry: RunningRegistry, t: SeedTarget, subject: string): Promise<string[]> {
  if (registry.referrersApi) return (await getReferrersApi(t, subject))!.manifests!.map((d) => d.digest).sort();
  const index = await getManifest(t, referrersTag(subject));
  if (!index) return [];
  return (JSON.parse(Buffer.from(index.bytes).toString()) as { manifests: { digest: string }[] }).manifests
    .map((d) => d.digest)
    .sort();
}

describe.each([
  ['distribution 2.8 (no referrers API)', () => startDistribution()],
  ['distribution v3 (no referrers API)', () => startDistributionV3()],
  ['go-containerregistry (referrers API)', () => startReferrersRegistry()],
])('across repositories on %s', (_name, start) => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await start();
  });
  afterAll(async () => registry?.stop());

  it('copies the whole graph, keeps entries already in the target, and a rerun writes nothing', async () => {
    const src = registry.target('staging/app');
    const dst = registry.target('prod/app');
    const g = await seedGraph(registry, src, 'graph');
    // Something another client already attached to the index in the target: it must survive.
    const foreign = await pushArtifact(dst, g.index.descriptor, 'application/vnd.example.foreign');
    if (!registry.referrersApi) await writeReferrersTagIndex(dst, g.index.digest, [foreign.descriptor]);

    const logBefore = (await registry.requests()).length;
    const result = await promote(
      client(),
      request(`${registry.host}/staging/app:rc`, [`${registry.host}/prod/app:1.0`, `${registry.host}/prod/app:latest`]),
    );
    const during = (await registry.requests()).slice(logBefore);

    expect(result.targets.map((t) => t.status)).toEqual(['created', 'created']);
    expect(result.referrers.map((r) => r.digest).sort()).toEqual(
      [g.sbom, g.sig, g.att, g.counter].map((m) => m.digest).sort(),
    );
    for (const m of Object.values(g)) {
      const copied = await getManifest(dst, m.digest);
      expect(copied?.digest).toBe(m.digest);
      expect(Buffer.from(copied!.bytes).equals(Buffer.from(m.bytes))).toBe(true);
    }
    for (const [subject, referrers] of expectedReferrers(g)) {
      const extra = subject === g.index.digest ? [foreign.digest] : [];
      expect(await referrersOnTarget(registry, dst, subject)).toEqual([...referrers, ...extra].sort());
    }
    const stray = (await listTags(dst)).filter((t) => t.startsWith('sha256-')).sort();
    if (registry.referrersApi) {
      expect(stray).toEqual([]);
      expect(result.referrersTags).toEqual([]);
      // What the run observed: mounts answered 201, referrer PUTs answered with OCI-Subject.
      expect(result.capabilities[`${registry.host}/prod/app`]).toEqual({
        referrersApi: true,
        blobMount: true,
        ociSubjectHeader: true,
      });
    } else {
      // Exactly the three subjects that received referrers; the index's was merged into.
      expect(stray).toEqual([g.index.digest, g.amd64.digest, g.sig.digest].map(referrersTag).sort());
      expect(result.referrersTags.sort()).toEqual(stray.map((t) => `${registry.host}/prod/app:${t}`));
      // distribution mounts (201) and, having no referrers API, never sends OCI-Subject.
      expect(result.capabilities[`${registry.host}/prod/app`]).toEqual({
        referrersApi: false,
        blobMount: true,
        ociSubjectHeader: false,
      });
      // Mounted within one registry: no blob bytes were uploaded.
      expect(during.filter((q) => q.method === 'PUT' && q.path.includes('/blobs/uploads/'))).toEqual([]);
      expect(result.copy.blobsUploaded).toBe(0);
      expect(result.copy.blobsMounted).toBeGreaterThanOrEqual(6);
    }
    // Tags are written last: no PUT of a tag comes before the last PUT of anything else.
    const puts = during.filter((q) => q.method === 'PUT').map((q) => q.path);
    const firstTag = puts.findIndex((p) => /\/manifests\/(1\.0|latest)$/.test(p));
    expect(puts.slice(firstTag).every((p) => /\/manifests\/(1\.0|latest)$/.test(p))).toBe(true);

    const writes = await registry.writeCount();
    const again = await promote(
      client(),
      request(`${registry.host}/staging/app:rc`, [`${registry.host}/prod/app:1.0`, `${registry.host}/prod/app:latest`]),
    );
    expect(again.targets.map((t) => t.status)).toEqual(['unchanged', 'unchanged']);
    expect(again.referrersTags).toEqual([]);
    expect(await registry.writeCount()).toBe(writes);
  });

  it("copies cosign's tag-based attachments of the digest", async () => {
    const src = registry.target('staging/cosign');
    const dst = registry.target('prod/cosign');
    const image = await pushImage(src, 'rc', { seed: 'cosign' });
    // cosign (without OCI 1.1 mode) stores a signature as an image under sha256-<hex>.sig.
    const sigTag = `${referrersTag(image.digest)}.sig`;
    const sig = await pushImage(src, sigTag, {
      seed: 'cosign-signature',
      annotations: { 'dev.cosignproject.cosign/signature': 'MEUC' },
    });
    const result = await promote(
      client(),
      request(`${registry.host}/staging/cosign:rc`, [`${registry.host}/prod/cosign:1.0`]),
    );
    expect(result.targets[0]!.status).toBe('created');
    expect((await getManifest(dst, sigTag))?.digest).toBe(sig.digest);
    expect((await listTags(dst)).sort()).toEqual(['1.0', sigTag].sort());
    expect(result.referrersTags).toEqual([]);
  });

  it('copies the artifact alone with copy-referrers false', async () => {
    const src = registry.target('staging/alone');
    const dst = registry.target('prod/alone');
    const g = await seedGraph(registry, src, 'alone');
    const result = await promote(
      client(),
      request(`${registry.host}/staging/alone:rc`, [`${registry.host}/prod/alone:1.0`], { copyReferrers: false }),
    );
    expect(result.targets[0]!.status).toBe('created');
    expect((await getManifest(dst, g.amd64.digest))?.digest).toBe(g.amd64.digest);
    for (const m of [g.sbom, g.sig, g.att, g.counter]) expect(await getManifest(dst, m.digest)).toBeNull();
    expect((await listTags(dst)).sort()).toEqual(['1.0']);
  });

  it('keeps both sets of referrers when two promotions run at once into the same target, 20 times over', async () => {
    const a = registry.target('team-a/app');
    const b = registry.target('team-b/app');
    // The same image in two repositories, each with its own signature.
    const imgA = await pushImage(a, 'rc', { seed: 'race' });
    const imgB = await pushImage(b, 'rc', { seed: 'race' });
    expect(imgA.digest).toBe(imgB.digest);
    const sigA = await pushArtifact(a, imgA.descriptor, SIG, { payload: 'signed by a' });
    const sigB = await pushArtifact(b, imgB.descriptor, SIG, { payload: 'signed by b' });
    if (!registry.referrersApi) {
      await writeReferrersTagIndex(a, imgA.digest, [sigA.descriptor]);
      await writeReferrersTagIndex(b, imgB.digest, [sigB.descriptor]);
    }
    const lost: number[] = [];
    const remerged: string[] = [];
    const raceLog = {
      debug: () => undefined,
      warning: () => undefined,
      info: (m: string) => void (/merging again/.test(m) && remerged.push(m)),
    };
    for (let round = 0; round < 20; round++) {
      const target = `${registry.host}/release/app-${round}:1.0`;
      await Promise.all([
        promote(client(), request(`${registry.host}/team-a/app:rc`, [target]), { logger: raceLog }),
        promote(client(), request(`${registry.host}/team-b/app:rc`, [target]), { logger: raceLog }),
      ]);
      const found = await referrersOnTarget(registry, registry.target(`release/app-${round}`), imgA.digest);
      if (found.join() !== [sigA.digest, sigB.digest].sort().join()) lost.push(round);
    }
    expect(lost).toEqual([]);
    if (process.env.REPORT_RACES)
      console.log(`${registry.kind}: 20 rounds, ${remerged.length} re-merges after a concurrent writer`);
  });
});

describe('within one registry with token auth', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startDistribution({
      auth: 'token',
      users: [{ username: 'releaser', password: 'releaser-secret', access: 'push' }],
    });
  });
  afterAll(async () => registry?.stop());

  it('mounts every blob with one token whose scopes cover both repositories', async () => {
    const g = await seedGraph(registry, registry.target('staging/app', 'releaser'), 'mount');
    const tokensBefore = registry.tokenServer!.requests().length;
    const logBefore = (await registry.requests()).length;
    const result = await promote(
      client(() => ({ username: 'releaser', password: 'releaser-secret' })),
      request(`${registry.host}/staging/app:rc`, [`${registry.host}/prod/app:1.0`]),
    );
    expect(result.targets[0]).toMatchObject({ status: 'created', digest: g.index.digest });
    const during = (await registry.requests()).slice(logBefore);
    expect(during.filter((q) => q.method === 'PUT' && q.path.includes('/blobs/uploads/'))).toEqual([]);
    expect(during.filter((q) => q.method === 'POST' && q.path.includes('mount='))).toHaveLength(
      result.copy.blobsMounted,
    );
    expect(result.copy.blobsUploaded).toBe(0);
    const scopes = registry
      .tokenServer!.requests()
      .slice(tokensBefore)
      .map((q) => new URL(q.path, 'http://x').searchParams.getAll('scope').sort().join(' '));
    expect(scopes).toContain('repository:prod/app:pull,push repository:staging/app:pull');
  });
});

describe('across two registries with different credentials', () => {
  let from: RunningRegistry;
  let to: RunningRegistry;
  beforeAll(async () => {
    from = await startDistribution({ auth: 'htpasswd', users: [{ username: 'reader', password: 'reader-secret' }] });
    to = await startDistribution({
      auth: 'token',
      users: [{ username: 'writer', password: 'writer-secret', access: 'push' }],
    });
  });
  afterAll(async () => {
    await from?.stop();
    await to?.stop();
  });
  const creds = (registry: string): Credential | undefined =>
    registry === from.host
      ? { username: 'reader', password: 'reader-secret' }
      : registry === to.host
        ? { username: 'writer', password: 'writer-secret' }
        : undefined;

  it('streams the graph across and maintains the target referrers tags', async () => {
    const src = from.target('app', 'reader');
    const g = await seedGraph(from, { ...src, username: 'reader', password: 'reader-secret' }, 'cross');
    const result: PromotionResult = await promote(
      client(creds),
      request(`${from.host}/app:rc`, [`${to.host}/mirror/app:1.0`]),
    );
    expect(result.targets).toEqual([
      { reference: `${to.host}/mirror/app:1.0`, digest: g.index.digest, status: 'created' },
    ]);
    const dst = to.target('mirror/app', 'writer');
    for (const [subject, referrers] of expectedReferrers(g))
      expect(await referrersOnTarget(to, dst, subject)).toEqual(referrers);
    expect(result.copy.blobsUploaded).toBeGreaterThan(0);
    expect(result.copy.blobsMounted).toBe(0);
    // Only reads on the source.
    expect(
      (await from.requests()).filter(
        (q) =>
          q.method !== 'GET' &&
          q.method !== 'HEAD' &&
          q.path.startsWith('/v2/app/') &&
          q.status < 400 &&
          q.path.includes('mirror'),
      ),
    ).toEqual([]);
  });

  it('fails on a blob whose bytes do not match its digest, and tags nothing', async () => {
    const src = { ...from.target('corrupt'), username: 'reader', password: 'reader-secret' };
    const image = await pushImage(src, 'rc', { seed: 'corrupt', layers: 1 });
    const manifest = JSON.parse(Buffer.from(image.bytes).toString()) as { layers: { digest: string }[] };
    await corruptBlob(from, manifest.layers[0]!.digest, 'first');

    const err = await promote(client(creds), request(`${from.host}/corrupt:rc`, [`${to.host}/corrupt:1.0`])).catch(
      (e: unknown) => e,
    );
    // The side and repository are carried by a CopyError; the registry layer's error is its cause.
    expect(err).toBeInstanceOf(CopyError);
    expect(err).toMatchObject({ side: 'source', repository: `${from.host}/corrupt` });
    expect(causeOf(err)).toBeInstanceOf(DigestMismatchError);
    expect((err as Error).message).toContain(
      `On the source ${from.host}/corrupt: the blob ${from.host}/corrupt@${manifest.layers[0]!.digest} does not match its digest`,
    );
    expect(await listTags(to.target('corrupt', 'writer'))).toEqual([]);
    expect(await getManifest(to.target('corrupt', 'writer'), image.digest)).toBeNull();
  });
});

describe.each([
  [
    'distribution v3',
    'go-containerregistry (referrers API)',
    () => startDistributionV3(),
    () => startReferrersRegistry(),
  ],
  [
    'go-containerregistry (referrers API)',
    'distribution v3',
    () => startReferrersRegistry(),
    () => startDistributionV3(),
  ],
])('from %s to %s', (_from, _to, startFrom, startTo) => {
  let from: RunningRegistry;
  let to: RunningRegistry;
  beforeAll(async () => {
    [from, to] = await Promise.all([startFrom(), startTo()]);
  });
  afterAll(async () => Promise.all([from?.stop(), to?.stop()]));

  it('copies the whole graph with its referrers, as the target can list them', async () => {
    const g = await seedGraph(from, from.target('staging/app'), `v3-${from.kind}`);
    const result = await promote(client(), request(`${from.host}/staging/app:rc`, [`${to.host}/prod/app:1.0`]));
    expect(result.targets[0]).toMatchObject({ digest: g.index.digest, status: 'created' });
    const dst = to.target('prod/app');
    for (const m of Object.values(g)) expect((await getManifest(dst, m.digest))?.digest).toBe(m.digest);
    for (const [subject, referrers] of expectedReferrers(g))
      expect(await referrersOnTarget(to, dst, subject)).toEqual(referrers);
    const stray = (await listTags(dst)).filter((t) => t.startsWith('sha256-')).sort();
    expect(stray).toEqual(
      to.referrersApi ? [] : [g.index.digest, g.amd64.digest, g.sig.digest].map(referrersTag).sort(),
    );
  });
});

describe('into a registry with the referrers API that answers 404 NAME_UNKNOWN for a new repository', () => {
  let from: RunningRegistry;
  let to: RunningRegistry;
  beforeAll(async () => {
    [from, to] = await Promise.all([startDistribution(), startReferrersRegistry({ unknownRepo404: true })]);
  });
  afterAll(async () => Promise.all([from?.stop(), to?.stop()]));

  it('asks about the API only once the repository exists, and writes no referrers tag', async () => {
    const g = await seedGraph(from, from.target('staging/app'), 'unknown-repo');
    const result = await promote(client(), request(`${from.host}/staging/app:rc`, [`${to.host}/fresh/app:1.0`]));
    const dst = to.target('fresh/app');
    expect(result.capabilities[`${to.host}/fresh/app`]?.referrersApi).toBe(true);
    expect(result.referrersTags).toEqual([]);
    expect((await listTags(dst)).filter((t) => /^sha256-[0-9a-f]{64}$/.test(t))).toEqual([]);
    for (const [subject, referrers] of expectedReferrers(g)) {
      expect((await getReferrersApi(dst, subject))!.manifests!.map((d) => d.digest).sort()).toEqual(referrers);
    }
    const plan = result.plan[0]!;
    expect(plan.nodes.filter((n) => n.kind === 'referrer').every((n) => n.listedBy === 'referrers API')).toBe(true);
  });

  it('reports the API of a target it copies no referrers to, asked once the repository exists; a dry run cannot know', async () => {
    await seedGraph(from, from.target('staging/bare'), 'unknown-repo-bare');
    const dry = await promote(
      client(),
      request(`${from.host}/staging/bare:rc`, [`${to.host}/fresh/bare:1.0`], { copyReferrers: false, dryRun: true }),
    );
    // The repository does not exist: the registry's 404 NAME_UNKNOWN says nothing about the API.
    expect(dry.capabilities[`${to.host}/fresh/bare`]?.referrersApi).toBeUndefined();
    expect(dry.capabilities[`${from.host}/staging/bare`]?.referrersApi).toBe(false);

    const logBefore = (await to.requests()).length;
    const result = await promote(
      client(),
      request(`${from.host}/staging/bare:rc`, [`${to.host}/fresh/bare:1.0`], { copyReferrers: false }),
    );
    expect(result.capabilities[`${to.host}/fresh/bare`]?.referrersApi).toBe(true);
    const made = (await to.requests()).slice(logBefore).map((r) => `${r.method} ${r.path}`);
    const probes = made.filter((r) => r.startsWith('GET /v2/fresh/bare/referrers/'));
    expect(probes).toHaveLength(1);
    // Asked after the promoted manifest was pushed (by digest), while the tag was written.
    const rootPush = made.findIndex((r) => r.startsWith('PUT /v2/fresh/bare/manifests/sha256:'));
    expect(rootPush).toBeGreaterThanOrEqual(0);
    expect(made.indexOf(probes[0]!)).toBeGreaterThan(rootPush);
  });
});

describe('order across two registries: referrers and cosign tags after what they refer to', () => {
  let from: RunningRegistry;
  let to: RunningRegistry;
  beforeAll(async () => {
    [from, to] = await Promise.all([startDistribution(), startDistribution()]);
  });
  afterAll(async () => Promise.all([from?.stop(), to?.stop()]));

  it("updates a child's referrers tag only once the child is in the target", async () => {
    const src = from.target('staging/bk');
    // The child's 24 MiB layer takes far longer to copy across than its attestation does.
    const layer = await pushBlob(
      src,
      seededBytes('bk-layer', 24 * 1024 * 1024),
      'application/vnd.oci.image.layer.v1.tar',
    );
    const config = await pushBlob(
      src,
      '{"architecture":"amd64","os":"linux"}',
      'application/vnd.oci.image.config.v1+json',
    );
    const child = await pushManifest(
      src,
      sha256Digest(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] })),
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] },
      OCI_MANIFEST,
    );
    const attestation = await pushArtifact(src, child.descriptor, 'application/vnd.in-toto+json', {
      payload: 'provenance',
    });
    const index = await pushIndex(src, 'rc', [
      { ...child.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
      {
        ...attestation.descriptor,
        annotations: {
          'vnd.docker.reference.type': 'attestation-manifest',
          'vnd.docker.reference.digest': child.digest,
        },
      },
    ]);
    await writeReferrersTagIndex(src, child.digest, [attestation.descriptor]);

    await promote(client(), request(`${from.host}/staging/bk:rc`, [`${to.host}/prod/bk:1.0`]));

    const puts = (await to.requests())
      .filter((r) => r.method === 'PUT' && r.path.startsWith('/v2/prod/bk/manifests/'))
      .map((r) => r.path.slice('/v2/prod/bk/manifests/'.length));
    expect(puts.indexOf(child.digest)).toBeGreaterThanOrEqual(0);
    // The attestation, though also a child of the index, is pushed after its subject.
    expect(puts.indexOf(attestation.digest)).toBeGreaterThan(puts.indexOf(child.digest));
    expect(puts.indexOf(referrersTag(child.digest))).toBeGreaterThan(puts.indexOf(child.digest));
    expect(puts[puts.length - 1]).toBe('1.0');
    const dst = to.target('prod/bk');
    expect(await referrersOnTarget(to, dst, child.digest)).toEqual([attestation.digest]);
    expect((await getManifest(dst, '1.0'))!.digest).toBe(index.digest);
  });

  /** An image with one big layer, a cosign `.sig` tag and, if asked, a referrer, on the source. */
  const seedSlowImage = async (repo: string, withReferrer: boolean) => {
    const src = from.target(repo);
    const layer = await pushBlob(
      src,
      seededBytes(`${repo}-layer`, 24 * 1024 * 1024),
      'application/vnd.oci.image.layer.v1.tar',
    );
    const config = await pushBlob(src, `{"os":"linux","seed":"${repo}"}`, 'application/vnd.oci.image.config.v1+json');
    const body = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] };
    const image = await pushManifest(src, 'rc', body, OCI_MANIFEST);
    if (withReferrer) {
      const sig = await pushArtifact(src, image.descriptor, SIG, { payload: `${repo} sig` });
      await writeReferrersTagIndex(src, image.digest, [sig.descriptor]);
    }
    await pushImage(src, `${referrersTag(image.digest)}.sig`, { seed: `${repo}-cosign` });
    return { image, layer };
  };

  it('writes the cosign tag only after the image is in the target', async () => {
    const { image } = await seedSlowImage('slow/app', false);
    await promote(client(), request(`${from.host}/slow/app:rc`, [`${to.host}/slow/app:1.0`]));
    const puts = (await to.requests())
      .filter((r) => r.method === 'PUT' && r.path.startsWith('/v2/slow/app/manifests/'))
      .map((r) => r.path.slice('/v2/slow/app/manifests/'.length));
    const root = puts.indexOf(image.digest);
    expect(root).toBeGreaterThanOrEqual(0);
    expect(puts.indexOf(`${referrersTag(image.digest)}.sig`)).toBeGreaterThan(root);
  });

  it('leaves no cosign tag for an image whose copy failed', async () => {
    const { layer } = await seedSlowImage('nosig/app', false);
    await corruptBlob(from, layer.digest, 'last');
    const err = await promote(client(), request(`${from.host}/nosig/app:rc`, [`${to.host}/nosig/app:1.0`])).catch(
      (e: unknown) => e,
    );
    expect(causeOf(err)).toBeInstanceOf(DigestMismatchError);
    expect(await listTags(to.target('nosig/app'))).toEqual([]);
  });

  it('fails on the broken image without an unhandled rejection, and tags nothing that names it', async () => {
    const { image, layer } = await seedSlowImage('broken/app', true);
    await corruptBlob(from, layer.digest, 'last');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const err = await promote(client(), request(`${from.host}/broken/app:rc`, [`${to.host}/broken/app:1.0`])).catch(
        (e: unknown) => e,
      );
      expect(causeOf(err)).toBeInstanceOf(DigestMismatchError);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    const dst = to.target('broken/app');
    expect(await getManifest(dst, image.digest)).toBeNull();
    expect(await listTags(dst)).toEqual([]);
  });
});
