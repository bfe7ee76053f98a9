// The project's error base class: every error has a stable `code` and says whether a retry may succeed.

/** Base of every Forelock error. `code` is stable across releases; decide retries from `retriable`, never from text. */
export class ForelockError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
