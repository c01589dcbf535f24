import { isDigest } from './digest.js';
import { UserFacingError } from './user-facing-error.js';

/**
 * An OCI reference, immutable: `withTag` and `withDigest` return new values.
 * `registry` is the name users write (`docker.io`, `ghcr.io`, `localhost:5000`);
 * which host serves its API is the registry layer's business.
 */
export interface Reference {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** Host names that stand for Docker Hub, in references and in Docker config keys. */
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** The registry name a host stands for: Docker Hub's aliases become `docker.io`, others stay as given. */
export function normalizeRegistry(host: string): string {
  return DOCKER_HUB_ALIASES.has(host.toLowerCase()) ? DOCKER_HUB : host;
}

/** distribution-spec v1.1 "Pulling manifests": tag grammar. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** distribution-spec v1.1: one repository path component. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]{1,5}$/;
const IPV6 = /^\[[0-9a-fA-F:.]+\]$/;
const MAX_NAME_LENGTH = 255;

export const REFERENCE_FORM = 'registry/repository:tag or registry/repository@sha256:<64 hex>';
export const TAG_FORM = '[A-Za-z0-9_][A-Za-z0-9._-]{0,127}';

export class InvalidReferenceError extends UserFacingError {
  constructor(
    readonly value: string,
    readonly reason: string,
  ) {
    super(`Invalid reference '${value}': ${reason}`);
  }
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

export function isValidRegistry(registry: string): boolean {
  let host = registry;
  const colon = registry.lastIndexOf(':');
  if (colon > registry.lastIndexOf(']')) {
    if (!PORT.test(registry.slice(colon + 1))) return false;
    host = registry.slice(0, colon);
  }
  if (IPV6.test(host)) return true;
  return host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/** Whether the first path element names a registry rather than a Docker Hub namespace (Docker's rule). */
function looksLikeRegistry(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

/**
 * Parses `[registry/]repository[:tag][@digest]`. Docker Hub short names normalise:
 * `acme/app` -> `docker.io/acme/app`, `alpine` -> `docker.io/library/alpine`.
 */
export function parseReference(value: string): Reference {
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(value, reason);
  };
  if (value.trim() !== value || value === '') fail(`expected ${REFERENCE_FORM}`);
  if (/\s/.test(value)) fail('it contains white space');

  let rest = value;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest))
      fail(`the digest '${digest}' is not sha256:<64 lowercase hex> or sha512:<128 lowercase hex>`);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) fail(`the tag '${tag}' does not match ${TAG_FORM}`);
  }

  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && looksLikeRegistry(parts[0]!)) {
    registry = parts.shift()!;
    if (!isValidRegistry(registry)) fail(`the registry '${registry}' is not a valid host[:port]`);
  }
  registry = normalizeRegistry(registry);
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  for (const part of parts) {
    if (!PATH_COMPONENT.test(part)) {
      fail(
        part === ''
          ? `expected ${REFERENCE_FORM}`
          : `the repository path component '${part}' must be lowercase letters and digits separated by '.', '_', '__' or '-'`,
      );
    }
  }
  const repository = parts.join('/');
  if (repository.length > MAX_NAME_LENGTH) fail(`the repository name is longer than ${MAX_NAME_LENGTH} characters`);

  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** A repository as a reference names it (`repository`) or as a registry client holds it (`name`). */
export type RepositoryLocation = { readonly registry: string } & (
  { readonly repository: string } | { readonly name: string }
);

/** `registry/repository`: the one way a repository is written, in messages and as a key. */
export function formatRepository(ref: RepositoryLocation): string {
  return `${ref.registry}/${'repository' in ref ? ref.repository : ref.name}`;
}

/** `registry/repository:tag` or `registry/repository@digest`, for a tag or digest in a repository. */
export function formatReferenceIn(repo: RepositoryLocation, tagOrDigest: string): string {
  return `${formatRepository(repo)}${isDigest(tagOrDigest) ? '@' : ':'}${tagOrDigest}`;
}

export function formatReference(ref: Reference): string {
  let s = formatRepository(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

export function withTag(ref: Reference, tag: string): Reference {
  return { registry: ref.registry, repository: ref.repository, tag };
}

export function withDigest(ref: Reference, digest: string): Reference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

export function sameRepository(a: Reference, b: Reference): boolean {
  return a.registry === b.registry && a.repository === b.repository;
}
