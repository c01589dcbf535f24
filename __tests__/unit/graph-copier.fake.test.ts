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

  it('checks an index and its children in the same round, when it has the index already', async () => {
    const { from, to, copier } = twoRegistries();
    const content = from.content('app');
    const amd64 = seedImage(content, { seed: 'early-amd64', layers: 1 });
    const arm64 = seedImage(content, { seed: 'early-arm64', layers: 1, architecture: 'arm64' });
    const index = seedIndex(content, [amd64, arm64], 'rc');
    // Hold the index's existence check: the children's go out meanwhile.
    let whileHeld: string[] = [];
    to.options.hooks.before = async (op) => {
      if (op.method !== 'HEAD' || op.reference !== index.digest) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
      whileHeld = to.log.filter((o) => o.method === 'HEAD').map((o) => o.reference);
    };

    await copier.copyManifest(index.descriptor, index);

    expect(whileHeld.sort()).toEqual([index.digest, amd64.digest, arm64.digest].sort());
    // Each checked once, all copied.
    expect(to.log.filter((op) => op.method === 'HEAD' && op.kind === 'manifest')).toHaveLength(3);
    expect(copier.stats).toMatchObject({ manifestsCopied: 3, manifestsPresent: 0 });
  });

  it('of an index already there, only looks at its children: nothing is read from the source or written', async () => {
    const { from, to, copier } = twoRegistries();
    const content = from.content('app');
    const amd64 = seedImage(content, { seed: 'there-amd64', layers: 1 });
    const index = seedIndex(content, [amd64], 'rc');
    seedIndex(to.content('app'), [seedImage(to.content('app'), { seed: 'there-amd64', layers: 1 })], 'old');

    await copier.copyManifest(index.descriptor, index);

    expect(to.log.map(formatOperation).sort()).toEqual(
      [`HEAD manifest ${index.digest}`, `HEAD manifest ${amd64.digest}`].sort(),
    );
    expect(from.log).toEqual([]);
    expect(copier.stats).toMatchObject({ manifestsCopied: 0, manifestsPresent: 1 });
  });

  it('reads before its write gate opens, and writes nothing before it', async () => {
    const from = new MemoryRegistry({ name: 'from.example' });
    const to = new MemoryRegistry({ name: 'to.example' });
    const content = from.content('app');
    const amd64 = seedImage(content, { seed: 'gate-amd64', layers: 2 });
    const index = seedIndex(content, [amd64], 'rc');
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const copier = new GraphCopier(
      from.repository({ registry: 'from.example', repository: 'app' }, 'pull'),
      to.repository({ registry: 'to.example', repository: 'app' }, 'push'),
      { concurrency: 4, logger: SILENT_LOGGER, writeGate: gate },
    );

    const copying = copier.copyManifest(index.descriptor, index);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The existence checks (across registries, the blobs' too) and the child's manifest, nothing more.
    const blobs = (content.json(amd64.digest) as { config: { digest: string }; layers: { digest: string }[] }).layers
      .map((l) => l.digest)
      .concat((content.json(amd64.digest) as { config: { digest: string } }).config.digest);
    expect(to.log.map(formatOperation).sort()).toEqual(
      [`HEAD manifest ${index.digest}`, `HEAD manifest ${amd64.digest}`, ...blobs.map((b) => `HEAD blob ${b}`)].sort(),
    );
    expect(from.log.map(formatOperation)).toEqual([`GET manifest ${amd64.digest}`]);
    open();
    await copying;
    expect(to.content('app').resolve(index.digest)).toBe(index.digest);
    expect(writtenBeforeWhatNamesThem(to, 'app')).toEqual([]);
  });

  it('stops at its first write when its write gate fails, having written nothing', async () => {
    const from = new MemoryRegistry({ name: 'from.example' });
    const to = new MemoryRegistry({ name: 'to.example' });
    const image = seedImage(from.content('app'), { seed: 'gate-closed', layers: 2, tag: 'rc' });
    const copier = new GraphCopier(
      from.repository({ registry: 'from.example', repository: 'app' }, 'pull'),
      to.repository({ registry: 'to.example', repository: 'app' }, 'push'),
      { concurrency: 4, logger: SILENT_LOGGER, writeGate: Promise.reject(new Error('refused by the policy gate')) },
    );

    await expect(copier.copyManifest(image.descriptor, image)).rejects.toThrow('refused by the policy gate');
    expect(to.log.filter((op) => op.method !== 'HEAD')).toEqual([]);
  });

  it('across registries, opens the upload session while the download starts', async () => {
    const { from, to, copier } = twoRegistries();
    const image = seedImage(from.content('app'), { seed: 'session', layers: 1, tag: 'rc' });
    const layer = (from.content('app').json(image.digest) as { layers: { digest: string }[] }).layers[0]!.digest;
    let whileDownloading: string[] = [];
    from.options.hooks.before = async (op) => {
      if (op.method !== 'GET' || op.reference !== layer) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
      whileDownloading = to.log.filter((o) => o.reference === layer).map(formatOperation);
    };

    await copier.copyManifest(image.descriptor, image);

    expect(whileDownloading).toEqual([`HEAD blob ${layer}`, `POST upload ${layer}`]);
    expect(to.log.filter((o) => o.reference === layer).map(formatOperation)).toEqual([
      `HEAD blob ${layer}`,
      `POST upload ${layer}`,
      `PUT blob ${layer}`,
    ]);
  });
});
