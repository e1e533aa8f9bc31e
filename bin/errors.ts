// Exit codes of every cardsmith command (DESIGN.md): 0 success, 1 the operation failed (the card
// said no, a signature did not verify), 2 bad usage or bad input. Library code throws its own typed
// errors; the CLI maps them here so that a user sees one line and no stack trace.
import { clip } from '../bytes/index.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Bad arguments or bad input files: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The operation ran and its answer is "no": exit 1. */
export class OperationFailed extends Error {
  override name = 'OperationFailed';
}

/** Errors that mean "the input was wrong" wherever they come from (hex, lengths, types). */
const INPUT_ERRORS = new Set([
  'UsageError',
  'HexError',
  'RangeError',
  'TypeError',
  'Iso7816Error',
  'YError',
  // readers/: a reader spec that names no reader (or several), an APDU script line that cannot be
  // read, a card state file that is not a card image.
  'ReaderSpecError',
  'ScriptError',
  'SimStateError',
  // stations and faces: a stations file, a face layout or a photo that cannot be used; a journal
  // that belongs to another batch.
  'StationsFileError',
  'FaceError',
  'PngError',
  'JournalMismatchError',
  // a batch folder whose files differ from its sealed manifest
  'BatchInputError',
]);

export function exitCodeFor(err: unknown): number {
  if (err instanceof Error && INPUT_ERRORS.has(err.name)) return EXIT_USAGE;
  return EXIT_FAILED;
}

/**
 * One line a person can act on; never a stack trace (set CARDSMITH_DEBUG=1 for that). Each line
 * is clipped: a message that quotes a huge input (a path, a value) stays readable.
 */
export function messageFor(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').map((line) => clip(line, 1000)).join('\n');
}
