import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DIST_ENTRY = join(REPO_ROOT, 'dist', 'index.js');

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The content of each file a `*-file` output names, by output name (read before the run's directory goes). */
  files: Record<string, string>;
}

/** Parses the GITHUB_OUTPUT file format that @actions/core writes: `name<<delimiter\nvalue\ndelimiter`. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
      outputs[m[1]!] = value.join('\n');
    } else if (lines[i]!.includes('=')) {
      const j = lines[i]!.indexOf('=');
      outputs[lines[i]!.slice(0, j)] = lines[i]!.slice(j + 1);
    }
  }
  return outputs;
}

/**
 * Runs the built action the way the runner does: inputs as INPUT_<NAME> variables (the name
 * upper-cased, hyphens kept), outputs and summary through the files the runner hands it.
 */
export async function runAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  entry = DIST_ENTRY,
): Promise<ActionRun> {
  const dir = await mkdtemp(join(tmpdir(), 'action-run-'));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  await writeFile(outputFile, '');
  await writeFile(summaryFile, '');
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    DOCKER_CONFIG: join(dir, 'no-docker-config'),
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: dir,
    ...env,
  };
  for (const [name, value] of Object.entries(inputs))
    childEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  try {
    const child = spawn(process.execPath, [entry], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const outputs = parseOutputFile(await readFile(outputFile, 'utf8'));
    const files: Record<string, string> = {};
    for (const [name, path] of Object.entries(outputs)) {
      if (name.endsWith('-file')) files[name] = await readFile(path, 'utf8');
    }
    return { code, stdout, stderr, outputs, summary: await readFile(summaryFile, 'utf8'), files };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
