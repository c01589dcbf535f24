/**
 * mergeIntoReferrersIndex on the in-memory STAND-IN registry: the merge rules, and the races a
 * real registry shows only by chance (a conditional write refused with 412, a concurrent
 * writer's PUT that drops our entries). Real registries without the API are covered by
 * __tests__/integration/promote-across.test.ts and faults.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { SILENT_LOGGER } from '../../src/engine/logger.js';
import { ReferrersIndexConflictError, mergeIntoReferrersIndex } from '../../src/engine/referrers-index.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import { MemoryRegistry, tagOf, type MemoryRegistryOptions, type Operation } from '../support/memory-registry.js';

const SUBJECT = 'sha256:' + 'a'.repeat(64);
const entry = (c: string): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: 'sha256:' + c.repeat(64),
  size: 10,
  artifactType: `application/example.${c}`,
});
const OPTIONS = { maxAttempts: 6, settleMs: 1, logger: SILENT_LOGGER };

/** The merge, its read-back included (the merge itself resolves once its first write landed). */
async function mergeAndConfirm(...args: Parameters<typeof mergeIntoReferrersIndex>) {
  const outcome = await mergeIntoReferrersIndex(...args);
  await outcome.confirmed;
  const { confirmed: _, ...rest } = outcome;
  return rest;
}

function setup(existing: Descriptor[] | undefined, options: Partial<MemoryRegistryOptions> = {}) {
  const registry = new MemoryRegistry({ name: 'r.example', referrersApi: false, ...options });
  const content = registry.content('app');
  if (existing) {
    content.putManifest(
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: existing },
      tagOf(SUBJECT),
    );
  }
  const repo = registry.repository({ registry: 'r.example', repository: 'app' }, 'push');
  const listed = () =>
    ((content.json(tagOf(SUBJECT)) as { manifests?: Descriptor[] } | undefined)?.manifests ?? []).map((d) => d.digest);
  const puts = () => registry.log.filter((op) => op.method === 'PUT' && op.reference === tagOf(SUBJECT));
  /** Another client writing the index between our read and our write (or after our write). */
  const otherWriter = (manifests: Descriptor[]) =>
    content.putManifest(
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests },
      tagOf(SUBJECT),
    );
  return { registry, repo, listed, puts, otherWriter };
}

describe('mergeIntoReferrersIndex (in-memory stand-in)', () => {
  it('creates the index when the tag does not exist', async () => {
    const { repo, listed } = setup(undefined);
    const outcome = await mergeAndConfirm(repo, SUBJECT, [entry('b')], OPTIONS);
    expect(outcome).toEqual({ wrote: true, existed: false });
    expect(listed()).toEqual([entry('b').digest]);
  });

  it('keeps every entry already there and adds the missing ones after them', async () => {
    const { repo, listed } = setup([entry('c'), entry('d')]);
    const outcome = await mergeAndConfirm(repo, SUBJECT, [entry('b')], OPTIONS);
    expect(outcome).toEqual({ wrote: true, existed: true });
    expect(listed()).toEqual([entry('c').digest, entry('d').digest, entry('b').digest]);
  });

  it('never duplicates an entry, whether it is there already or asked for twice', async () => {
    const { repo, listed } = setup([entry('c')]);
    await mergeAndConfirm(repo, SUBJECT, [entry('c'), entry('b'), entry('b')], OPTIONS);
    expect(listed()).toEqual([entry('c').digest, entry('b').digest]);
  });

  it('does not write when nothing is missing', async () => {
    const { repo, puts } = setup([entry('b'), entry('c')]);
    const outcome = await mergeAndConfirm(repo, SUBJECT, [entry('c')], OPTIONS);
    expect(outcome).toEqual({ wrote: false, existed: true });
    expect(puts()).toEqual([]);
  });

  it('in a dry run, says a write would be needed and writes nothing', async () => {
    const { repo, puts } = setup([entry('c')]);
    const outcome = await mergeAndConfirm(repo, SUBJECT, [entry('b')], { ...OPTIONS, dryRun: true });
    expect(outcome).toEqual({ wrote: false, existed: true, wouldWrite: true });
    expect(puts()).toEqual([]);
  });

  it('merges again when a conditional write is refused with 412, keeping the other writer’s entry', async () => {
    const { registry, repo, listed, puts, otherWriter } = setup([entry('c')], { etags: true });
    let raced = false;
    registry.options.hooks.before = (op: Operation) => {
      // Between our read and our first write, another client adds its referrer.
      if (op.method === 'PUT' && !raced) {
        raced = true;
        otherWriter([entry('c'), entry('e')]);
      }
    };
    const outcome = await mergeAndConfirm(repo, SUBJECT, [entry('b')], OPTIONS);
    expect(outcome.wrote).toBe(true);
    expect(listed()).toEqual([entry('c').digest, entry('e').digest, entry('b').digest]);
    // The refused write, then the one after reading again.
    expect(puts()).toHaveLength(2);
  });

  it('re-merges when a concurrent writer without If-Match drops our entry (lost update)', async () => {
    const { registry, repo, listed, puts, otherWriter } = setup([entry('c')]);
    let raced = false;
    registry.options.hooks.after = (op: Operation) => {
      // Right after our PUT lands, a writer that had read the old index puts back its own view.
      if (op.method === 'PUT' && !raced) {
        raced = true;
        otherWriter([entry('c'), entry('e')]);
      }
    };
    const outcome = await mergeAndConfirm(repo, SUBJECT, [entry('b')], OPTIONS);
    expect(outcome.wrote).toBe(true);
    expect(listed()).toEqual([entry('c').digest, entry('e').digest, entry('b').digest]);
    expect(puts()).toHaveLength(2);
  });

  it('gives up with a clear error when the index keeps losing its entry', async () => {
    const { registry, repo, otherWriter } = setup([entry('c')]);
    registry.options.hooks.after = (op: Operation) => {
      if (op.method === 'PUT') otherWriter([entry('c')]);
    };
    await expect(mergeAndConfirm(repo, SUBJECT, [entry('b')], { ...OPTIONS, maxAttempts: 3 })).rejects.toThrow(
      ReferrersIndexConflictError,
    );
  });

  it('resolves once its write landed, and reads back after that', async () => {
    const { registry, repo, listed } = setup(undefined);
    const outcome = await mergeIntoReferrersIndex(repo, SUBJECT, [entry('b')], { ...OPTIONS, settleMs: 200 });
    const reads = () => registry.log.filter((op) => op.method === 'GET' && op.reference === tagOf(SUBJECT));
    // Written and listing our entry, not read back yet: the caller's next writes need not wait.
    expect(outcome).toMatchObject({ wrote: true, existed: false });
    expect(listed()).toEqual([entry('b').digest]);
    expect(reads()).toHaveLength(1);
    await outcome.confirmed;
    expect(reads()).toHaveLength(2);
  });

  it('reads the index when called, just before its write, and once back', async () => {
    const { registry, repo, listed } = setup([entry('c')]);
    const outcome = await mergeAndConfirm(repo, SUBJECT, [entry('b')], OPTIONS);
    expect(outcome).toEqual({ wrote: true, existed: true });
    expect(listed()).toEqual([entry('c').digest, entry('b').digest]);
    const ops = registry.log
      .filter((op) => op.reference === tagOf(SUBJECT))
      .map((op) => op.method)
      .filter((m) => m === 'GET' || m === 'PUT');
    expect(ops).toEqual(['GET', 'PUT', 'GET']);
  });
});
