import { mayBeGithubRegistry, type RunIdentity } from './github-context.js';
import type { ActionInputs } from './inputs.js';
import type { Credential, CredentialResolver } from '../registry/auth.js';

/** Where the credentials for a registry came from; the ghcr.io diagnosis says which to fix. */
export type CredentialSource = 'inputs' | 'docker-config' | 'github-token';

export interface CredentialChainOptions {
  inputs: Pick<ActionInputs, 'credentials' | 'source' | 'githubToken'>;
  /** What docker/login-action stored (the Docker config file and its helpers). */
  dockerConfig: CredentialResolver;
  /** The run's actor and GitHub's container registry host; asked only when the GitHub token may apply. */
  identity: () => Promise<Pick<RunIdentity, 'actor' | 'containerRegistry'>>;
}

/**
 * Who gets which credentials:
 * - the `username`/`password` inputs go to the source's registry (and so to targets on that
 *   same host), and nowhere else;
 * - every registry then uses the Docker config (what docker/login-action wrote);
 * - GitHub's container registry (ghcr.io, or `containers.<host>` on GitHub Enterprise Server),
 *   when neither gave anything, uses the `github-token` input with the workflow's actor, so
 *   that promoting within GitHub needs no login step.
 */
export class CredentialChain {
  private readonly sources = new Map<string, CredentialSource>();

  constructor(private readonly options: CredentialChainOptions) {}

  readonly resolve: CredentialResolver = async (registry) => {
    const { inputs, dockerConfig } = this.options;
    if (inputs.credentials && registry === inputs.source.registry) {
      this.sources.set(registry, 'inputs');
      return { ...inputs.credentials } satisfies Credential;
    }
    const configured = await dockerConfig(registry);
    if (configured) {
      this.sources.set(registry, 'docker-config');
      return configured;
    }
    // Other names cannot be GitHub's registry: they need not wait for the run's identity.
    if (inputs.githubToken && mayBeGithubRegistry(registry)) {
      const { actor, containerRegistry } = await this.options.identity();
      if (registry === containerRegistry) {
        this.sources.set(registry, 'github-token');
        return { username: actor || 'github-actions', password: inputs.githubToken };
      }
    }
    return undefined;
  };

  /** Where the credentials last given for `registry` came from; undefined when none were. */
  sourceOf(registry: string): CredentialSource | undefined {
    return this.sources.get(registry);
  }
}
