/**
 * An in-memory registry for engine tests without HTTP: a STAND-IN, for what no real registry
 * of the integration tests can be made to do on cue (faults at a chosen operation, races
 * between writers, a registry with OCI-Subject switched off, GitLab's digest alias). Its
 * repositories implement the `Repository` interface the engine uses; what the real client does
 * over HTTP is tested against real registries in __tests__/integration.
 *
 * Modelled on oras-go's internal/cas/memory.go (content by digest, tags on top), with what a
 * registry adds: manifests that name missing blobs or children are refused (so an order that
 * pushes a parent first fails loudly), blobs are per repository (mount copies them within one
 * registry), the referrers API lists manifests by their `subject`, and what the client learns
 * (referrers API, OCI-Subject, mount, digest alias) shows in `capabilities()` as the client's does.
 *
 * Every operation is logged in order (`log`, HTTP-like: method, what, reference) and passes
 * through `hooks.before` and `hooks.after`, which may throw (a fault) or wait (a race).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Descriptor } from '../../src/oci/manifest.js';
import { RegistryError, ReferrersTagContentError } from '../../src/registry/errors.js';
import type {
  Access,
  FetchedManifest,
  ManifestInfo,
  MountResult,
  PushResult,
  ReferrersIndex,
  ReferrersListing,
  Repository,
  RepositoryCapabilities,
  RepositoryProvider,
} from '../../src/registry/types.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export type OperationMethod = 'HEAD' | 'GET' | 'PUT' | 'POST' | 'DELETE';
/** What an operation touches: `referrers` is the referrers API, `tags` the tag listing. */
export type OperationKind = 'manifest' | 'blob' | 'referrers' | 'tags' | 'mount';

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

export interface MemoryRegistryHooks {
  /** Before the operation takes effect: throw for a fault, await for a race. */
  before?(op: Operation): void | Promise<void>;
  /** After it took effect, before its answer is returned. */
  after?(op: Operation): void | Promise<void>;
}

export interface MemoryRegistryOptions {
  /** The registry's name in references. */
  name: string;
  /** Serves GET /v2/<name>/referrers/<digest>; off: the referrers tag schema is the list. */
  referrersApi: boolean;
  /** Answers a PUT of a manifest with a subject with OCI-Subject (when it has the API). */
  ociSubject: boolean;
  /** Cross-repository mount answers 201; off: "upload instead". */
  blobMount: boolean;
  /** GitLab: a `sha256-<hex>` that is not a tag resolves to the manifest `sha256:<hex>` itself. */
  digestAlias: boolean;
  /**
   * With the API: whether it answers this subject with a list; false answers it as some
   * registries in the field do for one subject (404, not a list).
   */
  apiListsSubject: (subject: string) => boolean;
  /** Referrers-tag reads carry an ETag and writes honour If-Match (412 on a change). */
  etags: boolean;
  hooks: MemoryRegistryHooks;
}

let sequence = 0;

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function registryError(op: Operation, status: number, code: string, operation = 'memory'): RegistryError {
  return new RegistryError({
    registry: op.registry,
    operation,
    reference: `${op.registry}/${op.repository}${op.reference.startsWith('sha256:') ? '@' : ':'}${op.reference}`,
    method: op.method,
    status,
    errors: [{ code }],
  });
}

interface StoredManifest {
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

/** One registry in memory; `repository()` makes it the engine's RepositoryProvider. */
export class MemoryRegistry implements RepositoryProvider {
  readonly options: MemoryRegistryOptions;
  readonly log: Operation[] = [];
  private readonly contents = new Map<string, RepositoryContent>();
  private readonly repositories = new Map<string, MemoryRepository>();
  /** What the client learned of the registry's referrers API, shared by its repositories. */
  learnedReferrersApi: boolean | undefined;

  constructor(options: Partial<MemoryRegistryOptions> = {}) {
    const referrersApi = options.referrersApi ?? true;
    this.options = {
      name: 'mem.example',
      referrersApi,
      ociSubject: referrersApi,
      blobMount: true,
      digestAlias: false,
      etags: false,
      apiListsSubject: () => true,
      hooks: {},
      ...options,
    };
  }

  get name(): string {
    return this.options.name;
  }

  /** The content of a repository, created empty on first use. */
  content(repository: string): RepositoryContent {
    let c = this.contents.get(repository);
    if (!c) {
      c = new RepositoryContent();
      this.contents.set(repository, c);
    }
    return c;
  }

  repository(ref: { registry: string; repository: string }, access: Access): MemoryRepository {
    if (ref.registry !== this.name) throw new Error(`${ref.registry} is not the memory registry ${this.name}`);
    let repo = this.repositories.get(ref.repository);
    if (!repo) {
      repo = new MemoryRepository(this, ref.repository);
      this.repositories.set(ref.repository, repo);
    }
    if (access === 'push') repo.writable = true;
    return repo;
  }

  /** Forgets the repository handles (what a new run's client would not know). The content stays. */
  newClient(): void {
    this.repositories.clear();
    this.learnedReferrersApi = undefined;
  }

  /** Logs the operation and runs the `before` hook; returns the operation for `after`. */
  async begin(repository: string, method: OperationMethod, kind: OperationKind, reference: string): Promise<Operation> {
    const op: Operation = { seq: ++sequence, registry: this.name, repository, method, kind, reference };
    this.log.push(op);
    // Let other operations in flight interleave, as requests over a network would.
    await new Promise((resolve) => setImmediate(resolve));
    await this.options.hooks.before?.(op);
    return op;
  }

  async end(op: Operation): Promise<void> {
    await this.options.hooks.after?.(op);
  }
}

/** Several memory registries as one provider (a promotion across registries). */
export class MemoryRegistries implements RepositoryProvider {
  private readonly byName: Map<string, MemoryRegistry>;

  constructor(readonly registries: MemoryRegistry[]) {
    this.byName = new Map(registries.map((r) => [r.name, r]));
  }

  repository(ref: { registry: string; repository: string }, access: Access): Repository {
    const registry = this.byName.get(ref.registry);
    if (!registry) throw new Error(`no memory registry ${ref.registry}`);
    return registry.repository(ref, access);
  }

  /** Every registry's operations in the order they were issued. */
  get log(): Operation[] {
    return this.registries.flatMap((r) => r.log).sort((a, b) => a.seq - b.seq);
  }
}

/** One repository of a MemoryRegistry, as the engine sees it. */
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
    return { ...this.caps, ...(referrersApi !== undefined && { referrersApi }) };
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

interface ManifestJson {
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
