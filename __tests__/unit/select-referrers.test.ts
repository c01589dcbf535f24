import { describe, expect, it } from '@jest/globals';
import { selectReferrers } from '../../src/engine/policy.js';
import type { ReferrerInfo } from '../../src/engine/referrers.js';

const d = (n: string) => 'sha256:' + n.repeat(64);
const ROOT = d('0');
const r = (digest: string, artifactType: string | undefined, subject: string, depth: number): ReferrerInfo => ({
  digest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 1,
  ...(artifactType && { artifactType }),
  subject,
  depth,
});
const SIG = r(d('1'), 'application/vnd.dev.sigstore.bundle.v0.3+json', ROOT, 1);
const SBOM = r(d('2'), 'application/spdx+json', ROOT, 1);
const COUNTER = r(d('3'), 'application/vnd.example.counter', SIG.digest, 2);
const NOTYPE = r(d('4'), undefined, ROOT, 1);
const ALL = [SIG, SBOM, COUNTER, NOTYPE];

describe('selectReferrers', () => {
  it.each<[string, string[] | undefined, ReferrerInfo[]]>([
    ['no patterns: all', undefined, ALL],
    ['empty list: all', [], ALL],
    ['exact type', ['application/spdx+json'], [SBOM]],
    [
      'glob keeps a referrer and drops what refers to an excluded one',
      ['application/vnd.dev.sigstore.*', 'application/spdx+json'],
      [SIG, SBOM],
    ],
    [
      'a referrer of a kept one is kept when it matches',
      ['application/vnd.dev.sigstore.*', 'application/vnd.example.*'],
      [SIG, COUNTER],
    ],
    ['a referrer whose subject is excluded stays behind even when it matches', ['application/vnd.example.*'], []],
    ['* matches every typed referrer', ['*'], [SIG, SBOM, COUNTER, NOTYPE]],
    ['regex characters are literal', ['application/spdx.json'], []],
  ])('%s', (_name, patterns, expected) => {
    expect(
      selectReferrers(ALL, patterns)
        .map((x) => x.digest)
        .sort(),
    ).toEqual(expected.map((x) => x.digest).sort());
  });
});
