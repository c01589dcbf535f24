import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The phases of a promotion, as a request trace names them: which step of the pipeline (or of
 * the copy into one repository) issued a request. `auth` is a token request, sent for whichever
 * phase needed the token (kept as the phase it was sent within).
 */
export type Phase =
  | 'resolve'
  | 'discover'
  | 'look at tags'
  | 'policy'
  | 'copy'
  | 'referrers'
  | 'referrers index'
  | 'cosign'
  | 'tag'
  | 'verify'
  | 'stray tags'
  | 'probe targets'
  | 'auth';

/**
 * The phases in force, outermost first. Carried along every asynchronous call made for a phase
 * (AsyncLocalStorage), so that the request trace at the bottom of the client learns who sent a
 * request without a parameter threaded through every call in between.
 */
const store = new AsyncLocalStorage<readonly Phase[]>();

/** Runs `fn`, and everything it starts, within `phase` (nested within the phases in force). */
export function inPhase<T>(phase: Phase, fn: () => T): T {
  return store.run([...(store.getStore() ?? []), phase], fn);
}

/** The phases in force here, outermost first; empty outside any. */
export function currentPhases(): readonly Phase[] {
  return store.getStore() ?? [];
}

/** `fn` made to run within `phase` wherever it is called: a call site changes only its name. */
export function phased<A extends unknown[], R>(phase: Phase, fn: (...args: A) => R): (...args: A) => R {
  return (...args) => inPhase(phase, () => fn(...args));
}
