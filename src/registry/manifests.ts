import type { CapabilityState } from './capabilities.js';
import type { Exchange } from './exchange.js';
import { ResponseTooLargeError, type HttpResponse } from './http/transport.js';
import type { FetchedManifest, ManifestInfo, ManifestStore, PushResult } from './types.js';
import { computeDigest, isDigest, matchesDigest, splitDigest } from '../oci/digest.js';
import { InvalidManifestError, parseManifest } from '../oci/manifest.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES } from '../oci/media-types.js';

/** distribution-spec "Pulling manifests", "Checking if content exists", "Pushing Manifests". */
export class Manifests implements ManifestStore {
  constructor(
    private readonly exchange: Exchange,
    private readonly caps: CapabilityState,
  ) {}

  async statManifest(reference: string): Promise<ManifestInfo | undefined> {
    const where = this.exchange.ref(reference);
    const res = await this.exchange.send({
      method: 'HEAD',
      path: `/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      operation: 'check manifest',
      reference: where,
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.exchange.error(res, 'check manifest', where);
    const digest = res.header('docker-content-digest');
    const mediaType = res.header('content-type')?.split(';')[0]?.trim();
    const size = Number(res.header('content-length'));
    if (!digest || !isDigest(digest) || !mediaType || !Number.isSafeInteger(size)) {
      // Some registries omit Docker-Content-Digest on HEAD: fall back to the body.
      const m = await this.fetchManifest(reference);
      return { digest: m.digest, mediaType: m.mediaType, size: m.size };
    }
    return { digest, mediaType, size };
  }

  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const where = this.exchange.ref(reference);
    let res: HttpResponse;
    try {
      res = await this.exchange.send({
        method: 'GET',
        path: `/manifests/${reference}`,
        headers: { accept: MANIFEST_ACCEPT },
        maxResponseBytes: MAX_MANIFEST_BYTES,
        operation: 'get manifest',
        reference: where,
      });
    } catch (err) {
      if (err instanceof ResponseTooLargeError) {
        throw new InvalidManifestError(
          `the manifest ${where} is larger than ${MAX_MANIFEST_BYTES} bytes (4 MiB), the most registries must accept`,
        );
      }
      throw err;
    }
    if (res.status !== 200) throw this.exchange.error(res, 'get manifest', where);
    const bytes = res.body;
    const digest = verifiedDigest(bytes, reference, res.header('docker-content-digest'), where);
    let mediaType: string;
    try {
      mediaType = parseManifest(bytes, res.header('content-type')).mediaType;
    } catch (err) {
      if (err instanceof InvalidManifestError)
        throw new InvalidManifestError(`the manifest ${where} is invalid: ${err.message}`);
      throw err;
    }
    return { digest, mediaType, size: bytes.length, bytes };
  }

  async pushManifest(reference: string, manifest: FetchedManifest): Promise<PushResult> {
    const where = this.exchange.ref(reference);
    const res = await this.exchange.send({
      method: 'PUT',
      path: `/manifests/${reference}`,
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
      operation: 'push manifest',
      reference: where,
    });
    if (res.status !== 201 && res.status !== 200) {
      throw this.exchange.error(
        res,
        'push manifest',
        where,
        res.status === 401 || res.status === 403
          ? `Check that the credentials for ${this.exchange.registry} may push to ${this.exchange.name}`
          : undefined,
      );
    }
    const stored = res.header('docker-content-digest');
    if (
      stored &&
      isDigest(stored) &&
      splitDigest(stored)[0] === splitDigest(manifest.digest)[0] &&
      stored !== manifest.digest
    ) {
      throw new InvalidManifestError(
        `${this.exchange.registry} stored ${where} as ${stored}, not as ${manifest.digest}: it changed the manifest`,
      );
    }
    const subject = res.header('oci-subject');
    if (hasSubject(manifest)) this.caps.observe('ociSubjectHeader', subject !== undefined);
    return { digestConfirmed: stored === manifest.digest, ...(subject && { ociSubject: subject }) };
  }
}

/**
 * The digest of served manifest bytes, checked against the digest asked for, else against the
 * one the registry announced (distribution-spec: Docker-Content-Digest may use another
 * algorithm; verify it against the body), else computed.
 */
function verifiedDigest(bytes: Uint8Array, reference: string, announced: string | undefined, where: string): string {
  if (isDigest(reference)) {
    if (!matchesDigest(bytes, reference))
      throw new InvalidManifestError(`the manifest served for ${where} does not match that digest`);
    return reference;
  }
  if (announced && isDigest(announced)) {
    if (!matchesDigest(bytes, announced)) {
      throw new InvalidManifestError(
        `the manifest served for ${where} does not match the Docker-Content-Digest ${announced} the registry announced`,
      );
    }
    return splitDigest(announced)[0] === 'sha256' ? announced : computeDigest(bytes);
  }
  return computeDigest(bytes);
}

/** Whether a manifest names a subject (cheaply: its bytes mention the field, then a parse confirms). */
function hasSubject(manifest: FetchedManifest): boolean {
  if (!Buffer.from(manifest.bytes).includes('"subject"')) return false;
  try {
    return parseManifest(manifest.bytes, manifest.mediaType).subject !== undefined;
  } catch {
    return false;
  }
}
