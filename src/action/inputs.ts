import { Inputs } from './constants.js';
import type { ReferrersApiMode } from '../registry/capabilities.js';
import {
  InvalidReferenceError,
  REFERENCE_FORM,
  TAG_FORM,
  isValidTag,
  parseReference,
  withTag,
  type Reference,
} from '../oci/reference.js';
import { isReferrersTag, splitDigest } from '../oci/digest.js';
import { UserFacingError } from '../oci/user-facing-error.js';

/**
 * Registry operations in flight at once per target repository: enough to hide latency, few
 * enough for shared runners and rate limits. With 25 ms per request, 16 copies bench scenarios 2
 * and 7 (an 8- and a 4-platform index with their referrers) in a round of blob mounts instead of
 * three or four at 8; 32 gains only on graphs of hundreds of nodes (scenario 4), which can ask
 * for it. oras and regclient send 3 at a time, go-containerregistry 4. Registries bound request
 * rates, not concurrency (Docker Hub: thousands a minute per IP; quay.io: a few a second, with
 * bursts), and a 429 is retried after its Retry-After.
 */
export const DEFAULT_CONCURRENCY = 16;
/**
 * Referrers a promotion takes along at most. An image scanned hourly gathers 1,000 referrers in
 * about six weeks; ten times that is still a bounded run, and a bound reached fails the run
 * before its first write rather than copying part of the graph.
 */
export const DEFAULT_MAX_REFERRERS = 10_000;
const MAX_MAX_REFERRERS = 1_000_000;
/** Long enough for a slow registry under load, short enough that a dead connection does not hold a release. */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** Everything the action was asked to do, validated. */
export interface ActionInputs {
  source: Reference;
  targets: Reference[];
  credentials?: { username: string; password: string };
  copyReferrers: boolean;
  referrersApi: ReferrersApiMode;
  plainHttp: boolean;
  dryRun: boolean;
  concurrency: number;
  verify: boolean;
  /** Connect and idle-read timeout for every request, in milliseconds; also sets each request's deadline and bounds credential helpers. */
  timeoutMs: number;
  requireReferrers: string[];
  requireReferrersScope: 'root' | 'per-platform';
  referrerTypes: string[];
  overwrite: boolean;
  removeStrayReferrersTags: boolean;
  /** Referrers found at most (recursively, with an index's children's); more fail the run before any write. */
  maxReferrers: number;
  /** Look up the referrers and the referrers API on every run; false: only where something needs them. */
  discoverReferrers: boolean;
  /** For ghcr.io when nothing else gives credentials for it. */
  githubToken?: string;
  /** Record every request with the phase that issued it (also on in the runner's debug mode). */
  trace: boolean;
}

/** A bad input: the message quotes the value and says the expected form. */
export class InputError extends UserFacingError {}

function parseBoolean(name: string, value: string, fallback: boolean): boolean {
  const v = value.trim();
  if (v === '') return fallback;
  if (/^true$/i.test(v)) return true;
  if (/^false$/i.test(v)) return false;
  throw new InputError(`Invalid ${name} '${value}': expected true or false`);
}

function parseConcurrency(value: string): number {
  const v = value.trim();
  if (v === '') return DEFAULT_CONCURRENCY;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1 || n > 64) {
    throw new InputError(`Invalid ${Inputs.Concurrency} '${value}': expected a whole number from 1 to 64`);
  }
  return n;
}

function parseMaxReferrers(value: string): number {
  const v = value.trim();
  if (v === '') return DEFAULT_MAX_REFERRERS;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1 || n > MAX_MAX_REFERRERS) {
    throw new InputError(
      `Invalid ${Inputs.MaxReferrers} '${value}': expected a whole number from 1 to ${MAX_MAX_REFERRERS}`,
    );
  }
  return n;
}

function parseTimeout(value: string): number {
  const v = value.trim();
  if (v === '') return DEFAULT_TIMEOUT_SECONDS * 1000;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 3600) {
    throw new InputError(`Invalid ${Inputs.Timeout} '${value}': expected seconds, a whole number from 1 to 3600`);
  }
  return Number(v) * 1000;
}

/** A media type, as image-spec defines its grammar (RFC 6838 type/subtype). */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function parseArtifactTypes(name: string, value: string, globs: boolean): string[] {
  const items = splitList(value);
  for (const item of items) {
    const plain = globs ? item.replace(/\*/g, 'x') : item;
    if (!MEDIA_TYPE.test(plain)) {
      throw new InputError(
        `Invalid ${name} '${item}': expected an artifact type such as application/spdx+json${globs ? ' (with * for any run of characters)' : ''}`,
      );
    }
  }
  return items;
}

function parseScope(value: string): 'root' | 'per-platform' {
  const v = value.trim();
  if (v === '' || v === 'root') return 'root';
  if (v === 'per-platform') return 'per-platform';
  throw new InputError(`Invalid ${Inputs.RequireReferrersScope} '${value}': expected root or per-platform`);
}

function parseReferrersApi(value: string): ReferrersApiMode {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new InputError(`Invalid ${Inputs.ReferrersApi} '${value}': expected auto, true or false`);
}

/**
 * distribution-spec v1.1 "Referrers Tag Schema" owns the tags `<alg>-<hex>`: such a tag holds
 * the referrers index of that digest, so a promotion that created one would plant a fake index.
 */
function referrersTagReason(tag: string): string | undefined {
  if (!isReferrersTag(tag)) return undefined;
  const i = tag.indexOf('-');
  const [algorithm, encoded] = [tag.slice(0, i), tag.slice(i + 1)];
  const subject =
    algorithm === 'sha512' && encoded.length === 64 ? `a sha512 digest starting ${encoded}` : `${algorithm}:${encoded}`;
  return `names the referrers of ${subject} in the OCI referrers tag schema; tagging must never create one`;
}

/**
 * Only sha256: registries name and report manifests by their sha256 digest, the referrers tag
 * schema and the verify step compare digests of one algorithm, and a sha512 source would be
 * written under tags before its digest could be checked. Refused before any request.
 */
function refuseOtherDigestAlgorithms(what: string, value: string, ref: Reference): void {
  if (ref.digest === undefined) return;
  const [algorithm] = splitDigest(ref.digest);
  if (algorithm === 'sha256') return;
  throw new InputError(
    `Invalid ${what} '${value}': only sha256 digests are supported, not ${algorithm}; name the manifest by its sha256 digest (registries report and compare manifests by sha256)`,
  );
}

function parseSource(value: string): Reference {
  const v = value.trim();
  if (v === '') throw new InputError(`Input ${Inputs.Source} is required: ${REFERENCE_FORM}`);
  try {
    const ref = parseReference(v);
    if (ref.tag === undefined && ref.digest === undefined) {
      throw new InputError(`Invalid ${Inputs.Source} '${v}': name a tag or a digest (${REFERENCE_FORM})`);
    }
    refuseOtherDigestAlgorithms(Inputs.Source, v, ref);
    return ref;
  } catch (err) {
    if (err instanceof InvalidReferenceError)
      throw new InputError(`Invalid ${Inputs.Source} ${err.message.replace(/^Invalid reference /, '')}`);
    throw err;
  }
}

/**
 * One target: a bare tag means the source's repository; anything with `/`, `:` or `@` is a full
 * reference. A full reference without tag or digest takes the source's tag.
 */
function parseTarget(item: string, source: Reference): Reference {
  if (!/[/:@]/.test(item)) {
    const reason = referrersTagReason(item);
    if (reason) throw new InputError(`Invalid target '${item}': a tag of the form <algorithm>-<hex digest> ${reason}`);
    if (!isValidTag(item)) throw new InputError(`Invalid target '${item}': a tag is ${TAG_FORM}`);
    return withTag(source, item);
  }
  const tag = /:([^/:@]*)(?:@|$)/.exec(item)?.[1];
  const reason = tag !== undefined && referrersTagReason(tag);
  if (reason) throw new InputError(`Invalid target '${item}': a tag of the form <algorithm>-<hex digest> ${reason}`);
  let ref: Reference;
  try {
    ref = parseReference(item);
  } catch (err) {
    if (err instanceof InvalidReferenceError)
      throw new InputError(`Invalid target ${err.message.replace(/^Invalid reference /, '')}`);
    throw err;
  }
  if (ref.tag === undefined && ref.digest === undefined) {
    if (source.tag === undefined) {
      throw new InputError(
        `Invalid target '${item}': name a tag (${REFERENCE_FORM}); the source is a digest, so there is no tag to keep`,
      );
    }
    const kept = referrersTagReason(source.tag);
    if (kept) {
      throw new InputError(
        `Invalid target '${item}': it would take the source's tag ${source.tag}, which ${kept}; name another tag`,
      );
    }
    return withTag(ref, source.tag);
  }
  refuseOtherDigestAlgorithms('target', item, ref);
  return ref;
}

/** Targets are separated by newlines and/or commas, as docker/metadata-action's `tags` output is. */
export function splitList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Reads and validates every input before anything is sent anywhere. `get` returns an input's
 * raw value ('' when unset), so that this module does not depend on the runner.
 */
export function parseInputs(get: (name: string) => string): ActionInputs {
  const source = parseSource(get(Inputs.Source));
  const items = splitList(get(Inputs.Targets));
  if (items.length === 0) {
    throw new InputError(
      `Input ${Inputs.Targets} is required: one or more tags or references, separated by newlines or commas`,
    );
  }
  const targets = items.map((item) => parseTarget(item, source));

  const username = get(Inputs.Username).trim();
  const password = get(Inputs.Password);
  if ((username === '') !== (password === '')) {
    throw new InputError(
      username === ''
        ? `Input ${Inputs.Password} is set but ${Inputs.Username} is empty: give both or neither`
        : `Input ${Inputs.Username} '${username}' is set but ${Inputs.Password} is empty: give both or neither`,
    );
  }

  return {
    source,
    targets,
    ...(username !== '' && { credentials: { username, password } }),
    copyReferrers: parseBoolean(Inputs.CopyReferrers, get(Inputs.CopyReferrers), true),
    referrersApi: parseReferrersApi(get(Inputs.ReferrersApi)),
    plainHttp: parseBoolean(Inputs.PlainHttp, get(Inputs.PlainHttp), false),
    dryRun: parseBoolean(Inputs.DryRun, get(Inputs.DryRun), false),
    concurrency: parseConcurrency(get(Inputs.Concurrency)),
    verify: parseBoolean(Inputs.Verify, get(Inputs.Verify), true),
    timeoutMs: parseTimeout(get(Inputs.Timeout)),
    requireReferrers: parseArtifactTypes(Inputs.RequireReferrers, get(Inputs.RequireReferrers), false),
    requireReferrersScope: parseScope(get(Inputs.RequireReferrersScope)),
    referrerTypes: parseArtifactTypes(Inputs.ReferrerTypes, get(Inputs.ReferrerTypes), true),
    overwrite: parseBoolean(Inputs.Overwrite, get(Inputs.Overwrite), true),
    removeStrayReferrersTags: parseBoolean(
      Inputs.RemoveStrayReferrersTags,
      get(Inputs.RemoveStrayReferrersTags),
      false,
    ),
    maxReferrers: parseMaxReferrers(get(Inputs.MaxReferrers)),
    discoverReferrers: parseBoolean(Inputs.DiscoverReferrers, get(Inputs.DiscoverReferrers), true),
    ...(get(Inputs.GithubToken).trim() !== '' && { githubToken: get(Inputs.GithubToken).trim() }),
    trace: parseBoolean(Inputs.Trace, get(Inputs.Trace), false),
  };
}
