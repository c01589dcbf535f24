import type { Readable } from 'node:stream';
import { Authenticator, type CredentialResolver } from './auth.js';
import { Blobs } from './blobs.js';
import { CapabilityState, type ReferrersApiMode, type RegistryKnowledge } from './capabilities.js';
import { Exchange } from './exchange.js';
import { createTransport, type HttpTransport } from './http/transport.js';
import { withRetry, type RetryOptions } from './http/retry.js';
import { RequestTrace, type TracedRequest } from './http/trace.js';
import { TrafficCounter, type HostTraffic } from './http/traffic.js';
import { Manifests } from './manifests.js';
import { Referrers } from './referrers.js';
import { Tags } from './tags.js';
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
} from './types.js';
import type { Descriptor } from '../oci/manifest.js';
import { currentPhases } from '../oci/phase.js';
import { formatRepository } from '../oci/reference.js';

export interface RegistryClientOptions {
  plainHttp: boolean;
  credentials: CredentialResolver;
  /** Every secret the client learns (tokens), so the caller can mask it. */
  onSecret?: (secret: string) => void;
  /** `auto` probes each repository once; true/false override the probe. */
  referrersApi: ReferrersApiMode;
  /** Bound on descriptors in one referrers list (the input max-referrers); more is an error. */
  maxReferrers: number;
  transport?: HttpTransport;
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  /** Record every request with the phase that issued it (see `requestTrace()`). */
  trace?: boolean;
  /** Told once, when the first request is on the wire (see TransportOptions.onFirstSent). */
  onFirstSent?: () => void;
}

export const DEFAULT_REGISTRY_CLIENT_OPTIONS: RegistryClientOptions = {
  plainHttp: false,
  credentials: async () => undefined,
  referrersApi: 'auto',
  maxReferrers: 10_000,
};

/** The OCI distribution client: one per run, one keep-alive pool per registry through the transport. */
export class RegistryClient implements RepositoryProvider {
  private readonly options: RegistryClientOptions;
  private readonly transport: HttpTransport;
  private readonly auth: Authenticator;
  private readonly repositories = new Map<string, HttpRepository>();
  /** What one repository of a registry learned about the referrers API, for its others. */
  private readonly registries = new Map<string, RegistryKnowledge>();
  private readonly counter = new TrafficCounter();
  private readonly trace: RequestTrace | undefined;

  constructor(options: Partial<RegistryClientOptions> = {}) {
    this.options = { ...DEFAULT_REGISTRY_CLIENT_OPTIONS, ...options };
    this.trace = this.options.trace ? new RequestTrace({ phases: currentPhases }) : undefined;
    const counted = this.counter.wrap(
      this.options.transport ??
        createTransport({
          ...(options.timeoutMs && { timeoutMs: options.timeoutMs }),
          ...(options.onFirstSent && { onFirstSent: options.onFirstSent }),
        }),
    );
    this.transport = withRetry(this.trace ? this.trace.wrap(counted) : counted, this.options.retry);
    this.auth = new Authenticator({
      transport: this.transport,
      credentials: this.options.credentials,
      ...(this.options.onSecret && { onSecret: this.options.onSecret }),
      plainHttp: this.options.plainHttp,
    });
  }

  repository(ref: { registry: string; repository: string }, access: Access): Repository {
    const key = formatRepository(ref);
    let repo = this.repositories.get(key);
    if (!repo) {
      let known = this.registries.get(ref.registry);
      if (!known) {
        known = {};
        this.registries.set(ref.registry, known);
      }
      const exchange = new Exchange({
        registry: ref.registry,
        name: ref.repository,
        transport: this.transport,
        auth: this.auth,
        plainHttp: this.options.plainHttp,
      });
      repo = new HttpRepository(exchange, new CapabilityState(known, this.options.referrersApi), this.options);
      this.repositories.set(key, repo);
    }
    if (access === 'push') repo.needPush();
    return repo;
  }

  /** Requests, bytes and announced rate limits so far, per host (token services included). */
  traffic(): Record<string, HostTraffic> {
    return this.counter.snapshot();
  }

  /** Every request so far with the phase that issued it; undefined unless `trace` was asked for. */
  requestTrace(): TracedRequest[] | undefined {
    return this.trace?.requests();
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/**
 * One repository over HTTP: a façade over the parts that each do one job (the exchange with
 * authentication and errors, manifests, blobs, referrers, tags), sharing what they learn.
 */
class HttpRepository implements Repository {
  readonly registry: string;
  readonly name: string;
  private readonly manifests: Manifests;
  private readonly blobs: Blobs;
  private readonly tags: Tags;
  private readonly referrers: Referrers;

  constructor(
    private readonly exchange: Exchange,
    private readonly caps: CapabilityState,
    options: RegistryClientOptions,
  ) {
    this.registry = exchange.registry;
    this.name = exchange.name;
    this.manifests = new Manifests(exchange, caps);
    this.blobs = new Blobs(exchange, caps);
    this.tags = new Tags(exchange);
    this.referrers = new Referrers(exchange, caps, this.tags, options);
  }

  needPush(): void {
    this.exchange.needPush();
  }

  capabilities(): RepositoryCapabilities {
    return this.caps.snapshot();
  }

  statManifest(reference: string): Promise<ManifestInfo | undefined> {
    return this.manifests.statManifest(reference);
  }

  fetchManifest(reference: string): Promise<FetchedManifest> {
    return this.manifests.fetchManifest(reference);
  }

  pushManifest(reference: string, manifest: FetchedManifest): Promise<PushResult> {
    return this.manifests.pushManifest(reference, manifest);
  }

  statBlob(digest: string): Promise<boolean> {
    return this.blobs.statBlob(digest);
  }

  fetchBlob(descriptor: Descriptor): Promise<Readable> {
    return this.blobs.fetchBlob(descriptor);
  }

  pushBlob(descriptor: Descriptor, data: Readable, session?: string): Promise<void> {
    return this.blobs.pushBlob(descriptor, data, session);
  }

  startUpload(descriptor: Descriptor): Promise<string> {
    return this.blobs.startUpload(descriptor);
  }

  mountBlob(descriptor: Descriptor, fromRepository: string): Promise<MountResult> {
    return this.blobs.mountBlob(descriptor, fromRepository);
  }

  listReferrers(subject: string): Promise<ReferrersListing> {
    return this.referrers.listReferrers(subject);
  }

  probeReferrersApi(subject: string): Promise<ReferrersListing | undefined> {
    return this.referrers.probeReferrersApi(subject);
  }

  listReferrersFromApi(subject: string): Promise<ReferrersListing | undefined> {
    return this.referrers.listReferrersFromApi(subject);
  }

  readReferrersIndex(subject: string): Promise<ReferrersIndex> {
    return this.referrers.readReferrersIndex(subject);
  }

  writeReferrersIndex(subject: string, descriptors: Descriptor[], ifMatch?: string): Promise<string | undefined> {
    return this.referrers.writeReferrersIndex(subject, descriptors, ifMatch);
  }

  hasDigestTag(tag: string): Promise<boolean | undefined> {
    return this.tags.hasDigestTag(tag);
  }

  digestTagList(): Promise<Set<string> | undefined> {
    return this.tags.digestTagList();
  }

  deleteTag(tag: string): Promise<void> {
    return this.tags.deleteTag(tag);
  }

  announcesDigestAlias(): Promise<boolean> {
    return this.referrers.announcesDigestAlias();
  }
}
