/**
 * The plan: a dry run walks the graph a real run would copy, reading only, and says for each node
 * what would happen; the real run's plan says what happened. Against real registries, without
 * and with the referrers API, within one registry and across two.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { renderSummary } from '../../src/action/summary.js';
import type { PlanNode, RepositoryPlan } from '../../src/engine/plan.js';
import { promote } from '../../src/engine/promote.js';
import { seedGraph } from '../support/graph.js';
import { checkMarkdownStructure } from '../support/markdown.js';
import { getManifest, pushArtifact, pushImage, writeReferrersTagIndex } from '../support/oci-seed.js';
import { clientsClosedAfterAll, promotionRequest } from '../support/promotion.js';
import { startDistribution, startReferrersRegistry, type RunningRegistry } from '../support/registries.js';

const FOREIGN = 'application/vnd.example.foreign';

const client = clientsClosedAfterAll();
const request = (source: string, target: string, dryRun: boolean) => promotionRequest(source, [target], { dryRun });

/** What a plan says, node by node, comparable between runs. */
const fates = (plan: RepositoryPlan, kinds?: PlanNode['kind'][]) =>
  plan.nodes
    .filter((n) => !kinds || kinds.includes(n.kind))
    .map((n) => `${n.kind} ${n.tag ?? n.digest} ${n.action}`)
    .sort();

const node = (plan: RepositoryPlan, kind: PlanNode['kind'], digest: string) =>
  plan.nodes.find((n) => n.kind === kind && n.digest === digest);

describe.each([
  ['distribution 2.8 (no referrers API)', () => startDistribution()],
  ['go-containerregistry (referrers API)', () => startReferrersRegistry()],
])('plan within one registry on %s', (_name, start) => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await start();
  });
  afterAll(async () => registry?.stop());

  it('a dry run writes nothing and plans exactly what the real run then does', async () => {
    const src = registry.target('staging/plan');
    const dst = registry.target('prod/plan');
    const g = await seedGraph(registry, src, 'plan');
    // The target already has one platform, and a referrer of the index from another client.
    const arm64 = await pushImage(dst, undefined, {
      seed: 'plan-arm64',
      layers: 2,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    expect(arm64.digest).toBe(g.arm64.digest);
    const foreign = await pushArtifact(dst, g.index.descriptor, FOREIGN);
    if (!registry.referrersApi) await writeReferrersTagIndex(dst, g.index.digest, [foreign.descriptor]);

    const writesBefore = await registry.writeCount();
    const dry = await promote(
      client(),
      request(`${registry.host}/staging/plan:rc`, `${registry.host}/prod/plan:1.0`, true),
    );
    expect(await registry.writeCount()).toBe(writesBefore);
    expect(await getManifest(dst, '1.0')).toBeNull();
    expect(dry.targets).toEqual([
      { reference: `${registry.host}/prod/plan:1.0`, digest: g.index.digest, status: 'created' },
    ]);

    const real = await promote(
      client(),
      request(`${registry.host}/staging/plan:rc`, `${registry.host}/prod/plan:1.0`, false),
    );
    expect(real.plan).toHaveLength(1);
    expect(fates(dry.plan[0]!)).toEqual(fates(real.plan[0]!));
    expect([...dry.referrersTags].sort()).toEqual([...real.referrersTags].sort());

    const plan = real.plan[0]!;
    expect(plan.repository).toBe(`${registry.host}/prod/plan`);
    expect(node(plan, 'index', g.index.digest)).toMatchObject({ action: 'copy', size: g.index.descriptor.size });
    expect(node(plan, 'manifest', g.amd64.digest)).toMatchObject({ action: 'copy', parent: g.index.digest });
    // Already there: left alone, and its blobs not even looked at.
    expect(node(plan, 'manifest', g.arm64.digest)).toMatchObject({ action: 'present', parent: g.index.digest });
    const arm64Layers = (JSON.parse(Buffer.from(g.arm64.bytes).toString()) as { layers: { digest: string }[] }).layers;
    for (const l of arm64Layers) expect(node(plan, 'blob', l.digest)).toBeUndefined();
    const listedBy = registry.referrersApi ? 'referrers API' : 'referrers tag';
    for (const [r, subject] of [
      [g.sbom, g.index],
      [g.sig, g.index],
      [g.att, g.amd64],
      [g.counter, g.sig],
    ] as const) {
      expect(node(plan, 'referrer', r.digest)).toMatchObject({ action: 'copy', parent: subject.digest, listedBy });
    }
    expect(plan.nodes.filter((n) => n.kind === 'blob').every((n) => n.action === 'mount')).toBe(true);
    const tags = plan.nodes.filter((n) => n.kind === 'referrers-tag').map((n) => [n.digest, n.action]);
    if (registry.referrersApi) {
      expect(tags).toEqual([]);
    } else {
      // The index's tag had the foreign referrer: merged; the others are new.
      expect(tags.sort()).toEqual(
        [
          [g.index.digest, 'merge'],
          [g.amd64.digest, 'create'],
          [g.sig.digest, 'create'],
        ].sort(),
      );
    }

    // The summary of each run carries its plan, well-formed.
    const drySummary = renderSummary(dry, { traffic: {} });
    const realSummary = renderSummary(real, { traffic: {} });
    checkMarkdownStructure(drySummary);
    checkMarkdownStructure(realSummary);
    expect(drySummary).toContain(`### Plan for <code>${registry.host}/prod/plan</code>`);
    expect(realSummary).toContain(`### Copied into <code>${registry.host}/prod/plan</code>`);
    expect(drySummary).toContain(`<code>${g.amd64.digest}</code>`);

    // A second dry run after the real one finds everything there.
    const again = await promote(
      client(),
      request(`${registry.host}/staging/plan:rc`, `${registry.host}/prod/plan:1.0`, true),
    );
    expect(again.targets[0]!.status).toBe('unchanged');
    expect(again.plan[0]!.nodes.every((n) => n.action === 'present')).toBe(true);
  });
});

describe('plan across two registries', () => {
  let from: RunningRegistry;
  let to: RunningRegistry;
  beforeAll(async () => {
    [from, to] = await Promise.all([startDistribution(), startReferrersRegistry()]);
  });
  afterAll(async () => Promise.all([from?.stop(), to?.stop()]));

  it('plans uploads, and leaves where the referrers go to the first write', async () => {
    const g = await seedGraph(from, from.target('staging/app'), 'across');
    const writesBefore = await to.writeCount();
    const dry = await promote(client(), request(`${from.host}/staging/app:rc`, `${to.host}/prod/app:1.0`, true));
    expect(await to.writeCount()).toBe(writesBefore);
    const real = await promote(client(), request(`${from.host}/staging/app:rc`, `${to.host}/prod/app:1.0`, false));

    // Every manifest, referrer and blob: the same fate.
    const kinds: PlanNode['kind'][] = ['index', 'manifest', 'referrer', 'blob'];
    expect(fates(dry.plan[0]!, kinds)).toEqual(fates(real.plan[0]!, kinds));
    expect(dry.plan[0]!.nodes.filter((n) => n.kind === 'blob').every((n) => n.action === 'copy')).toBe(true);
    // The dry run could not know that the target has the API: its referrers-tag nodes say so.
    const conditional = dry.plan[0]!.nodes.filter((n) => n.kind === 'referrers-tag');
    expect(conditional.length).toBeGreaterThan(0);
    for (const n of conditional) expect(n.condition).toMatch(/no referrers API/);
    expect(dry.referrersTags).toEqual([]);
    // The real run learned it, and wrote no referrers tag.
    expect(real.plan[0]!.nodes.filter((n) => n.kind === 'referrers-tag')).toEqual([]);
    expect(node(real.plan[0]!, 'referrer', g.sig.digest)).toMatchObject({ listedBy: 'referrers API' });
    expect(node(dry.plan[0]!, 'referrer', g.sig.digest)?.listedBy).toBeUndefined();
  });
});
