// Generates the README's input and output tables from action.yml, so that the two never
// disagree. `node scripts/readme-tables.mjs` rewrites README.md; `--check` exits 1 when the
// README differs from what would be generated.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const README = `${root}README.md`;

const cell = (s) =>
  String(s)
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ');

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`]
    .concat(rows.map((r) => `| ${r.map(cell).join(' | ')} |`))
    .join('\n');
}

/** The two tables as markdown, from the text of action.yml. */
export function tablesFrom(actionYml) {
  const action = parse(actionYml);
  const inputs = table(
    ['Input', 'Default', 'Description'],
    Object.entries(action.inputs).map(([name, spec]) => [
      `\`${name}\``,
      spec.required ? '(required)' : `\`${spec.default === '' ? "''" : spec.default}\``,
      spec.description,
    ]),
  );
  const outputs = table(
    ['Output', 'Description'],
    Object.entries(action.outputs).map(([name, spec]) => [`\`${name}\``, spec.description]),
  );
  return { inputs, outputs };
}

function replaceBetween(text, name, content) {
  const start = `<!-- ${name}: generated from action.yml by scripts/readme-tables.mjs -->`;
  const end = `<!-- ${name}: end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md lacks the markers ${start} ... ${end}`);
  return `${text.slice(0, i + start.length)}\n\n${content}\n\n${text.slice(j)}`;
}

/** The README as it should be: its own text with the tables regenerated, prettier-formatted. */
export async function generatedReadme(
  readme = readFileSync(README, 'utf8'),
  actionYml = readFileSync(`${root}action.yml`, 'utf8'),
) {
  const { inputs, outputs } = tablesFrom(actionYml);
  const text = replaceBetween(replaceBetween(readme, 'inputs', inputs), 'outputs', outputs);
  const config = (await resolveConfig(README)) ?? {};
  return format(text, { ...config, filepath: README });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const current = readFileSync(README, 'utf8');
  const wanted = await generatedReadme(current);
  if (process.argv.includes('--check')) {
    if (current !== wanted) {
      console.error('README.md input/output tables differ from action.yml: run node scripts/readme-tables.mjs');
      process.exit(1);
    }
  } else if (current !== wanted) {
    writeFileSync(README, wanted);
    console.log('README.md updated');
  }
}
