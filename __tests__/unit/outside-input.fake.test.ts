/**
 * Whatever comes from outside the program ends up as a UserFacingError naming who sent it and
 * what was being done, never as a TypeError that main.ts would print as "Unexpected error".
 * A FAKE registry on loopback sends what real ones do not: unparseable Location and Link
 * headers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { UserFacingError } from '../../src/oci/user-facing-error.js';
import { RegistryClient } from '../../src/registry/client.js';

const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const BLOB = Buffer.from('outside input blob');
const DESC = { mediaType: 'application/octet-stream', digest: sha(BLOB), size: BLOB.length };
const INDEX = 'application/vnd.oci.image.index.v1+json';
const BAD_URL = 'http://[oops/upload';

let server: Server;
let host: string;
let handle: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => void r.writeHead(404).end();

beforeAll(async () => {
  server = createServer((q, r) => {
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

function repo() {
  const c = new RegistryClient({ plainHttp: true, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
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
