// One interface for everything that carries APDUs to a card: the in-process simulator, a PC/SC
// reader, a printer's encoder, and secure channels (which wrap a transport and are one).
// Callers always see complete responses: T=0's 61xx (GET RESPONSE) and 6Cxx (repeat with the
// right Le) are resolved by the transport, never by the caller.
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/** The chip's two ways in: the contact plate or the antenna (ISO/IEC 14443). */
export type CardInterface = 'contact' | 'contactless';

export interface Transport {
  /** Human-readable name, e.g. "sim:sscard" or "Virtual PCD 00 00". */
  readonly name: string;
  /** The card's answer to reset, as of the last connect or reset. */
  atr(): Uint8Array;
  /** Sends one command APDU (ISO 7816-4 encoding) and returns data ‖ SW1 SW2. */
  transmit(command: Uint8Array): Promise<Uint8Array>;
  /** Resets the card (cold = power cycle, warm otherwise) and returns the new ATR. */
  reset(cold?: boolean): Promise<Uint8Array>;
  /** Releases the card and the reader; further calls fail with TransportClosedError. */
  close(): Promise<void>;
}

/** The card left the reader (or the printer moved it away) in the middle of a conversation. */
export class CardRemovedError extends CardsmithError {
  override name = 'CardRemovedError';
  readonly kind: ErrorKind = 'card';
}

/** The reader or the PC/SC service failed: not the card's fault. */
export class ReaderError extends CardsmithError {
  override name = 'ReaderError';
  readonly kind: ErrorKind = 'station';
}

export class TransportClosedError extends CardsmithError {
  override name = 'TransportClosedError';
  readonly kind: ErrorKind = 'card';
}

/**
 * The card broke the transmission protocol the transport relies on (e.g. it kept answering 61xx
 * or 6Cxx without end, or answered fewer than two bytes). Neither the reader's nor the caller's
 * fault; the card (or the simulator) needs fixing.
 */
export class CardProtocolError extends CardsmithError {
  override name = 'CardProtocolError';
  readonly kind: ErrorKind = 'card';
}
