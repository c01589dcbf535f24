import { describe, expect, it } from '@jest/globals';
import { isRefusedContainerPush, packageOf } from '../../src/action/ghcr-diagnosis.js';
import { RegistryError } from '../../src/registry/errors.js';

describe('which failures get the ghcr.io diagnosis', () => {
  const error = (over: Partial<{ registry: string; method: string; status: number; code: string }>) =>
    new RegistryError({
      registry: over.registry ?? 'ghcr.io',
      operation: 'push manifest',
      reference: `${over.registry ?? 'ghcr.io'}/acme/app:1.2.3`,
      method: over.method ?? 'PUT',
      status: over.status ?? 403,
      errors: over.code ? [{ code: over.code }] : [],
    });

  it.each([
    ['a PUT refused with 403', error({}), 'ghcr.io', true],
    [
      'a POST (blob upload) refused with DENIED',
      error({ method: 'POST', status: 400, code: 'DENIED' }),
      'ghcr.io',
      true,
    ],
    ['a PUT answered 401', error({ status: 401 }), 'ghcr.io', true],
    ['on GHES, containers.<host>', error({ registry: 'containers.ghes.example' }), 'containers.ghes.example', true],
    ['ghcr.io seen from GHES', error({}), 'containers.ghes.example', false],
    ['a read (GET) refused', error({ method: 'GET' }), 'ghcr.io', false],
    ['a PUT that failed otherwise (500)', error({ status: 500 }), 'ghcr.io', false],
    ['another registry', error({ registry: 'docker.io' }), 'ghcr.io', false],
    ['not a registry error', new Error('boom'), 'ghcr.io', false],
  ])('%s', (_name, err, registry, expected) => {
    expect(isRefusedContainerPush(err, registry)).toBe(expected);
  });

  it.each([
    ['ghcr.io/acme/app:1.2.3', { owner: 'acme', name: 'app' }],
    ['ghcr.io/acme/app/worker@sha256:' + 'a'.repeat(64), { owner: 'acme', name: 'app/worker' }],
  ])('package of %s', (reference, expected) => {
    expect(packageOf({ registry: 'ghcr.io', reference })).toEqual(expected);
  });
});
