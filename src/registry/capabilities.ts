import type { RepositoryCapabilities } from './types.js';

export type ReferrersApiMode = 'auto' | boolean;

/** What the run learned about a registry as a whole, shared by its repositories. */
export interface RegistryKnowledge {
  referrersApi?: boolean;
  /** The registry answers `sha256-<hex>` with the manifest `sha256:<hex>` itself (GitLab). */
  digestAlias?: boolean;
  /** Its answer to GET /v2/, asked once: whether it names itself GitLab's registry. */
  announcesDigestAlias?: Promise<boolean>;
}

/** Abilities that count as there once the registry showed them (a 201 mount, an OCI-Subject). */
type ShownOnce = 'ociSubjectHeader' | 'blobMount';

/** What one repository's answers taught the client so far; fields stay undefined until observed. */
export class CapabilityState {
  private readonly caps: RepositoryCapabilities = {};

  constructor(
    private readonly registry: RegistryKnowledge,
    /** The user's referrers-api input: `auto` probes, true/false override the probe. */
    readonly referrersApiMode: ReferrersApiMode,
  ) {
    if (referrersApiMode !== 'auto') this.caps.referrersApi = referrersApiMode;
  }

  /** Known for this repository, else for another repository of its registry. */
  referrersApi(): boolean | undefined {
    return this.caps.referrersApi ?? this.registry.referrersApi;
  }

  /** Known for this repository itself (an answer here, or the user's setting). */
  ownReferrersApi(): boolean | undefined {
    return this.caps.referrersApi;
  }

  /**
   * The referrers API is a feature of a registry, not of one repository: an answer learned in
   * one repository stands for the others, until one of them answers otherwise.
   */
  learnReferrersApi(supported: boolean): void {
    this.caps.referrersApi = supported;
    this.registry.referrersApi = supported;
  }

  /** Records an answer that shows an ability, or (once none did) its absence. */
  observe(ability: ShownOnce, shown: boolean): void {
    this.caps[ability] = shown || (this.caps[ability] ?? false);
  }

  /**
   * The registry resolves `sha256-<hex>` to the subject manifest itself (GitLab): a way of the
   * registry's, so what one repository showed stands for the others.
   */
  observeDigestAlias(): void {
    this.caps.referrersTagAliasesDigest = true;
    this.registry.digestAlias = true;
  }

  /** Known to alias digests, here or in another repository of the registry. */
  digestAlias(): boolean | undefined {
    return this.caps.referrersTagAliasesDigest ?? this.registry.digestAlias;
  }

  /** Asks `ask` once per registry; a `true` answer is learned as the alias. */
  announcesDigestAlias(ask: () => Promise<boolean>): Promise<boolean> {
    this.registry.announcesDigestAlias ??= ask();
    return this.registry.announcesDigestAlias.then((announced) => {
      if (announced) this.observeDigestAlias();
      return announced;
    });
  }

  snapshot(): RepositoryCapabilities {
    const referrersApi = this.referrersApi();
    const referrersTagAliasesDigest = this.digestAlias();
    return {
      ...this.caps,
      ...(referrersApi !== undefined && { referrersApi }),
      ...(referrersTagAliasesDigest !== undefined && { referrersTagAliasesDigest }),
    };
  }
}
