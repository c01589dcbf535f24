/** One repository of the in-memory STAND-IN registry (see memory-registry.ts), as the engine sees it. */
import { Readable } from 'node:stream';
import {
  OCI_INDEX,
  registryError,
  sha256,
  tagOf,
  type ManifestJson,
  type Operation,
  type OperationKind,
  type OperationMethod,
  type RepositoryContent,
  type StoredManifest,
} from './memory-content.js';
import type { MemoryRegistry, MemoryRegistryOptions } from './memory-registry.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import { ReferrersTagContentError } from '../../src/registry/errors.js';
import type {
  FetchedManifest,
  ManifestInfo,
  MountResult,
  PushResult,
  ReferrersIndex,
  ReferrersListing,
  Repository,
  RepositoryCapabilities,
} from '../../src/registry/types.js';

export class MemoryRepository implements Repository {
  readonly registry: string;
  /** Opened for push by some caller: writes are refused until then (a dry run must not write). */
  writable = false;
  private readonly caps: RepositoryCapabilities = {};
  private digestTags?: Promise<Set<string> | undefined>;

  constructor(
    private readonly owner: MemoryRegistry,
    readonly name: string,
  ) {
    this.registry = owner.name;
  }

  private get content(): RepositoryContent {
    return this.owner.content(this.name);
  }

  private get options(): MemoryRegistryOptions {
    return this.owner.options;
  }

  /** Runs one logged operation: hooks around it, writes refused on a read-only handle. */
  private async run<T>(
    method: OperationMethod,
    kind: OperationKind,
    reference: string,
    body: (op: Operation) => T | Promise<T>,
  ): Promise<T> {
    const op = await this.owner.begin(this.name, method, kind, reference);
    if ((method === 'PUT' || method === 'DELETE' || method === 'POST') && !this.writable) {
      throw registryError(op, 401, 'UNAUTHORIZED', 'write to a repository opened for pull');
    }
    const result = await body(op);
    await this.owner.end(op);
    return result;
  }

  capabilities(): RepositoryCapabilities {
    const referrersApi = this.owner.learnedReferrersApi;
    const alias = this.caps.referrersTagAliasesDigest ?? this.owner.learnedDigestAlias;
    return {
      ...this.caps,
      ...(referrersApi !== undefined && { referrersApi }),
      ...(alias !== undefined && { referrersTagAliasesDigest: alias }),
    };
  }

  /** GitLab's GET /v2/ names the registry; asked once per registry, as the client does. */
  announcesDigestAlias(): Promise<boolean> {
    if (this.capabilities().referrersTagAliasesDigest === true) return Promise.resolve(true);
    this.owner.askedBase ??= this.run('GET', 'base', '', () => this.options.announcesDigestAlias);
    return this.owner.askedBase.then((announced) => {
      if (announced) this.owner.learnedDigestAlias = true;
      return announced;
    });
  }

  // --- manifests ---------------------------------------------------------------------------

  /** A tag, a digest, or (GitLab) a `sha256-<hex>` that is no tag but names a manifest. */
  private lookUp(reference: string): { digest: string; manifest: StoredManifest } | undefined {
    let digest = this.content.resolve(reference);
    if (digest === undefined && this.options.digestAlias && /^sha256-[0-9a-f]{64}$/.test(reference)) {
      digest = this.content.resolve(reference.replace('-', ':'));
    }
    const manifest = digest === undefined ? undefined : this.content.manifests.get(digest);
    return manifest && { digest: digest!, manifest };
  }

  statManifest(reference: string): Promise<ManifestInfo | undefined> {
    return this.run('HEAD', 'manifest', reference, () => {
      const found = this.lookUp(reference);
      return found && { digest: found.digest, mediaType: found.manifest.mediaType, size: found.manifest.bytes.length };
    });
  }

  fetchManifest(reference: string): Promise<FetchedManifest> {
    return this.run('GET', 'manifest', reference, (op) => {
      const found = this.lookUp(reference);
      if (!found) throw registryError(op, 404, 'MANIFEST_UNKNOWN', 'get manifest');
      const { bytes, mediaType } = found.manifest;
      return { digest: found.digest, mediaType, size: bytes.length, bytes };
    });
  }

  pushManifest(reference: string, manifest: FetchedManifest): Promise<PushResult> {
    return this.run('PUT', 'manifest', reference, (op) => {
      const digest = sha256(manifest.bytes);
      if (digest !== manifest.digest || (reference.startsWith('sha256:') && reference !== digest)) {
        throw registryError(op, 400, 'DIGEST_INVALID', 'push manifest');
      }
      const json = JSON.parse(Buffer.from(manifest.bytes).toString('utf8')) as ManifestJson;
      // distribution refuses a manifest that names what the repository lacks.
      for (const child of json.manifests ?? []) {
        if (!this.content.manifests.has(child.digest))
          throw registryError(op, 400, 'MANIFEST_BLOB_UNKNOWN', 'push manifest');
      }
      for (const blob of [
        ...(json.config ? [json.config] : []),
        ...(json.layers ?? []).filter((l) => !l.urls?.length),
      ]) {
        if (!this.content.blobs.has(blob.digest))
          throw registryError(op, 400, 'MANIFEST_BLOB_UNKNOWN', 'push manifest');
      }
      this.content.manifests.set(digest, { bytes: manifest.bytes, mediaType: manifest.mediaType });
      if (!reference.startsWith('sha256:')) this.content.tags.set(reference, digest);
      const subject = json.subject?.digest;
      const answered = subject !== undefined && this.options.referrersApi && this.options.ociSubject;
      if (subject !== undefined) this.caps.ociSubjectHeader = answered || (this.caps.ociSubjectHeader ?? false);
      return { digestConfirmed: true, ...(answered && { ociSubject: subject }) };
    });
  }

  // --- blobs -------------------------------------------------------------------------------

  statBlob(digest: string): Promise<boolean> {
    return this.run('HEAD', 'blob', digest, () => this.content.blobs.has(digest));
  }

  fetchBlob(descriptor: Descriptor): Promise<Readable> {
    return this.run('GET', 'blob', descriptor.digest, (op) => {
      const bytes = this.content.blobs.get(descriptor.digest);
      if (!bytes) throw registryError(op, 404, 'BLOB_UNKNOWN', 'get blob');
      return Readable.from([Buffer.from(bytes)]);
    });
  }

  pushBlob(descriptor: Descriptor, data: Readable, _session?: string): Promise<void> {
    return this.run('PUT', 'blob', descriptor.digest, async (op) => {
      const chunks: Buffer[] = [];
      for await (const chunk of data as AsyncIterable<Buffer>) chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      if (sha256(bytes) !== descriptor.digest || bytes.length !== descriptor.size) {
        throw registryError(op, 400, 'DIGEST_INVALID', 'upload blob');
      }
      this.content.blobs.set(descriptor.digest, bytes);
    });
  }

  startUpload(descriptor: Descriptor): Promise<string> {
    return this.run('POST', 'upload', descriptor.digest, () => `https://${this.registry}/upload/${descriptor.digest}`);
  }

  mountBlob(descriptor: Descriptor, fromRepository: string): Promise<MountResult> {
    return this.run('POST', 'mount', descriptor.digest, () => {
      const bytes = this.owner.content(fromRepository).blobs.get(descriptor.digest);
      const mounted = this.options.blobMount && bytes !== undefined;
      this.caps.blobMount = mounted || (this.caps.blobMount ?? false);
      if (mounted) this.content.blobs.set(descriptor.digest, bytes);
      return { mounted };
    });
  }

  // --- referrers ---------------------------------------------------------------------------

  /** What the referrers API lists for a subject: every manifest here whose subject it is. */
  private referrersOf(subject: string): Descriptor[] {
    const list: Descriptor[] = [];
    for (const [digest, m] of this.content.manifests) {
      const json = JSON.parse(Buffer.from(m.bytes).toString('utf8')) as ManifestJson;
      if (json.subject?.digest !== subject) continue;
      const artifactType = json.artifactType ?? json.config?.mediaType;
      list.push({
        mediaType: m.mediaType,
        digest,
        size: m.bytes.length,
        ...(artifactType !== undefined && { artifactType }),
        ...(json.annotations && { annotations: json.annotations }),
      });
    }
    return list;
  }

  private async fromApi(subject: string, learn: boolean): Promise<ReferrersListing | undefined> {
    return this.run('GET', 'referrers', subject, () => {
      const lists = this.options.referrersApi && this.options.apiListsSubject(subject);
      if (learn) this.owner.learnedReferrersApi = lists;
      if (!lists) return undefined;
      return { source: 'api' as const, descriptors: this.referrersOf(subject), warnings: [] };
    });
  }

  async probeReferrersApi(subject: string): Promise<ReferrersListing | undefined> {
    if (this.owner.learnedReferrersApi === false) return undefined;
    return this.fromApi(subject, true);
  }

  listReferrersFromApi(subject: string): Promise<ReferrersListing | undefined> {
    return this.fromApi(subject, false);
  }

  async listReferrers(subject: string): Promise<ReferrersListing> {
    if (this.owner.learnedReferrersApi !== false) {
      const listing = await this.fromApi(subject, true);
      if (listing) return listing;
    }
    if ((await this.hasDigestTag(tagOf(subject))) === false)
      return { source: 'tag-schema', descriptors: [], warnings: [] };
    try {
      return { source: 'tag-schema', descriptors: (await this.readReferrersIndex(subject)).descriptors, warnings: [] };
    } catch (err) {
      if (!(err instanceof ReferrersTagContentError)) throw err;
      return {
        source: 'tag-schema',
        descriptors: [],
        warnings: err.alias ? [] : [`${err.message}; treated as no referrers`],
      };
    }
  }

  readReferrersIndex(subject: string): Promise<ReferrersIndex> {
    const tag = tagOf(subject);
    return this.run('GET', 'manifest', tag, () => {
      const found = this.lookUp(tag);
      if (!found) return { exists: false, descriptors: [] };
      if (found.digest === subject) {
        this.caps.referrersTagAliasesDigest = true;
        this.owner.learnedDigestAlias = true;
        throw new ReferrersTagContentError(`${this.registry} answers ${tag} with the subject itself`, { alias: true });
      }
      const json = JSON.parse(Buffer.from(found.manifest.bytes).toString('utf8')) as ManifestJson;
      if (found.manifest.mediaType !== OCI_INDEX || !Array.isArray(json.manifests)) {
        throw new ReferrersTagContentError(`${tag} does not hold an OCI image index`, { alias: false });
      }
      return { exists: true, descriptors: json.manifests, ...(this.options.etags && { etag: `"${found.digest}"` }) };
    });
  }

  writeReferrersIndex(subject: string, descriptors: Descriptor[], ifMatch?: string): Promise<string | undefined> {
    const tag = tagOf(subject);
    return this.run('PUT', 'manifest', tag, () => {
      const current = this.content.tags.get(tag);
      if (this.options.etags && ifMatch !== undefined && ifMatch !== `"${current}"`) return undefined;
      this.content.putManifest({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors }, tag);
      void this.digestTags?.then((tags) => tags?.add(tag));
      return tag;
    });
  }

  // --- tags --------------------------------------------------------------------------------

  digestTagList(): Promise<Set<string> | undefined> {
    this.digestTags ??= this.run(
      'GET',
      'tags',
      '',
      () => new Set([...this.content.tags.keys()].filter((t) => t.startsWith('sha256-'))),
    ).catch(() => undefined);
    return this.digestTags;
  }

  async hasDigestTag(tag: string): Promise<boolean | undefined> {
    return (await this.digestTagList())?.has(tag);
  }

  deleteTag(tag: string): Promise<void> {
    return this.run('DELETE', 'manifest', tag, (op) => {
      if (!this.content.tags.delete(tag)) throw registryError(op, 404, 'MANIFEST_UNKNOWN', 'delete tag');
    });
  }
}
