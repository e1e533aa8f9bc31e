// Small shared pieces of the simulated GlobalPlatform card: status words (ISO/IEC 7816-4 §5.1.3 and
// GlobalPlatform Card Specification 2.3.1 chapter 11), the internal "answer with this SW" exception,
// AID helpers and the length-prefixed fields GP commands use (GP 2.3.1 INSTALL and PUT KEY).
import { concat, equal, toHex } from '../../bytes/index.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

/** The status words this card answers with, named the way GP 2.3.1 and ISO 7816-4 describe them. */
export const SW = {
  OK: 0x9000,
  MORE_DATA: 0x6310, // GP: GET STATUS has more entries
  CARD_LOCKED_WARNING: 0x6283, // GP: SELECT of the ISD while the card is CARD_LOCKED
  AUTH_FAILED: 0x6300, // GP: host cryptogram rejected
  WRONG_LENGTH: 0x6700,
  CHANNEL_NOT_SUPPORTED: 0x6881,
  CHAINING_NOT_SUPPORTED: 0x6884,
  SECURITY_STATUS: 0x6982,
  AUTH_BLOCKED: 0x6983,
  CONDITIONS: 0x6985,
  SELECT_FAILED: 0x6999, // Java Card ISO7816.SW_APPLET_SELECT_FAILED
  WRONG_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  NOT_FOUND: 0x6a82,
  RECORD_NOT_FOUND: 0x6a83,
  NO_MEMORY: 0x6a84,
  WRONG_P1P2: 0x6a86,
  REF_NOT_FOUND: 0x6a88,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  NO_DIAGNOSIS: 0x6f00,
} as const;

/**
 * Thrown inside the card to stop a command with a status word. It never leaves GpCard.process():
 * the card turns it into the response. The message is for debugging only and never carries key
 * or data bytes.
 */
export class CardError extends CardsmithError {
  override readonly name = 'CardError';
  readonly kind: ErrorKind = 'card';
  constructor(
    readonly sw: number,
    message = '',
  ) {
    super(message || `card answers ${sw.toString(16).toUpperCase().padStart(4, '0')}`);
  }
}

export function fail(sw: number, why = ''): never {
  throw new CardError(sw, why);
}

/** A response inside the card: data and status word, encoded only at the edge. */
export interface CardResponse {
  data: Uint8Array;
  sw: number;
}

const EMPTY = new Uint8Array(0);

export function respond(data: Uint8Array = EMPTY, sw: number = SW.OK): CardResponse {
  return { data, sw };
}

export function encode(r: CardResponse): Uint8Array {
  return concat(r.data, Uint8Array.of(r.sw >> 8, r.sw & 0xff));
}

/** ISO/IEC 7816-5: an AID is 5 to 16 bytes. */
export function isAidLength(n: number): boolean {
  return n >= 5 && n <= 16;
}

export const aidHex = (aid: Uint8Array): string => toHex(aid);
export const sameAid = (a: Uint8Array, b: Uint8Array): boolean => equal(a, b);

export function startsWith(aid: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > aid.length) return false;
  for (let i = 0; i < prefix.length; i++) if (aid[i] !== prefix[i]) return false;
  return true;
}

/**
 * Reader for the "length ‖ value" fields of INSTALL and PUT KEY data. Every read checks the
 * remaining length, so malformed commands end in CardError(6A80), never in an exception from
 * reading past the end.
 */
export class FieldReader {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  byte(what: string): number {
    if (this.pos >= this.bytes.length) fail(SW.WRONG_DATA, `${what}: missing`);
    return this.bytes[this.pos++]!;
  }

  take(n: number, what: string): Uint8Array {
    if (n > this.remaining) fail(SW.WRONG_DATA, `${what}: needs ${n} bytes, ${this.remaining} left`);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** One-byte length then that many bytes. */
  lv(what: string): Uint8Array {
    return this.take(this.byte(`${what} length`), what);
  }

  rest(): Uint8Array {
    return this.take(this.remaining, 'rest');
  }
}

/** Big-endian unsigned integer of `n` bytes (n ≤ 4). */
export function be(value: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = value & 0xff;
    value = Math.floor(value / 256);
  }
  return out;
}
