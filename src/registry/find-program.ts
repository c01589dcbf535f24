import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

export interface FindProgramOptions {
  /** Where PATH comes from. */
  env?: NodeJS.ProcessEnv;
  /** Whose rules apply: `.exe`, PATH in any case, no execute bit on Windows. */
  platform?: NodeJS.Platform;
}

/**
 * The absolute path of the program `name` in a directory of PATH, or `undefined`.
 *
 * Only absolute PATH entries are searched, never the current directory. Node's spawn on
 * Windows (libuv's search_path) looks in the current directory first, where a job's checkout
 * could hold a `docker-credential-desktop.exe` of its own; the Docker CLI (Go's os/exec) never
 * runs a program found that way. On Windows the name gets `.exe` appended (what credential
 * helpers are; Node cannot start a `.cmd` or `.bat` without a shell) and the variable may be
 * spelt `Path`.
 */
export async function findProgram(name: string, options: FindProgramOptions = {}): Promise<string | undefined> {
  const env = options.env ?? process.env;
  const windows = (options.platform ?? process.platform) === 'win32';
  const pathValue = windows ? Object.entries(env).find(([k]) => k.toUpperCase() === 'PATH')?.[1] : env.PATH;
  const file = windows && !/\.exe$/i.test(name) ? `${name}.exe` : name;
  for (const entry of (pathValue ?? '').split(windows ? ';' : delimiter)) {
    // Windows allows a PATH entry in double quotes.
    const dir = windows ? entry.replace(/^"(.*)"$/, '$1') : entry;
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, file);
    if (await isProgram(candidate, windows)) return candidate;
  }
  return undefined;
}

async function isProgram(path: string, windows: boolean): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    if (!windows) await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
