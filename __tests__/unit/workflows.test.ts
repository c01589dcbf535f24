import { describe, expect, it, jest } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { validateWorkflow } from '@action-validator/core';

const root = new URL('../../', import.meta.url);
const dir = new URL('.github/workflows/', root);
const workflows = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .map((file) => ({ file, text: readFileSync(new URL(file, dir), 'utf8') }));

interface Step {
  uses?: string;
  run?: string;
}
const steps = (text: string): Step[] =>
  Object.values((parse(text) as { jobs: Record<string, { steps?: Step[] }> }).jobs).flatMap((j) => j.steps ?? []);
/** Every `uses:` line with its trailing comment, as written. */
const usesLines = (text: string) => [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)];

describe('.github/workflows', () => {
  it('has the CI, end-to-end, release and Dependabot dist workflows', () => {
    expect(workflows.map((w) => w.file).sort()).toEqual(
      expect.arrayContaining(['ci.yml', 'dependabot-dist.yml', 'e2e.yml', 'release.yml']),
    );
  });

  it.each(workflows.map((w) => [w.file, w.text]))('%s passes the workflow schema of action-validator', (_f, text) => {
    // It warns that it does not check `paths:` globs; that is all it says.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(validateWorkflow(text).errors).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it('pins every action from elsewhere by full commit SHA, its version in a comment', () => {
    const lines = workflows.flatMap((w) => usesLines(w.text).map((m) => ({ file: w.file, uses: m[1]!, rest: m[2]! })));
    const remote = lines.filter((l) => !l.uses.startsWith('./'));
    expect(remote.length).toBeGreaterThan(0);
    for (const l of remote) {
      expect(`${l.file}: ${l.uses}${l.rest}`).toMatch(/: [\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
    // One version per action throughout, so that Dependabot moves them together.
    const pins = new Map<string, Set<string>>();
    for (const l of remote) {
      const [name, sha] = l.uses.split('@') as [string, string];
      pins.set(name, (pins.get(name) ?? new Set()).add(sha));
    }
    for (const [name, shas] of pins) expect(`${name}: ${shas.size}`).toBe(`${name}: 1`);
  });

  it('runs the action itself in the end-to-end workflow, with nothing act would fetch', () => {
    const e2e = workflows.find((w) => w.file === 'e2e.yml')!.text;
    const uses = steps(e2e).flatMap((s) => (s.uses ? [s.uses] : []));
    expect(uses.filter((u) => u === './').length).toBeGreaterThanOrEqual(3);
    // act replaces a checkout of the workflow's own repository with a copy of the working tree.
    expect(uses.filter((u) => u !== './').every((u) => u.startsWith('actions/checkout@'))).toBe(true);
  });

  it('has Dependabot update npm packages and the workflows’ actions', () => {
    const config = parse(readFileSync(new URL('.github/dependabot.yml', root), 'utf8')) as {
      updates: Array<{ 'package-ecosystem': string; directory: string }>;
    };
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm']);
  });
});
