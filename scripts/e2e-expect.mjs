#!/usr/bin/env node
// Checks a step's outputs in the end-to-end workflow against what the workflow expects:
//   OUTPUTS  = ${{ toJSON(steps.<id>.outputs) }}   (as the runner passes them: strings)
//   EXPECTED = a JSON object, one key per output to check
// Outputs that hold JSON are parsed first. Matching: a string, number, boolean or null must be
// equal; an object must have every key of the expected object, matching (other keys are
// allowed); an array must have as many elements as expected, each matching a different one
// (in any order). Prints one line per output and exits 1 when any does not match.
const parse = (name, text) => {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${name} is not JSON: ${text}`);
  }
};
const outputs = parse('OUTPUTS', process.env.OUTPUTS ?? '');
const expected = parse('EXPECTED', process.env.EXPECTED ?? '');

function matches(actual, want) {
  if (Array.isArray(want)) {
    if (!Array.isArray(actual) || actual.length !== want.length) return false;
    const left = [...actual];
    return want.every((w) => {
      const i = left.findIndex((a) => matches(a, w));
      if (i < 0) return false;
      left.splice(i, 1);
      return true;
    });
  }
  if (want !== null && typeof want === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(want).every(([k, w]) => k in actual && matches(actual[k], w));
  }
  return actual === want;
}

let failed = 0;
for (const [name, want] of Object.entries(expected)) {
  if (!(name in outputs)) {
    failed++;
    console.log(`FAIL ${name}: the step set no such output`);
    continue;
  }
  let actual = outputs[name];
  if (typeof want !== 'string') {
    try {
      actual = JSON.parse(actual);
    } catch {
      // compared as the string it is
    }
  }
  if (matches(actual, want)) {
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}\n  expected ${JSON.stringify(want)}\n  actual   ${JSON.stringify(actual)}`);
  }
}
if (Object.keys(expected).length === 0) {
  console.log('FAIL: EXPECTED names no output');
  failed++;
}
process.exit(failed > 0 ? 1 : 0);
