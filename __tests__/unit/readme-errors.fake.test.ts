/**
 * The README's Errors section quotes messages the code really produces. Each message here is
 * made by the code itself (a scripted stand-in transport answers as distribution and its token
 * service answer: the integration tests in auth.test.ts see the same text from the real ones),
 * with the example names the README uses, and must appear in that section word for word.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { Credential } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';
import { describeDeadline } from '../../src/registry/http/deadline.js';
import { DeadlineError, describeNetworkError, InvalidHeaderError } from '../../src/registry/http/failures.js';
import type { HttpRequest, HttpResponse, HttpTransport } from '../../src/registry/http/transport.js';
import { TransportError } from '../../src/registry/http/transport.js';

const REGISTRY = 'registry.example.com';
const REALM = 'https://auth.example.com/token';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const errorsSection = readme.slice(
  readme.indexOf('\n## Errors\n'),
  readme.indexOf('\n## ', readme.indexOf('\n## Errors\n') + 1),
);

interface Script {
  challenge?: string;
  /** The token service's answer: status and body. */
  token?: [number, string];
  /** The registry's answer to a request carrying a token. */
  withToken?: [number, string];
}

const UNAUTHORIZED = JSON.stringify({
  errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }],
});

/** Answers as distribution with token auth and its token service would, from a script. */
function scripted(script: Script): HttpTransport {
  const answer = (
    req: HttpRequest,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): HttpResponse => ({
    method: req.method,
    status,
    url: req.url,
    header: (n) => headers[n.toLowerCase()],
    body: Buffer.from(body),
  });
  return {
    async request(req) {
      if (new URL(req.url).host === new URL(REALM).host)
        return answer(req, ...(script.token ?? [200, '{"token":"t0k3n"}']));
      if (req.headers?.authorization?.startsWith('Bearer ') || req.headers?.authorization?.startsWith('Basic '))
        return answer(req, ...(script.withToken ?? [200, '{}']));
      return answer(req, 401, UNAUTHORIZED, {
        'www-authenticate': script.challenge ?? `Bearer realm="${REALM}",service="${REGISTRY}"`,
      });
    },
    async stream() {
      throw new Error('not used');
    },
    async close() {},
  };
}

async function messageOf(script: Script, credential: Credential | undefined, write = false): Promise<string> {
  const client = new RegistryClient({ transport: scripted(script), credentials: async () => credential });
  const repo = client.repository({ registry: REGISTRY, repository: 'acme/app' }, write ? 'push' : 'pull');
  const bytes = Buffer.from('{}');
  const err = await (
    write
      ? repo.pushManifest('1.0', {
          digest: 'sha256:x',
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          size: 2,
          bytes,
        })
      : repo.fetchManifest('rc')
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  return (err as Error).message;
}

const CI = { username: 'ci', password: 'pw' };

describe("the README's Errors section", () => {
  it.each<[string, () => Promise<string>]>([
    ['token auth, wrong password', () => messageOf({ token: [401, UNAUTHORIZED] }, CI)],
    [
      'token auth, no credentials',
      () => messageOf({ token: [200, '{"token":"anon"}'], withToken: [401, UNAUTHORIZED] }, undefined),
    ],
    ['token auth, credentials that may not push', () => messageOf({ withToken: [401, UNAUTHORIZED] }, CI, true)],
    ['token auth, no token in the answer', () => messageOf({ token: [200, '{"expires_in":300}'] }, CI)],
    ['token auth, a token that cannot be a header', () => messageOf({ token: [200, '{"token":"a\\nb"}'] }, CI)],
    [
      'token auth, a realm that is not HTTPS',
      () => messageOf({ challenge: `Bearer realm="http://auth.example.com/token",service="${REGISTRY}"` }, CI),
    ],
    [
      'Basic auth, wrong password',
      () => messageOf({ challenge: 'Basic realm="r"', withToken: [401, UNAUTHORIZED] }, CI),
    ],
    ['Basic auth, no credentials', () => messageOf({ challenge: 'Basic realm="r"' }, undefined)],
    ['no usable challenge', () => messageOf({ challenge: 'Negotiate' }, CI)],
    [
      'a certificate that does not verify',
      async () =>
        new TransportError(
          'GET',
          REGISTRY,
          describeNetworkError({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, new URL(`https://${REGISTRY}/v2/`)).reason,
        ).message,
    ],
    [
      'a host that does not resolve',
      async () =>
        new TransportError(
          'GET',
          REGISTRY,
          describeNetworkError({ code: 'ENOTFOUND' }, new URL(`https://${REGISTRY}/v2/`)).reason,
        ).message,
    ],
    [
      'a passed deadline',
      async () =>
        new DeadlineError({
          method: 'GET',
          host: REGISTRY,
          operation: `get manifest ${REGISTRY}/acme/app:rc`,
          deadline: describeDeadline(60_000, 0),
        }).message,
    ],
    [
      'an invalid Location header',
      async () =>
        new InvalidHeaderError({
          header: 'Location',
          value: 'http://[oops/x',
          method: 'GET',
          host: REGISTRY,
          operation: `get manifest ${REGISTRY}/acme/app:rc`,
        }).message,
    ],
  ])('quotes the message for %s', async (_name, make) => {
    const message = await make();
    expect(errorsSection).toContain(`\`${message}\``);
  });
});
