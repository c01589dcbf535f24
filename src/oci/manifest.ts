import { isDigest } from './digest.js';
import { MediaType, isIndexMediaType, isManifestMediaType } from './media-types.js';
import { UserFacingError } from './user-facing-error.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** image-spec v1.1 "Content Descriptors". Unknown fields are kept by keeping the manifest bytes. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Manifest {
  /** The media type to store the manifest under: its own `mediaType` field, else what the registry served. */
  mediaType: string;
  isIndex: boolean;
  config?: Descriptor;
  layers: Descriptor[];
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export class InvalidManifestError extends UserFacingError {}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * image-spec: optional fields may be absent. Go registries that marshal without `omitempty`
 * send them as `null` (`"annotations": null`, `"manifests": null` for a nil slice): null is
 * taken as absent, never as a value.
 */
function absent(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

function parseAnnotations(v: unknown, where: string): Record<string, string> | undefined {
  if (absent(v)) return undefined;
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw new InvalidManifestError(`${where}: annotations must map strings to strings`);
  }
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw new InvalidManifestError(`${where}: a descriptor must be a JSON object`);
  const { mediaType, digest, size, artifactType, platform, urls } = v;
  if (typeof mediaType !== 'string' || mediaType === '') {
    throw new InvalidManifestError(`${where}: descriptor without a mediaType`);
  }
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw new InvalidManifestError(`${where}: descriptor digest '${String(digest)}' is not a valid digest`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidManifestError(`${where}: descriptor ${digest} has an invalid size`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (!absent(artifactType)) {
    if (typeof artifactType !== 'string') throw new InvalidManifestError(`${where}: artifactType must be a string`);
    d.artifactType = artifactType;
  }
  const annotations = parseAnnotations(v.annotations, where);
  if (annotations) d.annotations = annotations;
  if (isObject(platform)) d.platform = platform as unknown as Platform;
  if (Array.isArray(urls)) d.urls = urls.filter((u): u is string => typeof u === 'string');
  return d;
}

function parseDescriptors(v: unknown, field: string): Descriptor[] {
  if (absent(v)) return [];
  if (!Array.isArray(v)) throw new InvalidManifestError(`'${field}' must be an array`);
  return v.map((d, i) => parseDescriptor(d, `${field}[${i}]`));
}

/**
 * Parses manifest bytes as served with `contentType`. The bytes themselves are never
 * re-serialised: callers keep them, since the digest is the identity.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new InvalidManifestError('the manifest is not valid UTF-8 JSON');
  }
  if (!isObject(json)) throw new InvalidManifestError('the manifest is not a JSON object');
  if (json.schemaVersion !== 2) {
    throw new InvalidManifestError(
      `unsupported schemaVersion ${JSON.stringify(json.schemaVersion)} (Docker schema 1 manifests are not supported)`,
    );
  }
  const served = contentType?.split(';')[0]?.trim();
  let mediaType: string;
  if (typeof json.mediaType === 'string') {
    mediaType = json.mediaType;
  } else if (served && isManifestMediaType(served)) {
    mediaType = served;
  } else {
    // image-spec: mediaType is optional in OCI manifests; the structure tells which one it is.
    mediaType = 'manifests' in json ? MediaType.OciIndex : MediaType.OciManifest;
  }
  if (!isManifestMediaType(mediaType)) {
    throw new InvalidManifestError(`unsupported manifest media type '${mediaType}'`);
  }
  const isIndex = isIndexMediaType(mediaType);
  const manifest: Manifest = {
    mediaType,
    isIndex,
    layers: isIndex ? [] : parseDescriptors(json.layers, 'layers'),
    manifests: isIndex ? parseDescriptors(json.manifests, 'manifests') : [],
  };
  if (!isIndex) {
    if (absent(json.config)) throw new InvalidManifestError('an image manifest must have a config descriptor');
    manifest.config = parseDescriptor(json.config, 'config');
  }
  if (!absent(json.subject)) manifest.subject = parseDescriptor(json.subject, 'subject');
  if (typeof json.artifactType === 'string') manifest.artifactType = json.artifactType;
  const annotations = parseAnnotations(json.annotations, 'manifest');
  if (annotations) manifest.annotations = annotations;
  return manifest;
}

/**
 * image-spec v1.1 / distribution-spec "Listing Referrers": a referrer's artifactType is the
 * manifest's `artifactType`, else its config's media type (indexes have no config).
 */
export function artifactTypeOf(manifest: Manifest): string | undefined {
  return manifest.artifactType ?? manifest.config?.mediaType;
}

/**
 * Whether an answer is meant as an OCI image index: by its Content-Type, else (no type, or a
 * generic one) by its shape, a JSON object whose `mediaType` is the index's or, without one,
 * that has `manifests`. Another media type, HTML or anything not JSON is not.
 */
export function isMeantAsOciIndex(bytes: Uint8Array, contentType?: string): boolean {
  const served = contentType?.split(';')[0]?.trim().toLowerCase();
  if (served === MediaType.OciIndex) return true;
  if (served && served !== 'application/json' && served !== 'text/plain' && served !== 'application/octet-stream') {
    return false;
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return false;
  }
  if (!isObject(json)) return false;
  return json.mediaType === MediaType.OciIndex || (json.mediaType === undefined && 'manifests' in json);
}

/** Parses an image index used as a referrers list (API answer or referrers-tag content). */
export function parseReferrersIndex(bytes: Uint8Array, contentType?: string): Descriptor[] {
  const m = parseManifest(bytes, contentType);
  if (m.mediaType !== MediaType.OciIndex) {
    throw new InvalidManifestError(`a referrers list must be an OCI image index, got '${m.mediaType}'`);
  }
  return m.manifests;
}
