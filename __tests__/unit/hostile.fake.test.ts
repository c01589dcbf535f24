/**
 * Hostile or broken answers from a FAKE registry on loopback: each fails or is bounded with a
 * clear error. Real registries cannot be made to answer like this.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '../../src/registry/client.js';
import { InvalidManifestError } from '../../src/oci/manifest.js';
import { RegistryError, TooManyReferrersError } from '../../src/registry/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('c'), size: 1 },
  layers: [],
});
const OCI = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

let server: Server;
let store: Server;
let host: string;
let storeUrl: string;
let handle: Handler = (_q, r) => void r.writeHead(404).end();
let storeSawAuthorization: (string | undefined)[] = [];
let requests = 0;

const listen = (s: Server) =>
  new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`127.0.0.1:${(s.address() as AddressInfo).port}`)));
beforeAll(async () => {
  server = createServer((q, r) => {
    // Requests of the operation under test: the tag list a referrers listing reads alongside is not one.
    if (!q.url!.includes('/tags/list')) requests++;
    handle(q, r);
  });
  // An object store that, like S3 and Azure Blob Storage, refuses a request that carries an Authorization header.
  store = createServer((q, r) => {
    storeSawAuthorization.push(q.headers.authorization);
    if (q.headers.authorization) return r.writeHead(400).end('<Error><Code>InvalidArgument</Code></Error>');
    r.end('blob!');
  });
  host = await listen(server);
  storeUrl = `http://${await listen(store)}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await new Promise((r) => store.close(r));
});

const clients: RegistryClient[] = [];
function repo(options: ConstructorParameters<typeof RegistryClient>[0] = {}) {
  const c = new RegistryClient({ plainHttp: true, retry: { baseDelayMs: 1, maxDelayMs: 2 }, ...options });
  clients.push(c);
  return c.repository({ registry: host, repository: 'a/b' }, 'push');
}
afterAll(async () => Promise.all(clients.map((c) => c.close())));

describe('hostile answers (fake registry)', () => {
  it('refuses manifest bytes that do not match the digest asked for', async () => {
    handle = (_q, r) => void r.writeHead(200, { 'content-type': OCI }).end(MANIFEST);
    const asked = sha('something else');
    await expect(repo().fetchManifest(asked)).rejects.toThrow(
      `the manifest served for ${host}/a/b@${asked} does not match that digest`,
    );
  });

  it('refuses manifest bytes that do not match the Docker-Content-Digest announced', async () => {
    handle = (_q, r) =>
      void r.writeHead(200, { 'content-type': OCI, 'docker-content-digest': sha('other') }).end(MANIFEST);
    await expect(repo().fetchManifest('rc')).rejects.toThrow(
      /does not match the Docker-Content-Digest sha256:[0-9a-f]+ the registry announced/,
    );
  });

  it('refuses a manifest over 4 MiB without reading on', async () => {
    handle = (_q, r) => {
      r.writeHead(200, { 'content-type': OCI });
      r.end(Buffer.alloc(4 * 1024 * 1024 + 10, 0x20));
    };
    await expect(repo().fetchManifest('rc')).rejects.toThrow(InvalidManifestError);
    await expect(repo().fetchManifest('rc')).rejects.toThrow(
      `the manifest ${host}/a/b:rc is larger than 4194304 bytes (4 MiB)`,
    );
  });

  it('refuses JSON that is not JSON', async () => {
    handle = (_q, r) => void r.writeHead(200, { 'content-type': OCI }).end('{"schemaVersion": 2, "config": ');
    await expect(repo().fetchManifest('rc')).rejects.toThrow(
      `the manifest ${host}/a/b:rc is invalid: the manifest is not valid UTF-8 JSON`,
    );
  });

  it('bounds a referrers list with thousands of entries', async () => {
    const many = Array.from({ length: 12_000 }, (_, i) => ({ mediaType: OCI, digest: sha(String(i)), size: 1 }));
    handle = (_q, r) =>
      void r
        .writeHead(200, { 'content-type': INDEX })
        .end(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: many }));
    const err = await repo()
      .listReferrers(sha('s'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyReferrersError);
    expect((err as Error).message).toBe(
      `${host}/a/b@${sha('s')} has more than 10000 referrers (12000 listed), more than the input max-referrers allows (10000); raise max-referrers to promote them all`,
    );
  });

  /** A referrers list of one descriptor per page, each page linking to the next, `pages` pages long (Infinity: never ending). */
  const onePerPage = (pages: number, repeat = false) => {
    let page = 0;
    handle = (q, r) => {
      // The tag list, read alongside the first referrers request, is none of the pages.
      if (q.url!.includes('/tags/list')) return void r.writeHead(200).end('{"name":"a/b","tags":[]}');
      page++;
      const next = page < pages ? { link: `<${q.url!.split('?')[0]}?page=${page}>; rel="next"` } : {};
      r.writeHead(200, { 'content-type': INDEX, ...next });
      r.end(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: INDEX,
          manifests: [{ mediaType: OCI, digest: sha(repeat ? 'same' : `p${page}`), size: 1 }],
        }),
      );
    };
  };

  it('reads every page of a long list', async () => {
    onePerPage(150);
    const listing = await repo().listReferrers(sha('s'));
    expect(listing.descriptors).toHaveLength(150);
    expect(listing.warnings).toEqual([]);
  });

  it('fails on referrers pages that never end, at the bound', async () => {
    onePerPage(Infinity);
    requests = 0;
    await expect(repo({ maxReferrers: 20 }).listReferrers(sha('s'))).rejects.toThrow(
      `${host}/a/b@${sha('s')} has more than 20 referrers (21 listed), more than the input max-referrers allows (20); raise max-referrers to promote them all`,
    );
    expect(requests).toBe(21);
  });

  it('fails on pages that keep repeating what was listed', async () => {
    onePerPage(Infinity, true);
    requests = 0;
    await expect(repo().listReferrers(sha('s'))).rejects.toThrow(
      `${host} answered the referrers list of ${host}/a/b@${sha('s')} with 10 pages that list nothing new; refusing to go on`,
    );
    expect(requests).toBe(11);
  });

  it('follows a blob redirect to object storage without the registry credentials', async () => {
    const body = Buffer.from('blob!');
    handle = (q, r) => {
      if (q.url === '/v2/') return void r.writeHead(200).end();
      if (!q.headers.authorization) return void r.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
      r.writeHead(307, { location: `${storeUrl}/bucket/blob?X-Amz-Signature=abc` }).end();
    };
    storeSawAuthorization = [];
    const stream = await repo({ credentials: async () => ({ username: 'u', password: 'p' }) }).fetchBlob({
      mediaType: 'application/octet-stream',
      digest: sha(body),
      size: body.length,
    });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('blob!');
    expect(storeSawAuthorization).toEqual([undefined]);
  });

  it('reports a rate limit with what the registry said about it, after retrying', async () => {
    requests = 0;
    handle = (_q, r) =>
      void r
        .writeHead(429, {
          'content-type': 'application/json',
          'retry-after': '0',
          'ratelimit-limit': '100;w=21600',
          'ratelimit-remaining': '0;w=21600',
        })
        .end('{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}');
    const err = (await repo()
      .fetchManifest('rc')
      .catch((e: unknown) => e)) as RegistryError;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toBe(
      `get manifest ${host}/a/b:rc failed: ${host} answered HTTP 429 (rate limited) TOOMANYREQUESTS: You have reached your pull rate limit. (rate limit: limit 100;w=21600, remaining 0;w=21600, retry after 0) (gave up after 5 attempts)`,
    );
    expect(requests).toBe(5);
  });

  it('does not hang longer than the timeout on a registry that never answers', async () => {
    handle = () => undefined; // accepts the request, never answers
    const started = Date.now();
    // undici's headers timeout fires up to about 0.5 s late; with 1 s it still comes before the
    // request's deadline (2 × timeout), so the idle timeout, which is retried, is what is seen.
    const err = await repo({ timeoutMs: 1000, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } })
      .fetchManifest('rc')
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `GET request to ${host} failed: timed out waiting for response headers (gave up after 2 attempts)`,
    );
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('names an immutable tag', async () => {
    handle = (_q, r) =>
      void r
        .writeHead(400, { 'content-type': 'application/json' })
        .end(
          '{"errors":[{"code":"TAG_INVALID","message":"The image tag 1.0 already exists in the a/b repository and cannot be overwritten because the repository is immutable."}]}',
        );
    const bytes = Buffer.from(MANIFEST);
    await expect(
      repo().pushManifest('1.0', { digest: sha(bytes), mediaType: OCI, size: bytes.length, bytes }),
    ).rejects.toThrow(`The tag ${host}/a/b:1.0 is immutable on this registry: it cannot be moved`);
  });

  it('refreshes a token that stopped working once, and does not loop', async () => {
    let tokens = 0;
    let refused = 0;
    handle = (q, r) => {
      if (q.url!.startsWith('/token')) {
        tokens++;
        return void r
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ token: `t${tokens}`, expires_in: 300 }));
      }
      // The first token works once, then the registry considers it expired.
      const ok =
        (q.headers.authorization === 'Bearer t1' && refused === 0 && !q.url!.includes('again')) ||
        q.headers.authorization === 'Bearer t2';
      if (!ok) {
        if (q.headers.authorization) refused++;
        return void r
          .writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fake"` })
          .end();
      }
      r.writeHead(200, { 'content-type': OCI }).end(MANIFEST);
    };
    const r = repo();
    await r.fetchManifest('rc');
    await r.fetchManifest('again');
    expect(tokens).toBe(2);
    expect(refused).toBe(1);

    // A token that never works is refreshed once, then the error is reported.
    tokens = 0;
    handle = (q, res) => {
      if (q.url!.startsWith('/token')) {
        tokens++;
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"never-good"}');
      }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fake"` }).end();
    };
    await expect(repo().fetchManifest('rc')).rejects.toThrow(/answered HTTP 401 \(authentication failed\)/);
    expect(tokens).toBe(1);
  });
});
