// Failure families of stations, card movers and encoders. A station fault (empty feeder, jam,
// cover open, printer unreachable) pauses the station, not the batch; a card fault (dead chip,
// card pulled out, encoder timeout on one card) sends that card to the reject box and counts
// towards the station's consecutive-failure limit.
import { ReaderError } from '../transport/transport.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/** One problem in a stations file, at its position. */
export interface StationsFileIssue {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** The stations file cannot be used: every issue with file:line:col (CLI exit 2). */
export class StationsFileError extends CardsmithError {
  override name = 'StationsFileError';
  readonly kind: ErrorKind = 'input';
  constructor(readonly issues: readonly StationsFileIssue[]) {
    super(issues.map((i) => `${i.file}:${i.line}:${i.col}: ${i.message}`).join('\n'));
  }
}

/** What an Evolis printer (or the simulated one) answered instead of OK. */
export type PrinterErrorCode =
  | 'feeder-empty'
  | 'jam'
  | 'cover-open'
  | 'ribbon'
  | 'hopper'
  | 'head'
  | 'cleaning'
  | 'printer-timeout'
  | 'bad-command'
  | 'bad-parameter'
  | 'option-missing'
  | 'error';

/**
 * The printer refused or failed a command. `stationFault` is true for conditions an operator has
 * to clear at the printer (feeder empty, jam, cover open, ribbon, hopper): the station pauses.
 */
export class PrinterError extends CardsmithError {
  override name = 'PrinterError';
  /** Depends on the answer: an operator's condition pauses the station, anything else rejects the card. */
  get kind(): ErrorKind {
    return this.stationFault ? 'station' : 'card';
  }
  constructor(
    message: string,
    readonly code: PrinterErrorCode,
    /** The printer's answer as received (ASCII). */
    readonly reply: string,
    readonly stationFault: boolean,
  ) {
    super(message);
  }
}

/** No (complete) answer from the printer in time, or the connection to it broke: a station fault. */
export class PrinterLinkError extends CardsmithError {
  override name = 'PrinterLinkError';
  readonly kind: ErrorKind = 'station';
}

/** The station is paused (after a station fault or too many failed cards in a row): it stays paused. */
export class StationPausedError extends CardsmithError {
  override name = 'StationPausedError';
  readonly kind: ErrorKind = 'station';
  constructor(
    message: string,
    readonly station: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** The card in the encoder gives no answer to reset (a dead chip): reject the card. */
export class CardUnresponsiveError extends CardsmithError {
  override name = 'CardUnresponsiveError';
  readonly kind: ErrorKind = 'card';
}

/** The encoder did not answer a command in time (one card's fault until it happens again and again). */
export class EncoderTimeoutError extends ReaderError {
  override name = 'EncoderTimeoutError';
  /** A ReaderError, but one card's: the station pauses only after too many in a row. */
  override readonly kind: ErrorKind = 'card';
}

/** A card mover was asked for something it cannot do (e.g. contactless on a manual desk reader). */
export class MoverError extends CardsmithError {
  override name = 'MoverError';
  readonly kind: ErrorKind = 'station';
}
