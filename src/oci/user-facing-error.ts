/**
 * The one base class of errors whose message is written for the person running the action:
 * bad input, a registry's refusal, a network failure, content that does not match its digest.
 * `main.ts` prints such a message as it is; anything else is a bug in this program and says so.
 * Whatever comes from outside the program (a header, a body, a helper, a token) must end up
 * as one of these, never as a plain Error or TypeError.
 */
export class UserFacingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
