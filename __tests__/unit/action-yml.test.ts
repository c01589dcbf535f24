import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { validateAction } from '@action-validator/core';
import { Inputs, Outputs } from '../../src/action/constants.js';
// @ts-expect-error: a plain .mjs script without types
import { generatedReadme } from '../../scripts/readme-tables.mjs';

const root = new URL('../../', import.meta.url);
const action = parse(readFileSync(new URL('action.yml', root), 'utf8')) as {
  runs: { using: string; main: string };
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
};
const readme = readFileSync(new URL('README.md', root), 'utf8');
/** README table rows as trimmed cells (prettier pads them). */
const rows = readme
  .split('\n')
  .filter((l) => l.startsWith('|'))
  .map((l) =>
    l
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim()),
  );
const row = (name: string) => rows.find((r) => r[0] === `\`${name}\``);

describe('action.yml', () => {
  it('runs the committed bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });
  it('declares exactly the inputs and outputs the code reads and writes, each described', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.values(Inputs).sort());
    expect(Object.keys(action.outputs).sort()).toEqual(Object.values(Outputs).sort());
    for (const spec of [...Object.values(action.inputs), ...Object.values(action.outputs)])
      expect(spec.description.length).toBeGreaterThan(10);
  });
  it('is documented in the README, with the same defaults', () => {
    for (const [name, spec] of Object.entries(action.inputs)) {
      expect(row(name)?.[1]).toBe(spec.required ? '(required)' : `\`${spec.default === '' ? "''" : spec.default}\``);
    }
    for (const name of Object.keys(action.outputs)) expect(row(name)).toBeDefined();
  });
  it('has the README input and output tables generated from it', async () => {
    expect(readme).toContain('<!-- inputs: generated from action.yml');
    expect(readme).toContain('<!-- outputs: generated from action.yml');
    expect(await generatedReadme(readme)).toBe(readme);
  });
  it('passes the action.yml schema of action-validator (branding, descriptions, runs)', () => {
    const text = readFileSync(new URL('action.yml', root), 'utf8');
    // Its schema (0.6.0) predates node24, which the first test checks; the rest is checked as it is.
    const asNode20 = (t: string) => t.replace('using: node24', 'using: node20');
    expect(validateAction(asNode20(text)).errors).toEqual([]);
    // The check can fail: an icon outside Feather's set, an input without a description.
    expect(validateAction(asNode20(text.replace('icon: tag', 'icon: no-such-icon'))).errors.length).toBeGreaterThan(0);
    expect(
      validateAction(asNode20(text.replace(/( {2}source:\n) {4}description: .*\n/, '$1'))).errors.length,
    ).toBeGreaterThan(0);
  });
});
