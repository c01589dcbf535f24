// Correctness of one measurement, checked straight against the registry (not through the
// proxies, so the checks are never counted): the targets resolve to the source digest, the
// graph is complete, the referrers are discoverable, and no stray `sha256-*` tag was left.
import { MT, referrersTag } from './seed.mjs';

const ACCEPT = [MT.manifest, MT.index, 'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'].join(', '); // prettier-ignore

async function headManifest(reg, repo, ref) {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: ACCEPT } });
  if (res.status !== 200) return null;
  return res.headers.get('docker-content-digest');
}

async function headBlob(reg, repo, digest) {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  return res.status === 200;
}

export async function listTags(reg, repo) {
  const tags = [];
  let next = `/v2/${repo}/tags/list?n=1000`;
  while (next) {
    const res = await fetch(new URL(next, reg.url));
    if (res.status === 404) return tags;
    if (res.status !== 200) throw new Error(`tags/list ${repo} answered ${res.status}`);
    tags.push(...((await res.json()).tags ?? []));
    const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
    next = link ? link[1] : null;
  }
  return tags;
}

/** Referrer digests of `subject` in the target: referrers API where there is one, else the tag schema. */
async function referrersOf(reg, repo, subject) {
  if (reg.referrersApi) {
    const res = await fetch(`${reg.url}/v2/${repo}/referrers/${subject}`, { headers: { accept: MT.index } });
    if (res.status !== 200) return [];
    return ((await res.json()).manifests ?? []).map((d) => d.digest);
  }
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${referrersTag(subject)}`, {
    headers: { accept: MT.index },
  });
  if (res.status !== 200) return [];
  return ((await res.json()).manifests ?? []).map((d) => d.digest);
}

/**
 * @param g the source graph
 * @param target { reg, repo, tags }: where the tool was asked to put it
 * @param opts.content check every manifest and blob of the graph (copies)
 * @param opts.referrers whether the scenario expects referrers on the target
 */
export async function checkResult(g, target, opts) {
  const problems = [];
  const { reg, repo, tags } = target;
  for (const tag of tags) {
    const d = await headManifest(reg, repo, tag);
    if (d !== g.root.digest) problems.push(`${tag} ${d ? `is ${d.slice(0, 19)}…` : 'missing'}`);
  }
  if (opts.content) {
    let missingManifests = 0;
    for (const m of g.manifests) if ((await headManifest(reg, repo, m.digest)) !== m.digest) missingManifests++;
    if (missingManifests) problems.push(`${missingManifests}/${g.manifests.length} manifests missing`);
    // Blobs of referrers are only expected when referrers are (crane copies none).
    const blobs = [...g.blobs.keys(), ...(opts.referrers ? g.referrerBlobs.keys() : [])];
    let missingBlobs = 0;
    for (const digest of new Set(blobs)) if (!(await headBlob(reg, repo, digest))) missingBlobs++;
    if (missingBlobs) problems.push(`${missingBlobs} blobs missing`);
  }
  let found = 0;
  const expected = g.referrers.length;
  if (expected > 0) {
    for (const [subject, descs] of g.bySubject) {
      const have = new Set(await referrersOf(reg, repo, subject));
      for (const d of descs) {
        if (have.has(d.digest) && (await headManifest(reg, repo, d.digest)) === d.digest) found++;
      }
    }
    if (found < expected) problems.push(`referrers ${found}/${expected}`);
  }
  // Stray referrers tags: none at all with the referrers API; without it, only the
  // `sha256-<hex>` index tags of subjects that have referrers (and only if referrers were copied).
  const allowed = new Set(reg.referrersApi || !opts.referrers ? [] : [...g.bySubject.keys()].map(referrersTag));
  // A retag happens in the source repository: the source's own referrers tags are allowed there.
  if (!opts.content && !reg.referrersApi) for (const s of g.bySubject.keys()) allowed.add(referrersTag(s));
  const stray = (await listTags(reg, repo)).filter((t) => t.startsWith('sha256-') && !allowed.has(t));
  if (stray.length) problems.push(`${stray.length} stray sha256-* tag${stray.length > 1 ? 's' : ''}`);
  return { ok: problems.length === 0, problems, referrersFound: found, referrersExpected: expected };
}
