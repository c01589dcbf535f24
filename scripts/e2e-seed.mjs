#!/usr/bin/env node
// Seeds a plain-HTTP registry with what the end-to-end workflow promotes:
//   node scripts/e2e-seed.mjs <host:port> <repository>:<tag>
// pushes an image (config and one layer) under the tag, and two referrers whose subject is the
// image: a signature (application/vnd.dev.sigstore.bundle.v0.3+json) and an SBOM
// (application/spdx+json). Where the registry does not answer the referrer pushes with
// OCI-Subject (no referrers API, as registry:2 and Debian's docker-registry), it also writes the
// referrers tag sha256-<hex> listing both, as a client pushing them must.
// Node built-ins only, so that it runs the same on GitHub's runner and under act here.
// Writes digest=, signature=, sbom=, referrers-tag= to $GITHUB_OUTPUT when set; prints them as JSON always.
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';

const [host, target] = process.argv.slice(2);
const match = /^([a-z0-9]+(?:[._/-][a-z0-9]+)*):([\w][\w.-]{0,127})$/.exec(target ?? '');
if (!host || !match) {
  console.error('usage: node scripts/e2e-seed.mjs <host:port> <repository>:<tag>');
  process.exit(2);
}
const [, repository, tag] = match;
const base = `http://${host}/v2/${repository}`;
const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The registry (a service container that has just started) may take a moment to answer. */
async function waitForRegistry() {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no registry answered on http://${host}/v2/ within 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function pushBlob(bytes, mediaType) {
  const digest = sha256(bytes);
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`POST ${base}/blobs/uploads/ answered ${start.status}`);
  const location = new URL(start.headers.get('location'), base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (put.status !== 201) throw new Error(`blob upload of ${digest} answered ${put.status}`);
  return { mediaType, digest, size: bytes.length };
}

async function pushManifest(manifest, reference) {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  const res = await fetch(`${base}/manifests/${reference ?? digest}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': manifest.mediaType },
  });
  if (res.status !== 201) throw new Error(`manifest PUT ${reference ?? digest} answered ${res.status}`);
  return {
    descriptor: { mediaType: manifest.mediaType, digest, size: bytes.length },
    ociSubject: res.headers.get('oci-subject'),
  };
}

async function pushReferrer(subject, artifactType, payload) {
  const empty = await pushBlob(Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
  const layer = await pushBlob(Buffer.from(payload), artifactType);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType,
    config: empty,
    layers: [layer],
    subject,
  };
  const pushed = await pushManifest(manifest);
  return { ...pushed, descriptor: { ...pushed.descriptor, artifactType } };
}

await waitForRegistry();
const layer = await pushBlob(
  Buffer.from(`end-to-end layer for ${repository}:${tag}\n`),
  'application/vnd.oci.image.layer.v1.tar',
);
const config = await pushBlob(
  Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }),
  ),
  'application/vnd.oci.image.config.v1+json',
);
const image = (
  await pushManifest(
    { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] },
    tag,
  )
).descriptor;
const signature = await pushReferrer(
  image,
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  '{"note":"an end-to-end signature"}',
);
const sbom = await pushReferrer(image, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');
if (!signature.ociSubject || !sbom.ociSubject) {
  // distribution-spec v1.1 "Pushing Manifests with Subject": without OCI-Subject the client
  // keeps the referrers tag schema up to date.
  await pushManifest(
    {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [signature.descriptor, sbom.descriptor],
    },
    image.digest.replace(':', '-'),
  );
}

const outputs = {
  digest: image.digest,
  signature: signature.descriptor.digest,
  sbom: sbom.descriptor.digest,
  'referrers-tag': image.digest.replace(':', '-'),
};
if (process.env.GITHUB_OUTPUT) {
  appendFileSync(
    process.env.GITHUB_OUTPUT,
    Object.entries(outputs)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
}
console.log(
  `Seeded ${host}/${repository}:${tag} (${outputs.digest}) with a signature and an SBOM referring to it` +
    `${signature.ociSubject ? '' : ', and the referrers tag listing both'}`,
);
console.log(JSON.stringify(outputs));
