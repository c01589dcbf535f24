/**
 * The graph most promotion tests copy: a multi-arch index with two platforms; an SBOM and a
 * signature on the index; an attestation on the amd64 child; a countersignature on the signature.
 */
import {
  pushArtifact,
  pushImage,
  pushIndex,
  writeReferrersTagIndex,
  type PushedManifest,
  type SeedTarget,
} from './oci-seed.js';
import type { RunningRegistry } from './registries.js';

export const SBOM = 'application/spdx+json';
export const SIG = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const ATT = 'application/vnd.in-toto+json';
export const COUNTER = 'application/vnd.example.countersignature';

export interface Graph {
  index: PushedManifest;
  amd64: PushedManifest;
  arm64: PushedManifest;
  sbom: PushedManifest;
  sig: PushedManifest;
  att: PushedManifest;
  counter: PushedManifest;
}

/** Which referrers refer to which subject, by digest. */
export function expectedReferrers(g: Graph): Map<string, string[]> {
  return new Map([
    [g.index.digest, [g.sbom.digest, g.sig.digest].sort()],
    [g.amd64.digest, [g.att.digest]],
    [g.sig.digest, [g.counter.digest]],
  ]);
}

/** Seeds the graph; without the API it also writes the referrers tags, as the pushing client would. */
export async function seedGraph(registry: RunningRegistry, t: SeedTarget, seed: string, tag = 'rc'): Promise<Graph> {
  const amd64 = await pushImage(t, undefined, {
    seed: `${seed}-amd64`,
    layers: 2,
    platform: { os: 'linux', architecture: 'amd64' },
  });
  const arm64 = await pushImage(t, undefined, {
    seed: `${seed}-arm64`,
    layers: 2,
    platform: { os: 'linux', architecture: 'arm64' },
  });
  const index = await pushIndex(t, tag, [amd64.descriptor, arm64.descriptor]);
  const sbom = await pushArtifact(t, index.descriptor, SBOM, {
    annotations: { 'org.example.seed': seed },
    payload: `sbom ${seed}`,
  });
  const sig = await pushArtifact(t, index.descriptor, SIG, { payload: `sig ${seed}` });
  const att = await pushArtifact(t, amd64.descriptor, ATT, { payload: `att ${seed}` });
  const counter = await pushArtifact(t, sig.descriptor, COUNTER, { payload: `counter ${seed}` });
  if (!registry.referrersApi) {
    await writeReferrersTagIndex(t, index.digest, [sbom.descriptor, sig.descriptor]);
    await writeReferrersTagIndex(t, amd64.digest, [att.descriptor]);
    await writeReferrersTagIndex(t, sig.digest, [counter.descriptor]);
  }
  return { index, amd64, arm64, sbom, sig, att, counter };
}
