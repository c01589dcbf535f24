import { repositoryScope } from './auth.js';
import { parseErrorBody } from './errors.js';
import type { Exchange } from './exchange.js';
import type { HttpResponse } from './http/transport.js';
import { LinkPages } from './pagination.js';
import { MAX_MANIFEST_BYTES } from '../oci/media-types.js';

/**
 * Caps are round numbers (25, 50, 100, 250, 1,000…): an unpaged list of a multiple of this many
 * tags may have been cut at one. Smaller caps are not seen in the field, and a list of ten tags
 * is common (a release's tags), so ten would distrust far too many lists.
 */
const CAP_STEP = 25;

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
  /** The `sha256-*` tags of the listing's pages, known a round trip before the listing proves itself whole. */
  private listed?: Promise<Set<string> | undefined>;
  private pagesRead?: (tags: Set<string> | undefined) => void;

  constructor(private readonly exchange: Exchange) {}

  /**
   * true: listed; false: absent from a whole listing; undefined: ask the registry for it. A tag
   * the pages show is there whatever the listing turns out to be worth: that answer does not
   * wait for the look past the last tag, which only an absence needs.
   */
  async hasDigestTag(tag: string): Promise<boolean | undefined> {
    const whole = this.listing();
    if ((await this.listed)?.has(tag)) return true;
    const listing = await whole;
    if (!listing) return undefined;
    return listing.tags.has(tag) || (listing.complete ? false : undefined);
  }

  /** The repository's `sha256-*` tags the listing showed (maybe not all); undefined when it failed. */
  async digestTagList(): Promise<Set<string> | undefined> {
    return (await this.listing())?.tags;
  }

  private listing(): Promise<DigestTags | undefined> {
    if (!this.digestTags) {
      this.listed = new Promise((resolve) => (this.pagesRead = resolve));
      this.digestTags = this.listDigestTags().catch(() => undefined);
      // A listing that ended before its pages did (a failure) has shown nothing.
      void this.digestTags.then(() => this.pagesRead?.(undefined));
    }
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
   * The pages of the tag list through `Link`, then a look past the last tag
   * (`?n=1&last=<tag>`): distribution-spec says a list shorter than `n` without `Link` is the
   * whole list, but some registries cut it short without one. The answer tells which:
   *
   * - empty: the list is whole (a registry that pages as the spec says);
   * - tags after the last one: the registry pages by `last` without saying so, and the list is
   *   read on the same way until a page comes back empty;
   * - every tag of the list again (and any written since), though one tag was asked for: the
   *   registry ignores `n` and `last` alike, that is, it has no pages (distribution 2.x), and its
   *   one answer is every tag it has; taken as whole, unless it holds a multiple of 25 tags
   *   (where a cap would cut);
   * - anything else (one tag listed already: it honours `n` but ignores `last`, so a shorter
   *   list proves nothing; a failed answer; more pages than the bound): the listing proves no
   *   tag absent, and each tag is then asked for.
   */
  private async listDigestTags(): Promise<DigestTags | undefined> {
    const tags = new Set<string>();
    const seen: string[] = [];
    const add = (list: string[]) => {
      for (const t of list) {
        seen.push(t);
        if (t.startsWith('sha256-')) tags.add(t);
      }
    };
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
      add(list);
    }
    this.pagesRead?.(new Set(tags));
    if (pages.truncated) return { tags, complete: false };
    // One tag is enough to tell the cases apart; a registry found to page by `last` is read on by pages.
    for (let n = 1; seen.length > 0; n = PAGE) {
      if (read >= MAX_TAG_PAGES) return { tags, complete: false };
      const last = seen[seen.length - 1]!;
      const res = await this.exchange.send({
        method: 'GET',
        path: `/tags/list?n=${n}&last=${encodeURIComponent(last)}`,
        operation: 'list tags of',
        reference: this.exchange.where,
        maxResponseBytes: MAX_MANIFEST_BYTES,
      });
      read++;
      const after = tagsOf(res);
      if (!after) return { tags, complete: false };
      if (after.length === 0) return { tags, complete: true };
      const known = new Set(seen);
      if (after.every((t) => t > last && !known.has(t))) {
        add(after);
        continue;
      }
      // More than the one tag asked for, and every tag of the list again (a list of one tag cannot
      // tell): the registry ignores `n` and `last`, and its answer is its whole list as of now,
      // with any tag written since the first read (a concurrent retag's, this run's own).
      const unpaged = n === 1 && seen.length > 1 && after.length >= seen.length && seen.every((t) => after.includes(t));
      if (!unpaged) return { tags, complete: false };
      add(after.filter((t) => !known.has(t)));
      // A registry that caps its one answer cuts it at a round number (50, 100, 1,000): a list of
      // a multiple of 25 tags may be such a cut, so it proves nothing absent.
      return { tags, complete: after.length % CAP_STEP !== 0 };
    }
    // Nothing listed at all: no registry cuts a list to nothing.
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
