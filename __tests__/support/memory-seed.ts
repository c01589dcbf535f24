/**
 * Test content for the in-memory registry, written straight into a repository's content (no
 * log, no hooks), built with node:crypto and JSON alone: fixtures are not made with the code
 * under test.
 */
import type { RepositoryContent } from './memory-registry.js';
import { tagOf } from './memory-registry.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import type { FetchedManifest } from '../../src/registry/types.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

export interface Seeded extends FetchedManifest {
  descriptor: Descriptor;
}

function seeded(m: FetchedManifest, extra: Partial<Descriptor> = {}): Seeded {
  return { ...m, descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.size, ...extra } };
}

/** An image manifest with `layers` small layers and a config; tagged when `tag` is given. */
export function seedImage(
  repo: RepositoryContent,
  options: { seed: string; layers?: number; tag?: string; architecture?: string },
): Seeded {
  const layers = Array.from({ length: options.layers ?? 1 }, (_, i) =>
    repo.putBlob(`${options.seed} layer ${i}`, OCI_LAYER),
  );
  const architecture = options.architecture ?? 'amd64';
  const config = repo.putBlob(JSON.stringify({ architecture, os: 'linux', seed: options.seed }), OCI_CONFIG);
  const m = repo.putManifest({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }, options.tag);
  return seeded(m, { platform: { os: 'linux', architecture } });
}

/** An image index of `children`; tagged when `tag` is given. */
export function seedIndex(repo: RepositoryContent, children: Seeded[], tag?: string): Seeded {
  return seeded(
    repo.putManifest({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((c) => c.descriptor) }, tag),
  );
}

/** An OCI 1.1 artifact referring to `subject`: empty config, one payload layer. */
export function seedArtifact(
  repo: RepositoryContent,
  subject: Seeded,
  artifactType: string,
  options: { payload?: string; annotations?: Record<string, string>; tag?: string } = {},
): Seeded {
  const config = repo.putBlob('{}', OCI_EMPTY);
  const layer = repo.putBlob(options.payload ?? `${artifactType} of ${subject.digest}`, 'text/plain');
  const m = repo.putManifest(
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config,
      layers: [layer],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      ...(options.annotations && { annotations: options.annotations }),
    },
    options.tag,
  );
  return seeded(m, { artifactType, ...(options.annotations && { annotations: options.annotations }) });
}

/** The referrers tag `sha256-<hex>` of `subject`, listing `referrers`, as a client without the API writes it. */
export function seedReferrersTag(repo: RepositoryContent, subject: string, referrers: Seeded[]): Seeded {
  return seeded(
    repo.putManifest(
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: referrers.map((r) => r.descriptor) },
      tagOf(subject),
    ),
  );
}

/** The graph most engine tests copy: an index of two images, referrers on the index, a child and a referrer. */
export interface MemoryGraph {
  index: Seeded;
  amd64: Seeded;
  arm64: Seeded;
  sbom: Seeded;
  sig: Seeded;
  att: Seeded;
  counter: Seeded;
}

export const SBOM = 'application/spdx+json';
export const SIG = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const ATT = 'application/vnd.in-toto+json';
export const COUNTER = 'application/vnd.example.countersignature';

/** Seeds the graph under `tag`; with `referrersTags`, also the referrers tags a client without the API writes. */
export function seedGraph(
  repo: RepositoryContent,
  options: { seed: string; tag?: string; referrersTags: boolean },
): MemoryGraph {
  const amd64 = seedImage(repo, { seed: `${options.seed}-amd64`, layers: 2 });
  const arm64 = seedImage(repo, { seed: `${options.seed}-arm64`, layers: 2, architecture: 'arm64' });
  const index = seedIndex(repo, [amd64, arm64], options.tag ?? 'rc');
  const sbom = seedArtifact(repo, index, SBOM, { annotations: { 'org.example.seed': options.seed } });
  const sig = seedArtifact(repo, index, SIG);
  const att = seedArtifact(repo, amd64, ATT);
  const counter = seedArtifact(repo, sig, COUNTER);
  if (options.referrersTags) {
    seedReferrersTag(repo, index.digest, [sbom, sig]);
    seedReferrersTag(repo, amd64.digest, [att]);
    seedReferrersTag(repo, sig.digest, [counter]);
  }
  return { index, amd64, arm64, sbom, sig, att, counter };
}
