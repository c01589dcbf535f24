/**
 * The referrers probe and the referrers-tag reader against a FAKE registry on loopback: it
 * answers the way ghcr.io, GitLab and other registries answer in the field, which the real
 * registries of the integration tests cannot be made to do.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { UserFacingError } from '../../src/oci/user-facing-error.js';
import { RegistryClient } from '../../src/registry/client.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const SUBJECT_BODY = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('c'), size: 1 },
  layers: [],
});
const SUBJECT = sha(SUBJECT_BODY);
const TAG = `sha256-${SUBJECT.slice(7)}`;
const REFERRER = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: sha('r'),
  size: 10,
  artifactType: 'application/x.sig',
};
const index = (manifests: unknown[]) =>
  JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });

let fake: Server;
let elsewhere: Server;
let host: string;
let elsewhereUrl: string;
let routes: Record<string, Handler> = {};
const seen: string[] = [];
const seenElsewhere: string[] = [];

const listen = (s: Server) =>
  new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`127.0.0.1:${(s.address() as AddressInfo).port}`)));

beforeAll(async () => {
  fake = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const route = routes[`${req.method} ${req.url}`];
    if (route) return route(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
  });
  elsewhere = createServer((req, res) => {
    seenElsewhere.push(`${req.method} ${req.url}`);
    res.writeHead(429).end();
  });
  host = await listen(fake);
  elsewhereUrl = `http://${await listen(elsewhere)}`;
});
afterAll(async () => {
  await new Promise((r) => fake.close(r));
  await new Promise((r) => elsewhere.close(r));
});

const clients: RegistryClient[] = [];
function repo(referrersApi: 'auto' | boolean = 'auto') {
  const c = new RegistryClient({ plainHttp: true, referrersApi });
  clients.push(c);
  return c.repository({ registry: host, repository: 'a/b' }, 'pull');
}
afterAll(async () => Promise.all(clients.map((c) => c.close())));

const API = `GET /v2/a/b/referrers/${SUBJECT}`;
const TAG_GET = `GET /v2/a/b/manifests/${TAG}`;
const TAGS_LIST = 'GET /v2/a/b/tags/list?n=1000';
/** The look past the last tag of a listing. */
const pastLast = (last: string) => `GET /v2/a/b/tags/list?n=1&last=${last}`;
const tagList =
  (tags: string[]): Handler =>
  (_q, r) =>
    r.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'a/b', tags }));
/** A tag list of `tags`, and the empty answer past its last tag that proves it whole. */
function listTags(tags: string[]): void {
  routes[TAGS_LIST] = tagList(tags);
  routes[pastLast(tags[tags.length - 1]!)] = tagList([]);
}
/** The repository lists the subject's referrers tag, so the reader goes on to GET it. */
function listReferrersTag(): void {
  listTags(['rc', TAG]);
}
function serveTagIndex(): void {
  listReferrersTag();
  routes[TAG_GET] = (_q, r) =>
    r.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(index([REFERRER]));
}

describe('referrers API probe (fake registry)', () => {
  it.each([
    ['404 without a body', (_q: IncomingMessage, r: ServerResponse) => r.writeHead(404).end()],
    [
      '404 with an error body',
      (_q: IncomingMessage, r: ServerResponse) =>
        r.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND"}]}'),
    ],
    ['400', (_q: IncomingMessage, r: ServerResponse) => r.writeHead(400).end()],
    ['405', (_q: IncomingMessage, r: ServerResponse) => r.writeHead(405).end()],
    ['406', (_q: IncomingMessage, r: ServerResponse) => r.writeHead(406).end()],
    ['501', (_q: IncomingMessage, r: ServerResponse) => r.writeHead(501).end()],
    [
      'an HTML page with 200',
      (_q: IncomingMessage, r: ServerResponse) =>
        r.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'),
    ],
    [
      'a Docker manifest list with 200',
      (_q: IncomingMessage, r: ServerResponse) =>
        r.writeHead(200).end(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
            manifests: [],
          }),
        ),
    ],
  ])('treats %s as no API, reads the referrers tag, and probes only once', async (_what, handler) => {
    routes = { [API]: handler };
    serveTagIndex();
    seen.length = 0;
    const r = repo();
    const first = await r.listReferrers(SUBJECT);
    const second = await r.listReferrers(SUBJECT);
    expect(first).toEqual({ source: 'tag-schema', descriptors: [REFERRER], warnings: [] });
    expect(second.descriptors).toEqual([REFERRER]);
    expect(r.capabilities().referrersApi).toBe(false);
    expect(seen.filter((s) => s === API)).toHaveLength(1);
  });

  it("does not follow ghcr.io's redirect of the referrers path to another host", async () => {
    routes = { [API]: (_q, r) => r.writeHead(303, { location: `${elsewhereUrl}/referrers` }).end() };
    serveTagIndex();
    seenElsewhere.length = 0;
    const r = repo();
    expect((await r.listReferrers(SUBJECT)).source).toBe('tag-schema');
    expect(r.capabilities().referrersApi).toBe(false);
    expect(seenElsewhere).toEqual([]);
  });

  it('takes a 200 OCI index as the API and follows Link pages', async () => {
    const second = { ...REFERRER, digest: sha('r2') };
    routes = {
      [API]: (_q, r) =>
        r
          .writeHead(200, {
            'content-type': 'application/vnd.oci.image.index.v1+json',
            link: `</v2/a/b/referrers/${SUBJECT}?page=2>; rel="next"`,
          })
          .end(index([REFERRER])),
      [`${API}?page=2`]: (_q, r) =>
        r.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(index([second, REFERRER])),
    };
    seen.length = 0;
    const r = repo();
    const listing = await r.listReferrers(SUBJECT);
    expect(listing).toEqual({ source: 'api', descriptors: [REFERRER, second], warnings: [] });
    expect(r.capabilities().referrersApi).toBe(true);
    expect(seen).not.toContain(TAG_GET);
  });

  it('refuses a next page on another host', async () => {
    routes = {
      [API]: (_q, r) =>
        r
          .writeHead(200, {
            'content-type': 'application/vnd.oci.image.index.v1+json',
            link: `<${elsewhereUrl}/v2/a/b/referrers/x>; rel="next"`,
          })
          .end(index([REFERRER])),
    };
    await expect(repo().listReferrers(SUBJECT)).rejects.toThrow(/next page outside the repository/);
  });

  it('leaves the probe open when the repository does not exist (404 NAME_UNKNOWN)', async () => {
    routes = {
      [API]: (_q, r) =>
        r
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}'),
    };
    const r = repo();
    expect(await r.listReferrers(SUBJECT)).toEqual({ source: 'api', descriptors: [], warnings: [] });
    expect(r.capabilities().referrersApi).toBeUndefined();
  });

  it("fails when referrers-api is 'true' but the registry has no API", async () => {
    routes = {};
    await expect(repo(true).listReferrers(SUBJECT)).rejects.toThrow(
      /The input referrers-api is 'true' but the registry does not serve the referrers API here/,
    );
  });

  it("skips the probe with referrers-api 'false'", async () => {
    routes = {};
    serveTagIndex();
    seen.length = 0;
    expect((await repo(false).listReferrers(SUBJECT)).descriptors).toEqual([REFERRER]);
    expect(seen).toEqual([TAGS_LIST, pastLast(TAG), TAG_GET]);
  });
});

describe('referrers tag reader (fake registry)', () => {
  it('reads no referrers tag that a tag listing proved whole does not show', async () => {
    routes = {};
    listTags(['rc']);
    seen.length = 0;
    expect((await repo(false).listReferrers(SUBJECT)).descriptors).toEqual([]);
    // One request more than the listing: the empty answer past its last tag.
    expect(seen).toEqual([TAGS_LIST, pastLast('rc')]);
  });

  it.each([
    ['as it was', ['rc', '1.0']],
    // A tag written between the two reads (a concurrent retag's): still every tag, and more.
    ['with a tag written since', ['rc', '1.0', '2.0']],
  ])(
    'takes a registry without pages at its word: asked for one tag past the last, it lists them all again (%s)',
    async (_what, again) => {
      routes = { [TAGS_LIST]: tagList(['rc', '1.0']), [pastLast('1.0')]: tagList(again) };
      seen.length = 0;
      expect((await repo(false).listReferrers(SUBJECT)).descriptors).toEqual([]);
      expect(seen).toEqual([TAGS_LIST, pastLast('1.0')]);
    },
  );

  it.each([
    ['it honours n but ignores last (the first tag again)', ['rc', '1.0'], ['rc']],
    ['a list of one tag comes back as it was', ['rc'], ['rc']],
    ['the list comes back without a tag it listed', ['rc', '1.0'], ['1.0', '2.0']],
  ])('reads the referrers tag itself when %s', async (_what, tags, again) => {
    routes = { [TAGS_LIST]: tagList(tags), [pastLast(tags[tags.length - 1]!)]: tagList(again) };
    routes[TAG_GET] = (_q, r) =>
      r.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(index([REFERRER]));
    seen.length = 0;
    expect((await repo(false).listReferrers(SUBJECT)).descriptors).toEqual([REFERRER]);
    expect(seen).toEqual([TAGS_LIST, pastLast(tags[tags.length - 1]!), TAG_GET]);
  });

  it('falls back to reading the tag when the tag listing fails', async () => {
    routes = { [TAGS_LIST]: (_q, r) => r.writeHead(500).end() };
    routes[TAG_GET] = (_q, r) =>
      r.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(index([REFERRER]));
    expect((await repo(false).listReferrers(SUBJECT)).descriptors).toEqual([REFERRER]);
  });

  it("takes GitLab's answer of the subject itself for sha256-<hex> as no referrers", async () => {
    routes = {
      [TAGS_LIST]: (_q, r) =>
        r.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'a/b', tags: [TAG] })),
      [TAG_GET]: (_q, r) =>
        r.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(SUBJECT_BODY),
    };
    const r = repo();
    expect(await r.listReferrers(SUBJECT)).toEqual({ source: 'tag-schema', descriptors: [], warnings: [] });
    expect(r.capabilities()).toEqual({ referrersApi: false, referrersTagAliasesDigest: true });
    await expect(r.readReferrersIndex(SUBJECT)).rejects.toThrow(
      /answers the referrers tag .* with the subject manifest itself/,
    );
  });

  it('warns and finds nothing when the tag holds something else than an OCI index', async () => {
    routes = {
      [TAGS_LIST]: (_q, r) =>
        r.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'a/b', tags: [TAG] })),
      [TAG_GET]: (_q, r) =>
        r.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: REFERRER,
            layers: [],
          }),
        ),
    };
    const listing = await repo().listReferrers(SUBJECT);
    expect(listing.descriptors).toEqual([]);
    expect(listing.warnings[0]).toMatch(/does not hold an OCI image index/);
  });
});

describe("GitLab's digest alias, known before writing (fake registry)", () => {
  it('learns from GET /v2/ that the registry is GitLab, once per registry', async () => {
    routes = {
      'GET /v2/': (_q, r) =>
        r
          .writeHead(200, { 'content-type': 'application/json', 'gitlab-container-registry-version': '4.14.0-gitlab' })
          .end('{}'),
    };
    seen.length = 0;
    const c = new RegistryClient({ plainHttp: true });
    clients.push(c);
    const a = c.repository({ registry: host, repository: 'a/b' }, 'pull');
    const other = c.repository({ registry: host, repository: 'c/d' }, 'pull');

    expect(await a.announcesDigestAlias()).toBe(true);
    expect(await other.announcesDigestAlias()).toBe(true);
    expect(seen).toEqual(['GET /v2/']);
    expect(other.capabilities()).toEqual({ referrersTagAliasesDigest: true });
  });

  it('takes a registry without the header, or whose GET /v2/ fails, as not saying so', async () => {
    for (const handler of [
      (_q: IncomingMessage, r: ServerResponse) =>
        r.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' }).end('{}'),
      (_q: IncomingMessage, r: ServerResponse) => r.writeHead(404).end(),
    ]) {
      routes = { 'GET /v2/': handler };
      const r = repo();
      expect(await r.announcesDigestAlias()).toBe(false);
      expect(r.capabilities().referrersTagAliasesDigest).toBeUndefined();
    }
  });

  it('takes what one repository saw of the alias for the other repositories of its registry', async () => {
    routes = {
      [TAG_GET]: (_q, r) =>
        r.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(SUBJECT_BODY),
    };
    const c = new RegistryClient({ plainHttp: true });
    clients.push(c);
    await expect(
      c.repository({ registry: host, repository: 'a/b' }, 'pull').readReferrersIndex(SUBJECT),
    ).rejects.toThrow(/with the subject manifest itself/);
    seen.length = 0;
    const other = c.repository({ registry: host, repository: 'c/d' }, 'pull');
    expect(other.capabilities()).toEqual({ referrersTagAliasesDigest: true });
    expect(await other.announcesDigestAlias()).toBe(true);
    expect(seen).toEqual([]);
  });
});

describe('referrers API answers as registries in the field send them (fake registry)', () => {
  const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
  const answer =
    (body: unknown, contentType: string | undefined = OCI_INDEX): Handler =>
    (_q, r) =>
      r.writeHead(200, contentType ? { 'content-type': contentType } : {}).end(JSON.stringify(body));

  it('accepts optional fields sent as null (Go without omitempty) and a missing artifactType', async () => {
    const second = { mediaType: REFERRER.mediaType, digest: sha('r2'), size: 12 };
    routes = {
      [API]: answer({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        artifactType: null,
        manifests: [
          { ...REFERRER, annotations: null, platform: null, urls: null, data: null },
          { ...second, artifactType: null },
        ],
        annotations: null,
        subject: null,
      }),
    };
    serveTagIndex();
    const r = repo();
    const listing = await r.listReferrers(SUBJECT);
    expect(listing).toEqual({ source: 'api', descriptors: [REFERRER, second], warnings: [] });
    expect(r.capabilities().referrersApi).toBe(true);
  });

  it('takes `manifests: null` (a Go nil slice) as an empty list of the API', async () => {
    routes = { [API]: answer({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: null }) };
    serveTagIndex();
    const r = repo();
    expect(await r.listReferrers(SUBJECT)).toEqual({ source: 'api', descriptors: [], warnings: [] });
    expect(r.capabilities().referrersApi).toBe(true);
  });

  it.each([
    [
      'a descriptor without a digest',
      answer({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: REFERRER.mediaType, size: 3 }] }),
      "manifests[0]: descriptor digest 'undefined' is not a valid digest",
    ],
    [
      'a descriptor with a negative size',
      answer({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...REFERRER, size: -1 }] }),
      `manifests[0]: descriptor ${REFERRER.digest} has an invalid size`,
    ],
    [
      '`manifests` that is not an array',
      answer({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: { a: REFERRER } }),
      "'manifests' must be an array",
    ],
    [
      'an index by its shape, without a Content-Type',
      answer({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...REFERRER, size: '10' }] }, undefined),
      `manifests[0]: descriptor ${REFERRER.digest} has an invalid size`,
    ],
    [
      'an index by its shape, as application/json',
      answer({ schemaVersion: 2, manifests: [{ ...REFERRER, digest: 'sha256:nothex' }] }, 'application/json'),
      "manifests[0]: descriptor digest 'sha256:nothex' is not a valid digest",
    ],
  ])(
    'fails on an OCI index it cannot use (%s), naming the registry, the subject and what',
    async (_what, handler, why) => {
      routes = { [API]: handler };
      serveTagIndex();
      seen.length = 0;
      const err = await repo()
        .listReferrers(SUBJECT)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserFacingError);
      expect((err as Error).message).toBe(
        `${host} answered the referrers list of ${host}/a/b@${SUBJECT} with an OCI image index that cannot be used: ${why}`,
      );
      // No quiet fall back to the referrers tag: the error above is the answer. (The tag may have
      // been read alongside the API, as the tag list showed it; that read is not used.)
    },
  );
});
