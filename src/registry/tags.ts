import { repositoryScope } from './auth.js';
import { parseErrorBody } from './errors.js';
import type { Exchange } from './exchange.js';
import { LinkPages } from './pagination.js';
import { MAX_MANIFEST_BYTES } from '../oci/media-types.js';

/** Pages of 1000 tags read to learn a repository's sha256-* tags before falling back to a GET per digest. */
const MAX_TAG_PAGES = 5;

/**
 * distribution-spec "Listing Tags" and "Deleting tags". The tags this client cares about are
 * `sha256-*` ones (referrers indexes, cosign attachments): one listing, taken lazily once per
 * run, replaces a GET per digest on repositories without the referrers API, most of which
 * would answer 404.
 */
export class Tags {
  private digestTags?: Promise<Set<string> | undefined>;

  constructor(private readonly exchange: Exchange) {}

  async hasDigestTag(tag: string): Promise<boolean | undefined> {
    const tags = await this.digestTagList();
    return tags && tags.has(tag);
  }

  /** The repository's `sha256-*` tags; undefined when the listing failed or is too long. */
  digestTagList(): Promise<Set<string> | undefined> {
    this.digestTags ??= this.listDigestTags().catch(() => undefined);
    return this.digestTags;
  }

  /** Keeps the listing true after this client wrote a tag. */
  noteWritten(tag: string): void {
    void this.digestTags?.then((tags) => tags?.add(tag));
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

  private async listDigestTags(): Promise<Set<string> | undefined> {
    const tags = new Set<string>();
    const pages = new LinkPages(this.exchange, {
      request: {
        method: 'GET',
        path: '/tags/list?n=1000',
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
      if (res.status === 404 && parseErrorBody(res.body).some((e) => e.code === 'NAME_UNKNOWN')) return tags;
      if (res.status !== 200) return undefined;
      const list = (JSON.parse(Buffer.from(res.body).toString('utf8')) as { tags?: unknown }).tags;
      if (list !== null && list !== undefined && !Array.isArray(list)) return undefined;
      for (const t of list ?? []) if (typeof t === 'string' && t.startsWith('sha256-')) tags.add(t);
    }
    return pages.truncated ? undefined : tags;
  }
}
