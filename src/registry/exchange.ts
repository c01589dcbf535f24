import { Readable } from 'node:stream';
import { repositoryScope, type Authenticator } from './auth.js';
import { RegistryError, parseErrorBody, type RegistryErrorDetail } from './errors.js';
import type { HttpRequest, HttpResponse, HttpStreamResponse, HttpTransport } from './http/transport.js';
import { isReferrersTag } from '../oci/digest.js';
import { DOCKER_HUB, formatReferenceIn, formatRepository } from '../oci/reference.js';

/** Where a registry's API lives: Docker Hub's name is not its API host. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

export interface SendOptions extends Omit<HttpRequest, 'url'> {
  /** Path below `/v2/<name>`, or an absolute URL (an upload `Location`, used as given). */
  path: string;
  /** What is being done, for the error message: `get manifest`, `list referrers of`. */
  operation: string;
  /** The reference concerned, as the user would write it. */
  reference: string;
  /** Scopes beyond this repository's, such as pull on the source of a mount. */
  extraScopes?: string[];
}

interface Answer {
  status: number;
  header(name: string): string | undefined;
}

export interface ExchangeOptions {
  registry: string;
  name: string;
  transport: HttpTransport;
  auth: Authenticator;
  plainHttp: boolean;
}

/**
 * The request/answer/error exchange with one repository: every request of the other parts of
 * the client goes through here, with authentication, and every HTTP failure becomes a
 * RegistryError that names the registry, reference, status and the registry's error code.
 */
export class Exchange {
  readonly registry: string;
  readonly name: string;
  /** `https://<api host>/v2/<name>` */
  readonly base: string;
  readonly origin: string;
  private readonly transport: HttpTransport;
  private readonly auth: Authenticator;
  private actions: string[] = ['pull'];

  constructor(options: ExchangeOptions) {
    this.registry = options.registry;
    this.name = options.name;
    this.transport = options.transport;
    this.auth = options.auth;
    this.base = `${options.plainHttp ? 'http' : 'https'}://${apiHost(options.registry)}/v2/${options.name}`;
    this.origin = new URL(this.base).origin;
  }

  /** Ask for push once any caller needs it, so one token covers reads and writes. */
  needPush(): void {
    this.actions = ['pull', 'push'];
  }

  /** `registry/name:tag` or `registry/name@digest`, for messages. */
  ref(reference: string): string {
    return formatReferenceIn(this, reference);
  }

  /** `registry/name`, for messages. */
  get where(): string {
    return formatRepository(this);
  }

  /** Sends and buffers the answer; a 401 after authentication throws. */
  async send(opts: SendOptions): Promise<HttpResponse> {
    const res = await this.answer(opts);
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

  /** Sends and buffers the answer, whatever its status (the caller decides what a 401 means). */
  answer(opts: SendOptions): Promise<HttpResponse> {
    return this.exchange(
      opts,
      (req) => this.transport.request(req),
      () => undefined,
    );
  }

  /** Sends and hands back the body as a stream, whatever the status. */
  stream(opts: SendOptions): Promise<HttpStreamResponse> {
    return this.exchange(
      opts,
      (req) => this.transport.stream(req),
      (r) => r.body.resume(),
    );
  }

  /** The RegistryError for an answer that is not what the operation expected. */
  error(res: HttpResponse, operation: string, reference: string, hint?: string): RegistryError {
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
    authorization = await this.auth.unauthorized(this.registry, scopes, {
      wwwAuthenticate: res.header('www-authenticate'),
      stale: authorization !== undefined,
    });
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
  return isReferrersTag(reference.slice(reference.lastIndexOf(':') + 1))
    ? "The tag is immutable: the registry's immutability rules must exclude sha256-* tags, which the referrers tag schema rewrites"
    : `The tag ${reference} is immutable on this registry: it cannot be moved`;
}
