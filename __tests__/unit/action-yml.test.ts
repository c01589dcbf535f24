import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Inputs, Outputs } from '../../src/action/constants.js';

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
});
