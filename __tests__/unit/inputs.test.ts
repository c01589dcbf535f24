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
      concurrency: 8,
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

  it('reads credentials and option values', () => {
    const r = parseInputs(
      getter({ ...base, username: 'u', password: 'p', 'referrers-api': 'false', 'plain-http': 'true' }),
    );
    expect(r.credentials).toEqual({ username: 'u', password: 'p' });
    expect(r.referrersApi).toBe(false);
    expect(r.plainHttp).toBe(true);
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
