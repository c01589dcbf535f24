import { InvalidManifestError } from '../oci/manifest.js';
import { UserFacingError } from '../oci/user-facing-error.js';

/**
 * For the engine, which knows registries only through this layer: a request that got no answer,
 * and a header that had to be a URL and is not one.
 */
export { InvalidHeaderError, TransportError } from './http/failures.js';
/** distribution-spec v1.1 "Error Codes": the JSON body `{"errors":[{code, message, detail}]}`. */
export interface RegistryErrorDetail {
  code: string;
  message?: string;
}

export interface RegistryErrorInfo {
  /** Registry as the user wrote it (`ghcr.io`, `docker.io`). */
  registry: string;
  /** What was being done: `get manifest`, `push manifest`, `list referrers`. */
  operation: string;
  /** The reference or repository concerned, as the user would write it. */
  reference: string;
  method: string;
  status: number;
  errors: RegistryErrorDetail[];
  /** Why retrying stopped, when the request was retried. */
  retried?: string;
  /** What the registry said of its rate limit (Docker Hub's ratelimit-* headers, Retry-After). */
  rateLimit?: string;
}

const MAX_ERROR_TEXT = 300;

/** Statuses that say "try again": timeout, rate limit, and the server-side failures that pass. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** A registry answered with an HTTP error. The message names the registry, reference, status and code. */
export class RegistryError extends UserFacingError {
  readonly registry: string;
  readonly operation: string;
  readonly reference: string;
  readonly method: string;
  readonly status: number;
  readonly errors: RegistryErrorDetail[];

  constructor(info: RegistryErrorInfo, hint?: string) {
    super(RegistryError.format(info, hint));
    this.registry = info.registry;
    this.operation = info.operation;
    this.reference = info.reference;
    this.method = info.method;
    this.status = info.status;
    this.errors = info.errors;
  }

  get code(): string | undefined {
    return this.errors[0]?.code;
  }

  /** Whether trying again later may succeed (the transport retries these where it can). */
  get retryable(): boolean {
    return RETRYABLE_STATUSES.has(this.status);
  }

  private static format(info: RegistryErrorInfo, hint?: string): string {
    const what = describeStatus(info.status);
    const codes = info.errors
      .map((e) => (e.message ? `${e.code}: ${e.message}` : e.code))
      .join('; ')
      .slice(0, MAX_ERROR_TEXT);
    let s = `${info.operation} ${info.reference} failed: ${info.registry} answered HTTP ${info.status}`;
    if (what) s += ` (${what})`;
    if (codes) s += ` ${codes}`;
    if (info.rateLimit) s += ` (${info.rateLimit})`;
    if (info.retried) s += ` (${info.retried})`;
    if (hint) s += `. ${hint}`;
    return s;
  }
}

function describeStatus(status: number): string | undefined {
  switch (status) {
    case 401:
      return 'authentication failed';
    case 403:
      return 'access denied';
    case 404:
      return 'not found';
    case 429:
      return 'rate limited';
  }
  return undefined;
}

/**
 * Parses a registry's error body. Registries may answer with JSON of another shape, HTML or
 * nothing; only well-formed entries are kept, and text is flattened to one printable line.
 */
export function parseErrorBody(body: Uint8Array): RegistryErrorDetail[] {
  if (body.length === 0 || body.length > 64 * 1024) return [];
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return [];
  }
  const errors = (json as { errors?: unknown })?.errors;
  if (!Array.isArray(errors)) return [];
  const out: RegistryErrorDetail[] = [];
  for (const e of errors.slice(0, 5)) {
    const code = (e as { code?: unknown })?.code;
    const message = (e as { message?: unknown })?.message;
    if (typeof code !== 'string') continue;
    const detail: RegistryErrorDetail = { code: printable(code) };
    if (typeof message === 'string' && message !== '') detail.message = printable(message);
    out.push(detail);
  }
  return out;
}

function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, MAX_ERROR_TEXT);
}

/** Authentication with the registry failed: no or wrong credentials, or the token service refused. */
export class AuthenticationError extends UserFacingError {
  constructor(
    readonly registry: string,
    message: string,
  ) {
    super(message);
  }
}

/** Content that does not match its digest (or size): never stored, never named. */
export class DigestMismatchError extends UserFacingError {}

/**
 * A referrers tag whose content is not a referrers index: readers take it as no referrers,
 * writers must not overwrite it. `alias` marks GitLab's answer of the subject itself.
 */
export class ReferrersTagContentError extends InvalidManifestError {
  readonly alias: boolean;

  constructor(message: string, options: { alias: boolean }) {
    super(message);
    this.alias = options.alias;
  }
}

/** A referrers API answer that is an OCI image index but cannot be used (names the registry and subject). */
export class ReferrersListError extends UserFacingError {}

/** A referrers list longer than the bound the user set (the input max-referrers). */
export class TooManyReferrersError extends UserFacingError {
  constructor(
    /** The subject, as `registry/repository@digest`. */
    readonly where: string,
    readonly count: number,
    readonly max: number,
  ) {
    super(
      `${where} has more than ${max} referrers (${count} listed), more than the input max-referrers allows (${max}); raise max-referrers to promote them all`,
    );
  }
}
