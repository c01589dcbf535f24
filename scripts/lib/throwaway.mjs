// Throwaway registries on loopback, content pushed to them the way a build would, and the
// built action run the way the runner runs it. Used by scripts/demo.mjs and
// scripts/summary-screenshot.mjs; scripts/demo.sh installs what they need.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export const MT = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  empty: 'application/vnd.oci.empty.v1+json',
  sigstore: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  spdx: 'application/spdx+json',
};

/**
 * The registry program: Debian's docker-registry (distribution 2.8) when installed, else
 * distribution v3 built into .cache/bin by scripts/demo.sh. Neither has the referrers API.
 */
export function registryProgram() {
  if (spawnSync('docker-registry', ['--version'], { stdio: 'ignore' }).status === 0)
    return { command: 'docker-registry', label: "distribution 2.8 (Debian's docker-registry)" };
  const built = join(root, '.cache', 'bin', 'registry');
  if (existsSync(built)) return { command: built, label: 'distribution v3.1.2 (built from the Go module proxy)' };
  throw new Error(
    'No registry to run: `bash scripts/demo.sh` installs one (docker-registry, or distribution v3 with Go)',
  );
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Starts a registry on a free loopback port, storing under `dir`; resolves once it answers. */
export async function startRegistry(dir) {
  const program = registryProgram();
  const host = `127.0.0.1:${await freePort()}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${host}\n`,
  );
  const child = spawn(program.command, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const failed = new Promise((_, reject) => child.on('error', reject));
  for (let i = 0; ; i++) {
    try {
      if ((await Promise.race([fetch(`http://${host}/v2/`), failed])).ok) break;
    } catch (err) {
      if (i > 200 || err.code === 'ENOENT')
        throw new Error(`${program.command} did not start on ${host}: ${err.message}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host, label: program.label, stop: () => child.kill() };
}

/** Pushes blobs and manifests into one repository, as a build or a signing tool would. */
export function repository(host, name) {
  const base = `http://${host}/v2/${name}`;
  const blob = async (bytes, mediaType) => {
    const digest = sha256(bytes);
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location'), base);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (put.status !== 201) throw new Error(`blob upload to ${host}/${name} answered ${put.status}`);
    return { mediaType, digest, size: bytes.length };
  };
  const manifest = async (ref, content) => {
    const bytes = Buffer.from(JSON.stringify(content));
    const digest = sha256(bytes);
    const res = await fetch(`${base}/manifests/${ref ?? digest}`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': content.mediaType },
    });
    if (res.status !== 201) throw new Error(`manifest push to ${host}/${name} answered ${res.status}`);
    return { mediaType: content.mediaType, digest, size: bytes.length };
  };
  return {
    blob,
    manifest,
    /** An image with one layer of `text`, tagged `tag` (or pushed by digest). */
    async image(tag, text, platform = { architecture: 'amd64', os: 'linux' }) {
      const layer = await blob(Buffer.from(text), MT.layer);
      const config = await blob(Buffer.from(JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: [layer.digest] } })), MT.config); // prettier-ignore
      return {
        ...(await manifest(tag, { schemaVersion: 2, mediaType: MT.manifest, config, layers: [layer] })),
        platform,
      };
    },
    /** A referrer of `subject`: an artifact of `artifactType` with `payload`, pushed by digest. */
    async referrer(subject, artifactType, payload) {
      const config = await blob(Buffer.from('{}'), MT.empty);
      const layer = await blob(Buffer.from(payload), artifactType);
      const descriptor = await manifest(undefined, {
        schemaVersion: 2,
        mediaType: MT.manifest,
        artifactType,
        config,
        layers: [layer],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      });
      return { ...descriptor, artifactType };
    },
    /** The referrers tag `sha256-<hex>` listing `referrers`, as a client keeps it on a registry without the API. */
    async referrersTag(subject, referrers) {
      const tag = subject.digest.replace(':', '-');
      await manifest(tag, { schemaVersion: 2, mediaType: MT.index, manifests: referrers });
      return tag;
    },
    async tags() {
      const res = await fetch(`${base}/tags/list`);
      return res.ok ? ((await res.json()).tags ?? []).sort() : [];
    },
    /** The digest and bytes a tag names now. */
    async get(ref) {
      const res = await fetch(`${base}/manifests/${ref}`, { headers: { accept: `${MT.index}, ${MT.manifest}` } });
      const bytes = Buffer.from(await res.arrayBuffer());
      return { digest: res.headers.get('docker-content-digest'), json: JSON.parse(bytes.toString('utf8')) };
    },
  };
}

/** Reads the GITHUB_OUTPUT file format: `name<<delimiter`, the value, the delimiter. */
function parseOutputs(text) {
  const outputs = {};
  for (const m of text.matchAll(/^([^\n<=]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) outputs[m[1]] = m[3];
  return outputs;
}

/**
 * Runs the built dist/index.js as the runner does: inputs as INPUT_* variables, outputs and the
 * job summary through the files the runner hands it. `env` adds GITHUB_* variables.
 */
export function runAction(dir, { inputs, env = {}, stdio = 'inherit' }) {
  mkdirSync(dir, { recursive: true });
  const output = join(dir, 'output');
  const summary = join(dir, 'summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const variables = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));
  const r = spawnSync(process.execPath, [join(root, 'dist', 'index.js')], {
    stdio,
    env: {
      PATH: process.env.PATH,
      ...variables,
      DOCKER_CONFIG: join(dir, 'no-docker-config'),
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      ...env,
    },
  });
  return {
    status: r.status,
    outputs: parseOutputs(readFileSync(output, 'utf8')),
    summary: readFileSync(summary, 'utf8'),
  };
}
