import { Readable } from 'node:stream';
import { Authenticator, repositoryScope, type CredentialResolver } from './auth.js';
import { RegistryError, parseErrorBody, type RegistryErrorDetail } from './errors.js';
import {
  createTransport,
  parseNextLink,
  ResponseTooLargeError,
  type HttpRequest,
  type HttpResponse,
  type HttpTransport,
} from './http/transport.js';
import { resolveHeaderUrl } from './http/header-url.js';
import { withRetry, type RetryOptions } from './http/retry.js';
import { TrafficCounter, type HostTraffic } from './http/traffic.js';
import { verifyingStream } from './verify.js';
import type {
  Access,
  PushResult,
  MountResult,
  ReferrersIndex,
  FetchedManifest,
  ManifestInfo,
  ReferrersListing,
  Repository,
  RepositoryCapabilities,
  RepositoryProvider,
} from './types.js';
import { computeDigest, isDigest, matchesDigest, referrersTagFor, splitDigest } from '../oci/digest.js';
import { InvalidManifestError, parseManifest, parseReferrersIndex, type Descriptor } from '../oci/manifest.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, MediaType } from '../oci/media-types.js';
import { DOCKER_HUB } from '../oci/reference.js';

export type ReferrersApiMode = 'auto' | boolean;

/** What the run learned about a registry as a whole. */
interface RegistryCapabilities {
  referrersApi?: boolean;
}

/** Pages of 1000 tags read to learn a repository's sha256-* tags before falling back to a GET per digest. */
const MAX_TAG_PAGES = 5;

export interface RegistryClientOptions {
  plainHttp: boolean;
  credentials: CredentialResolver;
  /** Every secret the client learns (tokens), so the caller can mask it. */
  onSecret?: (secret: string) => void;
  /** `auto` probes each repository once; true/false override the probe. */
  referrersApi: ReferrersApiMode;
  /** Bound on referrers pages followed through `Link` (hostile or broken registries). */
  maxReferrersPages: number;
  /** Bound on descriptors in one referrers list. */
  maxReferrers: number;
  transport?: HttpTransport;
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
}

export const DEFAULT_REGISTRY_CLIENT_OPTIONS: RegistryClientOptions = {
  plainHttp: false,
  credentials: async () => undefined,
  referrersApi: 'auto',
  maxReferrersPages: 100,
  maxReferrers: 10_000,
};

/** Where a registry's API lives: Docker Hub's name is not its API host. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** The OCI distribution client: one per run, one keep-alive pool per registry through the transport. */
export class RegistryClient implements RepositoryProvider {
  private readonly options: RegistryClientOptions;
  private readonly transport: HttpTransport;
  private readonly auth: Authenticator;
  private readonly repositories = new Map<string, HttpRepository>();
  /** What one repository of a registry learned about the referrers API, for its others. */
  private readonly registryCaps = new Map<string, RegistryCapabilities>();
  private readonly counter = new TrafficCounter();

  constructor(options: Partial<RegistryClientOptions> = {}) {
    this.options = { ...DEFAULT_REGISTRY_CLIENT_OPTIONS, ...options };
    this.transport = withRetry(
      this.counter.wrap(
        this.options.transport ?? createTransport({ ...(options.timeoutMs && { timeoutMs: options.timeoutMs }) }),
      ),
      this.options.retry,
    );
    this.auth = new Authenticator({
      transport: this.transport,
      credentials: this.options.credentials,
      ...(this.options.onSecret && { onSecret: this.options.onSecret }),
      plainHttp: this.options.plainHttp,
    });
  }

  repository(ref: { registry: string; repository: string }, access: Access): Repository {
    const key = `${ref.registry}/${ref.repository}`;
    let repo = this.repositories.get(key);
    if (!repo) {
      let shared = this.registryCaps.get(ref.registry);
      if (!shared) {
        shared = {};
        this.registryCaps.set(ref.registry, shared);
      }
      repo = new HttpRepository(ref.registry, ref.repository, this.transport, this.auth, this.options, shared);
      this.repositories.set(key, repo);
    }
    // Ask for push once any caller needs it, so one token covers reads and writes.
    if (access === 'push') repo.needPush();
    return repo;
  }

  /** Requests, bytes and announced rate limits so far, per host (token services included). */
  traffic(): Record<string, HostTraffic> {
    return this.counter.snapshot();
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

interface SendOptions extends Omit<HttpRequest, 'url'> {
  /** Path below `/v2/<name>`, or an absolute URL (an upload `Location`, used as given). */
  path: string;
  operation: string;
  reference: string;
  /** Scopes beyond this repository's, such as pull on the source of a mount. */
  extraScopes?: string[];
}

interface Answer {
  status: number;
  header(name: string): string | undefined;
}

class HttpRepository implements Repository {
  private actions: string[] = ['pull'];
  private readonly caps: RepositoryCapabilities = {};
  private readonly base: string;
  private readonly origin: string;

  constructor(
    readonly registry: string,
    readonly name: string,
    private readonly transport: HttpTransport,
    private readonly auth: Authenticator,
    private readonly options: RegistryClientOptions,
    private readonly shared: RegistryCapabilities,
  ) {
    this.base = `${options.plainHttp ? 'http' : 'https'}://${apiHost(registry)}/v2/${name}`;
    this.origin = new URL(this.base).origin;
    if (options.referrersApi !== 'auto') this.caps.referrersApi = options.referrersApi;
  }

  /**
   * The referrers API is a feature of a registry, not of one repository: an answer learned in
   * one repository stands for the others, until one of them answers otherwise.
   */
  private learnReferrersApi(supported: boolean): void {
    this.caps.referrersApi = supported;
    this.shared.referrersApi = supported;
  }

  private referrersApiKnown(): boolean | undefined {
    return this.caps.referrersApi ?? this.shared.referrersApi;
  }

  /** `sha256-*` tags (referrers indexes, cosign attachments) from one tag listing, taken lazily. */
  private digestTags?: Promise<Set<string> | undefined>;

  async hasDigestTag(tag: string): Promise<boolean | undefined> {
    const tags = await this.digestTagList();
    return tags && tags.has(tag);
  }

  digestTagList(): Promise<Set<string> | undefined> {
    this.digestTags ??= this.listDigestTags().catch(() => undefined);
    return this.digestTags;
  }

  async deleteTag(tag: string): Promise<void> {
    const where = this.ref(tag);
    // Token services grant DELETE through a scope action of its own (distribution: `delete`).
    const res = await this.send({
      method: 'DELETE',
      path: `/manifests/${tag}`,
      operation: 'delete tag',
      reference: where,
      extraScopes: [repositoryScope(this.name, ['delete'])],
    });
    if (res.status !== 202 && res.status !== 200) throw this.error(res, 'delete tag', where);
  }

  /**
   * One tag listing (paginated, at most MAX_TAG_PAGES pages of 1000) replaces a GET per digest
   * on repositories without the referrers API, most of which would answer 404.
   */
  private async listDigestTags(): Promise<Set<string> | undefined> {
    const where = `${this.registry}/${this.name}`;
    const tags = new Set<string>();
    let path = '/tags/list?n=1000';
    for (let page = 0; page < MAX_TAG_PAGES; page++) {
      const res = await this.send({
        method: 'GET',
        path,
        operation: 'list tags of',
        reference: where,
        maxResponseBytes: MAX_MANIFEST_BYTES,
      });
      // distribution-spec: an unknown repository is 404 NAME_UNKNOWN, and has no tags.
      if (res.status === 404 && parseErrorBody(res.body).some((e) => e.code === 'NAME_UNKNOWN')) return tags;
      if (res.status !== 200) return undefined;
      const list = (JSON.parse(Buffer.from(res.body).toString('utf8')) as { tags?: unknown }).tags;
      if (list !== null && list !== undefined && !Array.isArray(list)) return undefined;
      for (const t of list ?? []) if (typeof t === 'string' && t.startsWith('sha256-')) tags.add(t);
      const next = parseNextLink(res.header('link'), res.url);
      if (!next) return tags;
      const url = new URL(next);
      if (url.origin !== this.origin || url.pathname !== new URL(`${this.base}/tags/list`).pathname) return undefined;
      path = `/tags/list${url.search}`;
    }
    return undefined;
  }

  needPush(): void {
    this.actions = ['pull', 'push'];
  }

  capabilities(): RepositoryCapabilities {
    const referrersApi = this.referrersApiKnown();
    return { ...this.caps, ...(referrersApi !== undefined && { referrersApi }) };
  }

  private ref(reference: string): string {
    return `${this.registry}/${this.name}${isDigest(reference) ? '@' : ':'}${reference}`;
  }

  /**
   * Sends with authentication: a known scheme up front, else learn it from the 401 and retry
   * once. Credentials go only to the registry's own origin, never to an upload `Location` or
   * redirect elsewhere. A streamed body cannot be re-sent, so a 401 on it is final.
   */
  private async exchange<R extends Answer>(
    opts: SendOptions,
    perform: (req: HttpRequest) => Promise<R>,
    discard: (res: R) => void,
  ): Promise<R> {
    const scopes = [repositoryScope(this.name, this.actions), ...(opts.extraScopes ?? [])];
    const { path, operation: _operation, reference: _reference, extraScopes: _extraScopes, ...rest } = opts;
    const url = /^https?:\/\//.test(path) ? path : `${this.base}${path}`;
    const ours = new URL(url).origin === this.origin;
    const withAuth = (authorization: string | undefined): HttpRequest => ({
      ...rest,
      url,
      operation: `${opts.operation} ${opts.reference}`,
      headers: { ...rest.headers, ...(authorization && ours && { authorization }) },
    });
    let authorization = ours ? await this.auth.authorization(this.registry, scopes) : undefined;
    let res = await perform(withAuth(authorization));
    if (res.status !== 401 || !ours || rest.body instanceof Readable) return res;
    discard(res);
    authorization = await this.auth.unauthorized(
      this.registry,
      res.header('www-authenticate'),
      scopes,
      authorization !== undefined,
    );
    res = await perform(withAuth(authorization));
    if (res.status === 401) {
      const refused = await this.auth.refusal(this.registry);
      if (refused) {
        discard(res);
        throw refused;
      }
    }
    return res;
  }

  private async send(opts: SendOptions): Promise<HttpResponse> {
    const res = await this.exchange(
      opts,
      (req) => this.transport.request(req),
      () => undefined,
    );
    if (res.status === 401) {
      const write = opts.method !== 'GET' && opts.method !== 'HEAD';
      throw this.error(
        res,
        opts.operation,
        opts.reference,
        write
          ? `Check that the credentials for ${this.registry} may push to ${this.name}`
          : `Check the credentials for ${this.registry}`,
      );
    }
    return res;
  }

  private error(res: HttpResponse, operation: string, reference: string, hint?: string): RegistryError {
    const errors = parseErrorBody(res.body);
    return new RegistryError(
      {
        registry: this.registry,
        operation,
        reference,
        method: res.method,
        status: res.status,
        errors,
        ...(res.retry?.stoppedBecause && { retried: res.retry.stoppedBecause }),
        ...(res.status === 429 && { rateLimit: describeRateLimit(res) }),
      },
      hint ?? immutabilityHint(res, errors, reference),
    );
  }

  async statManifest(reference: string): Promise<ManifestInfo | undefined> {
    const res = await this.send({
      method: 'HEAD',
      path: `/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      operation: 'check manifest',
      reference: this.ref(reference),
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.error(res, 'check manifest', this.ref(reference));
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
    const where = this.ref(reference);
    let res: HttpResponse;
    try {
      res = await this.send({
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
    if (res.status !== 200) throw this.error(res, 'get manifest', where);
    const bytes = res.body;
    const announced = res.header('docker-content-digest');
    let digest: string;
    if (isDigest(reference)) {
      if (!matchesDigest(bytes, reference))
        throw new InvalidManifestError(`the manifest served for ${where} does not match that digest`);
      digest = reference;
    } else if (announced && isDigest(announced)) {
      // distribution-spec: Docker-Content-Digest may use another algorithm; verify it against the body.
      if (!matchesDigest(bytes, announced)) {
        throw new InvalidManifestError(
          `the manifest served for ${where} does not match the Docker-Content-Digest ${announced} the registry announced`,
        );
      }
      digest = splitDigest(announced)[0] === 'sha256' ? announced : computeDigest(bytes);
    } else {
      digest = computeDigest(bytes);
    }
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
    const where = this.ref(reference);
    const res = await this.send({
      method: 'PUT',
      path: `/manifests/${reference}`,
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
      operation: 'push manifest',
      reference: where,
    });
    if (res.status !== 201 && res.status !== 200) {
      throw this.error(
        res,
        'push manifest',
        where,
        res.status === 401 || res.status === 403
          ? `Check that the credentials for ${this.registry} may push to ${this.name}`
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
        `${this.registry} stored ${where} as ${stored}, not as ${manifest.digest}: it changed the manifest`,
      );
    }
    const subject = res.header('oci-subject');
    if (hasSubject(manifest))
      this.caps.ociSubjectHeader = subject !== undefined || (this.caps.ociSubjectHeader ?? false);
    return { digestConfirmed: stored === manifest.digest, ...(subject && { ociSubject: subject }) };
  }

  async probeReferrersApi(subject: string): Promise<ReferrersListing | undefined> {
    if (this.referrersApiKnown() === false) return undefined;
    return this.referrersFromApi(subject);
  }

  async listReferrers(subject: string): Promise<ReferrersListing> {
    if (this.referrersApiKnown() !== false) {
      const viaApi = await this.referrersFromApi(subject);
      if (viaApi) return viaApi;
    }
    return this.referrersFromTag(subject);
  }

  /**
   * distribution-spec v1.1 "Listing Referrers". Only a 200 carrying an OCI image index means the
   * API exists; anything else (404, 400, 405, 406, 501, a redirect elsewhere, an HTML page) means
   * it does not, and the answer is remembered for this repository. Never decided from OCI-Subject.
   */
  async listReferrersFromApi(subject: string): Promise<ReferrersListing | undefined> {
    return this.referrersFromApi(subject, false);
  }

  private async referrersFromApi(subject: string, learn = true): Promise<ReferrersListing | undefined> {
    const where = `${this.registry}/${this.name}@${subject}`;
    const descriptors: Descriptor[] = [];
    const warnings: string[] = [];
    let path = `/referrers/${subject}`;
    for (let page = 0; ; page++) {
      const res = await this.send({
        method: 'GET',
        path,
        headers: { accept: MediaType.OciIndex },
        maxResponseBytes: MAX_MANIFEST_BYTES,
        redirect: 'same-host',
        operation: 'list referrers of',
        reference: where,
      });
      if (res.status === 401 || res.status === 403) throw this.error(res, 'list referrers of', where);
      if (res.status >= 500 && res.status !== 501) throw this.error(res, 'list referrers of', where);
      let list: Descriptor[] | undefined;
      if (res.status === 200) {
        try {
          list = parseReferrersIndex(res.body, res.header('content-type'));
        } catch {
          list = undefined;
        }
      }
      if (
        !list &&
        page === 0 &&
        res.status === 404 &&
        parseErrorBody(res.body).some((e) => e.code === 'NAME_UNKNOWN')
      ) {
        // The repository does not exist (yet): nothing refers to anything in it, and the
        // answer says nothing about the API, so the probe stays open.
        return learn ? { source: 'api', descriptors: [], warnings: [] } : undefined;
      }
      if (!list) {
        if (!learn) return undefined;
        if (page > 0)
          throw this.error(
            res,
            'list referrers of',
            where,
            'A later page of the referrers list was not an OCI image index',
          );
        if (this.caps.referrersApi === true && this.options.referrersApi === true) {
          throw this.error(
            res,
            'list referrers of',
            where,
            "The input referrers-api is 'true' but the registry does not serve the referrers API here",
          );
        }
        this.learnReferrersApi(false);
        return undefined;
      }
      if (learn) this.learnReferrersApi(true);
      descriptors.push(...list);
      if (descriptors.length > this.options.maxReferrers) {
        throw new InvalidManifestError(
          `${where} has more than ${this.options.maxReferrers} referrers; refusing to go on`,
        );
      }
      const next = parseNextLink(res.header('link'), res.url, {
        method: 'GET',
        operation: `list referrers of ${where}`,
      });
      if (!next) break;
      const nextUrl = new URL(next);
      if (
        nextUrl.origin !== new URL(this.base).origin ||
        !nextUrl.pathname.startsWith(new URL(this.base).pathname + '/referrers/')
      ) {
        throw new InvalidManifestError(
          `${this.registry} answered the referrers list of ${where} with a next page outside the repository (${nextUrl.host})`,
        );
      }
      if (page + 1 >= this.options.maxReferrersPages) {
        warnings.push(
          `the referrers list of ${where} has more than ${this.options.maxReferrersPages} pages; the rest was not read`,
        );
        break;
      }
      path = nextUrl.pathname.slice(new URL(this.base).pathname.length) + nextUrl.search;
    }
    // distribution-spec: `artifactType` filtering is optional; we never ask for it, and keep all.
    return { source: 'api', descriptors: dedupe(descriptors), warnings };
  }

  /** distribution-spec v1.1 "Referrers Tag Schema", read side: validated before it is believed. */
  private async referrersFromTag(subject: string): Promise<ReferrersListing> {
    if ((await this.hasDigestTag(referrersTagFor(subject))) === false) {
      return { source: 'tag-schema', descriptors: [], warnings: [] };
    }
    try {
      const index = await this.readReferrersIndex(subject);
      return { source: 'tag-schema', descriptors: dedupe(index.descriptors), warnings: [] };
    } catch (err) {
      if (!(err instanceof ReferrersTagContentError)) throw err;
      // Read side of the tag schema: content that is not an index means no referrers.
      return {
        source: 'tag-schema',
        descriptors: [],
        warnings: err.alias ? [] : [`${err.message}; treated as no referrers`],
      };
    }
  }

  async statBlob(digest: string): Promise<boolean> {
    const where = `${this.registry}/${this.name}@${digest}`;
    const res = await this.send({
      method: 'HEAD',
      path: `/blobs/${digest}`,
      operation: 'check blob',
      reference: where,
    });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.error(res, 'check blob', where);
  }

  async fetchBlob(descriptor: Descriptor): Promise<Readable> {
    const where = `${this.registry}/${this.name}@${descriptor.digest}`;
    const res = await this.exchange(
      {
        method: 'GET',
        path: `/blobs/${descriptor.digest}`,
        operation: 'get blob',
        reference: where,
        expectedBytes: descriptor.size,
      },
      (req) => this.transport.stream(req),
      (r) => r.body.resume(),
    );
    if (res.status !== 200) {
      const body = await readSome(res.body);
      throw this.error(
        { ...res, body },
        'get blob',
        where,
        res.status === 401 ? `Check the credentials for ${this.registry}` : undefined,
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
    const where = `${this.registry}/${this.name}@${descriptor.digest}`;
    const query = new URLSearchParams({ mount: descriptor.digest, from: fromRepository });
    const res = await this.exchange(
      {
        method: 'POST',
        path: `/blobs/uploads/?${query}`,
        operation: 'mount blob',
        reference: where,
        extraScopes: [repositoryScope(fromRepository, ['pull'])],
      },
      (req) => this.transport.request(req),
      () => undefined,
    );
    this.caps.blobMount = res.status === 201 || (this.caps.blobMount ?? false);
    if (res.status === 201) return { mounted: true };
    // distribution-spec "Mounting a blob from another repository": a 202 means the registry
    // started an upload session instead; upload into it rather than POSTing again.
    // A relative Location resolves against the URL that answered (RFC 3986), not below /v2/.
    const location = res.header('location');
    if (res.status === 202 && location) {
      const session = resolveHeaderUrl('Location', location, {
        base: res.url,
        method: 'POST',
        operation: `mount blob ${where}`,
      });
      return { mounted: false, session: session.href };
    }
    // Registries refuse mounts they cannot authorise (401/403/404 when the source is not
    // visible to the token); a normal upload still works.
    return { mounted: false };
  }

  async pushBlob(descriptor: Descriptor, data: Readable, session?: string): Promise<void> {
    const where = `${this.registry}/${this.name}@${descriptor.digest}`;
    let location = session;
    // A mount's session arrives resolved; a fresh one resolves against the POST that answered.
    let answeredBy = this.base;
    if (!location) {
      const start = await this.send({
        method: 'POST',
        path: '/blobs/uploads/',
        operation: 'start blob upload',
        reference: where,
      });
      location = start.header('location');
      answeredBy = start.url;
      if (start.status !== 202 || !location) {
        data.destroy();
        throw this.error(
          start,
          'start blob upload',
          where,
          start.status === 202 ? 'The registry gave no upload Location' : undefined,
        );
      }
    }
    // The Location is used as given (absolute or relative, with its query), plus the digest.
    let url: URL;
    try {
      url = resolveHeaderUrl('Location', location, {
        base: answeredBy,
        method: 'POST',
        operation: `start blob upload ${where}`,
      });
    } catch (err) {
      data.destroy();
      throw err;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      data.destroy();
      throw new RegistryError(
        { registry: this.registry, operation: 'upload blob', reference: where, method: 'PUT', status: 0, errors: [] },
        `The upload Location has an unsupported scheme ${url.protocol}`,
      );
    }
    url.searchParams.append('digest', descriptor.digest);
    if (data.errored) throw data.errored;
    const res = await this.send({
      method: 'PUT',
      path: url.href,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
      body: data,
      operation: 'upload blob',
      reference: where,
    });
    if (res.status !== 201) throw this.error(res, 'upload blob', where);
  }

  async readReferrersIndex(subject: string): Promise<ReferrersIndex> {
    const tag = referrersTagFor(subject);
    const where = this.ref(tag);
    const res = await this.send({
      method: 'GET',
      path: `/manifests/${tag}`,
      headers: { accept: MANIFEST_ACCEPT },
      maxResponseBytes: MAX_MANIFEST_BYTES,
      operation: 'get referrers tag',
      reference: where,
    });
    if (res.status === 404) return { exists: false, descriptors: [] };
    if (res.status !== 200) throw this.error(res, 'get referrers tag', where);
    // GitLab answers `sha256-<hex>` with the manifest `sha256:<hex>` itself.
    if (matchesDigest(res.body, subject)) {
      this.caps.referrersTagAliasesDigest = true;
      throw new ReferrersTagContentError(
        `${this.registry} answers the referrers tag ${where} with the subject manifest itself (as GitLab does), so it cannot hold a referrers index there`,
        true,
      );
    }
    try {
      const etag = res.header('etag');
      return {
        exists: true,
        descriptors: parseReferrersIndex(res.body, res.header('content-type')),
        ...(etag && { etag }),
      };
    } catch (err) {
      throw new ReferrersTagContentError(
        `the referrers tag ${where} does not hold an OCI image index (${(err as Error).message})`,
        false,
      );
    }
  }

  async writeReferrersIndex(subject: string, descriptors: Descriptor[], ifMatch?: string): Promise<string | undefined> {
    const tag = referrersTagFor(subject);
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: descriptors }),
    );
    const res = await this.send({
      method: 'PUT',
      path: `/manifests/${tag}`,
      headers: { 'content-type': MediaType.OciIndex, ...(ifMatch && { 'if-match': ifMatch }) },
      body: bytes,
      operation: 'push referrers tag',
      reference: this.ref(tag),
    });
    if (ifMatch && res.status === 412) return undefined;
    if (res.status !== 201 && res.status !== 200) {
      const immutable = res.status === 400 || res.status === 409 || res.status === 412 || res.status === 403;
      throw this.error(
        res,
        'push referrers tag',
        this.ref(tag),
        immutable
          ? `If ${this.registry} has tag immutability rules, they must exclude sha256-* tags, which the referrers tag schema rewrites`
          : undefined,
      );
    }
    void this.digestTags?.then((tags) => tags?.add(tag));
    return tag;
  }
}

function dedupe(descriptors: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descriptors.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}

/** Docker Hub reports its limit as `ratelimit-limit: 100;w=21600` and `ratelimit-remaining`. */
function describeRateLimit(res: HttpResponse): string {
  const parts: string[] = [];
  const limit = res.header('ratelimit-limit');
  const remaining = res.header('ratelimit-remaining');
  const retryAfter = res.header('retry-after');
  if (limit) parts.push(`limit ${limit}`);
  if (remaining) parts.push(`remaining ${remaining}`);
  if (retryAfter) parts.push(`retry after ${retryAfter}`);
  return parts.length ? `rate limit: ${parts.join(', ')}` : 'rate limited';
}

/**
 * Immutable tags answer a PUT with a registry-specific refusal: ECR TAG_INVALID, Harbor
 * PRECONDITION, others DENIED or MANIFEST_INVALID with "immutable" in the message.
 */
function immutabilityHint(res: HttpResponse, errors: RegistryErrorDetail[], reference: string): string | undefined {
  if (res.method !== 'PUT' || res.status < 400 || res.status >= 500) return undefined;
  const said = errors.some(
    (e) => e.code === 'TAG_INVALID' || e.code === 'PRECONDITION' || /immutab/i.test(`${e.code} ${e.message ?? ''}`),
  );
  if (!said) return undefined;
  return /:sha256-[0-9a-f]{64}$/.test(reference)
    ? "The tag is immutable: the registry's immutability rules must exclude sha256-* tags, which the referrers tag schema rewrites"
    : `The tag ${reference} is immutable on this registry: it cannot be moved`;
}

/**
 * A referrers tag whose content is not a referrers index: readers take it as no referrers,
 * writers must not overwrite it. `alias` marks GitLab's answer of the subject itself.
 */
export class ReferrersTagContentError extends InvalidManifestError {
  constructor(
    message: string,
    readonly alias: boolean,
  ) {
    super(message);
  }
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
