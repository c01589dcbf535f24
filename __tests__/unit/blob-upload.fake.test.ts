/**
 * Blob mount and upload against a FAKE registry on loopback, for answers the real registries
 * here do not give: a mount answered with 202 and an upload session (ECR does this when no
 * manifest in the source names the blob), a refused mount, an upload Location on another host.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { RegistryClient } from '../../src/registry/client.js';

const BLOB = Buffer.from('some blob bytes');
const DESC = {
  mediaType: 'application/octet-stream',
  digest: `sha256:${createHash('sha256').update(BLOB).digest('hex')}`,
  size: BLOB.length,
};

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}
let registry: Server;
let uploads: Server;
let host: string;
let uploadsUrl: string;
let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = () => undefined;
const seen: Seen[] = [];
const seenUploads: Seen[] = [];

function record(list: Seen[], onRequest: () => (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      list.push({
        method: req.method!,
        url: req.url!,
        ...(req.headers.authorization && { authorization: req.headers.authorization }),
        body,
      });
      onRequest()(req, res, body);
    });
  };
}
const listen = (s: Server) =>
  new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`127.0.0.1:${(s.address() as AddressInfo).port}`)));

beforeAll(async () => {
  registry = createServer(
    record(seen, () => (req, res, body) => {
      // Token auth, so that we can see where credentials go.
      if (req.url!.startsWith('/token'))
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"registry-token"}');
      if (req.headers.authorization !== 'Bearer registry-token') {
        return res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fake"` }).end();
      }
      handler(req, res, body);
    }),
  );
  uploads = createServer(record(seenUploads, () => (_req, res) => res.writeHead(201).end()));
  host = await listen(registry);
  uploadsUrl = `http://${await listen(uploads)}`;
});
afterAll(async () => {
  await new Promise((r) => registry.close(r));
  await new Promise((r) => uploads.close(r));
});

const clients: RegistryClient[] = [];
function target() {
  const c = new RegistryClient({ plainHttp: true, credentials: async () => ({ username: 'u', password: 'p' }) });
  clients.push(c);
  return c.repository({ registry: host, repository: 'prod/app' }, 'push');
}
afterAll(async () => Promise.all(clients.map((c) => c.close())));

describe('blob mount and upload (fake registry)', () => {
  it('continues the upload session a 202 to a mount opened, without a second POST', async () => {
    seen.length = 0;
    handler = (req, res) => {
      if (req.method === 'POST')
        return res.writeHead(202, { location: '/v2/prod/app/blobs/uploads/session-1?_state=abc' }).end();
      if (req.method === 'PUT') return res.writeHead(201).end();
      res.writeHead(500).end();
    };
    const repo = target();
    const mount = await repo.mountBlob(DESC, 'staging/app');
    expect(mount).toEqual({
      mounted: false,
      session: `http://${host}/v2/prod/app/blobs/uploads/session-1?_state=abc`,
    });
    await repo.pushBlob(DESC, Readable.from([BLOB]), mount.mounted ? undefined : mount.session);
    const authed = seen.filter((s) => s.authorization?.startsWith('Bearer'));
    expect(authed.map((s) => `${s.method} ${s.url}`)).toEqual([
      `POST /v2/prod/app/blobs/uploads/?mount=${encodeURIComponent(DESC.digest)}&from=staging%2Fapp`,
      `PUT /v2/prod/app/blobs/uploads/session-1?_state=abc&digest=${encodeURIComponent(DESC.digest)}`,
    ]);
    expect(authed[1]!.body).toBe(BLOB.toString());
  });

  it.each([401, 403, 404])('falls back to an upload when the mount is answered %i', async (status) => {
    seen.length = 0;
    handler = (req, res) => {
      if (req.method === 'POST' && req.url!.includes('mount=')) return res.writeHead(status).end();
      if (req.method === 'POST') return res.writeHead(202, { location: '/v2/prod/app/blobs/uploads/s2' }).end();
      if (req.method === 'PUT') return res.writeHead(201).end();
      res.writeHead(500).end();
    };
    const repo = target();
    const mount = await repo.mountBlob(DESC, 'staging/app');
    expect(mount).toEqual({ mounted: false });
    await repo.pushBlob(DESC, Readable.from([BLOB]));
    // A 401 to a valid token (Harbor, when the source project is missing) is a refused mount,
    // not a failed login: the upload then goes ahead with the same token.
    expect(seen.filter((s) => s.authorization?.startsWith('Bearer')).map((s) => s.method)).toEqual([
      'POST',
      'POST',
      'PUT',
    ]);
  });

  it('uploads to a Location on another host as given, without the registry credentials', async () => {
    seen.length = 0;
    seenUploads.length = 0;
    handler = (req, res) => {
      if (req.method === 'POST') return res.writeHead(202, { location: `${uploadsUrl}/upload/xyz?sig=s3cr3t` }).end();
      res.writeHead(500).end();
    };
    await target().pushBlob(DESC, Readable.from([BLOB]));
    expect(seenUploads).toEqual([
      { method: 'PUT', url: `/upload/xyz?sig=s3cr3t&digest=${encodeURIComponent(DESC.digest)}`, body: BLOB.toString() },
    ]);
  });

  it('refuses a blob whose bytes do not match before the registry has the whole body', async () => {
    seen.length = 0;
    handler = (req, res) => {
      if (req.method === 'POST') return res.writeHead(202, { location: '/v2/prod/app/blobs/uploads/s3' }).end();
      if (req.method === 'PUT') return res.writeHead(201).end();
      res.writeHead(500).end();
    };
    // fetchBlob's verifying stream is what guards uploads; exercise it through a source served by the same fake.
    const { verifyingStream } = await import('../../src/registry/verify.js');
    const wrong = Readable.from([Buffer.from('some blob bytez')]).pipe(verifyingStream(DESC, 'src@x'));
    wrong.on('error', () => undefined);
    await expect(target().pushBlob(DESC, wrong)).rejects.toThrow(/does not match its digest/);
    const put = seen.find((s) => s.method === 'PUT');
    expect(put?.body ?? '').not.toBe('some blob bytez');
  });
});
