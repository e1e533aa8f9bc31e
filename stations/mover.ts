// What a station is made of: a card mover (gets a blank card to the encoder, then ejects it to
// the output hopper or the reject box, and prints its face if it is a printer) and an encoder (a
// Transport to the card while it is in position).
import { atrHistoricalBytes } from '../iso7816/index.js';
import type { CardInterface, Transport } from '../transport/transport.js';

export type { CardInterface };

export type MoverKind = 'manual' | 'evolis' | 'simulated';

export interface MoverStatus {
  /** The mover can take the next card. */
  ready: boolean;
  /** Where a card is, as far as the mover knows. */
  card: 'none' | 'contact' | 'contactless' | 'inside' | 'unknown';
  /** One line for the operator. */
  detail: string;
  feederEmpty?: boolean;
  /** The device's own answer, when there is one (e.g. an Evolis Rse reply). */
  raw?: string;
}

export interface CardMover {
  readonly kind: MoverKind;
  readonly name: string;
  /** The mover has a print head (manual readers do not). */
  readonly canPrint: boolean;
  /** Brings a blank card to the contact or contactless encoder position. */
  load(iface: CardInterface, signal?: AbortSignal): Promise<void>;
  /** Sends the card face (PNG) to the printer; printed when the card is ejected. False if the mover cannot print. */
  print(png: Uint8Array): Promise<boolean>;
  /** A good card: (print and) out to the output hopper / the operator's good pile. */
  eject(signal?: AbortSignal): Promise<void>;
  /** A bad card: to the reject box / the operator's reject pile. */
  reject(reason: string, signal?: AbortSignal): Promise<void>;
  /** Clears an error state (after the operator fixed a jam, refilled the feeder). */
  reset(): Promise<void>;
  status(): Promise<MoverStatus>;
  close(): Promise<void>;
  /**
   * Optional, for movers that keep what they make on disk (the simulated printer: its output
   * hopper, reject bin and the card in its encoder): keep it under `dir` from now on, taking over
   * what a run that was killed left there. The runner calls it with the batch folder's place.
   */
  keepOutput?(dir: string): void;
  /** Optional, with keepOutput: a card from a run that did not end is still in the encoder. */
  holdsLeftCard?(): boolean;
}

export interface Encoder {
  readonly name: string;
  /**
   * A transport to the card now in position. Fails with CardUnresponsiveError when the card gives
   * no answer to reset (dead chip), CardRemovedError when there is no card.
   */
  connect(iface: CardInterface): Promise<Transport>;
  close(): Promise<void>;
}

/**
 * The chip serial in a card's ATR, when the card puts one there: cardsmith's simulated cards
 * carry "CSM" ‖ COS version ‖ 8-byte chip id as historical bytes (docs/simulator.md). Other cards
 * need a chip-serial reader of their own (Station option chipSerial).
 */
export function chipSerialFromAtr(atr: Uint8Array): string | undefined {
  const h = atrHistoricalBytes(atr);
  if (!h || h.length !== 12 || h[0] !== 0x43 || h[1] !== 0x53 || h[2] !== 0x4d) return undefined;
  return Buffer.from(h.subarray(4)).toString('hex').toUpperCase();
}
