/**
 * A target like GitLab's registry, which answers `sha256-<hex>` with the manifest itself and so
 * cannot hold a referrers index: distribution 2.8 behind a STAND-IN proxy that answers as GitLab
 * does (see ../support/gitlab-proxy.ts). The promotion of an image with referrers into it fails
 * before the first write, naming the two ways on; without referrers to copy it goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promote, PromotionError } from '../../src/engine/promote.js';
import { pushArtifact, pushImage, referrersTag, writeReferrersTagIndex } from '../support/oci-seed.js';
import { clientsClosedAfterAll, promotionRequest } from '../support/promotion.js';
import { startGitLabProxy, type GitLabProxy } from '../support/gitlab-proxy.js';
import { startDistribution, type RunningRegistry } from '../support/registries.js';

const client = clientsClosedAfterAll();
const SIG = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const WAYS_ON =
  'Nothing was written. To promote, set copy-referrers: false (the referrers stay behind), or promote into a registry with the referrers API.';

let source: RunningRegistry;
let target: RunningRegistry;
beforeAll(async () => {
  [source, target] = await Promise.all([startDistribution(), startDistribution()]);
  const src = source.target('app');
  const image = await pushImage(src, 'rc', { seed: 'gitlab' });
  const sig = await pushArtifact(src, image.descriptor, SIG, { payload: 'sig' });
  await writeReferrersTagIndex(src, image.digest, [sig.descriptor]);
  await pushImage(src, 'plain', { seed: 'gitlab-plain' });
});
afterAll(async () => Promise.all([source?.stop(), target?.stop()]));

describe.each([
  ['that names itself on GET /v2/', true],
  ['that does not name itself, where a target tag already names a manifest', false],
])('a GitLab-like target %s', (_name, announce) => {
  let gitlab: GitLabProxy;
  beforeAll(async () => {
    gitlab = await startGitLabProxy({ target: target.url, announce });
  });
  afterAll(async () => gitlab?.stop());

  it('fails before the first write, naming the two ways on, and lets copy-referrers false through', async () => {
    const repo = announce ? 'new/app' : 'old/app';
    let alias = "it names itself GitLab's on GET /v2/";
    if (!announce) {
      const old = await pushImage(target.target(repo), '1.0', { seed: 'gitlab-old' });
      alias = `${gitlab.host}/${repo}:${referrersTag(old.digest)} is ${old.digest}`;
    }
    const req = promotionRequest(`${source.host}/app:rc`, [`${gitlab.host}/${repo}:1.0`]);
    gitlab.writes.length = 0;

    const err = await promote(client(), req).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PromotionError);
    expect((err as Error).message).toBe(
      `${gitlab.host}/${repo} cannot hold a referrers index: ${gitlab.host} answers a referrers tag (sha256-<hex>) with the manifest of that digest itself, as GitLab's registry does, and has no referrers API (${alias}). ${WAYS_ON}`,
    );
    expect(gitlab.writes).toEqual([]);

    const result = await promote(client(), { ...req, copyReferrers: false });
    expect(result.targets[0]!.status).toBe(announce ? 'created' : 'updated');
  });

  it('promotes an image without referrers', async () => {
    const result = await promote(
      client(),
      promotionRequest(`${source.host}/app:plain`, [`${gitlab.host}/plain-${String(announce)}/app:1.0`]),
    );
    expect(result.targets[0]!.status).toBe('created');
  });
});
