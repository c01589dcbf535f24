/**
 * Pushes and reads test content with plain fetch, deliberately independent of
 * the project's own registry client: fixtures must not be built (or checked)
 * with the code under test.
 *
 * Authentication: the first request for a (registry, repo, user) pings
 * GET /v2/ to learn the challenge, then sends credentials up front (Basic, or
 * a Bearer token for `repository:<repo>:pull,push,delete` fetched from the realm).
 * So seeding never draws a 401 on a write, and write counts stay exact:
 * pushBlob = POST + PUT (nothing if the blob exists), pushManifest = one PUT.
 */
import { createHash } from 'node:crypto';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface SeedTarget {
  /** e.g. http://127.0.0.1:5000 */
  url: string;
  /** repository name, e.g. "app" or "team/app" */
  repo: string;
  username?: string;
  password?: string;
}

export interface PushedManifest {
  digest: string;
  size: number;
  mediaType: string;
  /** The exact bytes pushed. */
  bytes: Uint8Array;
  /** Descriptor of the manifest (with platform/artifactType/annotations where known). */
  descriptor: Descriptor;
  /** OCI-Subject response header (set by registries with the referrers API), or null. */
  ociSubject: string | null;
}

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** The OCI 1.1 empty descriptor (content `{}`), used as config of artifacts. */
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: MediaTypes.ociEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

const MANIFEST_ACCEPT = [
  MediaTypes.ociManifest,
  MediaTypes.ociIndex,
  MediaTypes.dockerManifest,
  MediaTypes.dockerManifestList,
].join(', ');

/** Thrown for any unexpected registry (or token server) answer; tests can match on status. */
export class RegistryHttpError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${url} -> ${status}: ${body.slice(0, 500)}`);
    this.name = 'RegistryHttpError';
  }
}

// ---------------------------------------------------------------------------
// Digests and bytes

export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(toBytes(data)).digest('hex')}`;
}

/** Deterministic pseudo-random bytes: the same seed always gives the same blob. */
export function seededBytes(seed: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < length; i += block.length) {
    out.set(block.subarray(0, Math.min(block.length, length - i)), i);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

// ---------------------------------------------------------------------------
// HTTP with auth

/** Authorization header per registry+repo+user ('' = registry wants none). */
const authCache = new Map<string, Promise<string>>();

/** Forget cached credentials/tokens (e.g. after restarting a registry on the same port). */
export function clearAuthCache(): void {
  authCache.clear();
}

function cacheKey(t: SeedTarget): string {
  // The password is part of the key so that a test using a wrong password
  // does not reuse the header obtained with the right one.
  return JSON.stringify([t.url, t.repo, t.username ?? null, t.password ?? null]);
}

function basic(t: SeedTarget): string {
  return `Basic ${Buffer.from(`${t.username ?? ''}:${t.password ?? ''}`).toString('base64')}`;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (or `Basic realm=...`). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  const params: Record<string, string> = {};
  if (!m) return { scheme: '', params };
  for (const p of m[2]!.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

async function fetchToken(t: SeedTarget, params: Record<string, string>): Promise<string> {
  const realm = params.realm;
  if (!realm) throw new Error(`Bearer challenge without realm from ${t.url}`);
  const url = new URL(realm);
  if (params.service) url.searchParams.set('service', params.service);
  url.searchParams.append('scope', `repository:${t.repo}:pull,push,delete`);
  const headers: Record<string, string> = {};
  if (t.username !== undefined) headers.authorization = basic(t);
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new RegistryHttpError('GET', url.toString(), res.status, text);
  const body = JSON.parse(text) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error(`Token response without token from ${realm}`);
  return `Bearer ${token}`;
}

function authorization(t: SeedTarget): Promise<string> {
  const key = cacheKey(t);
  let p = authCache.get(key);
  if (!p) {
    p = (async () => {
      const res = await fetch(`${t.url}/v2/`);
      await res.arrayBuffer();
      if (res.status !== 401) return '';
      const { scheme, params } = parseChallenge(res.headers.get('www-authenticate') ?? '');
      if (scheme === 'basic') return basic(t);
      if (scheme === 'bearer') return fetchToken(t, params);
      throw new Error(`Unsupported auth challenge from ${t.url}: ${res.headers.get('www-authenticate')}`);
    })();
    // A failed login must not stick: the next call tries again.
    p.catch(() => authCache.delete(key));
    authCache.set(key, p);
  }
  return p;
}

async function request(
  t: SeedTarget,
  method: string,
  pathOrUrl: string,
  init: { headers?: Record<string, string>; body?: Uint8Array } = {},
): Promise<Response> {
  const url = new URL(pathOrUrl, t.url);
  const headers: Record<string, string> = { ...init.headers };
  const auth = await authorization(t);
  if (auth) headers.authorization = auth;
  return fetch(url, { method, headers, body: init.body, redirect: 'follow' });
}

async function expectStatus(res: Response, method: string, expected: number[]): Promise<Response> {
  if (!expected.includes(res.status)) {
    throw new RegistryHttpError(method, res.url, res.status, await res.text());
  }
  return res;
}

function repoPath(t: SeedTarget, kind: 'blobs' | 'manifests' | 'tags' | 'referrers', rest: string): string {
  return `/v2/${t.repo}/${kind}/${rest}`;
}

// ---------------------------------------------------------------------------
// Push

/**
 * Uploads a blob (POST to start an upload session, then a single PUT with
 * ?digest=), unless HEAD says the repository already has it.
 */
export async function pushBlob(
  t: SeedTarget,
  data: Uint8Array | string,
  mediaType = 'application/octet-stream',
): Promise<Descriptor> {
  const bytes = toBytes(data);
  const digest = sha256Digest(bytes);
  const desc: Descriptor = { mediaType, digest, size: bytes.length };

  const head = await request(t, 'HEAD', repoPath(t, 'blobs', digest));
  if (head.status === 200) return desc;
  await expectStatus(head, 'HEAD', [404]);

  const start = await expectStatus(await request(t, 'POST', repoPath(t, 'blobs', 'uploads/')), 'POST', [202]);
  await start.arrayBuffer();
  const location = start.headers.get('location');
  if (!location) throw new Error(`No Location in upload response from ${t.url}`);
  const put = new URL(location, t.url);
  put.searchParams.set('digest', digest);
  const res = await request(t, 'PUT', put.toString(), {
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  await (await expectStatus(res, 'PUT', [201])).arrayBuffer();
  return desc;
}

/** Pushes manifest bytes exactly as given (objects are JSON.stringify'd) under a tag or digest. */
export async function pushManifest(
  t: SeedTarget,
  ref: string,
  body: object | string | Uint8Array,
  mediaType: string,
): Promise<PushedManifest> {
  const bytes = body instanceof Uint8Array ? body : toBytes(typeof body === 'string' ? body : JSON.stringify(body));
  const digest = sha256Digest(bytes);
  const res = await request(t, 'PUT', repoPath(t, 'manifests', ref), {
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  await (await expectStatus(res, 'PUT', [201])).arrayBuffer();
  const echoed = res.headers.get('docker-content-digest');
  if (echoed && echoed !== digest) {
    throw new Error(`Registry stored manifest as ${echoed}, expected ${digest} (did it rewrite the bytes?)`);
  }
  return {
    digest,
    size: bytes.length,
    mediaType,
    bytes,
    descriptor: { mediaType, digest, size: bytes.length },
    ociSubject: res.headers.get('oci-subject'),
  };
}

export interface ImageOptions {
  mediaType?: 'oci' | 'docker';
  /** Number of layers (default 1). */
  layers?: number;
  /** Makes the content (hence digests) deterministic; defaults to the tag or "image". */
  seed?: string;
  platform?: Platform;
  /** OCI only. */
  subject?: Descriptor;
  /** OCI only. */
  artifactType?: string;
  /** OCI only: manifest annotations. */
  annotations?: Record<string, string>;
}

/** Pushes small pseudo-random layers, a config and an image manifest (by tag, or by digest if no tag). */
export async function pushImage(t: SeedTarget, tag?: string, opts: ImageOptions = {}): Promise<PushedManifest> {
  const docker = opts.mediaType === 'docker';
  if (docker && (opts.subject || opts.artifactType || opts.annotations)) {
    throw new Error('Docker schema2 manifests have no subject, artifactType or annotations');
  }
  const seed = opts.seed ?? tag ?? 'image';
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };

  const layers: Descriptor[] = [];
  for (let i = 0; i < (opts.layers ?? 1); i++) {
    const bytes = seededBytes(`${seed}/layer/${i}`, 64 + i * 32);
    layers.push(await pushBlob(t, bytes, docker ? MediaTypes.dockerLayer : MediaTypes.ociLayer));
  }
  const configJson = JSON.stringify({
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Labels: { 'test.seed': seed } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  });
  const config = await pushBlob(t, configJson, docker ? MediaTypes.dockerConfig : MediaTypes.ociConfig);

  const mediaType = docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest;
  const manifest: Record<string, unknown> = { schemaVersion: 2, mediaType };
  if (opts.artifactType) manifest.artifactType = opts.artifactType;
  manifest.config = config;
  manifest.layers = layers;
  if (opts.subject) manifest.subject = subjectOf(opts.subject);
  if (opts.annotations) manifest.annotations = opts.annotations;

  const bytes = toBytes(JSON.stringify(manifest));
  const pushed = await pushManifest(t, tag ?? sha256Digest(bytes), bytes, mediaType);
  pushed.descriptor = {
    ...pushed.descriptor,
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
    platform,
  };
  return pushed;
}

export interface IndexOptions {
  mediaType?: 'oci' | 'docker';
  /** OCI only. */
  annotations?: Record<string, string>;
  /** OCI only. */
  subject?: Descriptor;
  /** OCI only. */
  artifactType?: string;
}

/** Pushes an OCI image index (or Docker manifest list); by digest if tag is undefined. */
export async function pushIndex(
  t: SeedTarget,
  tag: string | undefined,
  manifests: Descriptor[],
  opts: IndexOptions = {},
): Promise<PushedManifest> {
  const docker = opts.mediaType === 'docker';
  if (docker && (opts.subject || opts.artifactType || opts.annotations)) {
    throw new Error('Docker manifest lists have no subject, artifactType or annotations');
  }
  const mediaType = docker ? MediaTypes.dockerManifestList : MediaTypes.ociIndex;
  const index: Record<string, unknown> = { schemaVersion: 2, mediaType };
  if (opts.artifactType) index.artifactType = opts.artifactType;
  index.manifests = manifests;
  if (opts.subject) index.subject = subjectOf(opts.subject);
  if (opts.annotations) index.annotations = opts.annotations;
  const bytes = toBytes(JSON.stringify(index));
  const pushed = await pushManifest(t, tag ?? sha256Digest(bytes), bytes, mediaType);
  if (opts.artifactType) pushed.descriptor.artifactType = opts.artifactType;
  if (opts.annotations) pushed.descriptor.annotations = opts.annotations;
  return pushed;
}

/**
 * Pushes an OCI 1.1 artifact: an image manifest with artifactType, the empty
 * config, one layer holding the payload, and `subject`. It does NOT update any
 * referrers tag (use writeReferrersTagIndex to simulate clients that do).
 */
export async function pushArtifact(
  t: SeedTarget,
  subject: Descriptor,
  artifactType: string,
  opts: { tag?: string; annotations?: Record<string, string>; payload?: string; payloadMediaType?: string } = {},
): Promise<PushedManifest> {
  await pushBlob(t, '{}', MediaTypes.ociEmpty);
  const layer = await pushBlob(
    t,
    opts.payload ?? `${artifactType} for ${subject.digest}`,
    opts.payloadMediaType ?? 'text/plain',
  );
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType,
    config: EMPTY_DESCRIPTOR,
    layers: [layer],
    subject: subjectOf(subject),
  };
  if (opts.annotations) manifest.annotations = opts.annotations;
  const bytes = toBytes(JSON.stringify(manifest));
  const pushed = await pushManifest(t, opts.tag ?? sha256Digest(bytes), bytes, MediaTypes.ociManifest);
  pushed.descriptor = {
    ...pushed.descriptor,
    artifactType,
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  return pushed;
}

/** Referrers tag schema: `sha256:abc…` -> `sha256-abc…`. */
export function referrersTag(subjectDigest: string): string {
  return subjectDigest.replace(':', '-');
}

/**
 * Pushes an OCI index of `descriptors` under the referrers tag of
 * subjectDigest, as clients do on registries without the referrers API.
 */
export async function writeReferrersTagIndex(
  t: SeedTarget,
  subjectDigest: string,
  descriptors: Descriptor[],
): Promise<PushedManifest> {
  const index = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: descriptors };
  return pushManifest(t, referrersTag(subjectDigest), index, MediaTypes.ociIndex);
}

/** A subject field holds a plain descriptor: mediaType, digest, size. */
function subjectOf(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

// ---------------------------------------------------------------------------
// Read

/**
 * All tags of the repository ([] if the repository does not exist), following
 * Link headers; with pageSize, also continues with ?last= when a page is full
 * but has no Link (go-containerregistry's registry sends none).
 */
export async function listTags(t: SeedTarget, opts: { pageSize?: number } = {}): Promise<string[]> {
  const tags: string[] = [];
  let next: string | undefined = repoPath(t, 'tags', `list${opts.pageSize ? `?n=${opts.pageSize}` : ''}`);
  while (next) {
    const res = await request(t, 'GET', next);
    if (res.status === 404 && tags.length === 0) {
      await res.arrayBuffer();
      return [];
    }
    await expectStatus(res, 'GET', [200]);
    const page = ((await res.json()) as { tags?: string[] | null }).tags ?? [];
    if (page.length > 0 && tags.length > 0 && page[0]! <= tags[tags.length - 1]!) {
      // Guard against a registry that ignores ?last= and would make us loop.
      throw new Error(`${t.url} returned tag ${page[0]} again after ${tags[tags.length - 1]}`);
    }
    tags.push(...page);
    const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
    if (link) next = link[1];
    else if (opts.pageSize && page.length === opts.pageSize) {
      next = repoPath(t, 'tags', `list?n=${opts.pageSize}&last=${encodeURIComponent(page[page.length - 1]!)}`);
    } else next = undefined;
  }
  return tags;
}

export interface FetchedManifest {
  status: number;
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  /** The parsed JSON body. */
  json: Record<string, unknown>;
}

/** GET a manifest by tag or digest; null on 404. `digest` is computed from the bytes. */
export async function getManifest(t: SeedTarget, ref: string): Promise<FetchedManifest | null> {
  const res = await request(t, 'GET', repoPath(t, 'manifests', ref), { headers: { accept: MANIFEST_ACCEPT } });
  if (res.status === 404) {
    await res.arrayBuffer();
    return null;
  }
  await expectStatus(res, 'GET', [200]);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return {
    status: res.status,
    digest: sha256Digest(bytes),
    mediaType: res.headers.get('content-type') ?? '',
    bytes,
    json: JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>,
  };
}

/** HEAD a manifest: its digest (Docker-Content-Digest) or null on 404. */
export async function headManifest(t: SeedTarget, ref: string): Promise<{ digest: string; mediaType: string } | null> {
  const res = await request(t, 'HEAD', repoPath(t, 'manifests', ref), { headers: { accept: MANIFEST_ACCEPT } });
  if (res.status === 404) return null;
  await expectStatus(res, 'HEAD', [200]);
  return { digest: res.headers.get('docker-content-digest') ?? '', mediaType: res.headers.get('content-type') ?? '' };
}

/**
 * DELETE a manifest. Use a digest: distribution 2.8 answers a DELETE by tag
 * with 400 DIGEST_INVALID (go-containerregistry's registry deletes the tag).
 */
export async function deleteManifest(t: SeedTarget, ref: string): Promise<void> {
  const res = await request(t, 'DELETE', repoPath(t, 'manifests', ref));
  await (await expectStatus(res, 'DELETE', [202])).arrayBuffer();
}

export interface ReferrersResponse {
  status: number;
  /** Present on 200. */
  manifests?: Descriptor[];
  contentType: string | null;
  /** OCI-Filters-Applied response header. */
  filtersApplied: string | null;
}

/** Raw call to the referrers API; never throws on an HTTP status (404 = API not supported). */
export async function getReferrersApi(
  t: SeedTarget,
  digest: string,
  opts: { artifactType?: string } = {},
): Promise<ReferrersResponse> {
  const query = opts.artifactType ? `?artifactType=${encodeURIComponent(opts.artifactType)}` : '';
  const res = await request(t, 'GET', repoPath(t, 'referrers', `${digest}${query}`), {
    headers: { accept: MediaTypes.ociIndex },
  });
  const out: ReferrersResponse = {
    status: res.status,
    contentType: res.headers.get('content-type'),
    filtersApplied: res.headers.get('oci-filters-applied'),
  };
  if (res.status === 200) out.manifests = ((await res.json()) as { manifests?: Descriptor[] }).manifests ?? [];
  else await res.arrayBuffer();
  return out;
}
