/**
 * Pure helpers for referrers lists and the referrers tag schema's index (distribution-spec
 * v1.1 "Listing Referrers", "Referrers Tag Schema"), apart from any I/O: the registry client
 * reads and writes with them, the engine merges with them, and test stand-ins build with them.
 */
import type { Descriptor } from './manifest.js';
import { MediaType } from './media-types.js';

/** Each digest once, the first entry kept, order kept. */
export function dedupeDescriptors(descriptors: readonly Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descriptors.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}

/** The entries of `wanted` whose digest `listed` lacks (a merge adds these, and only these). */
export function missingDescriptors(listed: readonly Descriptor[], wanted: readonly Descriptor[]): Descriptor[] {
  const have = new Set(listed.map((d) => d.digest));
  return dedupeDescriptors(wanted.filter((d) => !have.has(d.digest)));
}

/** The bytes of a referrers-tag index: an OCI image index listing `descriptors`. */
export function encodeReferrersIndex(descriptors: readonly Descriptor[]): Uint8Array {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: descriptors }));
}
