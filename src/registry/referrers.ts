import type { CapabilityState } from './capabilities.js';
import { ReferrersListError, ReferrersTagContentError, TooManyReferrersError, parseErrorBody } from './errors.js';
import type { Exchange } from './exchange.js';
import type { HttpResponse } from './http/transport.js';
import { LinkPages } from './pagination.js';
import type { Tags } from './tags.js';
import type { ReferrersIndex, ReferrersIndexStore, ReferrersListing } from './types.js';
import { matchesDigest, referrersTagFor } from '../oci/digest.js';
import { isMeantAsOciIndex, parseReferrersIndex, type Descriptor } from '../oci/manifest.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, MediaType } from '../oci/media-types.js';
import { dedupeDescriptors, encodeReferrersIndex } from '../oci/referrers-index.js';
import { UserFacingError } from '../oci/user-facing-error.js';

export interface ReferrersLimits {
  /** Bound on descriptors in one referrers list (the input max-referrers); more is an error. */
  maxReferrers: number;
}

/**
 * Pages of one referrers list that may add nothing new (empty, or repeating what was listed)
 * before the list is taken for one that never ends: an honest registry's page lists something.
 */
const MAX_PAGES_WITHOUT_NEWS = 10;

/**
 * distribution-spec v1.1 referrers: the API ("Listing Referrers") where the repository has it,
 * else the referrers tag schema, read and written.
 */
export class Referrers implements ReferrersIndexStore {
  constructor(
    private readonly exchange: Exchange,
    private readonly caps: CapabilityState,
    private readonly tags: Tags,
    private readonly limits: ReferrersLimits,
  ) {}

  async probeReferrersApi(subject: string): Promise<ReferrersListing | undefined> {
    if (this.caps.referrersApi() === false) return undefined;
    return this.fromApi(subject, { learn: true });
  }

  async listReferrers(subject: string): Promise<ReferrersListing> {
    if (this.caps.referrersApi() === false) return this.fromTag(subject);
    // While the API's answer is not known, a referrers tag the tag list shows is read at the
    // same time: without the API it is the list, and waiting for the API's 404 first would
    // cost a round trip. With the API, the tag is a stray one and its content is not used.
    const atOnce = this.caps.referrersApi() === undefined ? this.fromTagIfListed(subject) : undefined;
    atOnce?.catch(() => undefined);
    const viaApi = await this.fromApi(subject, { learn: true });
    if (viaApi) return viaApi;
    return (await atOnce) ?? this.fromTag(subject);
  }

  /** The API's own answer for one subject; nothing is learned from it, and there is no fallback. */
  listReferrersFromApi(subject: string): Promise<ReferrersListing | undefined> {
    return this.fromApi(subject, { learn: false });
  }

  /** distribution-spec v1.1 "Referrers Tag Schema", read side: validated before it is believed. */
  async readReferrersIndex(subject: string): Promise<ReferrersIndex> {
    const tag = referrersTagFor(subject);
    const where = this.exchange.ref(tag);
    const res = await this.exchange.send({
      method: 'GET',
      path: `/manifests/${tag}`,
      headers: { accept: MANIFEST_ACCEPT },
      maxResponseBytes: MAX_MANIFEST_BYTES,
      operation: 'get referrers tag',
      reference: where,
    });
    if (res.status === 404) return { exists: false, descriptors: [] };
    if (res.status !== 200) throw this.exchange.error(res, 'get referrers tag', where);
    // GitLab answers `sha256-<hex>` with the manifest `sha256:<hex>` itself.
    if (matchesDigest(res.body, subject)) {
      this.caps.observeDigestAlias();
      throw new ReferrersTagContentError(
        `${this.exchange.registry} answers the referrers tag ${where} with the subject manifest itself (as GitLab does), so it cannot hold a referrers index there`,
        { alias: true },
      );
    }
    try {
      const etag = res.header('etag');
      return {
        exists: true,
        descriptors: parseReferrersIndex(res.body, res.header('content-type')),
        ...(etag && { etag }),
      };
    } catch (err) {
      throw new ReferrersTagContentError(
        `the referrers tag ${where} does not hold an OCI image index (${(err as Error).message})`,
        { alias: false },
      );
    }
  }

  /**
   * Whether the registry is known, or says, to answer `sha256-<hex>` with the manifest itself,
   * before anything is written: GitLab's container registry names itself on `GET /v2/` with the
   * header `Gitlab-Container-Registry-Version` (gitlab-org/container-registry, "Custom Headers on
   * GET /v2/"). Asked once per registry; an answer without it, or a failed one, says nothing.
   */
  async announcesDigestAlias(): Promise<boolean> {
    if (this.caps.digestAlias() === true) return true;
    return this.caps.announcesDigestAlias(async () => {
      try {
        const res = await this.exchange.send({
          method: 'GET',
          path: `${this.exchange.origin}/v2/`,
          operation: 'check the API of',
          reference: this.exchange.registry,
          maxResponseBytes: MAX_MANIFEST_BYTES,
        });
        return res.status === 200 && res.header('gitlab-container-registry-version') !== undefined;
      } catch (err) {
        if (err instanceof UserFacingError) return false;
        throw err;
      }
    });
  }

  /** distribution-spec v1.1 "Pushing Manifests with Subject", for a registry without the API. */
  async writeReferrersIndex(subject: string, descriptors: Descriptor[], ifMatch?: string): Promise<string | undefined> {
    const tag = referrersTagFor(subject);
    const where = this.exchange.ref(tag);
    const res = await this.exchange.send({
      method: 'PUT',
      path: `/manifests/${tag}`,
      headers: { 'content-type': MediaType.OciIndex, ...(ifMatch && { 'if-match': ifMatch }) },
      body: encodeReferrersIndex(descriptors),
      operation: 'push referrers tag',
      reference: where,
    });
    if (ifMatch && res.status === 412) return undefined;
    if (res.status !== 201 && res.status !== 200) {
      const immutable = res.status === 400 || res.status === 409 || res.status === 412 || res.status === 403;
      throw this.exchange.error(
        res,
        'push referrers tag',
        where,
        immutable
          ? `If ${this.exchange.registry} has tag immutability rules, they must exclude sha256-* tags, which the referrers tag schema rewrites`
          : undefined,
      );
    }
    this.tags.noteWritten(tag);
    return tag;
  }

  /**
   * distribution-spec v1.1 "Listing Referrers". Only a 200 carrying an OCI image index means the
   * API exists; anything else (404, 400, 405, 406, 501, a redirect elsewhere, an HTML page) means
   * it does not, and with `learn` the answer is remembered for this repository. Never decided
   * from OCI-Subject.
   */
  private async fromApi(subject: string, { learn }: { learn: boolean }): Promise<ReferrersListing | undefined> {
    const where = this.exchange.ref(subject);
    const descriptors: Descriptor[] = [];
    const listed = new Set<string>();
    let pagesWithoutNews = 0;
    const pages = new LinkPages(this.exchange, {
      request: {
        method: 'GET',
        path: `/referrers/${subject}`,
        headers: { accept: MediaType.OciIndex },
        maxResponseBytes: MAX_MANIFEST_BYTES,
        redirect: 'same-host',
        operation: 'list referrers of',
        reference: where,
      },
      // Every page but MAX_PAGES_WITHOUT_NEWS adds a descriptor, so the count bound fires first.
      maxPages: this.limits.maxReferrers + MAX_PAGES_WITHOUT_NEWS + 1,
      within: (path) => path.startsWith('/referrers/'),
      listing: `referrers list of ${where}`,
    });
    for await (const { res, index } of pages) {
      if (res.status === 401 || res.status === 403) throw this.exchange.error(res, 'list referrers of', where);
      if (res.status >= 500 && res.status !== 501) throw this.exchange.error(res, 'list referrers of', where);
      const list = res.status === 200 ? this.parseListing(res, where) : undefined;
      if (
        !list &&
        index === 0 &&
        res.status === 404 &&
        parseErrorBody(res.body).some((e) => e.code === 'NAME_UNKNOWN')
      ) {
        // The repository does not exist (yet): nothing refers to anything in it, and the
        // answer says nothing about the API, so the probe stays open.
        return learn ? { source: 'api', descriptors: [], warnings: [] } : undefined;
      }
      if (!list) {
        if (!learn) return undefined;
        if (index > 0)
          throw this.exchange.error(
            res,
            'list referrers of',
            where,
            'A later page of the referrers list was not an OCI image index',
          );
        if (this.caps.ownReferrersApi() === true && this.caps.referrersApiMode === true) {
          throw this.exchange.error(
            res,
            'list referrers of',
            where,
            "The input referrers-api is 'true' but the registry does not serve the referrers API here",
          );
        }
        this.caps.learnReferrersApi(false);
        return undefined;
      }
      if (learn) this.caps.learnReferrersApi(true);
      const before = listed.size;
      for (const d of list) listed.add(d.digest);
      descriptors.push(...list);
      if (listed.size > this.limits.maxReferrers) {
        throw new TooManyReferrersError(where, listed.size, this.limits.maxReferrers);
      }
      if (listed.size === before && index > 0 && ++pagesWithoutNews >= MAX_PAGES_WITHOUT_NEWS) {
        throw new ReferrersListError(
          `${this.exchange.registry} answered the referrers list of ${where} with ${MAX_PAGES_WITHOUT_NEWS} pages that list nothing new; refusing to go on`,
        );
      }
    }
    // Not reached with the bounds above; a truncated list must never pass for a whole one.
    if (pages.truncated) throw new TooManyReferrersError(where, listed.size, this.limits.maxReferrers);
    // distribution-spec: `artifactType` filtering is optional; we never ask for it, and keep all.
    return { source: 'api', descriptors: dedupeDescriptors(descriptors), warnings: [] };
  }

  private async fromTagIfListed(subject: string): Promise<ReferrersListing | undefined> {
    return (await this.tags.hasDigestTag(referrersTagFor(subject))) === true ? this.fromTag(subject) : undefined;
  }

  private async fromTag(subject: string): Promise<ReferrersListing> {
    if ((await this.tags.hasDigestTag(referrersTagFor(subject))) === false) {
      return { source: 'tag-schema', descriptors: [], warnings: [] };
    }
    try {
      const index = await this.readReferrersIndex(subject);
      const descriptors = dedupeDescriptors(index.descriptors);
      if (descriptors.length > this.limits.maxReferrers) {
        throw new TooManyReferrersError(this.exchange.ref(subject), descriptors.length, this.limits.maxReferrers);
      }
      return { source: 'tag-schema', descriptors, warnings: [] };
    } catch (err) {
      if (!(err instanceof ReferrersTagContentError)) throw err;
      // Read side of the tag schema: content that is not an index means no referrers.
      return {
        source: 'tag-schema',
        descriptors: [],
        warnings: err.alias ? [] : [`${err.message}; treated as no referrers`],
      };
    }
  }

  /**
   * A 200 answer of the API: undefined when it is plainly not the API (HTML, another media
   * type); an OCI image index (by Content-Type or shape) that cannot be used is an error, never
   * a quiet "no referrers": falling back to the tag schema would lose every referrer.
   */
  private parseListing(res: HttpResponse, where: string): Descriptor[] | undefined {
    const contentType = res.header('content-type');
    if (!isMeantAsOciIndex(res.body, contentType)) return undefined;
    try {
      return parseReferrersIndex(res.body, contentType);
    } catch (err) {
      throw new ReferrersListError(
        `${this.exchange.registry} answered the referrers list of ${where} with an OCI image index that cannot be used: ${(err as Error).message}`,
      );
    }
  }
}
