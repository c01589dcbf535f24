/**
 * Acceptance test of issue 10, "Real signing clients": what the real cosign CLIs (v2.6.5 and
 * v3.1.3, see ../support/cosign.ts) signed on the source verifies on the target after a
 * promotion into another registry, wherever it verified on the source.
 *
 * Three signed multi-arch indexes per source registry, each promoted on its own:
 * - cosign v2 with tags: `sign --recursive` (tags `sha256-<hex>.sig` of the index and of each
 *   platform manifest), `attest` (`.att` of the index), `attach sbom` (`.sbom` of the index),
 *   and `sign` of the SBOM's own digest (`.sig` of the SBOM);
 * - cosign v2 with `--registry-referrers-mode=oci-1-1`: the same recursive signatures, as OCI 1.1
 *   referrers;
 * - cosign v3: `sign --recursive` and `attest`, Sigstore bundles stored as OCI 1.1 referrers.
 *
 * Each check first runs on the source (a check that fails there is a broken test, not a
 * finding), then the same command runs on the target against the same digest.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote } from '../../src/engine/promote.js';
import { describeFailure, startCosign, type Cosign, type CosignResult } from '../support/cosign.js';
import { headManifest, pushImage, pushIndex, referrersTag, type SeedTarget } from '../support/oci-seed.js';
import { clientsClosedAfterAll, promotionRequest } from '../support/promotion.js';
import {
  startDistribution,
  startDistributionV3,
  startReferrersRegistry,
  type RunningRegistry,
} from '../support/registries.js';

const client = clientsClosedAfterAll();
const SETUP_TIMEOUT = 300_000;

const PREDICATE_TYPE = 'https://example.com/oci-promote-action/test-predicate/v1';
const SBOM = JSON.stringify({ spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'signed-app' });

const REGISTRIES = {
  'distribution 2.8': () => startDistribution(),
  'distribution v3': () => startDistributionV3(),
  'go-containerregistry (referrers API)': () => startReferrersRegistry(),
} as const;
type RegistryName = keyof typeof REGISTRIES;

/** Both directions between the registry with the referrers API and distribution 2.8; distribution v3 once each way. */
const PAIRS: Array<[RegistryName, RegistryName]> = [
  ['go-containerregistry (referrers API)', 'distribution 2.8'],
  ['distribution 2.8', 'go-containerregistry (referrers API)'],
  ['distribution v3', 'go-containerregistry (referrers API)'],
  ['distribution 2.8', 'distribution v3'],
];

/** What a check needs: the repository (`host/name`) and the digests of what was signed there. */
interface Signed {
  index: string;
  amd64: string;
  arm64: string;
  /** The SBOM manifest cosign attached (v2 tags only). */
  sbom?: string;
}

interface Check {
  name: string;
  run(repo: string, s: Signed): Promise<CosignResult>;
  /** Extra condition on a successful result (default: none). */
  accept?(r: CosignResult): boolean;
}

let v2: Cosign;
let v3: Cosign;
beforeAll(async () => {
  [v2, v3] = await Promise.all([startCosign('v2'), startCosign('v3')]);
});
afterAll(async () => Promise.all([v2?.close(), v3?.close()]));

const V2_TAG_CHECKS: Check[] = [
  { name: 'cosign v2 verify of the index', run: (r, s) => v2.verify(`${r}@${s.index}`) },
  { name: 'cosign v2 verify of the linux/amd64 manifest', run: (r, s) => v2.verify(`${r}@${s.amd64}`) },
  { name: 'cosign v2 verify of the linux/arm64 manifest', run: (r, s) => v2.verify(`${r}@${s.arm64}`) },
  {
    name: 'cosign v2 verify-attestation of the index',
    run: (r, s) => v2.verifyAttestation(`${r}@${s.index}`, PREDICATE_TYPE),
  },
  {
    name: 'cosign v2 download sbom of the index',
    run: (r, s) => v2.downloadSbom(`${r}@${s.index}`),
    accept: (res) => res.stdout.trim() === SBOM,
  },
  { name: 'cosign v2 verify of the SBOM', run: (r, s) => v2.verify(`${r}@${s.sbom!}`) },
];

const V2_REFERRER_CHECKS: Check[] = [
  {
    name: 'cosign v2 verify --experimental-oci11 of the index',
    run: (r, s) => v2.verify(`${r}@${s.index}`, { referrers: true }),
  },
  {
    name: 'cosign v2 verify --experimental-oci11 of the linux/amd64 manifest',
    run: (r, s) => v2.verify(`${r}@${s.amd64}`, { referrers: true }),
  },
  {
    name: 'cosign v2 verify --experimental-oci11 of the linux/arm64 manifest',
    run: (r, s) => v2.verify(`${r}@${s.arm64}`, { referrers: true }),
  },
];

const V3_CHECKS: Check[] = [
  { name: 'cosign v3 verify of the index', run: (r, s) => v3.verify(`${r}@${s.index}`) },
  { name: 'cosign v3 verify of the linux/amd64 manifest', run: (r, s) => v3.verify(`${r}@${s.amd64}`) },
  { name: 'cosign v3 verify of the linux/arm64 manifest', run: (r, s) => v3.verify(`${r}@${s.arm64}`) },
  {
    name: 'cosign v3 verify-attestation of the index',
    run: (r, s) => v3.verifyAttestation(`${r}@${s.index}`, PREDICATE_TYPE),
  },
];

/** A multi-arch index tagged `rc`, its two platform manifests by digest. */
async function seedIndex(t: SeedTarget, seed: string): Promise<Signed> {
  const amd64 = await pushImage(t, undefined, {
    seed: `${seed}-amd64`,
    platform: { os: 'linux', architecture: 'amd64' },
  });
  const arm64 = await pushImage(t, undefined, {
    seed: `${seed}-arm64`,
    platform: { os: 'linux', architecture: 'arm64' },
  });
  const index = await pushIndex(t, 'rc', [amd64.descriptor, arm64.descriptor]);
  return { index: index.digest, amd64: amd64.digest, arm64: arm64.digest };
}

/** Runs the checks, returning one line per check that failed (empty when all passed). */
async function failedChecks(checks: Check[], repo: string, s: Signed): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  await Promise.all(
    checks.map(async (c) => {
      const r = await c.run(repo, s);
      if (r.code !== 0) failed.set(c.name, describeFailure(r));
      else if (c.accept && !c.accept(r))
        failed.set(c.name, `${r.command}: unexpected output ${r.stdout.slice(0, 200)}`);
    }),
  );
  return failed;
}

describe.each(PAIRS)('cosign signatures promoted from %s to %s', (fromName, toName) => {
  let from: RunningRegistry;
  let to: RunningRegistry;
  /** Per scenario: the check results on the target, by check name ('ok' or the failure). */
  const onTarget = new Map<string, string>();

  /** Seeds and signs `repo` on the source, checks the source, promotes to the target, checks the target. */
  const scenario = async (
    repo: string,
    checks: Check[],
    sign: (ref: (d: string) => string, s: Signed) => Promise<void>,
  ) => {
    const s = await seedIndex(from.target(repo), `${repo}-${fromName}`);
    await sign((d) => `${from.host}/${repo}@${d}`, s);
    const onSource = await failedChecks(checks, `${from.host}/${repo}`, s);
    if (onSource.size > 0) {
      throw new Error(`On the source ${from.host} already:\n${[...onSource.values()].join('\n')}`);
    }
    const result = await promote(client(), promotionRequest(`${from.host}/${repo}:rc`, [`${to.host}/${repo}:1.0`]));
    expect(result.targets[0]).toMatchObject({ digest: s.index, status: 'created' });
    const failed = await failedChecks(checks, `${to.host}/${repo}`, s);
    for (const c of checks) onTarget.set(c.name, failed.get(c.name) ?? 'ok');
  };

  beforeAll(async () => {
    [from, to] = await Promise.all([REGISTRIES[fromName](), REGISTRIES[toName]()]);
    await Promise.all([
      scenario('cosign/tags', V2_TAG_CHECKS, async (ref, s) => {
        await v2.sign(ref(s.index), { recursive: true });
        await v2.attest(ref(s.index), PREDICATE_TYPE, { builder: 'oci-promote-action tests', repo: 'cosign/tags' });
        await v2.attachSbom(ref(s.index), SBOM);
        const sbom = await headManifest(from.target('cosign/tags'), `${referrersTag(s.index)}.sbom`);
        if (!sbom) throw new Error(`cosign attach sbom left no ${referrersTag(s.index)}.sbom tag`);
        s.sbom = sbom.digest;
        await v2.sign(ref(s.sbom));
      }),
      scenario('cosign/referrers', V2_REFERRER_CHECKS, async (ref, s) => {
        await v2.sign(ref(s.index), { recursive: true, referrers: true });
      }),
      scenario('cosign/bundles', V3_CHECKS, async (ref, s) => {
        await v3.sign(ref(s.index), { recursive: true });
        await v3.attest(ref(s.index), PREDICATE_TYPE, { builder: 'oci-promote-action tests', repo: 'cosign/bundles' });
      }),
    ]);
  }, SETUP_TIMEOUT);
  afterAll(async () => Promise.all([from?.stop(), to?.stop()]));

  it.each([...V2_TAG_CHECKS, ...V2_REFERRER_CHECKS, ...V3_CHECKS].map((c) => c.name))(
    '%s passes on the target as on the source',
    (name) => {
      expect(onTarget.get(name)).toBe('ok');
    },
  );
});
