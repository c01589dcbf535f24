/**
 * GraphCopier on the in-memory STAND-IN registry: the order of writes, each digest once, and
 * what a manifest already in the target saves. The same copier against real registries is
 * covered by __tests__/integration/promote-across.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { GraphCopier } from '../../src/engine/copy.js';
import { SILENT_LOGGER } from '../../src/engine/logger.js';
import { InvalidHeaderError } from '../../src/registry/http/failures.js';
import { MemoryRegistry, formatOperation } from '../support/memory-registry.js';
import { firstWrites, writtenBeforeWhatNamesThem } from '../support/memory-order.js';
import { seedImage, seedIndex } from '../support/memory-seed.js';

function twoRegistries() {
  const from = new MemoryRegistry({ name: 'from.example' });
  const to = new MemoryRegistry({ name: 'to.example' });
  const source = from.repository({ registry: 'from.example', repository: 'app' }, 'pull');
  const target = to.repository({ registry: 'to.example', repository: 'app' }, 'push');
  const copier = new GraphCopier(source, target, { concurrency: 4, logger: SILENT_LOGGER });
  return { from, to, source, target, copier };
}

describe('GraphCopier (in-memory stand-in)', () => {
  it('writes children before parents and blobs before the manifests that name them', async () => {
    const { from, to, copier } = twoRegistries();
    const content = from.content('app');
    const amd64 = seedImage(content, { seed: 'order-amd64', layers: 3 });
    const arm64 = seedImage(content, { seed: 'order-arm64', layers: 3, architecture: 'arm64' });
    const index = seedIndex(content, [amd64, arm64], 'rc');

    await copier.copyManifest(index.descriptor, index);

    const writes = firstWrites(to, 'app');
    // 2 manifests x (3 layers + config) blobs, 2 images, 1 index.
    expect([...writes.values()].filter((op) => op.kind === 'blob')).toHaveLength(8);
    expect([...writes.keys()].filter((r) => r.startsWith('sha256:') && writes.get(r)!.kind === 'manifest')).toEqual(
      expect.arrayContaining([amd64.digest, arm64.digest, index.digest]),
    );
    expect(writtenBeforeWhatNamesThem(to, 'app')).toEqual([]);
    // The index is the last write of all.
    expect(Math.max(...[...writes.values()].map((op) => op.seq))).toBe(writes.get(index.digest)!.seq);
  });

  it('copies each digest once, however often the graph names it', async () => {
    const { from, to, copier } = twoRegistries();
    const content = from.content('app');
    // Two platforms built from the same seed share their layers and config.
    const a = seedImage(content, { seed: 'shared', layers: 2 });
    const b = seedImage(content, { seed: 'shared', layers: 2, architecture: 'arm64' });
    const index = seedIndex(content, [a, b, a], 'rc');

    await Promise.all([copier.copyManifest(index.descriptor, index), copier.copyManifest(a.descriptor)]);

    const puts = to.log.filter((op) => op.method === 'PUT').map(formatOperation);
    expect(new Set(puts).size).toBe(puts.length);
    expect(copier.stats.manifestsCopied).toBe(3);
    // 2 shared layers, and 2 configs (they differ by architecture).
    expect(copier.stats.blobsUploaded).toBe(4);
  });

  it('does not start a blob copy again for an upload Location it cannot use', async () => {
    const { from, to, copier } = twoRegistries();
    const image = seedImage(from.content('app'), { seed: 'bad-location', layers: 1 });
    to.options.hooks.before = (op) => {
      if (op.method === 'PUT' && op.kind === 'blob') {
        throw new InvalidHeaderError({ header: 'Location', value: 'ftp://x/y', method: 'POST', host: 'to.example' });
      }
    };

    const err = await copier.copyManifest(image.descriptor, image).catch((e: unknown) => e);

    expect((err as Error).message).toContain('sent an invalid Location header');
    const puts = to.log.filter((op) => op.method === 'PUT' && op.kind === 'blob');
    // One try per blob (the config and the layer), not six.
    expect(puts).toHaveLength(2);
  });

  it('takes a manifest already in the target as complete: its children are not looked at', async () => {
    const { from, to, copier } = twoRegistries();
    const content = from.content('app');
    const amd64 = seedImage(content, { seed: 'present-amd64', layers: 2 });
    const arm64 = seedImage(content, { seed: 'present-arm64', layers: 2, architecture: 'arm64' });
    const index = seedIndex(content, [amd64, arm64], 'rc');
    // The target has amd64 already (with its blobs, as a registry would).
    const there = to.content('app');
    seedImage(there, { seed: 'present-amd64', layers: 2 });

    await copier.copyManifest(index.descriptor, index);

    const amd64Blobs = (content.json(amd64.digest) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
    const touched = [...from.log, ...to.log].map((op) => op.reference);
    expect(to.log.filter((op) => op.reference === amd64.digest).map(formatOperation)).toEqual([
      `HEAD manifest ${amd64.digest}`,
    ]);
    expect(from.log.some((op) => op.reference === amd64.digest)).toBe(false);
    for (const blob of amd64Blobs) expect(touched).not.toContain(blob);
    expect(copier.stats).toMatchObject({ manifestsPresent: 1, manifestsCopied: 2 });
  });

  it('mounts blobs within one registry, and uploads where the registry will not mount', async () => {
    for (const blobMount of [true, false]) {
      const registry = new MemoryRegistry({ name: 'one.example', blobMount });
      const image = seedImage(registry.content('staging/app'), { seed: `mount-${blobMount}`, layers: 2, tag: 'rc' });
      const copier = new GraphCopier(
        registry.repository({ registry: 'one.example', repository: 'staging/app' }, 'pull'),
        registry.repository({ registry: 'one.example', repository: 'prod/app' }, 'push'),
        { concurrency: 2, logger: SILENT_LOGGER },
      );
      await copier.copyManifest(image.descriptor, image);
      expect(copier.stats).toMatchObject(
        blobMount ? { blobsMounted: 3, blobsUploaded: 0 } : { blobsMounted: 0, blobsUploaded: 3 },
      );
      expect(registry.content('prod/app').resolve(image.digest)).toBe(image.digest);
    }
  });
});
