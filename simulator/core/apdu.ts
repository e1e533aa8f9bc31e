// The card's reading of a command APDU (ISO/IEC 7816-4 §5.1, cases as in ISO/IEC 7816-3 §12.1.3):
// the header and length fields are read into the numbers of one reusable object, so a command
// costs no parse objects; only a data field, which a handler may keep, is copied out.

/** Case 1: no data, no Le. 2: Le only. 3: data only. 4: data and Le. */
export type ApduCase = 1 | 2 | 3 | 4;

const EMPTY = new Uint8Array(0);

export class CommandFields {
  cla = 0;
  ins = 0;
  p1 = 0;
  p2 = 0;
  /** The data field (a copy of the command's bytes, empty for case 1/2). */
  data: Uint8Array = EMPTY;
  /** Ne: most response bytes wanted (Le 00 → 256, 0000 → 65536), or undefined without Le. */
  ne: number | undefined = undefined;
  case: ApduCase = 1;
  extended = false;

  /**
   * Reads `bytes` (at least 4 long) into these fields. False when the length fields do not
   * add up (a short Lc is never 00: 00 there opens the extended form); the fields are then
   * left half-read and must not be used.
   */
  read(bytes: Uint8Array): boolean {
    const n = bytes.length;
    if (n < 4) return false;
    this.cla = bytes[0]!;
    this.ins = bytes[1]!;
    this.p1 = bytes[2]!;
    this.p2 = bytes[3]!;
    this.data = EMPTY;
    this.ne = undefined;
    this.extended = false;
    if (n === 4) {
      this.case = 1;
      return true;
    }
    const b4 = bytes[4]!;
    if (n === 5) {
      this.case = 2;
      this.ne = b4 === 0 ? 256 : b4;
      return true;
    }
    return b4 === 0 ? this.readExtended(bytes) : this.readShort(bytes, b4);
  }

  private readShort(bytes: Uint8Array, lc: number): boolean {
    const left = bytes.length - 5;
    if (left < lc || left > lc + 1) return false;
    this.data = bytes.slice(5, 5 + lc);
    if (left === lc) {
      this.case = 3;
      return true;
    }
    const le = bytes[5 + lc]!;
    this.case = 4;
    this.ne = le === 0 ? 256 : le;
    return true;
  }

  private readExtended(bytes: Uint8Array): boolean {
    const n = bytes.length;
    if (n < 7) return false;
    this.extended = true;
    const value = (bytes[5]! << 8) | bytes[6]!;
    if (n === 7) {
      this.case = 2;
      this.ne = value === 0 ? 65536 : value;
      return true;
    }
    const lc = value;
    const left = n - 7;
    if (lc === 0 || left < lc || left === lc + 1 || left > lc + 2) return false;
    this.data = bytes.slice(7, 7 + lc);
    if (left === lc) {
      this.case = 3;
      return true;
    }
    const le = (bytes[7 + lc]! << 8) | bytes[8 + lc]!;
    this.case = 4;
    this.ne = le === 0 ? 65536 : le;
    return true;
  }
}
