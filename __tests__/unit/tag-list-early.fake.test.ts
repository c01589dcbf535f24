/**
 * The one listing of a repository's tags against a FAKE registry on loopback that holds its
 * answer to the look past the last tag (`?n=1&last=`) until the test lets it go: a tag the
 * pages show is known to be there at once; only an absence waits for the listing to prove
 * itself whole.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '../../src/registry/client.js';

const LISTED = `sha256-${'a'.repeat(64)}`;
const ABSENT = `sha256-${'b'.repeat(64)}`;

let fake: Server;
let host: string;
let releaseLook!: () => void;
const held = new Promise<void>((resolve) => (releaseLook = resolve));
const seen: string[] = [];

beforeAll(async () => {
  fake = createServer((req, res) => {
    seen.push(req.url!);
    const json = (tags: string[]) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'a/b', tags }));
    if (req.url === '/v2/a/b/tags/list?n=1000') return json([LISTED, 'v1']);
    if (req.url === '/v2/a/b/tags/list?n=1&last=v1') return void held.then(() => json([]));
    res.writeHead(404).end();
  });
  host = await new Promise<string>((r) =>
    fake.listen(0, '127.0.0.1', () => r(`127.0.0.1:${(fake.address() as AddressInfo).port}`)),
  );
});
const client = new RegistryClient({ plainHttp: true });
afterAll(async () => {
  releaseLook();
  await client.close();
  await new Promise((r) => fake.close(r));
});

describe('the tag listing of a repository', () => {
  it('says a listed tag is there before the listing proved itself whole, and an absent one only after', async () => {
    const repo = client.repository({ registry: host, repository: 'a/b' }, 'pull');
    let absentAnswered = false;
    const absent = repo.hasDigestTag(ABSENT).then((v) => {
      absentAnswered = true;
      return v;
    });

    await expect(repo.hasDigestTag(LISTED)).resolves.toBe(true);
    // The look past the last tag is held (or not even sent yet): the absence is not proved.
    while (!seen.includes('/v2/a/b/tags/list?n=1&last=v1')) await new Promise((r) => setTimeout(r, 5));
    expect(absentAnswered).toBe(false);

    releaseLook();
    await expect(absent).resolves.toBe(false);
    expect(seen).toEqual(['/v2/a/b/tags/list?n=1000', '/v2/a/b/tags/list?n=1&last=v1']);
  });
});
