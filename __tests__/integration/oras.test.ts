/**
 * Cross-checks with the ORAS CLI (oras.land/oras v1.3.6 from the Go module proxy), and runs
 * the action on registry storage that ORAS's own end-to-end tests produced
 * (__tests__/fixtures/oras-e2e, see its README): artifacts and referrers our code did not make.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promote, type PromotionRequest } from '../../src/engine/promote.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/oci/reference.js';
import { getManifest, listTags } from '../support/oci-seed.js';
import { oras, orasBinary, orasDiscover } from '../support/oras.js';
import { startDistribution, startReferrersRegistry, type RunningRegistry } from '../support/registries.js';
import { REPO_ROOT } from '../support/run-action.js';

const FIXTURES = join(REPO_ROOT, '__tests__', 'fixtures', 'oras-e2e');

const clients: RegistryClient[] = [];
function promoteWith(source: string, targets: string[], extra: Partial<PromotionRequest> = {}) {
  const c = new RegistryClient({ plainHttp: true });
  clients.push(c);
  return promote(c, {
    source: parseReference(source),
    targets: targets.map((t) => parseReference(t)),
    copyReferrers: true,
    dryRun: false,
    ...extra,
  });
}
afterAll(async () => Promise.all(clients.map((c) => c.close())));

let work: string;
beforeAll(async () => {
  orasBinary();
  work = await mkdtemp(join(tmpdir(), 'oras-work-'));
  await writeFile(join(work, 'app.txt'), 'the artifact');
  await writeFile(join(work, 'sbom.json'), '{"spdxVersion":"SPDX-2.3"}');
  await writeFile(join(work, 'sig.txt'), 'a signature');
  await writeFile(join(work, 'counter.txt'), 'a countersignature');
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe.each([
  ['distribution 2.8 (no referrers API)', () => startDistribution()],
  ['go-containerregistry (referrers API)', () => startReferrersRegistry()],
])('artifacts made with oras attach, on %s', (_name, start) => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await start();
  });
  afterAll(async () => registry?.stop());

  it('promote into another repository, where oras discover lists the same referrers as on the source', async () => {
    const src = `${registry.host}/oras/src`;
    await oras(
      ['push', '--plain-http', '--artifact-type', 'application/vnd.example.app', `${src}:rc`, 'app.txt'],
      work,
    );
    const sbom = JSON.parse(
      await oras(
        [
          'attach',
          '--plain-http',
          '--format',
          'json',
          '--artifact-type',
          'application/spdx+json',
          `${src}:rc`,
          'sbom.json',
        ],
        work,
      ),
    ) as { digest: string };
    await oras(
      ['attach', '--plain-http', '--artifact-type', 'application/vnd.example.signature', `${src}:rc`, 'sig.txt'],
      work,
    );
    await oras(
      [
        'attach',
        '--plain-http',
        '--artifact-type',
        'application/vnd.example.countersignature',
        `${src}@${sbom.digest}`,
        'counter.txt',
      ],
      work,
    );

    const onSource = await orasDiscover(`${src}:rc`);
    expect(onSource).toHaveLength(2);
    expect(onSource.flatMap((n) => n.referrers)).toHaveLength(1);

    const result = await promoteWith(`${src}:rc`, [`${registry.host}/oras/dst:1.0`]);
    expect(result.targets[0]!.status).toBe('created');
    expect(await orasDiscover(`${registry.host}/oras/dst:1.0`)).toEqual(onSource);
    if (registry.referrersApi) expect((await listTags(registry.target('oras/dst'))).sort()).toEqual(['1.0']);

    // Tagging within the repository that oras wrote to changes none of its referrers tags.
    const tagsBefore = (await listTags(registry.target('oras/src'))).sort();
    await promoteWith(
      `${src}@${sbom.digest}`,
      ['sbom-1'].map((t) => `${src}:${t}`),
    );
    expect((await listTags(registry.target('oras/src'))).sort()).toEqual([...tagsBefore, 'sbom-1'].sort());
    expect(await orasDiscover(`${src}:rc`)).toEqual(onSource);
  });
});

describe('registry storage made by the ORAS end-to-end tests', () => {
  const started: RunningRegistry[] = [];
  const startFrom = async (archive: string) => {
    const path = join(FIXTURES, archive);
    if (!existsSync(path))
      throw new Error(`Missing fixture ${path} (__tests__/fixtures/oras-e2e holds the ORAS end-to-end archives)`);
    const r = await startDistribution({ storage: path });
    started.push(r);
    return r;
  };
  afterAll(async () => Promise.all(started.map((r) => r.stop())));

  it('promotes an artifact whose referrers (and a referrer of a referrer) ORAS listed through referrers tags', async () => {
    const registry = await startFrom('mount_fallback-artifacts.tar.gz');
    const src = `${registry.host}/command/artifacts`;
    const onSource = await orasDiscover(`${src}:foobar`);
    expect(onSource.length).toBeGreaterThan(0);
    expect(onSource.flatMap((n) => n.referrers).length).toBeGreaterThan(0);

    const result = await promoteWith(`${src}:foobar`, [`${registry.host}/release/artifacts:v1`, `${src}:v1`]);
    expect(result.targets.map((t) => t.status)).toEqual(['created', 'created']);
    expect(result.referrers.map((r) => r.depth).sort()).toEqual([1, 2]);
    expect(await orasDiscover(`${registry.host}/release/artifacts:v1`)).toEqual(onSource);
    // Tagging in the source repository left ORAS's referrers tags as they were.
    expect(await orasDiscover(`${src}:v1`)).toEqual(onSource);
  });

  it.each([
    ['mount-artifacts_index.tar.gz', 'command/artifacts', 'multi'],
    ['mount-images.tar.gz', 'command/images', 'multi'],
    ['mount-images.tar.gz', 'command/images', 'foobar'],
    ['mount-artifacts.tar.gz', 'command/artifacts', 'foobar'],
  ])('copies %s %s:%s byte for byte into another repository', async (archive, repo, tag) => {
    const registry = await startFrom(archive);
    const source = await getManifest(registry.target(repo), tag);
    expect(source).not.toBeNull();
    const result = await promoteWith(`${registry.host}/${repo}:${tag}`, [`${registry.host}/copy/${repo}:${tag}`]);
    expect(result.digest).toBe(source!.digest);
    const copied = await getManifest(registry.target(`copy/${repo}`), tag);
    expect(copied!.mediaType).toBe(source!.mediaType);
    expect(Buffer.from(copied!.bytes).equals(Buffer.from(source!.bytes))).toBe(true);
    const children = (source!.json as { manifests?: { digest: string }[] }).manifests ?? [];
    for (const child of children)
      expect((await getManifest(registry.target(`copy/${repo}`), child.digest))?.digest).toBe(child.digest);
    expect(result.copy.blobsUploaded).toBe(0);
  });
});
