import { errors as undiciErrors } from './undici.js';
import { UserFacingError } from '../../oci/user-facing-error.js';

/** A request that never got a complete HTTP answer: DNS, refused connection, TLS, timeout, reset. */
export class TransportError extends UserFacingError {
  /** Whether trying again may help: a reset may heal, a certificate that does not verify will not. */
  readonly retryable: boolean;

  constructor(
    readonly method: string,
    readonly host: string,
    readonly reason: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(`${method} request to ${host} failed: ${reason}`, options);
    this.retryable = options?.retryable ?? true;
  }
}

/** What a request is for, to name in errors: `get manifest ghcr.io/acme/app:rc`. */
function what(method: string, host: string, operation: string | undefined): string {
  return operation ? `${operation} failed` : `${method} request to ${host} failed`;
}

/** A header whose value is shown in an error: one printable line, its query left out (signed URLs). */
function showHeader(value: string): string {
  const q = value.indexOf('?');
  // eslint-disable-next-line no-control-regex
  const shown = (q < 0 ? value : `${value.slice(0, q)}?…`).replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  return shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
}

/** A header that had to be a URL (Location, Link) and is not one. */
export class InvalidHeaderError extends UserFacingError {
  constructor(info: { header: string; value: string; method: string; host: string; operation?: string }) {
    super(
      `${what(info.method, info.host, info.operation)}: the registry ${info.host} sent an invalid ${info.header} header: '${showHeader(info.value)}'`,
    );
  }
}

/** The whole request took longer than its deadline (see deadline.ts); not retried. */
export class DeadlineError extends TransportError {
  constructor(info: { method: string; host: string; operation?: string; deadline: string }) {
    super(info.method, info.host, `no complete answer within ${info.deadline}`, { retryable: false });
    this.message = `${what(info.method, info.host, info.operation)}: ${info.host} gave no complete answer within ${info.deadline}; not retried`;
  }
}

/** OpenSSL's and Node's codes for a certificate that does not verify, as users would read them. */
const CERTIFICATE_FAILURES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'is signed by a self-signed certificate that is not trusted here',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'is signed by an issuer that is not trusted here',
  UNABLE_TO_GET_ISSUER_CERT: 'is signed by an issuer that is not trusted here',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'is signed by an issuer that is not trusted here',
  CERT_UNTRUSTED: 'is not trusted here',
  CERT_HAS_EXPIRED: 'has expired',
  CERT_NOT_YET_VALID: 'is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'does not name that host',
  CERT_SIGNATURE_FAILURE: 'has a signature that does not verify',
  CERT_REVOKED: 'has been revoked',
};

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code ?? (err as { cause?: { code?: unknown } })?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Why a request got no answer, and whether trying again may help. What cannot heal within a
 * run (a certificate that does not verify, a host name that does not resolve, a request that
 * cannot be sent) fails at once.
 */
export function describeNetworkError(err: unknown, url: URL): { reason: string; retryable: boolean } {
  if (err instanceof undiciErrors.ConnectTimeoutError) return { reason: 'connection timed out', retryable: true };
  if (err instanceof undiciErrors.HeadersTimeoutError)
    return { reason: 'timed out waiting for response headers', retryable: true };
  if (err instanceof undiciErrors.BodyTimeoutError)
    return { reason: 'timed out reading the response body', retryable: true };
  const code = errorCode(err);
  const retry = (reason: string) => ({ reason, retryable: true });
  const final = (reason: string, hint?: string) => ({
    reason: `${reason}; not retried${hint ? ` (${hint})` : ''}`,
    retryable: false,
  });
  switch (code) {
    case 'ECONNREFUSED':
      return retry('connection refused');
    case 'ENOTFOUND':
      return final(`the host ${url.hostname} does not resolve (ENOTFOUND)`);
    case 'EAI_AGAIN':
      return retry(`the name lookup of ${url.hostname} failed for now (EAI_AGAIN)`);
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return retry('connection reset');
    case 'UND_ERR_CLOSED':
      return retry('connection closed');
    case 'UND_ERR_INVALID_ARG':
      return final(`the request could not be sent: ${(err as Error).message}`);
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return final(
        `${url.host} does not speak TLS (HTTPS) there (${code})`,
        'plain-http: true is for registries without TLS',
      );
  }
  if (code && code in CERTIFICATE_FAILURES) {
    return final(
      `the certificate of ${url.host} ${CERTIFICATE_FAILURES[code]} (${code})`,
      'NODE_EXTRA_CA_CERTS adds a CA the runner lacks',
    );
  }
  if (code && /CERT|SELF_SIGNED/.test(code)) return final(`the certificate of ${url.host} does not verify (${code})`);
  if (code && /TLS|SSL/i.test(code)) return retry(`TLS error (${code})`);
  return retry(code ? `network error (${code})` : 'network error');
}
