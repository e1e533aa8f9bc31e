// Exit codes of every cardsmith command: 0 success, 1 the operation failed (the card said no, a
// signature did not verify), 2 bad usage or bad input. Library code throws its own typed errors,
// each a CardsmithError with a kind; exitCodeOf (errors/) turns the kind into the exit code, so
// that a user sees one line, no stack trace, and the same code for the same kind of failure.
import { clip } from '../bytes/index.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../errors/index.js';

/** Bad arguments or bad input files: exit 2. */
export class UsageError extends CardsmithError {
  override name = 'UsageError';
  readonly kind: ErrorKind = 'input';
}

/** The operation ran and its answer is "no": exit 1. */
export class OperationFailed extends CardsmithError {
  override name = 'OperationFailed';
  readonly kind: ErrorKind = 'operation';
}

/**
 * `cmd: message` for a library error a command names itself in; the error keeps its class and
 * kind, so the exit code stays the kind's.
 */
export function prefixed<E extends Error>(e: E, cmd: string): E {
  e.message = `${cmd}: ${e.message}`;
  return e;
}

/**
 * One line a person can act on; never a stack trace (set CARDSMITH_DEBUG=1 for that). Each line
 * is clipped: a message that quotes a huge input (a path, a value) stays readable.
 */
export function messageFor(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').map((line) => clip(line, 1000)).join('\n');
}
