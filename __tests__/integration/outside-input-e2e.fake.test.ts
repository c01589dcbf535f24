/**
 * The built bundle (dist/index.js) against a FAKE registry on loopback that answers every
 * request with a redirect to a Location that is not a URL: the run fails with one error line
 * that names the registry and the operation, never with "Unexpected error".
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runAction } from '../support/run-action.js';

let server: Server;
let host: string;
beforeAll(async () => {
  server = createServer((q, r) => {
    q.resume();
    r.writeHead(307, { location: 'http://[oops/x' }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('dist/index.js against a registry that sends an invalid Location', () => {
  it('fails with a message that names the registry and the operation, not "Unexpected error"', async () => {
    const run = await runAction({ source: `${host}/acme/app:rc`, targets: '1.0', 'plain-http': 'true' });
    expect(run.code).toBe(1);
    expect(`${run.stdout}\n${run.stderr}`).not.toContain('Unexpected error');
    expect(run.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::error::(On the source ${host}/acme/app: )?[a-z ]+ ${host}/acme/app:rc failed: the registry ${host} sent an invalid Location header: 'http://\\[oops/x'$`,
        ),
      ),
    ]);
  });
});
