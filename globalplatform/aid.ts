// Application identifiers (ISO/IEC 7816-4 §8.2.1.2, 5 to 16 bytes: RID ‖ PIX) and the default
// Issuer Security Domain AIDs cardsmith tries when none is given (GP Card Specification 2.3.1
// §H.1: A000000151000000; GP 2.1.1 / OP era cards: A0000001510000, A000000003000000).
import { fromHex, toHex } from '../bytes/index.js';

export const DEFAULT_ISD_AIDS: readonly string[] = ['A000000151000000', 'A0000001510000', 'A000000003000000'];

/** Parses an AID given as hex; RangeError when it is not 5..16 bytes (ISO 7816-4). */
export function parseAid(text: string, what = 'AID'): Uint8Array {
  const aid = fromHex(text, what);
  checkAid(aid, what);
  return aid;
}

export function checkAid(aid: Uint8Array, what = 'AID'): Uint8Array {
  if (!(aid instanceof Uint8Array)) throw new TypeError(`${what}: expected bytes`);
  if (aid.length < 5 || aid.length > 16) throw new RangeError(`${what}: an AID has 5 to 16 bytes, got ${aid.length} (${toHex(aid)})`);
  return aid;
}

/** Length-prefixed AID, the form INSTALL and DELETE carry. */
export function lv(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 255) throw new RangeError(`length-value: ${bytes.length} bytes do not fit a one-byte length`);
  const out = new Uint8Array(bytes.length + 1);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}
