// Helpers shared by the iso7816/ modules (internal; not re-exported): argument checks, where
// wrong types are TypeError and out-of-range numbers RangeError like `abytes` in bytes/, and copies.

/** An integer in [min, max]; the message starts with `what` so the caller is named. */
export function checkInt(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${what}: expected a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what}: expected an integer ${min}..${max}, got ${value}`);
  }
  return value;
}

export function checkByte(value: unknown, what: string): number {
  return checkInt(value, what, 0, 0xff);
}

/** A status word SW1-SW2 as one 16-bit number, e.g. 0x9000. */
export function checkSw(value: unknown, what: string): number {
  return checkInt(value, what, 0, 0xffff);
}

export function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what}: expected a string, got ${typeof value}`);
  return value;
}

/** Four upper-case hex digits, the way status words are written. */
export function hex4(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, '0');
}

export function hex2(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * A plain Uint8Array copy of bytes[start, end). Not `bytes.slice`: on a Node Buffer (what PC/SC
 * hands back) that returns a view, and parsed values must not change when the input buffer does.
 */
export function copyBytes(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}
