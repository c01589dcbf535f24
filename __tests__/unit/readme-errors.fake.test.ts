/**
 * The README's Errors section quotes messages the code really produces. Each message here is
 * made by the code itself (a scripted stand-in transport answers as distribution and its token
 * service answer: the integration tests in auth.test.ts see the same text from the real ones),
 * with the example names the README uses, and must appear in that section word for word, where
 * a digest is written as the README abbreviates it (`sha256:4f2c…`, `sha512:…`).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parseInputs } from '../../src/action/inputs.js';
import { onSide } from '../../src/engine/copy-error.js';
import { SILENT_LOGGER } from '../../src/engine/logger.js';
import { discoverReferrers } from '../../src/engine/referrers.js';
import { refuseTargetsWithoutReferrersIndex } from '../../src/engine/target-checks.js';
import type { Credential } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';
import { describeDeadline } from '../../src/registry/http/deadline.js';
import { DeadlineError, describeNetworkError, InvalidHeaderError } from '../../src/registry/http/failures.js';
import { withRetry } from '../../src/registry/http/retry.js';
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

/** The README's digests: `sha256:4f2c…` for the subject, `sha256:9e1b…` for a referrer. */
const SUBJECT = `sha256:4f2c${'0'.repeat(60)}`;
const REFERRER = `sha256:9e1b${'0'.repeat(60)}`;
const INDEX = 'application/vnd.oci.image.index.v1+json';

/** A digest as the README writes it: the first four hex characters of a sha256, none of a sha512. */
function abbreviated(message: string): string {
  return message.replace(/(sha256[:-][0-9a-f]{4})[0-9a-f]{60}/g, '$1…').replace(/(sha512:)[0-9a-f]{128}/g, '$1…');
}

/** Answers every request to `registry` with `answer`, as the registry would, without auth. */
function answering(answer: (url: URL) => [number, string, Record<string, string>?]): HttpTransport {
  return {
    async request(req) {
      const [status, body, headers = {}] = answer(new URL(req.url));
      return {
        method: req.method,
        status,
        url: req.url,
        header: (n) => headers[n.toLowerCase()],
        body: Buffer.from(body),
      };
    },
    async stream() {
      throw new Error('not used');
    },
    async close() {},
  };
}

function repositoryOn(registry: string, transport: HttpTransport, maxReferrers = 10_000) {
  return new RegistryClient({ transport, maxReferrers }).repository({ registry, repository: 'acme/app' }, 'pull');
}

/** What `work` threw. */
async function thrown(work: () => Promise<unknown>): Promise<string> {
  const err = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return (err as Error).message;
}

/** The action's inputs, as the runner hands them over ('' when unset). */
function inputError(inputs: Record<string, string>): Promise<string> {
  return thrown(async () => parseInputs((name) => inputs[name] ?? ''));
}

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
    ['a bad target tag', () => inputError({ source: 'ghcr.io/acme/app:rc', targets: 'bad tag!' })],
    [
      'a target tag of the referrers tag schema',
      () => inputError({ source: 'ghcr.io/acme/app:rc', targets: `sha256-${SUBJECT.slice(7)}` }),
    ],
    ['a sha512 source', () => inputError({ source: `ghcr.io/acme/app@sha512:${'0'.repeat(128)}`, targets: '1.0' })],
    [
      'a registry failure',
      () =>
        thrown(() =>
          repositoryOn(
            'ghcr.io',
            answering(() => [
              404,
              JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }),
            ]),
          ).fetchManifest('nope'),
        ),
    ],
    [
      'a connection refused, after its retries',
      () =>
        thrown(() =>
          withRetry(
            {
              async request(req) {
                const url = new URL(req.url);
                throw new TransportError('GET', url.host, describeNetworkError({ code: 'ECONNREFUSED' }, url).reason);
              },
              async stream() {
                throw new Error('not used');
              },
              async close() {},
            },
            { sleep: async () => undefined },
          ).request({ method: 'GET', url: `https://${REGISTRY}/v2/` }),
        ),
    ],
    [
      'more referrers than max-referrers',
      () => {
        const manifests = Array.from({ length: 10_250 }, (_, i) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${i.toString(16).padStart(64, '0')}`,
          size: 500,
        }));
        const index = JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests });
        const repo = repositoryOn(
          'ghcr.io',
          answering(() => [200, index, { 'content-type': INDEX }]),
        );
        return thrown(() =>
          onSide(
            'source',
            repo,
            discoverReferrers(repo, SUBJECT, { maxDepth: 8, maxCount: 10_000, concurrency: 1, logger: SILENT_LOGGER }),
          ),
        );
      },
    ],
    [
      'a target that cannot hold a referrers index',
      () => {
        const repo = repositoryOn(
          'gitlab.example.com',
          answering((url) =>
            url.pathname === '/v2/' ? [200, '{}', { 'gitlab-container-registry-version': 'v4.0.0-gitlab' }] : [404, ''],
          ),
        );
        return thrown(() => refuseTargetsWithoutReferrersIndex([{ repo, existing: [] }]));
      },
    ],
    [
      'a referrers API answer that cannot be used',
      () => {
        const descriptor = (digest: string, size: number) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest,
          size,
        });
        const manifests = [1, 2, 3].map((n) => descriptor(`sha256:${String(n).repeat(64)}`, 10));
        const index = JSON.stringify({
          schemaVersion: 2,
          mediaType: INDEX,
          manifests: [...manifests, descriptor(REFERRER, -1)],
        });
        const repo = repositoryOn(
          REGISTRY,
          answering(() => [200, index, { 'content-type': INDEX }]),
        );
        return thrown(() => repo.listReferrers(SUBJECT));
      },
    ],
  ])('quotes the message for %s', async (_name, make) => {
    const message = abbreviated(await make());
    expect(errorsSection).toContain(`\`${message}\``);
  });
});
