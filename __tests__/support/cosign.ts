/**
 * The real cosign CLIs (v2.6.5 and v3.1.3, installed from the Go module proxy
 * into .cache/cosign-v2/ and .cache/cosign-v3/ by the global setup), driven
 * offline against the plain-HTTP loopback registries of the tests.
 *
 * What it takes to sign and verify with no network and no TLS (found by
 * reading cosign's sources and trying it):
 *
 * - keys: `cosign generate-key-pair --output-key-prefix cosign` with
 *   COSIGN_PASSWORD set to the empty string (no prompt);
 * - every command that talks to the registry: `--allow-http-registry` (plain
 *   HTTP; cosign decides per command, there is no global switch);
 * - sign and attest, v2: `--key cosign.key --tlog-upload=false --yes`: no
 *   Rekor upload, no confirmation prompt. Signatures go to the tag
 *   `sha256-<hex>.sig` (attestations `.att`) unless `--registry-referrers-mode=oci-1-1`
 *   with COSIGN_EXPERIMENTAL=1, which pushes an OCI 1.1 referrer instead
 *   (artifactType application/vnd.dev.cosign.artifact.sig.v1+json; on a
 *   registry without the referrers API go-containerregistry maintains the
 *   `sha256-<hex>` referrers tag);
 * - sign and attest, v3: also `--use-signing-config=false` (the default, true,
 *   fetches a signing config from the public-good TUF repository). v3 writes
 *   a Sigstore bundle (`--new-bundle-format` is on by default) as an OCI 1.1
 *   referrer: artifactType application/vnd.dev.sigstore.bundle.v0.3+json,
 *   annotation dev.sigstore.bundle.predicateType (https://sigstore.dev/cosign/sign/v1
 *   for a signature, the predicate type for an attestation);
 * - `--recursive` on an index signs the index and every manifest it lists,
 *   in both versions;
 * - verify and verify-attestation: `--key cosign.pub --insecure-ignore-tlog`.
 *   v2 still tries to fetch trusted_root.json from the TUF CDN and only warns
 *   when it cannot; `--trusted-root` with an empty trusted root (no CAs, no
 *   logs) stops that. v3 skips TUF when it has a key and `--insecure-ignore-tlog`.
 *   v3 looks for bundles through the referrers API (or the referrers tag) and
 *   falls back to `.sig` tags when there are none; v2 needs `--experimental-oci11`
 *   to look for referrers;
 * - SBOMs (deprecated in both, still there): `cosign attach sbom --sbom F --type spdx`
 *   writes the tag `sha256-<hex>.sbom`; `cosign download sbom` reads it;
 *   `cosign sign <repo>@<digest of the sbom manifest>` signs the SBOM itself
 *   (tag `sha256-<sbom hex>.sig`).
 *
 * Every command runs with HOME in a temp directory (no ~/.sigstore cache, no
 * Docker credentials), and HTTP(S)_PROXY pointing at a closed loopback port
 * (loopback is never proxied): anything that would leave the machine fails at
 * once instead of depending on the network.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GO_TOOLS } from './global-setup.js';
import { REPO_ROOT } from './run-action.js';

export type CosignVersion = 'v2' | 'v3';

/** The artifactType cosign v3 gives a bundle referrer. */
export const SIGSTORE_BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** The artifactType of a cosign v2 signature pushed with --registry-referrers-mode=oci-1-1. */
export const COSIGN_SIG_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json';

const TOOL = { v2: GO_TOOLS.cosignV2, v3: GO_TOOLS.cosignV3 } as const;

/** $COSIGN_V2_BIN / $COSIGN_V3_BIN (the global setup sets them), else .cache/cosign-vN/cosign; never skipped. */
export function cosignBinary(version: CosignVersion): string {
  const tool = TOOL[version];
  const bin = process.env[tool.envVar] ?? join(REPO_ROOT, '.cache', tool.name, tool.bin);
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `cosign ${version} is not installed at ${bin}: the jest global setup installs it ` +
        `(go install ${tool.pkg}@${tool.version} with GOBIN=.cache/${tool.name})`,
    );
  }
  return bin;
}

export interface CosignResult {
  /** The command line, for messages. */
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

export interface VerifyOptions {
  /** v2: look for OCI 1.1 referrers (--experimental-oci11) rather than `.sig` tags. */
  referrers?: boolean;
}

export interface SignOptions {
  /** Sign the index and every manifest it lists. */
  recursive?: boolean;
  /** v2 only: push the signature as an OCI 1.1 referrer (COSIGN_EXPERIMENTAL=1, --registry-referrers-mode=oci-1-1). */
  referrers?: boolean;
}

export interface Cosign {
  version: CosignVersion;
  /** Runs cosign with these arguments; never throws on a non-zero exit. */
  run(args: string[], opts?: { experimental?: boolean }): Promise<CosignResult>;
  /** Signs `ref` (repo@digest); throws if cosign fails. */
  sign(ref: string, opts?: SignOptions): Promise<CosignResult>;
  /** Attests `ref` with an in-toto statement of `predicateType` (cosign's --type); throws if cosign fails. */
  attest(ref: string, predicateType: string, predicate: object): Promise<CosignResult>;
  /** v2 (deprecated in v3): uploads an SPDX SBOM under `sha256-<hex>.sbom`; throws if cosign fails. */
  attachSbom(ref: string, sbom: string): Promise<CosignResult>;
  /** `cosign verify` with the key, offline. */
  verify(ref: string, opts?: VerifyOptions): Promise<CosignResult>;
  /** `cosign verify-attestation --type <predicateType>` with the key, offline. */
  verifyAttestation(ref: string, predicateType: string): Promise<CosignResult>;
  /** `cosign download sbom`: the SBOM on stdout. */
  downloadSbom(ref: string): Promise<CosignResult>;
  /** Removes the key pair and the home directory. */
  close(): Promise<void>;
}

/** A CosignResult as one line of a failure list: the command, then the last line cosign printed on stderr. */
export function describeFailure(r: CosignResult): string {
  const last =
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('WARNING'))
      .pop() ?? '';
  return `${r.command} -> exit ${r.code}: ${last}`;
}

/** cosign processes at once in this test file: the machine may have two cores, shared. */
const MAX_RUNNING = 4;
let running = 0;
const waiting: Array<() => void> = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  // A finishing run hands its slot straight to the first waiter.
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** A key pair and a private home directory for one cosign version. */
export async function startCosign(version: CosignVersion): Promise<Cosign> {
  const bin = cosignBinary(version);
  const dir = await mkdtemp(join(tmpdir(), `cosign-${version}-`));
  const home = join(dir, 'home');
  await mkdir(home);
  const key = join(dir, 'cosign.key');
  const pub = join(dir, 'cosign.pub');
  // v2 verify: a trusted root that trusts nothing, so that it does not go to the TUF CDN for one.
  const emptyRoot = join(dir, 'trusted-root.json');
  await writeFile(
    emptyRoot,
    JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }),
  );

  const run = (args: string[], opts: { experimental?: boolean } = {}): Promise<CosignResult> =>
    limited(
      () =>
        new Promise((resolve) => {
          const env: Record<string, string> = {
            PATH: process.env.PATH ?? '',
            HOME: home,
            DOCKER_CONFIG: join(home, '.docker'),
            TUF_ROOT: join(home, '.sigstore', 'root'),
            COSIGN_PASSWORD: '',
            HTTP_PROXY: 'http://127.0.0.1:9',
            HTTPS_PROXY: 'http://127.0.0.1:9',
            NO_PROXY: '127.0.0.1,localhost',
            ...(opts.experimental ? { COSIGN_EXPERIMENTAL: '1' } : {}),
          };
          execFile(
            bin,
            args,
            { cwd: dir, env, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
            (err, stdout, stderr) => {
              const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
              const killed = err?.killed ? `\nkilled (${err.signal ?? 'signal'}) after the 60 s timeout` : '';
              resolve({ command: `cosign ${version} ${args.join(' ')}`, code, stdout, stderr: stderr + killed });
            },
          );
        }),
    );
  const mustRun = async (args: string[], opts: { experimental?: boolean } = {}): Promise<CosignResult> => {
    const r = await run(args, opts);
    if (r.code !== 0) throw new Error(`${r.command} failed (exit ${r.code}):\n${r.stderr}`);
    return r;
  };

  await mustRun(['generate-key-pair', '--output-key-prefix', 'cosign']);

  const signFlags = [
    '--key',
    key,
    '--tlog-upload=false',
    '--allow-http-registry',
    '--yes',
    ...(version === 'v3' ? ['--use-signing-config=false'] : []),
  ];
  const verifyFlags = [
    '--key',
    pub,
    '--insecure-ignore-tlog',
    '--allow-http-registry',
    ...(version === 'v2' ? ['--trusted-root', emptyRoot] : []),
  ];

  return {
    version,
    run,
    sign(ref, opts = {}) {
      if (opts.referrers && version !== 'v2')
        throw new Error('referrers mode is a cosign v2 option (v3 always uses referrers)');
      return mustRun(
        [
          'sign',
          ...signFlags,
          ...(opts.recursive ? ['--recursive'] : []),
          ...(opts.referrers ? ['--registry-referrers-mode=oci-1-1'] : []),
          ref,
        ],
        { experimental: opts.referrers },
      );
    },
    async attest(ref, predicateType, predicate) {
      const file = join(dir, `predicate-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
      await writeFile(file, JSON.stringify(predicate));
      return mustRun(['attest', ...signFlags, '--type', predicateType, '--predicate', file, ref]);
    },
    async attachSbom(ref, sbom) {
      const file = join(dir, `sbom-${Date.now()}-${Math.random().toString(36).slice(2)}.spdx.json`);
      await writeFile(file, sbom);
      return mustRun(['attach', 'sbom', '--allow-http-registry', '--sbom', file, '--type', 'spdx', ref]);
    },
    verify(ref, opts = {}) {
      return run([
        'verify',
        ...verifyFlags,
        ...(opts.referrers && version === 'v2' ? ['--experimental-oci11'] : []),
        ref,
      ]);
    },
    verifyAttestation(ref, predicateType) {
      return run(['verify-attestation', ...verifyFlags, '--type', predicateType, ref]);
    },
    downloadSbom(ref) {
      return run(['download', 'sbom', '--allow-http-registry', ref]);
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
