/**
 * The content of the in-memory STAND-IN registry (see memory-registry.ts): manifests by digest,
 * tags on top, blobs per repository, and the operation log's types.
 */
import { createHash } from 'node:crypto';
import type { Descriptor } from '../../src/oci/manifest.js';
import { RegistryError } from '../../src/registry/errors.js';
import type { FetchedManifest } from '../../src/registry/types.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export type OperationMethod = 'HEAD' | 'GET' | 'PUT' | 'POST' | 'DELETE';
/** What an operation touches: `referrers` is the referrers API, `tags` the tag listing, `base` GET /v2/. */
export type OperationKind = 'manifest' | 'blob' | 'referrers' | 'tags' | 'mount' | 'upload' | 'base';

export interface Operation {
  /** Order across every MemoryRegistry of the test process. */
  seq: number;
  registry: string;
  repository: string;
  method: OperationMethod;
  kind: OperationKind;
  /** Tag or digest (for a mount: the blob's digest); '' for a tag listing. */
  reference: string;
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function registryError(op: Operation, status: number, code: string, operation = 'memory'): RegistryError {
  return new RegistryError({
    registry: op.registry,
    operation,
    reference: `${op.registry}/${op.repository}${op.reference.startsWith('sha256:') ? '@' : ':'}${op.reference}`,
    method: op.method,
    status,
    errors: [{ code }],
  });
}

export interface StoredManifest {
  bytes: Uint8Array;
  mediaType: string;
}

/** One repository's content, for seeding and for assertions (no log, no hooks). */
export class RepositoryContent {
  readonly manifests = new Map<string, StoredManifest>();
  readonly tags = new Map<string, string>();
  readonly blobs = new Map<string, Uint8Array>();

  putBlob(bytes: Uint8Array | string, mediaType = 'application/octet-stream'): Descriptor {
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const digest = sha256(data);
    this.blobs.set(digest, data);
    return { mediaType, digest, size: data.length };
  }

  putManifest(json: unknown, tag?: string): FetchedManifest {
    const bytes = Buffer.from(JSON.stringify(json));
    const mediaType = (json as { mediaType: string }).mediaType;
    const digest = sha256(bytes);
    this.manifests.set(digest, { bytes, mediaType });
    if (tag !== undefined) this.tags.set(tag, digest);
    return { digest, mediaType, size: bytes.length, bytes };
  }

  /** The digest a tag or digest names here, if any. */
  resolve(reference: string): string | undefined {
    return reference.startsWith('sha256:')
      ? this.manifests.has(reference)
        ? reference
        : undefined
      : this.tags.get(reference);
  }

  json(reference: string): Record<string, unknown> | undefined {
    const digest = this.resolve(reference);
    const m = digest === undefined ? undefined : this.manifests.get(digest);
    return m && (JSON.parse(Buffer.from(m.bytes).toString('utf8')) as Record<string, unknown>);
  }
}

export interface ManifestJson {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: (Descriptor & { urls?: string[] })[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The referrers tag of a digest: `sha256:<hex>` -> `sha256-<hex>`. */
export function tagOf(digest: string): string {
  return digest.replace(':', '-');
}

/** `HEAD manifest sha256:…` lines, for readable assertions on the order of operations. */
export function formatOperation(op: Operation): string {
  return `${op.method} ${op.kind} ${op.reference}`.trimEnd();
}
