/**
 * Order checks on a memory registry's log: what a registry's content says each manifest names,
 * and when each digest or tag was written.
 */
import type { MemoryRegistry, Operation } from './memory-registry.js';

/** The first write (PUT, or a mount) of each reference in the repository, by reference. */
export function firstWrites(registry: MemoryRegistry, repository: string): Map<string, Operation> {
  const writes = new Map<string, Operation>();
  for (const op of registry.log) {
    if (op.repository !== repository || (op.method !== 'PUT' && op.kind !== 'mount')) continue;
    if (!writes.has(op.reference)) writes.set(op.reference, op);
  }
  return writes;
}

/** What a stored manifest names: children, config, layers, subject. */
export function namedBy(registry: MemoryRegistry, repository: string, digest: string) {
  const json = registry.content(repository).json(digest) as {
    manifests?: { digest: string }[];
    config?: { digest: string };
    layers?: { digest: string }[];
    subject?: { digest: string };
  };
  return {
    children: (json.manifests ?? []).map((m) => m.digest),
    blobs: [...(json.config ? [json.config.digest] : []), ...(json.layers ?? []).map((l) => l.digest)],
    subject: json.subject?.digest,
  };
}

/**
 * Every manifest written to the repository was written after everything it names that this
 * run wrote too (children, blobs and, for a referrer, its subject). Returns the violations.
 */
export function writtenBeforeWhatNamesThem(registry: MemoryRegistry, repository: string): string[] {
  const writes = firstWrites(registry, repository);
  const violations: string[] = [];
  for (const [reference, op] of writes) {
    if (op.kind !== 'manifest' || !reference.startsWith('sha256:')) continue;
    const { children, blobs, subject } = namedBy(registry, repository, reference);
    for (const named of [...children, ...blobs, ...(subject ? [subject] : [])]) {
      const before = writes.get(named);
      if (before && before.seq > op.seq) violations.push(`${reference} was written before ${named}`);
    }
  }
  return violations;
}
