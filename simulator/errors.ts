// The simulator's public error families. process() never throws (a card answers with status
// words); these are for the host-side calls around it: options, images, files.
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/**
 * A card image that cannot be used: unreadable file, not JSON, wrong format or version, or a
 * field that breaks the layout. `where` is the file and/or the JSON path of the bad field.
 * Messages name fields, never their values (an image holds keys and PINs). A bad image is
 * bad input; a file that cannot be read or written is an operation that failed ('operation').
 */
export class CardImageError extends CardsmithError {
  override readonly name = 'CardImageError';
  constructor(
    message: string,
    readonly where: string,
    readonly kind: ErrorKind = 'input',
  ) {
    super(message);
  }
}

/** A card state file that cannot be read or is not a card image: bad input (CLI exit 2). */
export class SimStateError extends CardsmithError {
  override name = 'SimStateError';
  readonly kind: ErrorKind = 'input';
}
