import type { ActionInputs } from './inputs.js';
import type { Credential, CredentialResolver } from '../registry/auth.js';

/** GitHub's container registry, where the workflow's own token works. */
export const GHCR = 'ghcr.io';

/**
 * Who gets which credentials:
 * - the `username`/`password` inputs go to the source's registry (and so to targets on that
 *   same host), and nowhere else;
 * - every registry then uses the Docker config (what docker/login-action wrote);
 * - ghcr.io, when neither gave anything, uses the `github-token` input with the workflow's
 *   actor, so that promoting within GitHub needs no login step.
 */
export function credentialResolver(
  inputs: Pick<ActionInputs, 'credentials' | 'source' | 'githubToken'>,
  dockerConfig: CredentialResolver,
  actor: string | undefined,
): CredentialResolver {
  const fromInputs: Credential | undefined = inputs.credentials && { ...inputs.credentials };
  return async (registry) => {
    if (fromInputs && registry === inputs.source.registry) return fromInputs;
    const configured = await dockerConfig(registry);
    if (configured) return configured;
    if (registry === GHCR && inputs.githubToken)
      return { username: actor || 'github-actions', password: inputs.githubToken };
    return undefined;
  };
}
