#!/usr/bin/env node
// `npm run demo`: the action end to end against a throwaway local registry.
// Starts Debian's docker-registry (distribution 2.8, no referrers API) on a free loopback
// port, pushes an image `demo/app:rc` with a signature that refers to it (and the referrers
// tag index a client keeps on such a registry), runs the built dist/index.js the way the
// runner does to promote rc to 1.2.3 and latest, prints the outputs and the job summary,
// shows that no referrers tag was created or changed, and runs it once more (unchanged).
// Then it promotes rc into another repository, prod/app, with its signature: a dry run first
// (the plan in the job summary, nothing written), then for real (the referrers tag it wrote).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'oci-promote-demo-'));
const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const host = `127.0.0.1:${port}`;
writeFileSync(
  join(dir, 'config.yml'),
  `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${host}\n`,
);
const registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
registry.on('error', () => {
  console.error('docker-registry is not installed: apt-get install docker-registry');
  process.exit(1);
});
const cleanup = () => {
  registry.kill();
  rmSync(dir, { recursive: true, force: true });
};

try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) break;
    } catch {
      if (i > 100) throw new Error(`docker-registry did not start on ${host}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const base = `http://${host}/v2/demo/app`;
  const pushBlob = async (bytes, mediaType) => {
    const digest = sha256(bytes);
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location'), base);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (put.status !== 201) throw new Error(`blob upload answered ${put.status}`);
    return { mediaType, digest, size: bytes.length };
  };
  const pushManifest = async (ref, manifest) => {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const res = await fetch(`${base}/manifests/${ref}`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': manifest.mediaType },
    });
    if (res.status !== 201) throw new Error(`manifest push answered ${res.status}`);
    return { mediaType: manifest.mediaType, digest: sha256(bytes), size: bytes.length };
  };

  const layer = await pushBlob(Buffer.from('hello from the demo layer\n'), 'application/vnd.oci.image.layer.v1.tar');
  const config = await pushBlob(
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }),
    ),
    'application/vnd.oci.image.config.v1+json',
  );
  const image = await pushManifest('rc', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    layers: [layer],
  });
  const empty = await pushBlob(Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
  const payload = await pushBlob(
    Buffer.from('a signature, for the demo'),
    'application/vnd.dev.sigstore.bundle.v0.3+json',
  );
  const signatureManifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    config: empty,
    layers: [payload],
    subject: image,
  };
  const signature = await pushManifest(sha256(Buffer.from(JSON.stringify(signatureManifest))), signatureManifest);
  const referrersTag = image.digest.replace(':', '-');
  await pushManifest(referrersTag, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...signature, artifactType: signatureManifest.artifactType }],
  });
  const tags = async () => (await (await fetch(`${base}/tags/list`)).json()).tags.sort();
  const indexDigest = async () =>
    (
      await fetch(`${base}/manifests/${referrersTag}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.index.v1+json' },
      })
    ).headers.get('docker-content-digest');
  const tagsBefore = await tags();
  const indexBefore = await indexDigest();
  console.log(`Registry: docker-registry (distribution 2.8, no referrers API) on ${host}`);
  console.log(`Pushed demo/app:rc = ${image.digest} and a signature referring to it`);
  console.log(`Tags before: ${tagsBefore.join(', ')}\n`);

  const runAction = (label, targets = '1.2.3, latest', inputs = {}) => {
    writeFileSync(join(dir, 'output'), '');
    writeFileSync(join(dir, 'summary'), '');
    const shown = Object.entries(inputs)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('');
    console.log(
      `--- ${label}: node dist/index.js with INPUT_SOURCE=${host}/demo/app:rc INPUT_TARGETS="${targets}"${shown}`,
    );
    const r = spawnSync(process.execPath, [join(root, 'dist', 'index.js')], {
      stdio: 'inherit',
      env: {
        PATH: process.env.PATH,
        INPUT_SOURCE: `${host}/demo/app:rc`,
        INPUT_TARGETS: targets,
        'INPUT_PLAIN-HTTP': 'true',
        ...inputs,
        DOCKER_CONFIG: join(dir, 'no-docker-config'),
        GITHUB_OUTPUT: join(dir, 'output'),
        GITHUB_STEP_SUMMARY: join(dir, 'summary'),
      },
    });
    if (r.status !== 0) throw new Error(`the action failed (exit ${r.status})`);
    const outputs = readFileSync(join(dir, 'output'), 'utf8').replace(
      /<<(ghadelimiter_[0-9a-f-]+)\n([\s\S]*?)\n\1\n/g,
      ' = $2\n',
    );
    console.log(`\nOutputs:\n${outputs}`);
    return readFileSync(join(dir, 'summary'), 'utf8');
  };

  const summary = runAction('First run');
  console.log(`Job summary (markdown):\n${summary}`);
  const tagsAfter = await tags();
  console.log(`Tags after: ${tagsAfter.join(', ')}`);
  console.log(
    `Referrers tag ${referrersTag.slice(0, 19)}…: ${indexBefore === (await indexDigest()) ? 'unchanged' : 'CHANGED'}`,
  );
  console.log(
    `sha256-* tags: ${tagsBefore.filter((t) => t.startsWith('sha256-')).length} before, ${tagsAfter.filter((t) => t.startsWith('sha256-')).length} after\n`,
  );
  runAction('Second run (nothing to do)');

  const prod = `${host}/prod/app:1.2.3`;
  const plan = runAction('Into another repository, dry run', prod, { 'INPUT_DRY-RUN': 'true' });
  console.log(`Job summary of the dry run (the plan):\n${plan}`);
  const prodTags = async () => (await (await fetch(`http://${host}/v2/prod/app/tags/list`)).json()).tags ?? [];
  console.log(`prod/app tags after the dry run: ${(await prodTags()).join(', ') || '(none: nothing was written)'}\n`);
  runAction('Into another repository', prod);
  console.log(`prod/app tags: ${(await prodTags()).join(', ')} (the referrers tag lists the copied signature)`);
} finally {
  cleanup();
}
