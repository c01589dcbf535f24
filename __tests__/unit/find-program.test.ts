import { afterAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findProgram } from '../../src/registry/find-program.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** A temporary directory holding the given files (mode 755 unless given). */
async function dirWith(files: Record<string, number> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'find-program-'));
  dirs.push(dir);
  for (const [name, mode] of Object.entries(files)) {
    await writeFile(join(dir, name), 'not run by these tests\n');
    await chmod(join(dir, name), mode);
  }
  return dir;
}

describe('findProgram', () => {
  it('finds the program in the first PATH directory that has it', async () => {
    const [a, b, c] = [await dirWith(), await dirWith({ 'docker-credential-x': 0o755 }), await dirWith()];
    await writeFile(join(c, 'docker-credential-x'), '');
    await chmod(join(c, 'docker-credential-x'), 0o755);
    const PATH = [a, b, c].join(delimiter);
    expect(await findProgram('docker-credential-x', { env: { PATH }, platform: 'linux' })).toBe(
      join(b, 'docker-credential-x'),
    );
    expect(await findProgram('docker-credential-y', { env: { PATH }, platform: 'linux' })).toBeUndefined();
    expect(await findProgram('docker-credential-x', { env: {}, platform: 'linux' })).toBeUndefined();
  });

  it('skips relative PATH entries, so never runs a program from the working directory', async () => {
    const here = await dirWith({ 'docker-credential-x': 0o755 });
    const cwd = process.cwd();
    process.chdir(here);
    try {
      for (const PATH of ['.', '', `.${delimiter}`, 'sub/..']) {
        expect(await findProgram('docker-credential-x', { env: { PATH }, platform: 'linux' })).toBeUndefined();
      }
      expect(await findProgram('docker-credential-x', { env: { PATH: here }, platform: 'linux' })).toBe(
        join(here, 'docker-credential-x'),
      );
    } finally {
      process.chdir(cwd);
    }
  });

  it('on Windows, appends .exe, reads Path in any case, accepts a quoted entry', async () => {
    const dir = await dirWith({ 'docker-credential-wincred.exe': 0o644, 'docker-credential-plain': 0o755 });
    const env = { Path: `"${dir}";C:\\nowhere` };
    expect(await findProgram('docker-credential-wincred', { env, platform: 'win32' })).toBe(
      join(dir, 'docker-credential-wincred.exe'),
    );
    // A file without .exe is not what Windows can start without a shell.
    expect(await findProgram('docker-credential-plain', { env, platform: 'win32' })).toBeUndefined();
  });

  (process.platform === 'win32' ? it.skip : it)('on Linux and macOS, skips files that are not executable', async () => {
    const dir = await dirWith({ 'docker-credential-x': 0o644 });
    await mkdir(join(dir, 'docker-credential-d'));
    expect(await findProgram('docker-credential-x', { env: { PATH: dir }, platform: 'linux' })).toBeUndefined();
    expect(await findProgram('docker-credential-d', { env: { PATH: dir }, platform: 'linux' })).toBeUndefined();
  });
});
