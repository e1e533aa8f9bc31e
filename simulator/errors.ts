// The simulator's public error families. process() never throws (a card answers with status
// words); these are for the host-side calls around it: options, images, files.

/**
 * A card image that cannot be used: unreadable file, not JSON, wrong format or version, or a
 * field that breaks the layout. `where` is the file and/or the JSON path of the bad field.
 * Messages name fields, never their values (an image holds keys and PINs).
 */
export class CardImageError extends Error {
  override readonly name = 'CardImageError';
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
  }
}

/** A card state file that cannot be read or is not a card image: bad input (CLI exit 2). */
export class SimStateError extends Error {
  override name = 'SimStateError';
}
