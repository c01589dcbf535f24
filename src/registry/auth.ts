import { AuthenticationError, parseErrorBody } from './errors.js';
import type { HttpTransport } from './http/transport.js';
import { inPhase } from '../oci/phase.js';

/** What a user gave us for one registry. */
export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken` in the Docker config). */
  identityToken?: string;
  /** A bearer token to send as is (`registrytoken` in the Docker config). */
  registryToken?: string;
}

/** Finds the credential for a registry name (`ghcr.io`, `docker.io`, `localhost:5000`). */
export type CredentialResolver = (registry: string) => Promise<Credential | undefined>;

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** RFC 7235 `WWW-Authenticate`: one or more `scheme k=v, k="quoted, value"` challenges. */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const token = "[A-Za-z0-9!#$%&'*+.^_`|~-]+";
  const param = new RegExp(`[\\s,]*(${token})\\s*=\\s*("(?:[^"\\\\]|\\\\.)*"|[^\\s,]*)`, 'y');
  const scheme = new RegExp(`[\\s,]*(${token})(?=\\s|$)`, 'y');
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let pos = 0;
  while (pos < header.length) {
    // An auth-param (`name=value`) binds tighter than a new scheme token.
    param.lastIndex = pos;
    const p = current ? param.exec(header) : null;
    if (p) {
      let value = p[2]!;
      if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
      current!.params[p[1]!.toLowerCase()] = value;
      pos = param.lastIndex;
      continue;
    }
    scheme.lastIndex = pos;
    const m = scheme.exec(header);
    if (!m) break;
    current = { scheme: m[1]!.toLowerCase(), params: {} };
    challenges.push(current);
    pos = scheme.lastIndex;
  }
  return challenges;
}

export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

interface RegistryAuthState {
  /** The challenge the registry answered with; undefined until the first 401. */
  challenge?: Challenge;
  tokens: Map<string, CachedToken>;
}

export interface AuthenticatorOptions {
  transport: HttpTransport;
  credentials: CredentialResolver;
  /** Called with every secret as soon as it is known (passwords, tokens), so that it can be masked. */
  onSecret?: (secret: string) => void;
  /** Allow a token realm over plain HTTP (only when the user asked for plain HTTP). */
  plainHttp?: boolean;
}

/**
 * A token goes into `Authorization: Bearer <token>`: RFC 6750 allows visible ASCII only. One
 * with a space, a control or a non-ASCII character would be refused by the HTTP client or,
 * worse, split the header; it is refused here, without ever printing it.
 */
const HEADER_SAFE_TOKEN = /^[\x21-\x7e]+$/;
const UNUSABLE_TOKEN = 'cannot be sent in an HTTP header (it holds a space, a control or a non-ASCII character)';

/** Tokens are refreshed this long before they expire, so that a request never carries a stale one. */
const EXPIRY_MARGIN_MS = 10_000;
const DEFAULT_TOKEN_LIFETIME_S = 60;

/**
 * Docker / OCI token authentication (Bearer, from the realm in the registry's challenge) and
 * Basic authentication, per registry. Tokens are cached per set of scopes.
 */
export class Authenticator {
  private readonly state = new Map<string, RegistryAuthState>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly options: AuthenticatorOptions) {}

  private stateFor(registry: string): RegistryAuthState {
    let s = this.state.get(registry);
    if (!s) {
      s = { tokens: new Map() };
      this.state.set(registry, s);
    }
    return s;
  }

  /** The Authorization header to send up front, when the registry's scheme is already known. */
  async authorization(registry: string, scopes: readonly string[]): Promise<string | undefined> {
    const s = this.stateFor(registry);
    if (!s.challenge) return undefined;
    return this.obtain(registry, s.challenge, scopes, { refresh: false });
  }

  /**
   * Handles a 401: learns the registry's challenge and returns a fresh header. `stale` says the
   * header we sent was refused, so a cached token must not be reused (it expired or was revoked).
   */
  async unauthorized(
    registry: string,
    scopes: readonly string[],
    answer: { wwwAuthenticate: string | undefined; stale: boolean },
  ): Promise<string> {
    const challenges = parseChallenges(answer.wwwAuthenticate);
    const challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!challenge) {
      throw new AuthenticationError(
        registry,
        `authentication failed: ${registry} answered 401 without a usable WWW-Authenticate challenge`,
      );
    }
    const s = this.stateFor(registry);
    s.challenge = challenge;
    return this.obtain(registry, challenge, scopes, { refresh: answer.stale });
  }

  /**
   * Explains a 401 that came back although we sent what the registry asked for. With Basic
   * auth that can only mean the password is wrong; with a token, the registry's own error
   * (insufficient scope, say) says more, so undefined lets the caller report it.
   */
  async refusal(registry: string): Promise<AuthenticationError | undefined> {
    if (this.state.get(registry)?.challenge?.scheme !== 'basic') return undefined;
    const credential = await this.options.credentials(registry);
    return new AuthenticationError(
      registry,
      `authentication failed: ${registry} refused the password for user '${credential?.username ?? ''}'`,
    );
  }

  private async obtain(
    registry: string,
    challenge: Challenge,
    scopes: readonly string[],
    { refresh }: { refresh: boolean },
  ): Promise<string> {
    const credential = await this.options.credentials(registry);
    if (challenge.scheme === 'basic') {
      if (refresh || !credential?.username || credential.password === undefined) {
        throw new AuthenticationError(
          registry,
          credential?.username
            ? `authentication failed: ${registry} refused the password for user '${credential.username}'`
            : `authentication failed: ${registry} requires credentials and none were found for it (inputs username/password, or the Docker config)`,
        );
      }
      const header = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
      this.options.onSecret?.(header.slice(6));
      return header;
    }
    if (credential?.registryToken) {
      if (!HEADER_SAFE_TOKEN.test(credential.registryToken))
        throw new AuthenticationError(
          registry,
          `authentication failed: the registry token for ${registry} in the Docker config ${UNUSABLE_TOKEN}`,
        );
      if (refresh)
        throw new AuthenticationError(
          registry,
          `authentication failed: ${registry} refused the registry token from the Docker config`,
        );
      return `Bearer ${credential.registryToken}`;
    }
    const key = [...scopes].sort().join(' ');
    const s = this.stateFor(registry);
    const cached = s.tokens.get(key);
    if (cached && !refresh && cached.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return cached.header;
    if (refresh) s.tokens.delete(key);
    const pendingKey = `${registry} ${key}`;
    let p = this.pending.get(pendingKey);
    if (!p) {
      p = inPhase('auth', () => this.fetchToken(registry, challenge, scopes, credential)).then((t) => {
        s.tokens.set(key, t);
        return t.header;
      });
      this.pending.set(pendingKey, p);
      p.finally(() => this.pending.delete(pendingKey)).catch(() => undefined);
    }
    return p;
  }

  private async fetchToken(
    registry: string,
    challenge: Challenge,
    scopes: readonly string[],
    credential: Credential | undefined,
  ): Promise<CachedToken> {
    const realm = challenge.params.realm;
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm ?? '');
    } catch {
      throw new AuthenticationError(
        registry,
        `authentication failed: ${registry} named no valid token realm in its challenge`,
      );
    }
    if (realmUrl.protocol !== 'https:' && !(realmUrl.protocol === 'http:' && this.options.plainHttp)) {
      throw new AuthenticationError(
        registry,
        `authentication failed: ${registry} named a token realm that is not HTTPS (${realmUrl.host})`,
      );
    }
    const service = challenge.params.service;
    const who = credential?.username
      ? ` as user '${credential.username}'`
      : credential?.identityToken
        ? ' with the identity token'
        : ' anonymously';
    let res;
    if (credential?.identityToken) {
      // The Docker CLI's OAuth2 refresh-token grant, used for `identitytoken` credentials.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credential.identityToken,
        client_id: 'oci-promote-action',
      });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.options.transport.request({
        method: 'POST',
        url: realmUrl.href,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        maxResponseBytes: 1024 * 1024,
        operation: `get a token for ${registry} from ${realmUrl.host}`,
      });
    } else {
      if (service) realmUrl.searchParams.set('service', service);
      for (const scope of scopes) realmUrl.searchParams.append('scope', scope);
      const headers: Record<string, string> = {};
      if (credential?.username && credential.password !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
        this.options.onSecret?.(headers.authorization.slice(6));
      }
      res = await this.options.transport.request({
        method: 'GET',
        url: realmUrl.href,
        headers,
        maxResponseBytes: 1024 * 1024,
        operation: `get a token for ${registry} from ${realmUrl.host}`,
      });
    }
    if (res.status !== 200) {
      const codes = parseErrorBody(res.body).map((e) => e.code);
      throw new AuthenticationError(
        registry,
        `authentication failed${who}: the token service of ${registry} (${realmUrl.host}) answered HTTP ${res.status}${codes.length ? ` ${codes.join(', ')}` : ''}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(res.body).toString('utf8'));
    } catch {
      throw new AuthenticationError(
        registry,
        `authentication failed: the token service of ${registry} answered with something that is not JSON`,
      );
    }
    // JSON that is not an object (null, a list, a number) holds no token either.
    const body = (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : {}) as {
      token?: unknown;
      access_token?: unknown;
      expires_in?: unknown;
    };
    const token = typeof body.token === 'string' && body.token ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new AuthenticationError(
        registry,
        `authentication failed: the token service of ${registry} answered without a token`,
      );
    }
    if (!HEADER_SAFE_TOKEN.test(token)) {
      throw new AuthenticationError(
        registry,
        `authentication failed: the token service of ${registry} (${realmUrl.host}) answered with a token that ${UNUSABLE_TOKEN}`,
      );
    }
    this.options.onSecret?.(token);
    const lifetime =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    return { header: `Bearer ${token}`, expiresAt: Date.now() + lifetime * 1000 };
  }
}
