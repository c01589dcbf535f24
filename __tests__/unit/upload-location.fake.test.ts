/**
 * Relative upload `Location`s against a FAKE registry on loopback: distribution and the
 * referrers registry here answer with absolute paths, but RFC 3986 allows a reference relative
 * to the URL that answered (`<uuid>?_state=...`), and some registries send one.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { RegistryClient } from '../../src/registry/client.js';

const BLOB = Buffer.from('relative location blob');
const DESC = {
  mediaType: 'application/octet-stream',
  digest: `sha256:${createHash('sha256').update(BLOB).digest('hex')}`,
  size: BLOB.length,
};
const DIGEST_QUERY = `digest=${encodeURIComponent(DESC.digest)}`;

let server: Server;
let host: string;
let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
const seen: string[] = [];
const uploaded: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      if (req.method === 'PUT') uploaded.push(Buffer.concat(chunks).toString());
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
const clients: RegistryClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await new Promise((r) => server.close(r));
});

function repo() {
  const c = new RegistryClient({ plainHttp: true, retry: { maxAttempts: 1 } });
  clients.push(c);
  return c.repository({ registry: host, repository: 'prod/app' }, 'push');
}

/** Answers PUT only at `expected` (without the digest), so a wrongly resolved Location fails. */
function putAt(expected: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'PUT' && req.url === `${expected}&${DIGEST_QUERY}`) return void res.writeHead(201).end();
    res.writeHead(404).end();
  };
}

describe('relative upload Locations (fake registry)', () => {
  it('resolves <uuid>?_state=... against the URL of the POST that returned it', async () => {
    seen.length = 0;
    uploaded.length = 0;
    handler = (req, res) => {
      if (req.method === 'POST') return void res.writeHead(202, { location: 'session-1?_state=abc' }).end();
      putAt('/v2/prod/app/blobs/uploads/session-1?_state=abc')(req, res);
    };
    await repo().pushBlob(DESC, Readable.from([BLOB]));
    expect(seen).toEqual([
      'POST /v2/prod/app/blobs/uploads/',
      `PUT /v2/prod/app/blobs/uploads/session-1?_state=abc&${DIGEST_QUERY}`,
    ]);
    expect(uploaded).toEqual([BLOB.toString()]);
  });

  it("resolves a mount's 202 session Location against the URL of the mount request", async () => {
    seen.length = 0;
    handler = (req, res) => {
      if (req.method === 'POST') return void res.writeHead(202, { location: './session-2?_state=m' }).end();
      putAt('/v2/prod/app/blobs/uploads/session-2?_state=m')(req, res);
    };
    const r = repo();
    const mount = await r.mountBlob(DESC, 'staging/app');
    expect(mount).toEqual({
      mounted: false,
      session: `http://${host}/v2/prod/app/blobs/uploads/session-2?_state=m`,
    });
    await r.pushBlob(DESC, Readable.from([BLOB]), mount.mounted ? undefined : mount.session);
    expect(seen.at(-1)).toBe(`PUT /v2/prod/app/blobs/uploads/session-2?_state=m&${DIGEST_QUERY}`);
  });

  it('resolves against the URL that answered after a redirect of the POST', async () => {
    seen.length = 0;
    handler = (req, res) => {
      if (req.method === 'POST' && req.url!.startsWith('/v2/'))
        return void res.writeHead(307, { location: '/elsewhere/uploads/' }).end();
      if (req.method === 'POST') return void res.writeHead(202, { location: 's3?x=1' }).end();
      putAt('/elsewhere/uploads/s3?x=1')(req, res);
    };
    await repo().pushBlob(DESC, Readable.from([BLOB]));
    expect(seen).toEqual([
      'POST /v2/prod/app/blobs/uploads/',
      'POST /elsewhere/uploads/',
      `PUT /elsewhere/uploads/s3?x=1&${DIGEST_QUERY}`,
    ]);
  });
});
