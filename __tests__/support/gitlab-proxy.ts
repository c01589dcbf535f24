/**
 * A STAND-IN for GitLab's container registry in front of a real registry (distribution): a
 * reverse proxy on loopback that forwards everything as it is, except that
 *
 * - `GET /v2/` carries `Gitlab-Container-Registry-Version` (GitLab names itself there, see
 *   gitlab-org/container-registry "Custom Headers on GET /v2/"), unless `announce` is false;
 * - a manifest request for `sha256-<hex>` that is not a tag is answered with the manifest
 *   `sha256:<hex>` itself, as GitLab resolves it.
 *
 * It records the writes it forwarded.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitLabProxy {
  host: string;
  /** PUT, POST, PATCH and DELETE requests forwarded, as `METHOD path`. */
  writes: string[];
  stop(): Promise<void>;
}

export async function startGitLabProxy(options: { target: string; announce: boolean }): Promise<GitLabProxy> {
  const target = new URL(options.target);
  const writes: string[] = [];
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    onAnswer?: (status: number) => boolean,
  ): void => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path, headers: req.headers },
      (answer) => {
        if (onAnswer && !onAnswer(answer.statusCode!)) {
          answer.resume();
          return;
        }
        const headers = { ...answer.headers };
        if (options.announce && req.method === 'GET' && path === '/v2/') {
          headers['gitlab-container-registry-version'] = '18.2.0-gitlab';
        }
        res.writeHead(answer.statusCode!, headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    // A manifest read has no body, and may be sent twice (the tag, then the digest).
    if (req.method === 'GET' || req.method === 'HEAD') upstream.end();
    else req.pipe(upstream);
  };
  const server = createServer((req, res) => {
    if (!['GET', 'HEAD'].includes(req.method!)) writes.push(`${req.method} ${req.url}`);
    const alias = /^(\/v2\/.+\/manifests\/)sha256-([0-9a-f]{64})$/.exec(req.url!);
    if (!alias || !['GET', 'HEAD'].includes(req.method!)) return send(req, res, req.url!);
    // A real tag of that name wins; otherwise the digest itself.
    send(req, res, req.url!, (status) => {
      if (status !== 404) return true;
      send(req, res, `${alias[1]}sha256:${alias[2]}`);
      return false;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    writes,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
