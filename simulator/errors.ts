// The simulator's public error families. process() never throws (a card answers with status
// words); these are for the host-side calls around it: options, images, files.
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/**
 * A card image that cannot be used: unreadable file, not JSON, wrong format or version, or a
 * field that breaks the layout. `where` is the file and/or the JSON path of the bad field.
 * Messages name fields, never their values (an image holds keys and PINs).
 */
export class CardImageError extends CardsmithError {
  override readonly name = 'CardImageError';
  readonly kind: ErrorKind = 'input';
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
  }
}
