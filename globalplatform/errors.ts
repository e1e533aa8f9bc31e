// Errors of the GlobalPlatform layer (GP Card Specification 2.3.1 card content management; CAP
// files per the Java Card Virtual Machine Specification §6). Messages say what failed, where, and
// in what state the card was left; they never carry key bytes (KCVs only).
import { formatSw, swMeaning } from '../iso7816/index.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/** Any failure of a GP operation. */
export class GpError extends CardsmithError {
  override name = 'GpError';
  readonly kind: ErrorKind = 'operation';
}

/** The card answered a GP command with an unexpected status word. */
export class GpCommandError extends GpError {
  override name = 'GpCommandError';
  constructor(
    readonly command: string,
    readonly sw: number,
    detail = '',
  ) {
    super(`${command}: card answered ${formatSw(sw)} (${swMeaning(sw)})${detail ? ` — ${detail}` : ''}`);
  }
}

/** No security domain could be selected (given AID refused, or none of the defaults answered). */
export class IsdNotFoundError extends GpError {
  override name = 'IsdNotFoundError';
}

/** The card returned other key check values than the keys we sent: the key set is not what we think. */
export class KcvMismatchError extends GpError {
  override name = 'KcvMismatchError';
  constructor(
    message: string,
    readonly expected: string,
    readonly received: string,
  ) {
    super(message);
  }
}

/** A CAP (or IJC) file that cannot be used: bad input, CLI exit 2. */
export class CapFileError extends CardsmithError {
  override name = 'CapFileError';
  readonly kind: ErrorKind = 'input';
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
  }
}

/** Malformed data from the card (GET STATUS, GET DATA) that cannot be decoded. */
export class GpDataError extends GpError {
  override name = 'GpDataError';
  override readonly kind: ErrorKind = 'card';
}
