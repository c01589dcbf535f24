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
import { RepositoryContent, type Operation, type OperationKind, type OperationMethod } from './memory-content.js';
import { MemoryRepository } from './memory-repository.js';
import type { Access, Repository, RepositoryProvider } from '../../src/registry/types.js';

export * from './memory-content.js';
export { MemoryRepository } from './memory-repository.js';

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
  /** GitLab: GET /v2/ names the registry (Gitlab-Container-Registry-Version), so the alias is known before any write. */
  announcesDigestAlias: boolean;
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

/** One registry in memory; `repository()` makes it the engine's RepositoryProvider. */
export class MemoryRegistry implements RepositoryProvider {
  readonly options: MemoryRegistryOptions;
  readonly log: Operation[] = [];
  private readonly contents = new Map<string, RepositoryContent>();
  private readonly repositories = new Map<string, MemoryRepository>();
  /** What the client learned of the registry's referrers API, shared by its repositories. */
  learnedReferrersApi: boolean | undefined;
  /** What the client learned of the digest alias (from any repository, or GET /v2/), and its GET /v2/. */
  learnedDigestAlias: boolean | undefined;
  askedBase: Promise<boolean> | undefined;

  constructor(options: Partial<MemoryRegistryOptions> = {}) {
    const referrersApi = options.referrersApi ?? true;
    this.options = {
      name: 'mem.example',
      referrersApi,
      ociSubject: referrersApi,
      blobMount: true,
      digestAlias: false,
      announcesDigestAlias: false,
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
    this.learnedDigestAlias = undefined;
    this.askedBase = undefined;
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
