import { describe, expect, it } from '@jest/globals';
import { InputError, parseInputs } from '../../src/action/inputs.js';

const D = 'sha256:' + 'b'.repeat(64);
const base = { source: 'ghcr.io/acme/app:rc', targets: '1.2.3' };
const getter = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';

describe('parseInputs', () => {
  it('applies defaults and resolves bare tags against the source repository', () => {
    const r = parseInputs(getter({ ...base, targets: '1.2.3\nlatest, stable ,\n\n' }));
    expect(r.targets).toEqual([
      { registry: 'ghcr.io', repository: 'acme/app', tag: '1.2.3' },
      { registry: 'ghcr.io', repository: 'acme/app', tag: 'latest' },
      { registry: 'ghcr.io', repository: 'acme/app', tag: 'stable' },
    ]);
    expect(r).toMatchObject({
      copyReferrers: true,
      referrersApi: 'auto',
      plainHttp: false,
      dryRun: false,
      concurrency: 16,
      verify: true,
    });
    expect(r.credentials).toBeUndefined();
  });

  it('takes docker/metadata-action tags output as it is', () => {
    const r = parseInputs(getter({ ...base, targets: 'ghcr.io/acme/app:1.2.3\nghcr.io/acme/app:latest\n' }));
    expect(r.targets.map((t) => t.tag)).toEqual(['1.2.3', 'latest']);
  });

  it('parses full targets in other repositories, keeping the source tag when none is named', () => {
    const r = parseInputs(getter({ ...base, targets: 'docker.io/acme/app, registry.example.com/prod/app:1' }));
    expect(r.targets).toEqual([
      { registry: 'docker.io', repository: 'acme/app', tag: 'rc' },
      { registry: 'registry.example.com', repository: 'prod/app', tag: '1' },
    ]);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['False', false],
  ])('booleans: %s', (value, expected) => {
    expect(parseInputs(getter({ ...base, 'dry-run': value })).dryRun).toBe(expected);
  });

  it('reads trace, off by default', () => {
    expect(parseInputs(getter(base)).trace).toBe(false);
    expect(parseInputs(getter({ ...base, trace: 'true' })).trace).toBe(true);
  });

  it('reads the policy inputs', () => {
    const r = parseInputs(
      getter({
        ...base,
        'require-referrers': 'application/spdx+json\napplication/vnd.dev.sigstore.bundle.v0.3+json',
        'require-referrers-scope': 'per-platform',
        'referrer-types': 'application/vnd.dev.sigstore.*, application/spdx+json',
        overwrite: 'false',
        'remove-stray-referrers-tags': 'true',
      }),
    );
    expect(parseInputs(getter(base)).removeStrayReferrersTags).toBe(false);
    expect(r).toMatchObject({
      removeStrayReferrersTags: true,
      requireReferrers: ['application/spdx+json', 'application/vnd.dev.sigstore.bundle.v0.3+json'],
      requireReferrersScope: 'per-platform',
      referrerTypes: ['application/vnd.dev.sigstore.*', 'application/spdx+json'],
      overwrite: false,
    });
  });

  it('reads credentials and option values', () => {
    const r = parseInputs(
      getter({ ...base, username: 'u', password: 'p', 'referrers-api': 'false', 'plain-http': 'true' }),
    );
    expect(r.credentials).toEqual({ username: 'u', password: 'p' });
    expect(r.referrersApi).toBe(false);
    expect(r.plainHttp).toBe(true);
  });

  it('reads max-referrers, 10,000 by default', () => {
    expect(parseInputs(getter(base)).maxReferrers).toBe(10_000);
    expect(parseInputs(getter({ ...base, 'max-referrers': ' 250000 ' })).maxReferrers).toBe(250_000);
    expect(parseInputs(getter({ ...base, 'max-referrers': '1' })).maxReferrers).toBe(1);
  });

  it.each([
    ['a short sha256- prefix', 'sha256-abc'],
    ['a cosign signature tag', `sha256-${'b'.repeat(64)}.sig`],
    ['uppercase hex', `sha256-${'B'.repeat(64)}`],
    ['an unregistered algorithm', `md5-${'b'.repeat(32)}`],
    ['63 hex digits', `sha256-${'b'.repeat(63)}`],
  ])('accepts a tag that only looks close to the referrers tag schema: %s', (_name, tag) => {
    expect(parseInputs(getter({ ...base, targets: tag })).targets[0]!.tag).toBe(tag);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['missing source', { targets: '1' }, /Input source is required/],
    ['missing targets', { source: 'ghcr.io/a/b:1' }, /Input targets is required/],
    ['only separators', { ...base, targets: ' , \n ,' }, /Input targets is required/],
    [
      'bad tag',
      { ...base, targets: 'bad tag!' },
      /^Invalid target 'bad tag!': a tag is \[A-Za-z0-9_\]\[A-Za-z0-9._-\]\{0,127\}$/,
    ],
    ['one bad tag of several', { ...base, targets: '1.2.3, latest, -bad' }, /Invalid target '-bad'/],
    ['tag too long', { ...base, targets: 'x'.repeat(129) }, /Invalid target 'x+': a tag is/],
    [
      'uppercase repository',
      { ...base, targets: 'ghcr.io/Acme/app:1' },
      /Invalid target 'ghcr.io\/Acme\/app:1': the repository path component 'Acme'/,
    ],
    ['bad digest target', { ...base, targets: 'ghcr.io/a/b@sha256:1' }, /Invalid target .*digest 'sha256:1'/],
    [
      'source without tag',
      { ...base, source: 'ghcr.io/acme/app' },
      /Invalid source 'ghcr.io\/acme\/app': name a tag or a digest/,
    ],
    [
      'source bad digest',
      { ...base, source: 'ghcr.io/acme/app@sha256:xyz' },
      /Invalid source 'ghcr.io\/acme\/app@sha256:xyz'/,
    ],
    [
      'source by digest, target repo without tag',
      { source: 'ghcr.io/a/b@' + D, targets: 'ghcr.io/a/c' },
      /Invalid target 'ghcr.io\/a\/c': name a tag/,
    ],
    ['copy-referrers', { ...base, 'copy-referrers': 'yes' }, /^Invalid copy-referrers 'yes': expected true or false$/],
    ['dry-run', { ...base, 'dry-run': '1' }, /^Invalid dry-run '1': expected true or false$/],
    ['plain-http', { ...base, 'plain-http': 'on' }, /^Invalid plain-http 'on'/],
    [
      'concurrency zero',
      { ...base, concurrency: '0' },
      /^Invalid concurrency '0': expected a whole number from 1 to 64$/,
    ],
    ['concurrency text', { ...base, concurrency: 'many' }, /^Invalid concurrency 'many'/],
    ['verify', { ...base, verify: 'maybe' }, /^Invalid verify 'maybe': expected true or false$/],
    [
      'referrers-api',
      { ...base, 'referrers-api': 'maybe' },
      /^Invalid referrers-api 'maybe': expected auto, true or false$/,
    ],
    ['username without password', { ...base, username: 'me' }, /Input username 'me' is set but password is empty/],
    ['password without username', { ...base, password: 'secret-value' }, /Input password is set but username is empty/],
    [
      'blank user name with a password',
      { ...base, username: '   ', password: 'secret-value' },
      /Input password is set but username is empty/,
    ],
    [
      'semver build metadata in a tag',
      { ...base, targets: '1.2.3+build.5' },
      /^Invalid target '1\.2\.3\+build\.5': a tag is /,
    ],
    ['a tag starting with a dot', { ...base, targets: '.hidden' }, /^Invalid target '\.hidden': a tag is /],
    ['a tag starting with a dash', { ...base, targets: '-rc' }, /^Invalid target '-rc': a tag is /],
    [
      'a tag with a space inside a list',
      { ...base, targets: 'latest\nrelease candidate' },
      /^Invalid target 'release candidate': a tag is /,
    ],
    [
      'a tag of 129 characters in a reference',
      { ...base, targets: `ghcr.io/a/b:${'t'.repeat(129)}` },
      /does not match \[A-Za-z0-9_\]/,
    ],
    [
      'an empty tag after a colon',
      { ...base, targets: 'ghcr.io/acme/app:' },
      /Invalid target 'ghcr\.io\/acme\/app:': the tag '' does not match/,
    ],
    ['two tags', { ...base, targets: 'ghcr.io/acme/app:1:2' }, /Invalid target 'ghcr\.io\/acme\/app:1:2'/],
    [
      'a URL with a scheme',
      { ...base, targets: 'https://ghcr.io/acme/app:1' },
      /Invalid target 'https:\/\/ghcr\.io\/acme\/app:1'/,
    ],
    [
      'a port that is not a number',
      { ...base, targets: 'ghcr.io:http/acme/app:1' },
      /the registry 'ghcr\.io:http' is not a valid host\[:port\]/,
    ],
    [
      'a port of six digits',
      { ...base, targets: 'localhost:500000/app:1' },
      /the registry 'localhost:500000' is not a valid host\[:port\]/,
    ],
    [
      'a host with an underscore',
      { ...base, targets: 'my_registry.io/app:1' },
      /Invalid target 'my_registry\.io\/app:1'/,
    ],
    [
      'an uppercase repository',
      { ...base, targets: 'ghcr.io/acme/App:1' },
      /the repository path component 'App' must be lowercase/,
    ],
    [
      'a repository ending in a separator',
      { ...base, targets: 'ghcr.io/acme/app-:1' },
      /the repository path component 'app-'/,
    ],
    ['a double slash', { ...base, targets: 'ghcr.io/acme//app:1' }, /Invalid target 'ghcr\.io\/acme\/\/app:1'/],
    [
      'a digest with uppercase hex',
      { ...base, targets: 'ghcr.io/acme/app@sha256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' },
      /digest 'sha256:B+' is not sha256:<64 lowercase hex>/,
    ],
    ['a digest too short', { ...base, targets: 'ghcr.io/acme/app@sha256:abc' }, /digest 'sha256:abc'/],
    [
      'an unknown digest algorithm',
      { ...base, targets: 'ghcr.io/acme/app@md5:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
      /digest 'md5:a+'/,
    ],
    [
      'a sha512 digest of sha256 length',
      { ...base, targets: 'ghcr.io/acme/app@sha512:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' },
      /digest 'sha512:b+'/,
    ],
    [
      'a digest alone',
      { ...base, targets: '@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' },
      /Invalid target '@sha256:b+'/,
    ],
    [
      'a repository name over 255 characters',
      { ...base, targets: `ghcr.io/${'a'.repeat(256)}:1` },
      /longer than 255 characters/,
    ],
    ['a source without anything', { ...base, source: '   ' }, /Input source is required/],
    [
      'a source with white space',
      { ...base, source: 'ghcr.io/acme/app:rc 1' },
      /Invalid source 'ghcr\.io\/acme\/app:rc 1': it contains white space/,
    ],
    ['a source registry alone', { ...base, source: 'ghcr.io' }, /Invalid source 'ghcr\.io': name a tag or a digest/],
    [
      'a source with a bad tag',
      { ...base, source: 'ghcr.io/acme/app:rc!' },
      /Invalid source 'ghcr\.io\/acme\/app:rc!': the tag 'rc!' does not match/,
    ],
    [
      'concurrency above 64',
      { ...base, concurrency: '65' },
      /^Invalid concurrency '65': expected a whole number from 1 to 64$/,
    ],
    ['negative concurrency', { ...base, concurrency: '-1' }, /^Invalid concurrency '-1'/],
    [
      'max-referrers 0',
      { ...base, 'max-referrers': '0' },
      /^Invalid max-referrers '0': expected a whole number from 1 to 1000000$/,
    ],
    ['max-referrers above a million', { ...base, 'max-referrers': '1000001' }, /^Invalid max-referrers '1000001'/],
    ['max-referrers with a separator', { ...base, 'max-referrers': '10,000' }, /^Invalid max-referrers '10,000'/],
    ['max-referrers unlimited', { ...base, 'max-referrers': 'unlimited' }, /^Invalid max-referrers 'unlimited'/],
    ['fractional concurrency', { ...base, concurrency: '1.5' }, /^Invalid concurrency '1\.5'/],
    [
      'a timeout of 0',
      { ...base, timeout: '0' },
      /^Invalid timeout '0': expected seconds, a whole number from 1 to 3600$/,
    ],
    ['a timeout with a unit', { ...base, timeout: '10s' }, /^Invalid timeout '10s'/],
    ['a timeout over an hour', { ...base, timeout: '3601' }, /^Invalid timeout '3601'/],
    [
      'referrers-api yes',
      { ...base, 'referrers-api': 'yes' },
      /^Invalid referrers-api 'yes': expected auto, true or false$/,
    ],
    ['dry-run no', { ...base, 'dry-run': 'no' }, /^Invalid dry-run 'no': expected true or false$/],
    ['verify 0', { ...base, verify: '0' }, /^Invalid verify '0': expected true or false$/],
    [
      'plain-http with trailing text',
      { ...base, 'plain-http': 'true1' },
      /^Invalid plain-http 'true1': expected true or false$/,
    ],
    [
      'copy-referrers off',
      { ...base, 'copy-referrers': 'off' },
      /^Invalid copy-referrers 'off': expected true or false$/,
    ],
    ['overwrite never', { ...base, overwrite: 'never' }, /^Invalid overwrite 'never': expected true or false$/],
    [
      'remove-stray-referrers-tags all',
      { ...base, 'remove-stray-referrers-tags': 'all' },
      /^Invalid remove-stray-referrers-tags 'all': expected true or false$/,
    ],
    ['trace yes', { ...base, trace: 'yes' }, /^Invalid trace 'yes': expected true or false$/],
    [
      'a required referrer type that is not a media type',
      { ...base, 'require-referrers': 'cosign signature' },
      /^Invalid require-referrers 'cosign signature': expected an artifact type such as application\/spdx\+json$/,
    ],
    [
      'a glob in a required referrer type',
      { ...base, 'require-referrers': 'application/*' },
      /^Invalid require-referrers 'application\/\*'/,
    ],
    [
      'a referrer-types pattern without a subtype',
      { ...base, 'referrer-types': 'application' },
      /^Invalid referrer-types 'application': expected an artifact type such as application\/spdx\+json \(with \* for any run of characters\)$/,
    ],
    [
      'a target tag of the referrers tag schema',
      { ...base, targets: `sha256-${'b'.repeat(64)}` },
      /^Invalid target 'sha256-b{64}': a tag of the form <algorithm>-<hex digest> names the referrers of sha256:b{64} in the OCI referrers tag schema; tagging must never create one$/,
    ],
    [
      'a referrers-schema tag among other targets, in a full reference',
      { ...base, targets: `1.2.3\nghcr.io/acme/app:sha256-${'c'.repeat(64)}` },
      /^Invalid target 'ghcr\.io\/acme\/app:sha256-c{64}': .* referrers tag schema/,
    ],
    [
      'a truncated sha512 referrers-schema tag',
      { ...base, targets: `sha512-${'d'.repeat(64)}` },
      /^Invalid target 'sha512-d{64}': .*names the referrers of a sha512 digest starting d{64} in the OCI referrers tag schema/,
    ],
    [
      'a full-length sha512 referrers-schema tag',
      { ...base, targets: `sha512-${'e'.repeat(128)}` },
      /^Invalid target 'sha512-e{128}': .*names the referrers of sha512:e{128} in the OCI referrers tag schema/,
    ],
    [
      'a blake3 referrers-schema tag',
      { ...base, targets: `blake3-${'f'.repeat(64)}` },
      /^Invalid target 'blake3-f{64}': .* referrers tag schema/,
    ],
    [
      'a referrers-schema source tag a target would keep',
      { source: `ghcr.io/acme/app:sha256-${'a'.repeat(64)}`, targets: 'ghcr.io/acme/mirror' },
      /^Invalid target 'ghcr\.io\/acme\/mirror': it would take the source's tag sha256-a{64}, .* referrers tag schema/,
    ],
    [
      'a sha512 source digest',
      { ...base, source: `ghcr.io/acme/app@sha512:${'a'.repeat(128)}` },
      /^Invalid source 'ghcr\.io\/acme\/app@sha512:a{128}': only sha256 digests are supported/,
    ],
    [
      'a sha512 source digest with a tag',
      { ...base, source: `ghcr.io/acme/app:rc@sha512:${'a'.repeat(128)}` },
      /^Invalid source .*: only sha256 digests are supported/,
    ],
    [
      'a sha512 target digest',
      { ...base, targets: `ghcr.io/acme/app:1@sha512:${'a'.repeat(128)}` },
      /^Invalid target 'ghcr\.io\/acme\/app:1@sha512:a{128}': only sha256 digests are supported/,
    ],
    [
      'an unknown require-referrers-scope',
      { ...base, 'require-referrers-scope': 'children' },
      /^Invalid require-referrers-scope 'children': expected root or per-platform$/,
    ],
  ])('rejects %s', (_name, inputs, message) => {
    let error: unknown;
    try {
      parseInputs(getter(inputs));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('secret-value');
  });
});
