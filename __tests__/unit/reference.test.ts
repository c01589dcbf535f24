import { describe, expect, it } from '@jest/globals';
import { formatReference, parseReference, InvalidReferenceError } from '../../src/oci/reference.js';
import { isReferrersTag, referrersTagFor, parseDigest, matchesDigest, computeDigest } from '../../src/oci/digest.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseReference', () => {
  it.each([
    ['ghcr.io/acme/app:rc', { registry: 'ghcr.io', repository: 'acme/app', tag: 'rc' }],
    ['acme/app:rc', { registry: 'docker.io', repository: 'acme/app', tag: 'rc' }],
    ['alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['alpine:3', { registry: 'docker.io', repository: 'library/alpine', tag: '3' }],
    ['docker.io/alpine:3', { registry: 'docker.io', repository: 'library/alpine', tag: '3' }],
    ['index.docker.io/acme/app:1', { registry: 'docker.io', repository: 'acme/app', tag: '1' }],
    ['localhost:5000/a/b/c:v1.0', { registry: 'localhost:5000', repository: 'a/b/c', tag: 'v1.0' }],
    ['localhost/app:x', { registry: 'localhost', repository: 'app', tag: 'x' }],
    ['127.0.0.1:5000/app@' + D, { registry: '127.0.0.1:5000', repository: 'app', digest: D }],
    ['ghcr.io/acme/app:rc@' + D, { registry: 'ghcr.io', repository: 'acme/app', tag: 'rc', digest: D }],
    ['[::1]:5000/app:t', { registry: '[::1]:5000', repository: 'app', tag: 't' }],
    ['reg.io/a__b/c-d/e.f:T_1', { registry: 'reg.io', repository: 'a__b/c-d/e.f', tag: 'T_1' }],
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each([
    ['', /expected registry\/repository:tag/],
    ['ghcr.io/Acme/app:rc', /'Acme' must be lowercase/],
    ['ghcr.io/acme/app:bad tag', /white space/],
    ['ghcr.io/acme/app:-x', /tag '-x' does not match/],
    ['ghcr.io/acme/app:' + 'x'.repeat(129), /does not match/],
    ['ghcr.io/acme/app@sha256:abc', /digest 'sha256:abc'/],
    ['ghcr.io/acme/app@md5:' + 'a'.repeat(32), /digest/],
    ['ghcr.io/acme//app:1', /expected registry/],
    ['ghcr.io/acme/app/:1', /expected registry/],
    ['bad_host.io:x/app:1', /registry 'bad_host.io:x'/],
    [' ghcr.io/acme/app:1', /expected/],
  ])('rejects %j', (input, message) => {
    expect(() => parseReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseReference(input)).toThrow(message);
  });

  it('formats back', () => {
    expect(formatReference(parseReference('acme/app:rc'))).toBe('docker.io/acme/app:rc');
    expect(formatReference(parseReference('r.io/a:t@' + D))).toBe('r.io/a:t@' + D);
  });
});

describe('digests', () => {
  it('derives the referrers tag', () => {
    expect(referrersTagFor(D)).toBe('sha256-' + 'a'.repeat(64));
    expect(isReferrersTag('sha256-' + 'a'.repeat(64))).toBe(true);
    expect(isReferrersTag('sha256-' + 'a'.repeat(63))).toBe(false);
    expect(isReferrersTag('sha256-' + 'a'.repeat(64) + '.sig')).toBe(false);
  });
  it('validates', () => {
    expect(() => parseDigest('sha256:' + 'A'.repeat(64))).toThrow(/Invalid digest/);
    expect(parseDigest(D)).toBe(D);
  });
  it('matches bytes with either algorithm', () => {
    const bytes = new TextEncoder().encode('{}');
    expect(computeDigest(bytes)).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    expect(matchesDigest(bytes, computeDigest(bytes, 'sha512'))).toBe(true);
    expect(matchesDigest(bytes, D)).toBe(false);
  });
});
