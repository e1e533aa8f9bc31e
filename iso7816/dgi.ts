// EMV Card Personalization Specification (CPS) v1.1 — Data Grouping Identifiers as sent in STORE DATA.
import { abytes, concat } from '../bytes/index.js';
import { checkInt, copyBytes, hex2 } from './internal.js';
import { Iso7816Error } from './errors.js';

export interface Dgi {
  /** The 2-byte identifier as a number, e.g. 0x8000. */
  dgi: number;
  data: Uint8Array;
  /** Where the DGI's identifier starts in the parsed buffer. */
  offset: number;
}

/** DGI ‖ length (1 byte below 255, else FF + 2 bytes) ‖ data. */
export function encodeDgi(dgi: number, data: Uint8Array): Uint8Array {
  checkInt(dgi, 'encodeDgi: dgi', 0, 0xffff);
  abytes(data, 'encodeDgi: data');
  const n = data.length;
  if (n > 0xffff) throw new RangeError(`encodeDgi: data is ${n} bytes, a DGI holds at most 65535`);
  // FF cannot be a 1-byte length: it is the marker of the 3-byte form, so 255 already needs FF 00 FF.
  const length = n < 0xff ? [n] : [0xff, n >> 8, n & 0xff];
  return concat(new Uint8Array([dgi >> 8, dgi & 0xff, ...length]), data);
}

/**
 * Splits a buffer of concatenated DGIs (a STORE DATA data field, or a whole CPS file).
 * A 3-byte length below 255 (FF 00 10) is accepted: it is unambiguous, only not minimal.
 */
export function parseDgis(bytes: Uint8Array): Dgi[] {
  abytes(bytes, 'parseDgis');
  const out: Dgi[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (bytes.length - i < 2) {
      throw new Iso7816Error(`dgi: identifier at offset ${i} runs past the end (needs 2 bytes, 1 left)`, i);
    }
    if (bytes.length - i < 3) {
      throw new Iso7816Error(`dgi: length field at offset ${i + 2} runs past the end (needs 1 byte, 0 left)`, i + 2);
    }
    const dgi = (bytes[i]! << 8) | bytes[i + 1]!;
    let length = bytes[i + 2]!;
    let dataAt = i + 3;
    if (length === 0xff) {
      if (bytes.length - (i + 2) < 3) {
        throw new Iso7816Error(`dgi: length field at offset ${i + 2} runs past the end (needs 3 bytes FF xx xx, ${bytes.length - i - 2} left)`, i + 2);
      }
      length = (bytes[i + 3]! << 8) | bytes[i + 4]!;
      dataAt = i + 5;
    }
    if (dataAt + length > bytes.length) {
      throw new Iso7816Error(
        `dgi: data of DGI ${formatDgi(dgi)} at offset ${dataAt} runs past the end (needs ${length} bytes, ${bytes.length - dataAt} left)`,
        dataAt,
      );
    }
    out.push({ dgi, data: copyBytes(bytes, dataAt, dataAt + length), offset: i });
    i = dataAt + length;
  }
  return out;
}

/** DGIs 8000–8FFF carry secrets; EMV CPS has them encrypted under the session DEK. */
export function isSensitiveDgi(dgi: number): boolean {
  checkInt(dgi, 'isSensitiveDgi', 0, 0xffff);
  return dgi >= 0x8000 && dgi <= 0x8fff;
}

/** `8000`-style hex of a DGI. */
export function formatDgi(dgi: number): string {
  checkInt(dgi, 'formatDgi', 0, 0xffff);
  return hex2(dgi >> 8) + hex2(dgi & 0xff);
}
