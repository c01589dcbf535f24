import { describe, expect, it } from '@jest/globals';
import { parseChallenges } from '../../src/registry/auth.js';

describe('parseChallenges', () => {
  it.each([
    [
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"',
      [
        {
          scheme: 'bearer',
          params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:a/b:pull' },
        },
      ],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'Bearer realm="https://auth.docker.io/token", service="registry.docker.io", error="insufficient_scope"',
      [
        {
          scheme: 'bearer',
          params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', error: 'insufficient_scope' },
        },
      ],
    ],
    [
      'Basic realm="a, b", Bearer realm="https://x/token",scope="repository:a:pull,push"',
      [
        { scheme: 'basic', params: { realm: 'a, b' } },
        { scheme: 'bearer', params: { realm: 'https://x/token', scope: 'repository:a:pull,push' } },
      ],
    ],
    ['bearer realm=https://x/t,service=s', [{ scheme: 'bearer', params: { realm: 'https://x/t', service: 's' } }]],
    ['Bearer realm="q\\"uote"', [{ scheme: 'bearer', params: { realm: 'q"uote' } }]],
    ['', []],
  ])('%s', (header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });
});
