/**
 * Stray-tag removal against the in-memory STAND-IN registry: answers the referrers API gives in
 * the field (no list for one subject, a 5xx while checking) that the registries of the
 * integration tests do not give. The real-registry behaviour is in
 * __tests__/integration/stray-tags.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { SILENT_LOGGER } from '../../src/engine/logger.js';
import { strayReferrersTags } from '../../src/engine/stray-tags.js';
import { RegistryError } from '../../src/registry/errors.js';
import { MemoryRegistry, tagOf, type MemoryRegistryOptions } from '../support/memory-registry.js';
import { seedArtifact, seedImage, seedReferrersTag } from '../support/memory-seed.js';

/** A subject, its referrer (listed by the API), and a stray referrers tag that lists the referrer. */
async function setup(options: Partial<MemoryRegistryOptions> = {}) {
  const registry = new MemoryRegistry({ name: 'r.example', referrersApi: true, ...options });
  const content = registry.content('app');
  const subject = seedImage(content, { seed: 'stray', tag: 'rc' });
  const referrer = seedArtifact(content, subject, 'application/example');
  seedReferrersTag(content, subject.digest, [referrer]);
  const repo = registry.repository({ registry: 'r.example', repository: 'app' }, 'push');
  // A run learns the API during discovery, before it looks for stray tags.
  await repo.probeReferrersApi(subject.digest);
  const deleted = () => registry.log.filter((op) => op.method === 'DELETE').map((op) => op.reference);
  return { registry, repo, subject, deleted };
}

describe('stray referrers tags (in-memory stand-in)', () => {
  it('removes a tag whose every entry the API lists', async () => {
    const { repo, subject, deleted } = await setup();
    const found = await strayReferrersTags(repo, [subject.digest], {
      remove: true,
      dryRun: false,
      logger: SILENT_LOGGER,
    });
    expect(found[0]).toMatchObject({ outcome: 'removed' });
    expect(deleted()).toEqual([tagOf(subject.digest)]);
  });

  it('keeps the tag when the API gives no list for its subject (never judged by the tag itself)', async () => {
    let subjectDigest = '';
    const { repo, subject, deleted } = await setup({ apiListsSubject: (s) => s !== subjectDigest });
    // From now on (after the probe that taught the API): no list for this subject.
    subjectDigest = subject.digest;
    const found = await strayReferrersTags(repo, [subject.digest], {
      remove: true,
      dryRun: false,
      logger: SILENT_LOGGER,
    });
    expect(found[0]).toMatchObject({
      outcome: 'kept',
      reason: 'the referrers API did not answer with a list for its subject',
    });
    expect(deleted()).toEqual([]);
  });

  it('keeps the tag, and does not fail the promotion, when checking it fails', async () => {
    const { registry, repo, subject, deleted } = await setup();
    registry.options.hooks.before = (op) => {
      if (op.method === 'GET' && op.reference === tagOf(subject.digest)) {
        throw new RegistryError(
          {
            registry: op.registry,
            operation: 'get referrers tag',
            reference: op.reference,
            method: 'GET',
            status: 503,
            errors: [],
          },
          'r.example answered HTTP 503',
        );
      }
    };
    const found = await strayReferrersTags(repo, [subject.digest], {
      remove: true,
      dryRun: false,
      logger: SILENT_LOGGER,
    });
    expect(found[0]).toMatchObject({
      outcome: 'kept',
      reason: expect.stringContaining('checking it failed'),
    });
    expect(deleted()).toEqual([]);
  });
});
