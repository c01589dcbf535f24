/**
 * Stray-tag removal against a FAKE repository: answers the referrers API gives in the field
 * (404 for one subject, a 5xx while checking) that the registries of the integration tests
 * do not give. The real-registry behaviour is in __tests__/integration/stray-tags.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { SILENT_LOGGER } from '../../src/engine/logger.js';
import { strayReferrersTags } from '../../src/engine/stray-tags.js';
import { RegistryError } from '../../src/registry/errors.js';
import type { ReferrersListing, Repository } from '../../src/registry/types.js';

const d = (c: string) => 'sha256:' + c.repeat(64);
const tagOf = (digest: string) => digest.replace(':', '-');
const entry = (digest: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 });

function fakeRepository(opts: { api?: ReferrersListing | undefined; indexError?: Error }): {
  repo: Repository;
  deleted: string[];
} {
  const deleted: string[] = [];
  const repo = {
    registry: 'r.example',
    name: 'app',
    capabilities: () => ({ referrersApi: true }),
    digestTagList: async () => new Set([tagOf(d('a'))]),
    readReferrersIndex: async () => {
      if (opts.indexError) throw opts.indexError;
      return { exists: true, descriptors: [entry(d('b'))] };
    },
    listReferrersFromApi: async () => opts.api,
    deleteTag: async (tag: string) => {
      deleted.push(tag);
    },
  } as unknown as Repository;
  return { repo, deleted };
}

const run = (repo: Repository) =>
  strayReferrersTags(repo, [d('a')], { remove: true, dryRun: false, logger: SILENT_LOGGER });

describe('stray referrers tags (fake repository)', () => {
  it('removes a tag whose every entry the API lists', async () => {
    const { repo, deleted } = fakeRepository({ api: { source: 'api', descriptors: [entry(d('b'))], warnings: [] } });
    expect((await run(repo))[0]).toMatchObject({ outcome: 'removed' });
    expect(deleted).toEqual([tagOf(d('a'))]);
  });

  it('keeps the tag when the API gives no list for its subject (never judged by the tag itself)', async () => {
    const { repo, deleted } = fakeRepository({ api: undefined });
    expect((await run(repo))[0]).toMatchObject({
      outcome: 'kept',
      reason: 'the referrers API did not answer with a list for its subject',
    });
    expect(deleted).toEqual([]);
  });

  it('keeps the tag, and does not fail the promotion, when checking it fails', async () => {
    const failure = new RegistryError(
      {
        registry: 'r.example',
        operation: 'get referrers tag',
        reference: 'r.example/app:x',
        method: 'GET',
        status: 503,
        errors: [],
      },
      'r.example answered HTTP 503',
    );
    const { repo, deleted } = fakeRepository({ indexError: failure });
    expect((await run(repo))[0]).toMatchObject({
      outcome: 'kept',
      reason: expect.stringContaining('checking it failed'),
    });
    expect(deleted).toEqual([]);
  });
});
