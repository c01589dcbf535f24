/**
 * Promotion through a seeded fault-injecting proxy in front of each of two real registries:
 * 10% of requests are answered 503, answered 429 with Retry-After, or cut off in the middle of
 * the answer. Every one of 20 runs of a 32-node graph promotion (into another registry, and
 * into another repository of the source registry) must end correct.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote } from '../../src/engine/promote.js';
import type { Credential } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/oci/reference.js';
import {
  getManifest,
  pushArtifact,
  pushImage,
  pushIndex,
  referrersTag,
  writeReferrersTagIndex,
  type PushedManifest,
  type SeedTarget,
} from '../support/oci-seed.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startDistribution, type RunningRegistry } from '../support/registries.js';

const RUNS = 20;
const RATE = 0.1;

let source: RunningRegistry;
let target: RunningRegistry;
let proxyA: FaultProxy;
let proxyB: FaultProxy;
const graph: PushedManifest[] = [];
const referrersOf = new Map<string, string[]>();
let root: PushedManifest;

beforeAll(async () => {
  source = await startDistribution({ auth: 'htpasswd', users: [{ username: 'reader', password: 'reader-secret' }] });
  target = await startDistribution({
    auth: 'token',
    users: [{ username: 'writer', password: 'writer-secret', access: 'push' }],
  });
  proxyA = await startFaultProxy({ target: source.url, seed: 1, rate: RATE });
  proxyB = await startFaultProxy({ target: target.url, seed: 1, rate: RATE });

  // 4 platforms (manifest, config, 2 layers each), the index, 3 referrers on the index and one
  // on each platform (manifest and payload each, with the shared empty config): 32 nodes.
  const t: SeedTarget = { ...source.target('app'), username: 'reader', password: 'reader-secret' };
  const children: PushedManifest[] = [];
  for (const arch of ['amd64', 'arm64', 'ppc64le', 's390x']) {
    children.push(
      await pushImage(t, undefined, {
        seed: `fault-${arch}`,
        layers: 2,
        platform: { os: 'linux', architecture: arch },
      }),
    );
  }
  root = await pushIndex(
    t,
    'rc',
    children.map((c) => c.descriptor),
  );
  graph.push(root, ...children);
  const attach = async (subject: PushedManifest, type: string) => {
    const a = await pushArtifact(t, subject.descriptor, type, { payload: `${type} of ${subject.digest}` });
    graph.push(a);
    referrersOf.set(subject.digest, [...(referrersOf.get(subject.digest) ?? []), a.digest]);
    return a;
  };
  for (const type of [
    'application/spdx+json',
    'application/vnd.dev.sigstore.bundle.v0.3+json',
    'application/vnd.in-toto+json',
  ])
    await attach(root, type);
  for (const c of children) await attach(c, 'application/vnd.in-toto+json');
  for (const [subject, digests] of referrersOf) {
    await writeReferrersTagIndex(
      t,
      subject,
      graph.filter((m) => digests.includes(m.digest)).map((m) => m.descriptor),
    );
  }
});

afterAll(async () => {
  await proxyA?.stop();
  await proxyB?.stop();
  await source?.stop();
  await target?.stop();
});

const credentials = (registry: string): Credential | undefined =>
  registry === proxyA.host
    ? { username: 'reader', password: 'reader-secret' }
    : registry === proxyB.host
      ? { username: 'writer', password: 'writer-secret' }
      : undefined;

async function assertComplete(t: SeedTarget, tag: string): Promise<void> {
  expect((await getManifest(t, tag))?.digest).toBe(root.digest);
  for (const m of graph) {
    const got = await getManifest(t, m.digest);
    expect(got?.digest).toBe(m.digest);
  }
  for (const [subject, digests] of referrersOf) {
    const index = await getManifest(t, referrersTag(subject));
    const listed = (index!.json as { manifests: { digest: string }[] }).manifests.map((d) => d.digest).sort();
    expect(listed).toEqual([...digests].sort());
  }
}

describe('a run that dies half way', () => {
  it('leaves no tag on an incomplete graph, and a rerun writes only what is missing', async () => {
    const run = async () => {
      const client = new RegistryClient({
        plainHttp: true,
        credentials: async (r) => credentials(r),
        retry: { baseDelayMs: 1, maxDelayMs: 2 },
      });
      try {
        return await promote(client, {
          source: parseReference(`${proxyA.host}/app:rc`),
          targets: [parseReference(`${proxyB.host}/halfway/app:1.0`)],
          copyReferrers: true,
          dryRun: false,
        });
      } finally {
        await client.close();
      }
    };
    const t = { ...target.target('halfway/app'), username: 'writer', password: 'writer-secret' };
    proxyA.reseed(7);
    proxyB.reseed(7);
    // The death comes once 4 manifests have been pushed to the target, in the middle of the
    // copy (the 10% faults go on, seeded).
    proxyB.failAfter(4, (method, url) => method === 'PUT' && url.includes('/manifests/'));
    // Whichever request meets the dead proxy first ends the run: a PUT carries its message, a
    // HEAD (a referrer's blob checked while the image graph is copied) only the status.
    await expect(run().finally(() => proxyB.failAfter(Infinity))).rejects.toThrow(
      /the run dies here|answered HTTP 400/,
    );
    expect(await getManifest(t, '1.0')).toBeNull();
    const copiedBefore = (await Promise.all(graph.map((m) => getManifest(t, m.digest)))).filter(Boolean).length;
    expect(copiedBefore).toBeGreaterThan(0);
    expect(copiedBefore).toBeLessThan(graph.length);

    const writesBefore = await target.writeCount();
    const result = await run();
    expect(result.copy.manifestsPresent).toBe(copiedBefore);
    expect(result.copy.manifestsCopied).toBe(graph.length - copiedBefore);
    await assertComplete(t, '1.0');
    expect(await target.writeCount()).toBeGreaterThan(writesBefore);
  }, 120_000);
});

describe(`${RUNS} promotions of a 32-node graph through ${RATE * 100}% injected faults`, () => {
  it('all end correct', async () => {
    const failures: string[] = [];
    for (let run = 1; run <= RUNS; run++) {
      proxyA.reseed(run);
      proxyB.reseed(1000 + run);
      const client = new RegistryClient({
        plainHttp: true,
        credentials: async (r) => credentials(r),
        retry: { baseDelayMs: 50, maxDelayMs: 1000 },
      });
      try {
        const result = await promote(client, {
          source: parseReference(`${proxyA.host}/app:rc`),
          targets: [
            parseReference(`${proxyB.host}/mirror/app-${run}:1.0`),
            parseReference(`${proxyA.host}/release/app-${run}:1.0`),
          ],
          copyReferrers: true,
          dryRun: false,
        });
        expect(result.targets.map((t) => t.status)).toEqual(['created', 'created']);
        await assertComplete(
          { ...target.target(`mirror/app-${run}`), username: 'writer', password: 'writer-secret' },
          '1.0',
        );
        await assertComplete(
          { ...source.target(`release/app-${run}`), username: 'reader', password: 'reader-secret' },
          '1.0',
        );
      } catch (err) {
        failures.push(`run ${run} (seeds ${run} and ${1000 + run}): ${(err as Error).message}`);
      } finally {
        await client.close();
      }
    }
    const a = proxyA.stats();
    const b = proxyB.stats();
    if (process.env.REPORT_FAULTS) {
      console.log(
        `${RUNS} runs, ${a.requests + b.requests} requests through the proxies, faults injected: ` +
          `503 ${a.faults['503'] + b.faults['503']}, 429 ${a.faults['429'] + b.faults['429']}, cut ${a.faults.cut + b.faults.cut}; failed runs: ${failures.length}`,
      );
    }
    if (process.env.REPORT_FAULTS) console.log(failures.join('\n'));
    expect(failures).toEqual([]);
    expect(a.faults['503'] + a.faults['429'] + a.faults.cut).toBeGreaterThan(RUNS);
  }, 900_000);
});
