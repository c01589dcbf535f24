import { describe, expect, it } from '@jest/globals';
import {
  artifactTypeOf,
  isMeantAsOciIndex,
  parseManifest,
  parseReferrersIndex,
  InvalidManifestError,
} from '../../src/oci/manifest.js';
import { MediaType, EMPTY_DESCRIPTOR } from '../../src/oci/media-types.js';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const d = (n: string, mediaType = 'application/octet-stream') => ({
  mediaType,
  digest: 'sha256:' + n.repeat(64),
  size: 1,
});

describe('parseManifest', () => {
  it('reads an OCI artifact with subject and artifactType', () => {
    const m = parseManifest(
      enc({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: 'application/x.sig',
        config: EMPTY_DESCRIPTOR,
        layers: [d('a')],
        subject: d('b', MediaType.OciManifest),
      }),
    );
    expect(m.isIndex).toBe(false);
    expect(m.subject?.digest).toBe('sha256:' + 'b'.repeat(64));
    expect(artifactTypeOf(m)).toBe('application/x.sig');
  });
  it('falls back to the served content type, then to the structure', () => {
    expect(
      parseManifest(enc({ schemaVersion: 2, config: d('a'), layers: [] }), MediaType.DockerManifest).mediaType,
    ).toBe(MediaType.DockerManifest);
    expect(parseManifest(enc({ schemaVersion: 2, manifests: [] }), 'application/json').mediaType).toBe(
      MediaType.OciIndex,
    );
    expect(
      artifactTypeOf(parseManifest(enc({ schemaVersion: 2, config: d('c', 'application/x.cfg'), layers: [] }))),
    ).toBe('application/x.cfg');
  });
  it.each([
    ['not JSON', '{', /not valid UTF-8 JSON/],
    ['array', '[]', /not a JSON object/],
    ['schema 1', { schemaVersion: 1 }, /schemaVersion 1/],
    ['unknown type', { schemaVersion: 2, mediaType: 'text/html' }, /unsupported manifest media type 'text\/html'/],
    ['no config', { schemaVersion: 2, mediaType: MediaType.OciManifest, layers: [] }, /config/],
    [
      'bad digest',
      { schemaVersion: 2, manifests: [{ mediaType: 'x', digest: 'sha256:zz', size: 1 }] },
      /not a valid digest/,
    ],
    ['negative size', { schemaVersion: 2, manifests: [{ ...d('a'), size: -1 }] }, /invalid size/],
    ['bad annotations', { schemaVersion: 2, manifests: [], annotations: { a: 1 } }, /annotations/],
  ])('rejects %s', (_n, body, message) => {
    expect(() => parseManifest(enc(body))).toThrow(InvalidManifestError);
    expect(() => parseManifest(enc(body))).toThrow(message);
  });
  it('takes optional fields sent as null as absent (Go registries without omitempty)', () => {
    const m = parseManifest(
      enc({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: null,
        config: { ...d('c', 'application/x.cfg'), annotations: null, artifactType: null },
        layers: [{ ...d('a'), urls: null, platform: null, data: null }],
        subject: null,
        annotations: null,
      }),
    );
    expect(m).toEqual({
      mediaType: MediaType.OciManifest,
      isIndex: false,
      config: d('c', 'application/x.cfg'),
      layers: [d('a')],
      manifests: [],
    });
    expect(parseReferrersIndex(enc({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: null }))).toEqual([]);
  });
  it.each([
    ['an OCI index by Content-Type', { anything: 1 }, `${MediaType.OciIndex}; charset=utf-8`, true],
    ['an OCI index by shape, no Content-Type', { schemaVersion: 2, manifests: 'x' }, undefined, true],
    ['an OCI index by mediaType, as JSON', { mediaType: MediaType.OciIndex }, 'application/json', true],
    ['a Docker manifest list by shape', { mediaType: MediaType.DockerManifestList, manifests: [] }, undefined, false],
    ['another media type', { schemaVersion: 2, manifests: [] }, 'text/html', false],
    ['HTML', '<html>hello</html>', 'text/plain', false],
    ['JSON without manifests', { errors: [] }, 'application/json', false],
  ])('tells whether an answer is meant as an OCI index: %s', (_n, body, contentType, meant) => {
    expect(isMeantAsOciIndex(enc(body), contentType)).toBe(meant);
  });
  it('refuses a Docker manifest list as a referrers index', () => {
    expect(() =>
      parseReferrersIndex(enc({ schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [] })),
    ).toThrow(/must be an OCI image index/);
  });
});
