/**
 * `@actions/core`, loaded once the first request is on its way instead of at start. It imports
 * `@actions/http-client` (for OIDC tokens), and with it undici's whole index (fetch, WebSocket,
 * the caches, the mocks), whose evaluation would otherwise delay the first request of every run;
 * loaded while that request travels, it costs no wall time where requests take any. Until it is
 * loaded, what is to be masked or logged waits here, in the order it came: nothing reaches the
 * log before a mask that came before it.
 */
import type { Logger } from '../engine/logger.js';

type Core = typeof import('@actions/core');

/**
 * An input as the runner passes it, the way `@actions/core` reads it: the environment variable
 * `INPUT_<NAME>` (spaces as `_`, upper case), trimmed; '' when absent.
 */
export function inputFromEnvironment(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

/** The runner's debug logging (`RUNNER_DEBUG=1`), as `core.isDebug()` reads it. */
export function runnerDebug(): boolean {
  return process.env['RUNNER_DEBUG'] === '1';
}

export class LazyCore {
  private core?: Core;
  private loading?: Promise<Core>;
  private readonly waiting: Array<(core: Core) => void> = [];

  /** Loads `@actions/core` (once), then does what waited for it. */
  load(): Promise<Core> {
    this.loading ??= import(/* webpackMode: "eager" */ '@actions/core').then((core) => {
      this.core = core;
      for (const fn of this.waiting.splice(0)) fn(core);
      return core;
    });
    return this.loading;
  }

  setSecret(secret: string): void {
    this.use((core) => core.setSecret(secret));
  }

  startGroup(name: string): void {
    this.use((core) => core.startGroup(name));
  }

  endGroup(): void {
    this.use((core) => core.endGroup());
  }

  /** A line to log loads `@actions/core` soon if nothing did yet (a run whose first request never went out, retrying). */
  readonly logger: Logger = {
    debug: (m) => this.log((core) => core.debug(m)),
    info: (m) => this.log((core) => core.info(m)),
    warning: (m) => this.log((core) => core.warning(m)),
  };

  private log(fn: (core: Core) => void): void {
    this.use(fn);
    if (!this.loading) setImmediate(() => void this.load());
  }

  private use(fn: (core: Core) => void): void {
    if (this.core) fn(this.core);
    else this.waiting.push(fn);
  }
}
