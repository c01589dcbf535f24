import { causeOf, onSide } from './copy-error.js';
import type { CopyHooks } from './copy.js';
import type { Limiter, Priority } from './limiter.js';
import type { Logger } from './logger.js';
import { InvalidManifestError, type Descriptor } from '../oci/manifest.js';
import {
  AuthenticationError,
  DigestMismatchError,
  InvalidHeaderError,
  RegistryError,
  TransportError,
} from '../registry/errors.js';
import type { Repository } from '../registry/types.js';

/** What became of a blob: mounted, found in the target already, or uploaded. */
export type BlobFate = 'mount' | 'present' | 'copy';

export interface BlobCopyOptions {
  /** The graph copy's limit: each request of a blob copy takes a slot of it. */
  limiter: Limiter;
  /** Resolves once the promotion may write; the existence check goes before it. */
  writable: Promise<unknown>;
  dryRun: boolean;
  logger: Logger;
  hooks?: CopyHooks;
  /** Told of each blob's fate (stats, plan). */
  done: (descriptor: Descriptor, fate: BlobFate, parent: string | undefined) => void;
}

/**
 * Tries of one blob copy, the first included: one more than the transport gives a buffered
 * request, since each try of a stream has two requests that cannot be retried alone (the
 * download once it has started, and the upload).
 */
const BLOB_COPY_ATTEMPTS = 6;

/**
 * The blobs of a graph copy: within one registry mounted (`POST ?mount=&from=`), across
 * registries streamed from source to target, never held in memory, once the target said it
 * lacks them.
 */
export class BlobCopier {
  private readonly sameRegistry: boolean;

  constructor(
    private readonly source: Repository,
    private readonly target: Repository,
    private readonly options: BlobCopyOptions,
  ) {
    this.sameRegistry = source.registry === target.registry;
  }

  /**
   * Copies one blob. Across registries the target is asked first whether it has it (a read,
   * sent before the promotion may write); the mount or the upload waits until it may.
   */
  async copy(descriptor: Descriptor, parent: string | undefined, priority: Priority): Promise<void> {
    const { limiter } = this.options;
    if (this.options.dryRun) return limiter.run(() => this.plan(descriptor, parent), priority);
    if (!this.sameRegistry) {
      const present = await limiter.run(
        () => onSide('target', this.target, this.target.statBlob(descriptor.digest)),
        priority,
      );
      if (present) {
        this.options.done(descriptor, 'present', parent);
        this.options.hooks?.onSkipped?.(descriptor);
        return;
      }
    }
    await this.options.writable;
    await limiter.run(() => this.copyWithRetry(descriptor, parent, { checked: !this.sameRegistry }), priority);
  }

  /** Links or uploads the blob again (the target lost sight of it to a concurrent run), asking first. */
  copyAgain(descriptor: Descriptor, parent: string): Promise<void> {
    return this.options.limiter.run(() => this.copyWithRetry(descriptor, parent, { checked: false }));
  }

  /**
   * A dry run's blob, decided as a copy would: within one registry a mount (which a copy sends
   * without looking first: it costs what a HEAD does and is harmless when the blob is there);
   * across registries present, or an upload.
   */
  private async plan(descriptor: Descriptor, parent: string | undefined): Promise<void> {
    const present =
      !this.sameRegistry && (await onSide('target', this.target, this.target.statBlob(descriptor.digest)));
    this.options.done(descriptor, this.sameRegistry ? 'mount' : present ? 'present' : 'copy', parent);
  }

  /**
   * A blob streams from source to target, so the transport cannot replay it: a connection cut
   * in the middle of either side restarts the copy here, with a fresh download and a fresh
   * upload session. Answers the transport already retried, refusals, failures that cannot heal
   * and content that does not match its digest are final.
   */
  private async copyWithRetry(
    descriptor: Descriptor,
    parent: string | undefined,
    { checked }: { checked: boolean },
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // A try after an interrupted one asks again: the blob may have landed after all.
        return await this.copyOnce(descriptor, parent, { checked: checked && attempt === 1 });
      } catch (err) {
        // A streamed upload answered 5xx or 429 could not be retried below: it is here.
        const cause = causeOf(err);
        const final =
          cause instanceof DigestMismatchError ||
          (cause instanceof RegistryError && !cause.retryable) ||
          // A certificate that does not verify, a host that does not resolve, a passed deadline.
          (cause instanceof TransportError && !cause.retryable) ||
          cause instanceof AuthenticationError ||
          // An upload Location that is not a URL this client can use comes again with every session.
          cause instanceof InvalidHeaderError ||
          cause instanceof InvalidManifestError;
        if (final || attempt >= BLOB_COPY_ATTEMPTS) throw err;
        this.options.logger.info(
          `Copying blob ${descriptor.digest} was interrupted (${(err as Error).message}); starting it again`,
        );
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
  }

  private async copyOnce(
    descriptor: Descriptor,
    parent: string | undefined,
    { checked }: { checked: boolean },
  ): Promise<void> {
    let session: string | undefined;
    if (this.sameRegistry) {
      // distribution-spec "Mounting a blob from another repository": no bytes move. A mount of
      // a blob the target already has answers 201 too, so no HEAD is needed first.
      const mount = await onSide('target', this.target, this.target.mountBlob(descriptor, this.source.name));
      if (mount.mounted) {
        this.options.done(descriptor, 'mount', parent);
        this.options.hooks?.onBlobCopied?.(descriptor, 'mounted');
        return;
      }
      session = mount.session;
    } else if (!checked && (await onSide('target', this.target, this.target.statBlob(descriptor.digest)))) {
      this.options.done(descriptor, 'present', parent);
      this.options.hooks?.onSkipped?.(descriptor);
      return;
    }
    // The upload session is opened while the download starts: one round trip, not two. (A
    // download that fails leaves the session to expire, as registries let unfinished ones.)
    const opening =
      session === undefined ? onSide('target', this.target, this.target.startUpload(descriptor)) : undefined;
    opening?.catch(() => undefined);
    const data = await onSide('source', this.source, this.source.fetchBlob(descriptor));
    if (opening) {
      try {
        session = await opening;
      } catch (err) {
        data.destroy();
        throw err;
      }
    }
    await this.target
      .pushBlob(descriptor, data, session)
      .catch((err: unknown) => {
        // Release the download's connection whatever happened to the upload.
        if (!data.destroyed) data.destroy();
        return Promise.reject(err);
      })
      .catch((err: unknown) =>
        // A source blob that does not match its digest aborts the upload: that is the source's fault.
        data.errored
          ? onSide('source', this.source, Promise.reject(data.errored))
          : onSide('target', this.target, Promise.reject(err)),
      );
    this.options.done(descriptor, 'copy', parent);
    this.options.hooks?.onBlobCopied?.(descriptor, 'uploaded');
  }
}
