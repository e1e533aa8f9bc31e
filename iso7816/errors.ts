// ISO/IEC 7816-4 — the one error family for malformed bytes (and strings) met in iso7816/.
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/**
 * Malformed input: bytes from a card or a file that break the encoding rules, or a string
 * that cannot be encoded. `offset` is the byte offset in the input (for strings: the
 * character position, counted in code points, 0-based) where the offending field starts;
 * the message repeats it together with what is wrong.
 *
 * Wrong argument types and out-of-range numeric parameters raise TypeError / RangeError
 * instead, as `abytes` does: those are programming errors, not bad data.
 */
export class Iso7816Error extends CardsmithError {
  override readonly name = 'Iso7816Error';
  readonly kind: ErrorKind = 'input';

  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}
