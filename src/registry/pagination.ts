import type { Exchange, SendOptions } from './exchange.js';
import { parseNextLink } from './http/header-url.js';
import type { HttpResponse } from './http/transport.js';
import { InvalidManifestError } from '../oci/manifest.js';

export interface PagesOptions {
  /** The request for every page; `path` is the first page's, below `/v2/<name>`. */
  request: SendOptions;
  /** Pages read at most; `truncated` says whether more were announced. */
  maxPages: number;
  /** Whether a next page's path (below `/v2/<name>`, with its query) belongs to this listing. */
  within: (path: string) => boolean;
  /** The listing as messages name it: `referrers list of <reference>`. */
  listing: string;
}

export interface Page {
  res: HttpResponse;
  /** 0 for the first. */
  index: number;
}

/**
 * The pages of a listing, followed through RFC 8288 `Link: <url>; rel="next"` (distribution-spec
 * "Listing Tags" and "Listing Referrers"), one request at a time as the consumer reads. A next
 * page elsewhere than this repository's own listing (another host, another path) is refused:
 * the link comes from the registry's answer and credentials go with the request.
 */
export class LinkPages implements AsyncIterable<Page> {
  /** True once the consumer read `maxPages` pages and the last one named a next page. */
  truncated = false;

  constructor(
    private readonly exchange: Exchange,
    private readonly options: PagesOptions,
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Page> {
    let path = this.options.request.path;
    for (let index = 0; ; index++) {
      const res = await this.exchange.send({ ...this.options.request, path });
      yield { res, index };
      const next = parseNextLink(res.header('link'), res.url, {
        method: 'GET',
        operation: `${this.options.request.operation} ${this.options.request.reference}`,
      });
      if (!next) return;
      path = this.pathOf(next);
      if (index + 1 >= this.options.maxPages) {
        this.truncated = true;
        return;
      }
    }
  }

  private pathOf(next: string): string {
    const url = new URL(next);
    const basePath = new URL(this.exchange.base).pathname;
    const below = url.pathname.startsWith(`${basePath}/`)
      ? url.pathname.slice(basePath.length) + url.search
      : undefined;
    if (url.origin !== this.exchange.origin || below === undefined || !this.options.within(below)) {
      throw new InvalidManifestError(
        `${this.exchange.registry} answered the ${this.options.listing} with a next page outside the repository (${url.host})`,
      );
    }
    return below;
  }
}
