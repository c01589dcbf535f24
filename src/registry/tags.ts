import { repositoryScope } from './auth.js';
import { parseErrorBody } from './errors.js';
import type { Exchange } from './exchange.js';
import type { HttpResponse } from './http/transport.js';
import { LinkPages } from './pagination.js';
import { MAX_MANIFEST_BYTES } from '../oci/media-types.js';

/** Pages of 1000 tags read to learn a repository's sha256-* tags before falling back to a GET per digest. */
const MAX_TAG_PAGES = 5;
const PAGE = 1000;

/** The `sha256-*` tags one listing showed, and whether that listing is known to be whole. */
interface DigestTags {
  tags: Set<string>;
  /** Only a whole listing proves that a tag it does not show is absent. */
  complete: boolean;
}

/**
 * distribution-spec "Listing Tags" and "Deleting tags". The tags this client cares about are
 * `sha256-*` ones (referrers indexes, cosign attachments): one listing, taken lazily once per
 * run, replaces a GET per digest on repositories without the referrers API, most of which
 * would answer 404. A listing proves a tag absent only once it is known to be whole (see
 * listDigestTags); otherwise the caller asks for the tag itself.
 */
export class Tags {
  private digestTags?: Promise<DigestTags | undefined>;

  constructor(private readonly exchange: Exchange) {}

  /** true: listed; false: absent from a whole listing; undefined: ask the registry for it. */
  async hasDigestTag(tag: string): Promise<boolean | undefined> {
    const listing = await this.listing();
    if (!listing) return undefined;
    return listing.tags.has(tag) || (listing.complete ? false : undefined);
  }

  /** The repository's `sha256-*` tags the listing showed (maybe not all); undefined when it failed. */
  async digestTagList(): Promise<Set<string> | undefined> {
    return (await this.listing())?.tags;
  }

  private listing(): Promise<DigestTags | undefined> {
    this.digestTags ??= this.listDigestTags().catch(() => undefined);
    return this.digestTags;
  }

  /** Keeps the listing true after this client wrote a tag. */
  noteWritten(tag: string): void {
    void this.digestTags?.then((listing) => listing?.tags.add(tag));
  }

  async deleteTag(tag: string): Promise<void> {
    const where = this.exchange.ref(tag);
    // Token services grant DELETE through a scope action of its own (distribution: `delete`).
    const res = await this.exchange.send({
      method: 'DELETE',
      path: `/manifests/${tag}`,
      operation: 'delete tag',
      reference: where,
      extraScopes: [repositoryScope(this.exchange.name, ['delete'])],
    });
    if (res.status !== 202 && res.status !== 200) throw this.exchange.error(res, 'delete tag', where);
  }

  /**
   * The pages of the tag list through `Link`, then the page after the last tag
   * (`?n=1000&last=<tag>`): distribution-spec says a shorter list without `Link` is the whole
   * list, but some registries cut it short without one. The listing counts as whole when that
   * page is empty; a registry that pages by `last` without saying so is read on the same way;
   * one that ignores `last` (it repeats tags already listed: distribution 2.x ignores `n` and
   * `last` alike) leaves the listing unproved, and each tag is then asked for.
   */
  private async listDigestTags(): Promise<DigestTags | undefined> {
    const tags = new Set<string>();
    const seen = new Set<string>();
    let last: string | undefined;
    let read = 0;
    const pages = new LinkPages(this.exchange, {
      request: {
        method: 'GET',
        path: `/tags/list?n=${PAGE}`,
        operation: 'list tags of',
        reference: this.exchange.where,
        maxResponseBytes: MAX_MANIFEST_BYTES,
      },
      maxPages: MAX_TAG_PAGES,
      within: (path) => path.split('?')[0] === '/tags/list',
      listing: `tag list of ${this.exchange.where}`,
    });
    for await (const { res } of pages) {
      // distribution-spec: an unknown repository is 404 NAME_UNKNOWN, and has no tags.
      if (res.status === 404 && parseErrorBody(res.body).some((e) => e.code === 'NAME_UNKNOWN')) {
        return { tags, complete: true };
      }
      const list = tagsOf(res);
      if (!list) return undefined;
      read++;
      for (const t of list) {
        seen.add(t);
        if (t.startsWith('sha256-')) tags.add(t);
      }
      last = list[list.length - 1] ?? last;
    }
    if (pages.truncated) return { tags, complete: false };
    // Nothing listed at all: there is no last tag to ask after, and no registry cuts a list to nothing.
    while (last !== undefined) {
      if (read >= MAX_TAG_PAGES) return { tags, complete: false };
      const res = await this.exchange.send({
        method: 'GET',
        path: `/tags/list?n=${PAGE}&last=${encodeURIComponent(last)}`,
        operation: 'list tags of',
        reference: this.exchange.where,
        maxResponseBytes: MAX_MANIFEST_BYTES,
      });
      read++;
      const after = tagsOf(res);
      if (!after) return { tags, complete: false };
      if (after.length === 0) return { tags, complete: true };
      // A continuation lists only tags after `last`, none seen before; anything else means the
      // registry ignores `last`, and its list cannot be proved whole.
      const from = last;
      if (after.some((t) => t <= from || seen.has(t))) return { tags, complete: false };
      for (const t of after) {
        seen.add(t);
        if (t.startsWith('sha256-')) tags.add(t);
      }
      last = after[after.length - 1]!;
    }
    return { tags, complete: true };
  }
}

/** The tags of a tag-list answer; undefined when it is not one. */
function tagsOf(res: HttpResponse): string[] | undefined {
  if (res.status !== 200) return undefined;
  const list = (JSON.parse(Buffer.from(res.body).toString('utf8')) as { tags?: unknown }).tags;
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) return undefined;
  return list.filter((t): t is string => typeof t === 'string');
}
