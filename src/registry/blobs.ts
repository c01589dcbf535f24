import type { Readable } from 'node:stream';
import { repositoryScope } from './auth.js';
import type { CapabilityState } from './capabilities.js';
import type { Exchange } from './exchange.js';
import { InvalidHeaderError } from './http/failures.js';
import { resolveHeaderUrl } from './http/header-url.js';
import type { BlobStore, MountResult } from './types.js';
import { verifyingStream } from './verify.js';
import type { Descriptor } from '../oci/manifest.js';

/** distribution-spec "Pulling blobs", "Pushing blobs", "Mounting a blob from another repository". */
export class Blobs implements BlobStore {
  constructor(
    private readonly exchange: Exchange,
    private readonly caps: CapabilityState,
  ) {}

  async statBlob(digest: string): Promise<boolean> {
    const where = this.exchange.ref(digest);
    const res = await this.exchange.send({
      method: 'HEAD',
      path: `/blobs/${digest}`,
      operation: 'check blob',
      reference: where,
    });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.exchange.error(res, 'check blob', where);
  }

  async fetchBlob(descriptor: Descriptor): Promise<Readable> {
    const where = this.exchange.ref(descriptor.digest);
    const res = await this.exchange.stream({
      method: 'GET',
      path: `/blobs/${descriptor.digest}`,
      operation: 'get blob',
      reference: where,
      expectedBytes: descriptor.size,
    });
    if (res.status !== 200) {
      const body = await readSome(res.body);
      throw this.exchange.error(
        { ...res, body },
        'get blob',
        where,
        res.status === 401 ? `Check the credentials for ${this.exchange.registry}` : undefined,
      );
    }
    const verified = verifyingStream(descriptor, where);
    res.body.on('error', (err) => verified.destroy(err));
    // A mismatch can be found before the consumer starts reading (a small blob fits the
    // buffers); the consumer checks `errored`, so the event itself needs no other listener.
    verified.on('error', () => undefined);
    return res.body.pipe(verified);
  }

  async mountBlob(descriptor: Descriptor, fromRepository: string): Promise<MountResult> {
    const query = new URLSearchParams({ mount: descriptor.digest, from: fromRepository });
    const res = await this.exchange.answer({
      method: 'POST',
      path: `/blobs/uploads/?${query}`,
      operation: 'mount blob',
      reference: this.exchange.ref(descriptor.digest),
      extraScopes: [repositoryScope(fromRepository, ['pull'])],
    });
    this.caps.observe('blobMount', res.status === 201);
    if (res.status === 201) return { mounted: true };
    // distribution-spec "Mounting a blob from another repository": a 202 means the registry
    // started an upload session instead; upload into it rather than POSTing again.
    // A relative Location resolves against the URL that answered (RFC 3986), not below /v2/.
    const location = res.header('location');
    if (res.status === 202 && location) {
      const session = resolveHeaderUrl('Location', location, {
        base: res.url,
        method: 'POST',
        operation: `mount blob ${this.exchange.ref(descriptor.digest)}`,
      });
      return { mounted: false, session: session.href };
    }
    // Registries refuse mounts they cannot authorise (401/403/404 when the source is not
    // visible to the token); a normal upload still works.
    return { mounted: false };
  }

  async startUpload(descriptor: Descriptor): Promise<string> {
    const where = this.exchange.ref(descriptor.digest);
    const start = await this.exchange.send({
      method: 'POST',
      path: '/blobs/uploads/',
      operation: 'start blob upload',
      reference: where,
    });
    const location = start.header('location');
    if (start.status !== 202 || !location) {
      throw this.exchange.error(
        start,
        'start blob upload',
        where,
        start.status === 202 ? 'The registry gave no upload Location' : undefined,
      );
    }
    // The Location is used as given (absolute or relative, with its query), resolved against
    // the URL of the POST that answered.
    return resolveHeaderUrl('Location', location, {
      base: start.url,
      method: 'POST',
      operation: `start blob upload ${where}`,
    }).href;
  }

  async pushBlob(descriptor: Descriptor, data: Readable, session?: string): Promise<void> {
    const where = this.exchange.ref(descriptor.digest);
    // A session opened before (startUpload, a mount) arrives resolved.
    let location: string;
    try {
      location = session ?? (await this.startUpload(descriptor));
    } catch (err) {
      data.destroy();
      throw err;
    }
    // The digest is added to the Location's own query. One that is not an HTTP(S) URL is the
    // registry's fault, named as such.
    const context = { base: this.exchange.base, method: 'POST', operation: `start blob upload ${where}` };
    let url: URL;
    try {
      url = resolveHeaderUrl('Location', location, context);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new InvalidHeaderError({
          header: 'Location',
          value: location,
          ...context,
          host: new URL(this.exchange.base).host,
        });
      }
    } catch (err) {
      data.destroy();
      throw err;
    }
    url.searchParams.append('digest', descriptor.digest);
    if (data.errored) throw data.errored;
    const res = await this.exchange.send({
      method: 'PUT',
      path: url.href,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
      body: data,
      operation: 'upload blob',
      reference: where,
    });
    if (res.status !== 201) throw this.exchange.error(res, 'upload blob', where);
  }
}

/** Reads at most 64 KiB of an error body, for its error codes. */
async function readSome(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (total < 64 * 1024) chunks.push(chunk);
    total += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, 64 * 1024);
}
