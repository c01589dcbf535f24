import { onSide } from './copy-error.js';
import type { Logger } from './logger.js';
import type { ReferrerInfo } from './referrers.js';
import { referrersTagFor } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { formatReferenceIn, formatRepository } from '../oci/reference.js';
import { RegistryError } from '../registry/errors.js';
import type { FetchedManifest, Repository } from '../registry/types.js';

/** What checking one referrer found: its manifest where it had to be read, or that the entry dangles. */
export type ReferrerCheck = { dangling: false; manifest?: FetchedManifest } | { dangling: true };

/**
 * A referrer counts only when its manifest is in the source repository and names the subject it
 * is listed for. The referrers API's list is trusted as it is: the registry computes it from the
 * manifests it stores. An entry of a `sha256-<hex>` referrers tag is only what some client wrote
 * there: its manifest may have been deleted since, or name another subject, or none. Such an
 * entry "dangles": it is reported as a warning, not counted by the policy gate, not copied, and
 * not listed in a target's referrers index; nor is anything that refers to it.
 *
 * Each manifest is read once per run, when something needs it (the copy, which reads it
 * anyway and gets the bytes from here; or the policy gate, for the types it requires), and the
 * answer is shared by every target repository.
 */
export class ReferrerChecks {
  private readonly checks = new Map<string, Promise<ReferrerCheck>>();
  /** Dangling entries and what refers to them, by digest. */
  private readonly dropped = new Set<string>();
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly source: Repository,
    private readonly logger: Logger,
  ) {}

  /**
   * Whether `r` counts, with its manifest when this check read it. `limit` runs the read, when
   * one is needed (a caller's concurrency limit; only the first caller's read is sent).
   */
  check(r: ReferrerInfo, limit: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()): Promise<ReferrerCheck> {
    if (this.dropped.has(r.digest) || this.dropped.has(r.subject)) return Promise.resolve(this.drop(r));
    if (r.listedBy !== 'referrers tag') return Promise.resolve({ dangling: false });
    let check = this.checks.get(r.digest);
    if (!check) {
      check = limit(() => this.read(r));
      this.checks.set(r.digest, check);
    }
    return check;
  }

  /** Whether a referrer, or what it refers to, was found dangling. */
  isDropped(digest: string): boolean {
    return this.dropped.has(digest);
  }

  /** One line per dangling entry found so far. */
  warnings(): string[] {
    return [...this.reported.values()];
  }

  private async read(r: ReferrerInfo): Promise<ReferrerCheck> {
    const manifest = await onSide(
      'source',
      this.source,
      this.source.fetchManifest(r.digest).catch((err: unknown) => {
        if (err instanceof RegistryError && err.status === 404) return undefined;
        throw err;
      }),
    );
    const named = manifest && parseManifest(manifest.bytes, manifest.mediaType).subject?.digest;
    if (manifest && named === r.subject) return { dangling: false, manifest };
    const repo = formatRepository(this.source);
    const why = !manifest
      ? `whose manifest is not in ${repo} (deleted?)`
      : named === undefined
        ? 'whose manifest names no subject'
        : `whose manifest names another subject (${named})`;
    this.report(
      r,
      `The referrers tag ${formatReferenceIn(this.source, referrersTagFor(r.subject))} lists ${r.digest}, ${why}: a dangling entry, neither counted nor copied`,
    );
    return this.drop(r);
  }

  private drop(r: ReferrerInfo): ReferrerCheck {
    this.dropped.add(r.digest);
    return { dangling: true };
  }

  private report(r: ReferrerInfo, warning: string): void {
    const key = `${r.digest} ${r.subject}`;
    if (this.reported.has(key)) return;
    this.reported.set(key, warning);
    this.logger.warning(warning);
  }
}
