/**
 * Whatever comes from outside the program ends up as a UserFacingError naming who sent it and
 * what was being done, never as a TypeError that main.ts would print as "Unexpected error".
 * A FAKE registry and token service on loopback send what real ones do not: unparseable
 * Location and Link headers, tokens that cannot go into a header, JSON that is not an object.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { UserFacingError } from '../../src/oci/user-facing-error.js';
import type { Credential } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';

const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const BLOB = Buffer.from('outside input blob');
const DESC = { mediaType: 'application/octet-stream', digest: sha(BLOB), size: BLOB.length };
const INDEX = 'application/vnd.oci.image.index.v1+json';
const BAD_URL = 'http://[oops/upload';

let server: Server;
let host: string;
let handle: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => void r.writeHead(404).end();
let requests = 0;

beforeAll(async () => {
  server = createServer((q, r) => {
    requests++;
    q.resume();
    q.on('end', () => handle(q, r));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
const clients: RegistryClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function repo(credential?: Credential) {
  const c = new RegistryClient({
    plainHttp: true,
    credentials: async () => credential,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
  });
  clients.push(c);
  return c.repository({ registry: host, repository: 'a/b' }, 'push');
}

/** Runs `work` and returns what it threw, checking that it is written for users. */
async function failure(work: () => Promise<unknown>): Promise<string> {
  const err = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserFacingError);
  return (err as Error).message;
}

describe('headers that should be URLs and are not (fake registry)', () => {
  it('an unparseable redirect Location names the registry and the operation', async () => {
    handle = (_q, r) => void r.writeHead(307, { location: 'http://[oops/elsewhere' }).end();
    expect(await failure(() => repo().fetchManifest('rc'))).toBe(
      `get manifest ${host}/a/b:rc failed: the registry ${host} sent an invalid Location header: 'http://[oops/elsewhere'`,
    );
  });

  it('an unparseable upload Location, its query (a signature) left out', async () => {
    handle = (q, r) => {
      if (q.method === 'POST') return void r.writeHead(202, { location: `${BAD_URL}?X-Amz-Signature=s3cr3t` }).end();
      r.writeHead(500).end();
    };
    const data = Readable.from([BLOB]);
    const message = await failure(() => repo().pushBlob(DESC, data));
    expect(message).toBe(
      `start blob upload ${host}/a/b@${DESC.digest} failed: the registry ${host} sent an invalid Location header: '${BAD_URL}?…'`,
    );
    expect(data.destroyed).toBe(true);
  });

  it('an upload Location that is not HTTP(S), its query left out', async () => {
    handle = (q, r) => {
      if (q.method === 'POST') return void r.writeHead(202, { location: 'ftp://elsewhere/upload?sig=s3cr3t' }).end();
      r.writeHead(500).end();
    };
    const data = Readable.from([BLOB]);
    expect(await failure(() => repo().pushBlob(DESC, data))).toBe(
      `start blob upload ${host}/a/b@${DESC.digest} failed: the registry ${host} sent an invalid Location header: 'ftp://elsewhere/upload?…'`,
    );
    expect(data.destroyed).toBe(true);
  });

  it("an unparseable Location of a mount's upload session", async () => {
    handle = (_q, r) => void r.writeHead(202, { location: BAD_URL }).end();
    expect(await failure(() => repo().mountBlob(DESC, 'other/repo'))).toBe(
      `mount blob ${host}/a/b@${DESC.digest} failed: the registry ${host} sent an invalid Location header: '${BAD_URL}'`,
    );
  });

  it('an unparseable Link to the next page of referrers', async () => {
    const subject = sha('subject');
    handle = (_q, r) =>
      void r
        .writeHead(200, { 'content-type': INDEX, link: '<http://[oops/v2/a/b/referrers/x?n=1>; rel="next"' })
        .end(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [] }));
    expect(await failure(() => repo().listReferrers(subject))).toBe(
      `list referrers of ${host}/a/b@${subject} failed: the registry ${host} sent an invalid Link header: 'http://[oops/v2/a/b/referrers/x?…'`,
    );
  });
});

describe('token answers that cannot be used (fake token service)', () => {
  function tokenService(answer: string) {
    return (q: IncomingMessage, r: ServerResponse) => {
      if (q.url!.startsWith('/token')) return void r.writeHead(200, { 'content-type': 'application/json' }).end(answer);
      r.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fake"` }).end();
    };
  }

  it.each([
    ['a newline', JSON.stringify({ token: 'abc\ndef' })],
    ['a non-ASCII character', JSON.stringify({ token: 'tökén' })],
    ['a space', JSON.stringify({ access_token: 'two words' })],
  ])('a token with %s names the token service, not the token', async (_name, answer) => {
    handle = tokenService(answer);
    requests = 0;
    const message = await failure(() => repo().fetchManifest('rc'));
    expect(message).toBe(
      `authentication failed: the token service of ${host} (${host}) answered with a token that cannot be sent in an HTTP header (it holds a space, a control or a non-ASCII character)`,
    );
    expect(message).not.toMatch(/abc|def|tök|words/);
    // Not retried: the same service would answer the same.
    expect(requests).toBe(2);
  });

  it.each([
    ['null', 'null'],
    ['a list', '["token"]'],
    ['a number', '42'],
  ])('a token answer that is JSON %s says there is no token', async (_name, answer) => {
    handle = tokenService(answer);
    expect(await failure(() => repo().fetchManifest('rc'))).toBe(
      `authentication failed: the token service of ${host} answered without a token`,
    );
  });

  it('a registry token from the Docker config that cannot go into a header', async () => {
    handle = tokenService('{}');
    const message = await failure(() => repo({ registryToken: 'line\nbreak' }).fetchManifest('rc'));
    expect(message).toBe(
      `authentication failed: the registry token for ${host} in the Docker config cannot be sent in an HTTP header (it holds a space, a control or a non-ASCII character)`,
    );
    expect(message).not.toContain('break');
  });
});
