// The one error model of cardsmith. Every error class of the project extends CardsmithError and
// says what kind of failure it is; the kind alone decides the CLI's exit code (exitCodeOf) and what
// the runner does with a station and its card (faultOf). Imports nothing of the project, so every
// layer may use it.

/**
 * - `input`: bad usage or bad input (arguments, files, data): exit 2;
 * - `operation`: the operation ran and the answer is "no" (the card refused, a check failed): exit 1;
 * - `station`: a station, reader or printer fault: the runner pauses the station (exit 1);
 * - `card`: this card's fault: the runner rejects the card (exit 1);
 * - `key`: a batch key fault: the runner stops before more cards are wasted (exit 1).
 */
export type ErrorKind = 'input' | 'operation' | 'station' | 'card' | 'key';

export const ERROR_KINDS: readonly ErrorKind[] = ['input', 'operation', 'station', 'card', 'key'];

export abstract class CardsmithError extends Error {
  /** What kind of failure this is; a class whose kind depends on its data computes it. */
  abstract readonly kind: ErrorKind;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * The exit code of a command that ended with `err`: 2 for input errors, 1 for every other failure.
 * Outside the model: TypeError and RangeError are argument checks (bad input, exit 2), anything
 * else is a failure (exit 1).
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CardsmithError) return err.kind === 'input' ? EXIT_USAGE : EXIT_FAILED;
  if (err instanceof TypeError || err instanceof RangeError) return EXIT_USAGE;
  return EXIT_FAILED;
}

/** What a station does after an error: pause itself, reject the card, or stop the whole run. */
export type Fault = 'pause' | 'reject' | 'stop';

/**
 * `station` pauses the station, `key` stops the run, everything else (and any error from outside
 * the model) is the card's: it goes to the reject box.
 */
export function faultOf(err: unknown): Fault {
  if (!(err instanceof CardsmithError)) return 'reject';
  return err.kind === 'station' ? 'pause' : err.kind === 'key' ? 'stop' : 'reject';
}
