/**
 * Failures that cannot heal within a run fail at once, naming the cause: a certificate that
 * does not verify (a FAKE HTTPS server on loopback with a self-signed certificate made by
 * openssl) and a host name that does not resolve (`.invalid`, RFC 2606).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { promote } from '../../src/engine/promote.js';
import { UserFacingError } from '../../src/oci/user-facing-error.js';
import { parseReference } from '../../src/oci/reference.js';
import { RegistryClient } from '../../src/registry/client.js';
import { describeNetworkError } from '../../src/registry/http/failures.js';
import { TransportError } from '../../src/registry/http/transport.js';

const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: string;
let tls: Server;
let tlsHost: string;
let tlsConnections = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'self-signed-'));
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  tls = createHttpsServer(
    { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) },
    (_q, r) => r.writeHead(404).end(),
  );
  tls.on('connection', () => tlsConnections++);
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  tlsHost = `127.0.0.1:${(tls.address() as AddressInfo).port}`;
});
const clients: RegistryClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await new Promise((r) => tls.close(r));
  await rm(dir, { recursive: true, force: true });
});

function client(plainHttp: boolean, retries: string[]) {
  const c = new RegistryClient({
    plainHttp,
    retry: { baseDelayMs: 1, maxDelayMs: 2, onRetry: (e) => retries.push(e.reason) },
  });
  clients.push(c);
  return c;
}

describe('failures that cannot heal', () => {
  it('does not retry a self-signed certificate: one connection, and the cause named', async () => {
    tlsConnections = 0;
    const retries: string[] = [];
    const err = await client(false, retries)
      .repository({ registry: tlsHost, repository: 'a/b' }, 'pull')
      .fetchManifest('rc')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toBeInstanceOf(UserFacingError);
    expect((err as Error).message).toBe(
      `GET request to ${tlsHost} failed: the certificate of ${tlsHost} is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT); not retried (NODE_EXTRA_CA_CERTS adds a CA the runner lacks)`,
    );
    expect(tlsConnections).toBe(1);
    expect(retries).toEqual([]);
  });

  it('does not retry a host name that does not resolve', async () => {
    const retries: string[] = [];
    const err = await client(true, retries)
      .repository({ registry: 'nope.invalid', repository: 'a/b' }, 'pull')
      .fetchManifest('rc')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toBe(
      'GET request to nope.invalid failed: the host nope.invalid does not resolve (ENOTFOUND); not retried',
    );
    expect(retries).toEqual([]);
  });

  it('does not start a blob copy again when its download meets a certificate that does not verify', async () => {
    // A source registry that redirects blob downloads to object storage with a self-signed
    // certificate, and a target that takes any upload.
    const config = Buffer.from('{}');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [],
    });
    const source = createHttpServer((q, r) => {
      if (q.url!.includes('/manifests/'))
        return void r
          .writeHead(200, {
            'content-type': 'application/vnd.oci.image.manifest.v1+json',
            'docker-content-digest': sha(manifest),
          })
          .end(q.method === 'HEAD' ? undefined : manifest);
      if (q.url!.includes('/blobs/'))
        return void r.writeHead(307, { location: `https://${tlsHost}/bucket/blob` }).end();
      r.writeHead(404).end();
    });
    const target = createHttpServer((q, r) => {
      q.resume();
      if (q.method === 'POST') return void r.writeHead(202, { location: '/v2/c/d/blobs/uploads/1' }).end();
      if (q.method === 'PUT') return void r.writeHead(201).end();
      r.writeHead(404).end();
    });
    const listen = (s: Server) =>
      new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`127.0.0.1:${(s.address() as AddressInfo).port}`)));
    const [sourceHost, targetHost] = [await listen(source), await listen(target)];
    try {
      tlsConnections = 0;
      const err = await promote(client(true, []), {
        source: parseReference(`${sourceHost}/a/b:rc`),
        targets: [parseReference(`${targetHost}/c/d:1`)],
        copyReferrers: false,
        dryRun: false,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserFacingError);
      expect((err as Error).message).toContain(`the certificate of ${tlsHost} is self-signed`);
      expect(tlsConnections).toBe(1);
    } finally {
      source.closeAllConnections();
      target.closeAllConnections();
      await new Promise((r) => source.close(r));
      await new Promise((r) => target.close(r));
    }
  });

  it.each([
    ['CERT_HAS_EXPIRED', 'the certificate of r.test has expired (CERT_HAS_EXPIRED); not retried'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'the certificate of r.test does not name that host'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'is signed by an issuer that is not trusted here'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'is signed by a self-signed certificate that is not trusted here'],
    ['CERT_NOT_YET_VALID', 'is not valid yet'],
  ])('names %s and does not retry it', (code, reason) => {
    const d = describeNetworkError(Object.assign(new Error('x'), { code }), new URL('https://r.test:443/v2/'));
    expect(d.retryable).toBe(false);
    expect(d.reason).toContain(reason);
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'EAI_AGAIN', 'UND_ERR_SOCKET'])('still retries %s', (code) => {
    expect(describeNetworkError(Object.assign(new Error('x'), { code }), new URL('https://r.test/')).retryable).toBe(
      true,
    );
  });
});
