/**
 * Proves the integration-test harness itself: real registries start, seeding
 * works under each auth mode, and request logs / write counts are exact.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  startDistribution,
  startDistributionV3,
  startReferrersRegistry,
  TOKEN_ISSUER,
  TOKEN_SERVICE,
  type RunningRegistry,
} from '../support/registries.js';
import {
  EMPTY_DESCRIPTOR,
  MediaTypes,
  RegistryHttpError,
  deleteManifest,
  getManifest,
  getReferrersApi,
  headManifest,
  listTags,
  pushArtifact,
  pushBlob,
  pushImage,
  pushIndex,
  pushManifest,
  referrersTag,
  writeReferrersTagIndex,
  type Descriptor,
  type SeedTarget,
} from '../support/oci-seed.js';

const SBOM = 'application/vnd.example.sbom.v1+json';
const SIG = 'application/vnd.example.signature.v1';

/** Authorization headers for raw fetch calls that need several scopes (a mount reads another repository). */
async function rawAuth(reg: RunningRegistry, scopes: string[]): Promise<Record<string, string>> {
  const user = reg.users.find((u) => u.access === 'push');
  if (!user) return {};
  const basic = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  if (reg.auth !== 'token') return { authorization: basic };
  const url = new URL(reg.tokenServer!.realm);
  url.searchParams.set('service', reg.tokenServer!.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  const res = await fetch(url, { headers: { authorization: basic } });
  return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
}

async function httpStatusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RegistryHttpError) return err.status;
    throw err;
  }
  throw new Error('expected the operation to fail');
}

const cases: Array<[string, () => Promise<RunningRegistry>]> = [
  ['distribution, no auth', () => startDistribution()],
  ['distribution, htpasswd', () => startDistribution({ auth: 'htpasswd' })],
  ['distribution, token', () => startDistribution({ auth: 'token' })],
  ['distribution v3, no auth', () => startDistributionV3()],
  ['distribution v3, htpasswd', () => startDistributionV3({ auth: 'htpasswd' })],
  ['distribution v3, token', () => startDistributionV3({ auth: 'token' })],
  ['referrers registry, no auth', () => startReferrersRegistry()],
  [
    'referrers registry, basic auth',
    () => startReferrersRegistry({ users: [{ username: 'alice', password: 'alice-secret' }] }),
  ],
];

describe.each(cases)('%s', (_name, start) => {
  let reg: RunningRegistry;
  let t: SeedTarget;

  beforeAll(async () => {
    reg = await start();
    t = reg.target('team/app');
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('answers /v2/ on a loopback port', async () => {
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(reg.url).toBe(`http://${reg.host}`);
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(reg.auth === 'none' ? 200 : 401);
    if (reg.auth === 'token') {
      expect(res.headers.get('www-authenticate')).toContain(`Bearer realm="${reg.tokenServer!.realm}"`);
    } else if (reg.auth === 'htpasswd') {
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
    // The harness's own readiness probes are not reported: this is the first request.
    expect(await reg.requests()).toEqual([{ method: 'GET', path: '/v2/', status: reg.auth === 'none' ? 200 : 401 }]);
    expect(await reg.writeCount()).toBe(0);
  });

  it('pushes an image and an artifact, lists tags, counts writes exactly', async () => {
    const w0 = await reg.writeCount();
    // 2 layers + config = 3 blobs (POST + PUT each) + 1 manifest PUT.
    const image = await pushImage(t, 'v1', { layers: 2, seed: 'harness' });
    expect(await reg.writeCount()).toBe(w0 + 7);

    // Re-tagging the same bytes is exactly one write.
    const retag = await pushManifest(t, 'v1-copy', image.bytes, image.mediaType);
    expect(retag.digest).toBe(image.digest);
    expect(await reg.writeCount()).toBe(w0 + 8);
    const lastReq = (await reg.requests()).at(-1)!;
    expect(lastReq).toEqual({ method: 'PUT', path: '/v2/team/app/manifests/v1-copy', status: 201 });

    // Pushing an existing blob again writes nothing (HEAD finds it).
    await pushBlob(t, '{"x":1}', 'application/json');
    const afterBlob = await reg.writeCount();
    await pushBlob(t, '{"x":1}', 'application/json');
    expect(await reg.writeCount()).toBe(afterBlob);

    // Artifact: empty config blob + payload blob (2 writes each) + manifest PUT by digest.
    const w1 = await reg.writeCount();
    const sbom = await pushArtifact(t, image.descriptor, SBOM, { annotations: { 'org.example.kind': 'sbom' } });
    expect(await reg.writeCount()).toBe(w1 + 5);
    const artifactPut = (await reg.requests()).filter((r) => r.method === 'PUT').at(-1)!;
    expect(artifactPut.path).toBe(`/v2/team/app/manifests/${sbom.digest}`);

    // The artifact manifest is stored byte for byte.
    const fetched = await getManifest(t, sbom.digest);
    expect(fetched).not.toBeNull();
    expect(Buffer.from(fetched!.bytes).equals(Buffer.from(sbom.bytes))).toBe(true);
    expect(fetched!.mediaType).toBe(MediaTypes.ociManifest);
    expect(fetched!.json).toMatchObject({
      artifactType: SBOM,
      config: EMPTY_DESCRIPTOR,
      subject: { digest: image.digest, mediaType: MediaTypes.ociManifest, size: image.size },
    });

    // OCI-Subject is only sent by a registry that supports the referrers API.
    expect(sbom.ociSubject).toBe(reg.referrersApi ? image.digest : null);

    expect(await listTags(t)).toEqual(['v1', 'v1-copy']);
    expect(await listTags(t, { pageSize: 1 })).toEqual(['v1', 'v1-copy']);
    expect(await listTags(reg.target('does/not-exist'))).toEqual([]);
    expect(await getManifest(t, 'nope')).toBeNull();
    expect(await headManifest(t, 'v1')).toEqual({ digest: image.digest, mediaType: MediaTypes.ociManifest });
  });

  it('serves the referrers API only on the referrers registry', async () => {
    const image = await pushImage(t, 'signed', { seed: 'signed' });
    const sbom = await pushArtifact(t, image.descriptor, SBOM, { annotations: { 'org.example.kind': 'sbom' } });
    const sig = await pushArtifact(t, image.descriptor, SIG);

    const all = await getReferrersApi(t, image.digest);
    if (!reg.referrersApi) {
      // distribution (2.8 and v3) has no such route: a plain-text 404, no OCI error body.
      expect(all.status).toBe(404);
      expect(all.manifests).toBeUndefined();
      expect((await reg.requests()).at(-1)).toEqual({
        method: 'GET',
        path: `/v2/team/app/referrers/${image.digest}`,
        status: 404,
      });
      return;
    }
    expect(all.status).toBe(200);
    expect(all.contentType).toBe(MediaTypes.ociIndex);
    expect(all.manifests).toEqual(
      expect.arrayContaining([
        {
          mediaType: MediaTypes.ociManifest,
          digest: sbom.digest,
          size: sbom.size,
          artifactType: SBOM,
          annotations: { 'org.example.kind': 'sbom' },
        },
        { mediaType: MediaTypes.ociManifest, digest: sig.digest, size: sig.size, artifactType: SIG },
      ]),
    );
    expect(all.manifests).toHaveLength(2);

    const filtered = await getReferrersApi(t, image.digest, { artifactType: SIG });
    expect(filtered.filtersApplied).toBe('artifactType');
    expect(filtered.manifests!.map((d) => d.digest)).toEqual([sig.digest]);

    // Unknown subject / unknown repository: empty list, never 404.
    const none = await getReferrersApi(t, `sha256:${'0'.repeat(64)}`);
    expect(none).toMatchObject({ status: 200, manifests: [] });
    const otherRepo = await getReferrersApi(reg.target('never/pushed'), image.digest);
    expect(otherRepo).toMatchObject({ status: 200, manifests: [] });
  });

  it('writes a referrers tag index, pushes indexes and Docker media types', async () => {
    const image = await pushImage(t, 'with-tag-schema', { seed: 'tag-schema' });
    const sig = await pushArtifact(t, image.descriptor, SIG, { payload: 'tag schema' });
    const w0 = await reg.writeCount();
    const idx = await writeReferrersTagIndex(t, image.digest, [sig.descriptor]);
    expect(await reg.writeCount()).toBe(w0 + 1);
    expect(await listTags(t)).toContain(referrersTag(image.digest));
    const got = await getManifest(t, referrersTag(image.digest));
    expect(got!.digest).toBe(idx.digest);
    expect(got!.json.manifests).toEqual([sig.descriptor]);

    const amd = await pushImage(t, undefined, { seed: 'amd64', platform: { os: 'linux', architecture: 'amd64' } });
    const arm = await pushImage(t, undefined, { seed: 'arm64', platform: { os: 'linux', architecture: 'arm64' } });
    const index = await pushIndex(t, 'multi', [amd.descriptor, arm.descriptor]);
    const multi = await getManifest(t, 'multi');
    expect(multi!.mediaType).toBe(MediaTypes.ociIndex);
    expect(multi!.digest).toBe(index.digest);
    expect((multi!.json.manifests as Array<{ platform: unknown }>).map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);

    const dAmd = await pushImage(t, undefined, { mediaType: 'docker', seed: 'd-amd64' });
    const dArm = await pushImage(t, undefined, {
      mediaType: 'docker',
      seed: 'd-arm64',
      platform: { os: 'linux', architecture: 'arm64' },
    });
    expect(dAmd.mediaType).toBe(MediaTypes.dockerManifest);
    const list = await pushIndex(t, 'docker-multi', [dAmd.descriptor, dArm.descriptor], { mediaType: 'docker' });
    const dl = await getManifest(t, 'docker-multi');
    expect(dl!.mediaType).toBe(MediaTypes.dockerManifestList);
    expect(dl!.digest).toBe(list.digest);

    // Deleting by digest is allowed (storage.delete.enabled on distribution).
    await deleteManifest(t, sig.digest);
    expect(await getManifest(t, sig.digest)).toBeNull();
  });

  it('keeps blobs per repository, mounts across repositories, validates manifests', async () => {
    const image = await pushImage(t, 'blob-iso', { seed: 'blob-iso' });
    const layer = (JSON.parse(Buffer.from(image.bytes).toString()) as { layers: Descriptor[] }).layers[0]!;
    const headers = await rawAuth(reg, ['repository:team/app:pull', 'repository:team/other:pull,push']);
    const blobUrl = (repo: string) => `${reg.url}/v2/${repo}/blobs/${layer.digest}`;

    // A blob pushed to team/app does not exist in team/other ...
    expect((await fetch(blobUrl('team/other'), { method: 'HEAD', headers })).status).toBe(404);
    // ... so a manifest referring to it is refused there.
    const other = reg.target('team/other');
    await pushBlob(other, '{}', MediaTypes.ociEmpty); // make the repository exist
    expect(await httpStatusOf(pushManifest(other, 'x', image.bytes, image.mediaType))).toBe(400);

    // A cross-repository mount makes it available without uploading.
    const w0 = await reg.writeCount();
    const mount = await fetch(`${reg.url}/v2/team/other/blobs/uploads/?mount=${layer.digest}&from=team/app`, {
      method: 'POST',
      headers,
    });
    await mount.arrayBuffer();
    expect(mount.status).toBe(201);
    expect(await reg.writeCount()).toBe(w0 + 1);
    expect((await fetch(blobUrl('team/other'), { method: 'HEAD', headers })).status).toBe(200);

    // A manifest pushed under a digest that is not its own is refused.
    const wrong = `sha256:${'1'.repeat(64)}`;
    expect(await httpStatusOf(pushManifest(t, wrong, image.bytes, image.mediaType))).toBe(400);
  });

  it('refuses wrong credentials and anonymous pushes', async () => {
    if (reg.auth === 'none') {
      // Anyone may push.
      await pushBlob(reg.target('team/app', null), 'anonymous');
      return;
    }
    const username = reg.users[0]!.username;
    const wrong = { ...reg.target('team/app'), username, password: 'wrong' };
    expect([401, 403]).toContain(await httpStatusOf(pushImage(wrong, 'nope')));
    const anonymous = reg.target('team/app', null);
    expect([401, 403]).toContain(await httpStatusOf(pushImage(anonymous, 'nope')));
    expect(await listTags(t)).not.toContain('nope');
  });
});

describe('token server', () => {
  let reg: RunningRegistry;

  beforeAll(async () => {
    reg = await startDistribution({ auth: 'token' });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('issues RS256 tokens with x5c and grants the intersection of requested and allowed actions', async () => {
    const ts = reg.tokenServer!;
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    const res = await fetch(
      `${ts.realm}?service=${TOKEN_SERVICE}&scope=repository:a/b:pull,push,delete&scope=repository:c:pull`,
      {
        headers: { authorization: basic('puller', 'puller-secret') },
      },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    const [h, c] = body.token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(h).toMatchObject({ typ: 'JWT', alg: 'RS256' });
    expect(h.x5c).toHaveLength(1);
    expect(c).toMatchObject({
      iss: TOKEN_ISSUER,
      sub: 'puller',
      aud: TOKEN_SERVICE,
      access: [
        { type: 'repository', name: 'a/b', actions: ['pull'] },
        { type: 'repository', name: 'c', actions: ['pull'] },
      ],
    });
    for (const k of ['exp', 'nbf', 'iat', 'jti']) expect(c).toHaveProperty(k);

    const bad = await fetch(`${ts.realm}?service=${TOKEN_SERVICE}&scope=repository:a:pull`, {
      headers: { authorization: basic('puller', 'nope') },
    });
    expect(bad.status).toBe(401);
    await bad.arrayBuffer();

    const anon = await fetch(`${ts.realm}?service=${TOKEN_SERVICE}&scope=repository:a:pull`);
    const anonClaims = JSON.parse(
      Buffer.from(((await anon.json()) as { token: string }).token.split('.')[1]!, 'base64url').toString(),
    );
    expect(anonClaims.access).toEqual([]);

    // OAuth2 password grant (POST) works as well.
    const post = await fetch(ts.realm, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'pusher',
        password: 'pusher-secret',
        service: TOKEN_SERVICE,
        scope: 'repository:a:pull,push',
      }).toString(),
    });
    expect(post.status).toBe(200);
    await post.arrayBuffer();

    expect(ts.requests().map((r) => [r.method, r.status, r.user])).toEqual([
      ['GET', 200, 'puller'],
      ['GET', 401, 'puller'],
      ['GET', 200, null],
      ['POST', 200, 'pusher'],
    ]);
  });

  it('lets a pull user read but not push', async () => {
    const pusher = reg.target('shared/repo', 'pusher');
    const puller = reg.target('shared/repo', 'puller');
    const image = await pushImage(pusher, 'v1');

    const got = await getManifest(puller, 'v1');
    expect(got!.digest).toBe(image.digest);
    expect(await listTags(puller)).toEqual(['v1']);

    const w0 = await reg.writeCount();
    const status = await httpStatusOf(pushManifest(puller, 'v2', image.bytes, image.mediaType));
    expect([401, 403]).toContain(status);
    expect(await reg.writeCount()).toBe(w0 + 1); // the refused PUT is still a write request
    expect((await reg.requests()).at(-1)).toMatchObject({ method: 'PUT', status });
    expect(await listTags(pusher)).toEqual(['v1']);
  });
});
