/** Media types from image-spec v1.1 and Docker's image manifest v2 schema 2. */
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  Empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** image-spec v1.1 "Guidance for an Empty Descriptor". */
export const EMPTY_DESCRIPTOR = {
  mediaType: MediaType.Empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;

/**
 * The Accept header for manifest requests. distribution-spec v1.1 "Pulling manifests": a
 * registry may convert a manifest into a type the client accepts, which changes its digest,
 * so every type we can carry is listed.
 */
export const MANIFEST_ACCEPT = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
].join(', ');

export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
];

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList;
}

export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(mediaType);
}

/** distribution-spec: "clients SHOULD NOT" expect larger manifests; 4 MiB is the floor registries accept. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
