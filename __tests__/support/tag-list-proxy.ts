/**
 * A STAND-IN for registries that cut tag lists short without a `Link` header: a reverse proxy
 * on loopback in front of a real registry that forwards everything as it is, except the tag
 * list, which it answers itself from the registry's whole list (sorted, as the spec asks):
 *
 * - `cut`: the first `pageSize` tags (fewer when `n` asks for fewer), whatever `last` says,
 *   no Link (a registry that truncates and ignores `last`);
 * - `pages`: at most `pageSize` tags after `last`, honouring a smaller `n`, no Link (a registry
 *   that pages but forgets to say so);
 * - `capped`: the first `pageSize` tags whatever `n` and `last` say, no Link (a registry with
 *   a fixed cap and no pages at all).
 *
 * It counts the tag-list requests it answered.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type TagListMode = 'cut' | 'pages' | 'capped';

export interface TagListProxy {
  host: string;
  url: string;
  /** The tag-list requests answered, as paths with their query. */
  tagListRequests: string[];
  stop(): Promise<void>;
}

function forward(target: URL, req: IncomingMessage, res: ServerResponse): void {
  const upstream = httpRequest(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.socket?.destroy());
  req.pipe(upstream);
}

async function wholeTagList(target: URL, path: string, headers: IncomingMessage['headers']): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: 'GET', path, headers: { ...headers, host: target.host } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => resolve({ status: answer.statusCode, body: Buffer.concat(chunks).toString() }));
      },
    );
    upstream.on('error', reject);
    upstream.end();
  });
}

export async function startTagListProxy(options: {
  target: string;
  mode: TagListMode;
  pageSize: number;
}): Promise<TagListProxy> {
  const target = new URL(options.target);
  const tagListRequests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://proxy');
    const m = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return forward(target, req, res);
    tagListRequests.push(req.url!);
    void wholeTagList(target, `/v2/${m[1]}/tags/list`, req.headers).then((whole) => {
      const { status, body } = whole as { status: number; body: string };
      if (status !== 200) return void res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      const parsed = JSON.parse(body) as { name: string; tags: string[] | null };
      const all = [...(parsed.tags ?? [])].sort();
      const asked =
        options.mode === 'capped' ? options.pageSize : Number(url.searchParams.get('n') ?? options.pageSize);
      const n = Math.min(asked, options.pageSize);
      const last = options.mode === 'pages' ? url.searchParams.get('last') : null;
      const tags = all.filter((t) => last === null || t > last).slice(0, n);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: parsed.name, tags }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    tagListRequests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
