// Typed errors of the evaluation harness: a malformed trace file and a bad command line.
import { ForelockError } from '../util/errors.js';

/** A trace file that does not follow docs/design.md's format; the message names the file and the line. */
export class TraceFormatError extends ForelockError {
  constructor(
    readonly source: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${source}, line ${line}: ${reason}`, 'TRACE_INVALID', false);
  }
}

/** Options of `forelock eval` that cannot be run as given. */
export class EvalUsageError extends ForelockError {
  constructor(message: string) {
    super(message, 'EVAL_USAGE', false);
  }
}
