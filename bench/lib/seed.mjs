// Pushes the benchmark's content straight to the registries (not through the proxies, so
// seeding is never counted) with plain fetch, independent of the code under test, and
// describes what was pushed as a "graph" that the correctness checks and the minimum request
// counts are derived from.
//
// On a registry without the referrers API, seeding also writes the `sha256-<hex>` referrers
// tag index of every subject, as the client that pushed the referrers would have done.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import { pipeline } from 'node:stream/promises';

export const MT = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
};

export const ARTIFACT_TYPES = {
  sbom: 'application/spdx+json',
  signature: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  attestation: 'application/vnd.in-toto+json',
};

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
  { os: 'linux', architecture: 'arm', variant: 'v6' },
  { os: 'linux', architecture: '386' },
  { os: 'linux', architecture: 'ppc64le' },
  { os: 'linux', architecture: 's390x' },
  { os: 'linux', architecture: 'riscv64' },
];

export const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const referrersTag = (digest) => digest.replace(':', '-');

/** Deterministic pseudo-random bytes (a SHA-256 chain): same seed, same digests every run. */
export function seededBytes(seed, length) {
  const out = Buffer.alloc(length);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < length; i += block.length) {
    block.copy(out, i, 0, Math.min(block.length, length - i));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

async function expect(res, what, statuses) {
  if (!statuses.includes(res.status)) {
    throw new Error(`seeding: ${what} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
  return res;
}

/** A graph under construction: what a complete copy must contain. */
function newGraph(reg, repo, tag) {
  return {
    registry: reg,
    repo,
    tag,
    root: null, // descriptor of the tagged manifest
    manifests: [], // every manifest of the graph except referrers (root included)
    referrers: [], // every referrer manifest { descriptor, subject }
    blobs: new Map(), // digest -> size: blobs of the image(s)
    referrerBlobs: new Map(), // digest -> size: blobs that only referrers use (payloads, empty config)
    bySubject: new Map(), // subject digest -> [referrer descriptors]
  };
}

class Pusher {
  constructor(reg, repo) {
    this.base = `${reg.url}/v2/${repo}`;
    this.reg = reg;
    this.have = new Set();
  }

  async blob(bytes, mediaType, graph, forReferrer = false) {
    const digest = sha256(bytes);
    const desc = { mediaType, digest, size: bytes.length };
    if (graph) (forReferrer ? graph.referrerBlobs : graph.blobs).set(digest, bytes.length);
    if (this.have.has(digest)) return desc;
    const start = await expect(await fetch(`${this.base}/blobs/uploads/`, { method: 'POST' }), 'POST upload', [202]);
    await start.arrayBuffer();
    const url = new URL(start.headers.get('location'), this.reg.url);
    url.searchParams.set('digest', digest);
    const put = await fetch(url, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    await (await expect(put, `PUT blob ${digest}`, [201])).arrayBuffer();
    this.have.add(digest);
    return desc;
  }

  async manifest(ref, obj) {
    const bytes = Buffer.from(JSON.stringify(obj));
    const res = await fetch(`${this.base}/manifests/${ref}`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': obj.mediaType },
    });
    await (await expect(res, `PUT manifest ${ref}`, [201])).arrayBuffer();
    return { mediaType: obj.mediaType, digest: sha256(bytes), size: bytes.length };
  }

  /** An image: `layers` small layers, a config, the manifest (by digest unless tag). */
  async image(graph, seed, { layers = 3, layerSize = 4096, platform = PLATFORMS[0], tag } = {}) {
    const ls = [];
    for (let i = 0; i < layers; i++)
      ls.push(await this.blob(seededBytes(`${seed}/layer${i}`, layerSize), MT.layer, graph));
    const config = await this.blob(
      Buffer.from(
        JSON.stringify({
          architecture: platform.architecture,
          os: platform.os,
          ...(platform.variant ? { variant: platform.variant } : {}),
          config: { Labels: { 'bench.seed': seed } },
          rootfs: { type: 'layers', diff_ids: ls.map((l) => l.digest) },
        }),
      ),
      MT.config,
      graph,
    );
    const m = { schemaVersion: 2, mediaType: MT.manifest, config, layers: ls };
    const desc = await this.manifest(tag ?? sha256(Buffer.from(JSON.stringify(m))), m);
    graph.manifests.push(desc);
    return { ...desc, platform };
  }

  /** An OCI 1.1 artifact: artifactType, empty config, one payload layer, subject. */
  async artifact(graph, subject, kind, n) {
    const artifactType = ARTIFACT_TYPES[kind];
    const empty = await this.blob(Buffer.from('{}'), MT.empty, graph, true);
    const payload = await this.blob(
      Buffer.from(
        JSON.stringify({ kind, n, subject: subject.digest, pad: seededBytes(`${kind}${n}`, 256).toString('hex') }),
      ),
      artifactType,
      graph,
      true,
    );
    const annotations = { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z', 'bench.n': String(n) };
    const m = {
      schemaVersion: 2,
      mediaType: MT.manifest,
      artifactType,
      config: empty,
      layers: [payload],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations,
    };
    const desc = { ...(await this.manifest(sha256(Buffer.from(JSON.stringify(m))), m)), artifactType, annotations };
    graph.referrers.push({ descriptor: desc, subject: subject.digest });
    if (!graph.bySubject.has(subject.digest)) graph.bySubject.set(subject.digest, []);
    graph.bySubject.get(subject.digest).push(desc);
    return desc;
  }

  /** Without the referrers API: the `sha256-<hex>` index of each subject, as a client writes it. */
  async referrersTags(graph) {
    if (this.reg.referrersApi) return;
    for (const [subject, descs] of graph.bySubject) {
      await this.manifest(referrersTag(subject), { schemaVersion: 2, mediaType: MT.index, manifests: descs });
    }
  }
}

/** Scenario 1: one image (3 small layers) under `tag`, no referrers. */
export async function seedImage(reg, repo, tag) {
  const g = newGraph(reg, repo, tag);
  const p = new Pusher(reg, repo);
  g.root = await p.image(g, `${repo}:${tag}`, { tag });
  return g;
}

/**
 * Scenarios 2, 3, 6: an index of `platforms` images (`layers` small layers each), with an SBOM,
 * a signature and an attestation on the index and one attestation per platform.
 */
export async function seedIndex(reg, repo, tag, { platforms = 8, layers = 3 } = {}) {
  const g = newGraph(reg, repo, tag);
  const p = new Pusher(reg, repo);
  const children = [];
  for (let i = 0; i < platforms; i++) {
    const child = await p.image(g, `${repo}/platform${i}`, { layers, platform: PLATFORMS[i % PLATFORMS.length] });
    children.push({ mediaType: child.mediaType, digest: child.digest, size: child.size, platform: child.platform });
  }
  const index = { schemaVersion: 2, mediaType: MT.index, manifests: children };
  g.root = await p.manifest(tag, index);
  g.manifests.push(g.root);
  let n = 0;
  for (const kind of ['sbom', 'signature', 'attestation']) await p.artifact(g, g.root, kind, n++);
  for (const child of children) await p.artifact(g, child, 'attestation', n++);
  await p.referrersTags(g);
  return g;
}

/** Scenario 4: one image with `count` referrers (signatures, SBOMs, attestations in turn). */
export async function seedManyReferrers(reg, repo, tag, count = 200) {
  const g = newGraph(reg, repo, tag);
  const p = new Pusher(reg, repo);
  g.root = await p.image(g, `${repo}:${tag}`, { tag, layers: 2 });
  const kinds = ['signature', 'sbom', 'attestation'];
  // Sequential would take long on 200 artifacts; a few at a time keeps the order of the
  // graph's lists deterministic enough (they are compared as sets).
  for (let i = 0; i < count; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, count - i) }, (_, j) => p.artifact(g, g.root, kinds[(i + j) % 3], i + j)),
    );
  }
  await p.referrersTags(g);
  return g;
}

/**
 * Scenario 5: a one-layer image whose layer is the file `layerFile` (digest and size known),
 * streamed to the registry in one PUT without being held in memory.
 */
export async function seedBigImage(reg, repo, tag, { layerFile, digest, size }) {
  const g = newGraph(reg, repo, tag);
  const p = new Pusher(reg, repo);
  const start = await expect(await fetch(`${p.base}/blobs/uploads/`, { method: 'POST' }), 'POST upload', [202]);
  await start.arrayBuffer();
  const url = new URL(start.headers.get('location'), reg.url);
  url.searchParams.set('digest', digest);
  await new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': size } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 201 ? resolve() : reject(new Error(`seeding: PUT big blob answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    pipeline(createReadStream(layerFile), req).catch(reject);
  });
  p.have.add(digest);
  g.blobs.set(digest, size);
  const layer = { mediaType: MT.layer, digest, size };
  const config = await p.blob(
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digest] } })),
    MT.config,
    g,
  );
  g.root = await p.manifest(tag, { schemaVersion: 2, mediaType: MT.manifest, config, layers: [layer] });
  g.manifests.push(g.root);
  return g;
}

/** Counts that the minimum request numbers are derived from. */
export function graphStats(g) {
  return {
    manifests: g.manifests.length, // index + children (or the image)
    referrers: g.referrers.length,
    allManifests: g.manifests.length + g.referrers.length,
    subjects: g.bySubject.size, // subjects that have referrers
    blobs: new Set([...g.blobs.keys(), ...g.referrerBlobs.keys()]).size,
    children: g.manifests.length - 1,
  };
}
