import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './run-action.js';

const execFileP = promisify(execFile);

/** The ORAS CLI: $ORAS_BIN, else .cache/bin/oras (where .ci/run installs it), else PATH. */
export function orasBinary(): string {
  const candidates = [
    process.env.ORAS_BIN,
    join(REPO_ROOT, '.cache', 'bin', 'oras'),
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'oras')),
  ];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'The ORAS CLI is not installed: GOBIN=$PWD/.cache/bin go install oras.land/oras/cmd/oras@v1.3.6 (bash .ci/run does this)',
  );
}

export async function oras(args: string[], cwd?: string): Promise<string> {
  const { stdout } = await execFileP(orasBinary(), args, {
    cwd,
    env: { ...process.env, HOME: process.env.HOME ?? '/tmp' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export interface DiscoveredNode {
  digest: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  referrers: DiscoveredNode[];
}

/** `oras discover --format json` as a tree of digests and artifact types, sorted for comparison. */
export async function orasDiscover(reference: string): Promise<DiscoveredNode[]> {
  const out = JSON.parse(await oras(['discover', '--plain-http', '--format', 'json', reference])) as {
    referrers?: DiscoveredNode[];
  };
  const normalise = (nodes: DiscoveredNode[] = []): DiscoveredNode[] =>
    nodes
      .map((n) => ({
        digest: n.digest,
        ...(n.artifactType && { artifactType: n.artifactType }),
        ...(n.annotations && { annotations: n.annotations }),
        referrers: normalise(n.referrers),
      }))
      .sort((a, b) => a.digest.localeCompare(b.digest));
  return normalise(out.referrers);
}
