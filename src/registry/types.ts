import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/manifest.js';

/** What a manifest is, without its bytes (a HEAD answer). */
export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest extends ManifestInfo {
  /** The exact bytes the registry stores: the digest is computed over them. */
  bytes: Uint8Array;
}

/** Where a repository's referrers list came from. */
export type ReferrersSource = 'api' | 'tag-schema';

export interface ReferrersListing {
  source: ReferrersSource;
  descriptors: Descriptor[];
  /** Something odd the user should hear about (a referrers tag that is not an index, ...). */
  warnings: string[];
}

/** What the run learned about a repository; fields stay undefined until observed. */
export interface RepositoryCapabilities {
  referrersApi?: boolean;
  /** The registry resolves `sha256-<hex>` to the manifest `sha256:<hex>` itself (GitLab). */
  referrersTagAliasesDigest?: boolean;
  /** A manifest PUT with a subject was answered with OCI-Subject (true) or without it (false). */
  ociSubjectHeader?: boolean;
  /** A cross-repository mount was answered 201 (true) or otherwise (false). */
  blobMount?: boolean;
}

export interface ManifestStore {
  /** GET: the bytes, verified against the digest asked for or announced. 404 throws a RegistryError. */
  fetchManifest(reference: string): Promise<FetchedManifest>;
  /** HEAD: undefined when the tag or digest does not exist. */
  statManifest(reference: string): Promise<ManifestInfo | undefined>;
  /** PUT the exact bytes under a tag or digest, with their media type. */
  pushManifest(reference: string, manifest: FetchedManifest): Promise<PushResult>;
}

/** What the registry's answer to a manifest PUT proved. */
export interface PushResult {
  /** It named the digest it stored (Docker-Content-Digest), and that is ours. */
  digestConfirmed: boolean;
  /** distribution-spec v1.1: a registry with the referrers API names the subject it indexed. */
  ociSubject?: string;
}

export interface ReferrerLister {
  /** Referrers of a digest: through the API where the repository has it, else the referrers tag schema. */
  listReferrers(subject: string): Promise<ReferrersListing>;
  /**
   * Asks the referrers API once, if the repository's answer is not known yet: the listing
   * when the API is there, undefined when it is not (the answer is remembered).
   */
  probeReferrersApi(subject: string): Promise<ReferrersListing | undefined>;
}

export interface Repository extends ManifestStore, ReferrerLister, BlobStore, ReferrersIndexStore {
  readonly registry: string;
  readonly name: string;
  capabilities(): RepositoryCapabilities;
  /**
   * Whether a `sha256-*` tag exists, from one listing of the repository's tags taken once per
   * run; undefined when that listing is unavailable or too long to be worth reading.
   */
  hasDigestTag(tag: string): Promise<boolean | undefined>;
  /** The repository's `sha256-*` tags, from that same listing; undefined when unavailable. */
  digestTagList(): Promise<Set<string> | undefined>;
  /**
   * The referrers API's own answer for one subject, and nothing else: undefined when it does
   * not answer with a list (no fallback to the tag schema, and nothing learned from it).
   */
  listReferrersFromApi(subject: string): Promise<ReferrersListing | undefined>;
  /** DELETE of a tag (distribution-spec "Deleting tags"); the manifest stays. */
  deleteTag(tag: string): Promise<void>;
  /**
   * Whether the registry is known, or says on `GET /v2/` (GitLab's header), to answer
   * `sha256-<hex>` with the manifest `sha256:<hex>` itself, so that it cannot hold a referrers
   * index. Asked once per registry; false when it does not say so.
   */
  announcesDigestAlias(): Promise<boolean>;
}

/** Read only, or read and write: decides the token scopes asked for. */
export type Access = 'pull' | 'push';

export interface RepositoryProvider {
  repository(ref: { registry: string; repository: string }, access: Access): Repository;
}

/** Where a blob upload goes on: the `Location` of a started upload session. */
export type MountResult = { mounted: true } | { mounted: false; session?: string };

export interface BlobStore {
  /** HEAD: whether the repository has the blob. */
  statBlob(digest: string): Promise<boolean>;
  /**
   * GET, following redirects to object storage without the registry's credentials. The stream
   * is verified against the descriptor: it errors instead of delivering its last bytes when the
   * content does not match, so a consumer never completes a wrong blob.
   */
  fetchBlob(descriptor: Descriptor): Promise<Readable>;
  /** Monolithic upload of a stream, into `session` when one was opened already (startUpload, a mount). */
  pushBlob(descriptor: Descriptor, data: Readable, session?: string): Promise<void>;
  /** POST: opens an upload session for the blob; its `Location`, resolved, for pushBlob. */
  startUpload(descriptor: Descriptor): Promise<string>;
  /** Cross-repository mount within one registry; `mounted: false` means upload instead. */
  mountBlob(descriptor: Descriptor, fromRepository: string): Promise<MountResult>;
}

export interface ReferrersIndex {
  /** False when the tag does not exist yet. */
  exists: boolean;
  descriptors: Descriptor[];
  /** The ETag the registry sent with it, for a conditional write. */
  etag?: string;
}

/** distribution-spec v1.1 "Referrers Tag Schema", write side, for repositories without the API. */
export interface ReferrersIndexStore {
  /** Reads `sha256-<hex>`: 404 is an empty index; content that is not an OCI index throws. */
  readReferrersIndex(subject: string): Promise<ReferrersIndex>;
  /**
   * Writes the index under the subject's referrers tag and returns the tag. With `ifMatch`,
   * the write is conditional (distribution-spec allows If-Match here); undefined means the
   * registry answered 412: someone else wrote the index since it was read.
   */
  writeReferrersIndex(subject: string, descriptors: Descriptor[], ifMatch?: string): Promise<string | undefined>;
}
