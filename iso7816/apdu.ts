// ISO/IEC 7816-4 §5.1 (case detection as in ISO/IEC 7816-3 §12.1.3) — command and response APDUs.
import { abytes, concat, toHex } from '../bytes/index.js';
import { checkByte, checkInt, checkSw, copyBytes, hex4 } from './internal.js';
import { Iso7816Error } from './errors.js';

/**
 * A command APDU. `le` is Ne, the most response bytes wanted: 1..65536, or undefined for no
 * Le field. Le byte 00 (short) means 256 and Le 0000 (extended) means 65536.
 */
export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
  le?: number | undefined;
}

/** Case 1: no data, no Le. 2: Le only. 3: data only. 4: data and Le. */
export type ApduCase = 1 | 2 | 3 | 4;

/** What parseCommand found: the command plus its case and whether it came in the extended form. */
export interface ParsedCommand extends CommandApdu {
  case: ApduCase;
  extended: boolean;
}

export interface ResponseApdu {
  data: Uint8Array;
  sw: number;
}

export interface EncodeOptions {
  /** Force the extended (true) or short (false) form; by default extended only when needed. */
  extended?: boolean | undefined;
}

export interface FormatOptions extends EncodeOptions {
  /** Show the data field as `[n bytes]` instead of hex, for commands that carry keys or PINs. */
  redact?: boolean | undefined;
}

export const MAX_SHORT_DATA = 255;
export const MAX_SHORT_LE = 256;
export const MAX_EXTENDED_DATA = 65535;
export const MAX_EXTENDED_LE = 65536;

const EMPTY = new Uint8Array(0);

/** Readable builder: `apdu(0x00, 0xa4, 0x04, 0x00, aid, 256)`. Checks every field. */
export function apdu(cla: number, ins: number, p1: number, p2: number, data: Uint8Array = EMPTY, le?: number): CommandApdu {
  const command: CommandApdu = { cla, ins, p1, p2, data };
  if (le !== undefined) command.le = le;
  return checkCommand(command, 'apdu');
}

export function commandCase(command: CommandApdu): ApduCase {
  const hasData = command.data.length > 0;
  const hasLe = command.le !== undefined;
  return hasData ? (hasLe ? 4 : 3) : hasLe ? 2 : 1;
}

export function encodeCommand(command: CommandApdu, options: EncodeOptions = {}): Uint8Array {
  const f = commandFields(command, options);
  return concat(f.header, f.lc, f.data, f.le);
}

/**
 * Reads a command APDU and tells its case and form. Throws Iso7816Error, with the offset of
 * the offending field, for anything ISO 7816-3/-4 would not accept.
 */
export function parseCommand(bytes: Uint8Array): ParsedCommand {
  abytes(bytes, 'parseCommand');
  const n = bytes.length;
  if (n < 4) {
    throw new Iso7816Error(`apdu: header at offset 0 is too short (needs 4 bytes CLA INS P1 P2, ${n} present)`, 0);
  }
  const header = { cla: bytes[0]!, ins: bytes[1]!, p1: bytes[2]!, p2: bytes[3]! };
  if (n === 4) return { ...header, data: EMPTY, case: 1, extended: false };
  const b4 = bytes[4]!;
  if (n === 5) return { ...header, data: EMPTY, le: b4 === 0 ? 256 : b4, case: 2, extended: false };
  // A short Lc is never 00, so 00 here (with more bytes after it) opens an extended length field.
  return b4 === 0 ? parseExtended(bytes, header) : parseShort(bytes, header, b4);
}

type Header = Pick<CommandApdu, 'cla' | 'ins' | 'p1' | 'p2'>;

function parseShort(bytes: Uint8Array, header: Header, lc: number): ParsedCommand {
  const left = bytes.length - 5;
  if (left < lc) {
    throw new Iso7816Error(`apdu: Lc at offset 4 says ${lc} data bytes but only ${left} follow`, 4);
  }
  const data = copyBytes(bytes, 5, 5 + lc);
  if (left === lc) return { ...header, data, case: 3, extended: false };
  if (left > lc + 1) throw trailing(6 + lc, bytes.length, `Lc at offset 4 says ${lc} data bytes, then 1 Le byte`);
  const le = bytes[5 + lc]!;
  return { ...header, data, le: le === 0 ? 256 : le, case: 4, extended: false };
}

// Said when an extended Lc does not fit: the sender may have meant a short Lc of 00.
const EXTENDED_HINT = 'byte 00 at offset 4 marks the extended form, since a short Lc cannot be 00';

function parseExtended(bytes: Uint8Array, header: Header): ParsedCommand {
  const n = bytes.length;
  if (n < 7) {
    throw new Iso7816Error(
      `apdu: extended length field at offset 4 runs past the end (needs 3 bytes, ${n - 4} left; ${EXTENDED_HINT})`,
      4,
    );
  }
  const value = (bytes[5]! << 8) | bytes[6]!;
  if (n === 7) return { ...header, data: EMPTY, le: value === 0 ? 65536 : value, case: 2, extended: true };
  const lc = value;
  if (lc === 0) {
    throw new Iso7816Error(`apdu: extended Lc at offset 4 is 0000 but ${n - 7} byte(s) follow (Lc must be 1..65535; ${EXTENDED_HINT})`, 4);
  }
  const left = n - 7;
  if (left < lc) {
    throw new Iso7816Error(`apdu: extended Lc at offset 4 says ${lc} data bytes but only ${left} follow (${EXTENDED_HINT})`, 4);
  }
  const data = copyBytes(bytes, 7, 7 + lc);
  if (left === lc) return { ...header, data, case: 3, extended: true };
  if (left === lc + 1) {
    throw new Iso7816Error(`apdu: extended Le at offset ${7 + lc} runs past the end (needs 2 bytes, 1 left)`, 7 + lc);
  }
  if (left > lc + 2) throw trailing(9 + lc, n, `extended Lc at offset 4 says ${lc} data bytes, then 2 Le bytes`);
  const le = (bytes[7 + lc]! << 8) | bytes[8 + lc]!;
  return { ...header, data, le: le === 0 ? 65536 : le, case: 4, extended: true };
}

function trailing(offset: number, total: number, why: string): Iso7816Error {
  return new Iso7816Error(`apdu: ${total - offset} unexpected byte(s) at offset ${offset} (${why})`, offset);
}

export function parseResponse(bytes: Uint8Array): ResponseApdu {
  abytes(bytes, 'parseResponse');
  const n = bytes.length;
  if (n < 2) throw new Iso7816Error(`apdu: response at offset 0 is too short (needs 2 bytes SW1 SW2, ${n} present)`, 0);
  return { data: copyBytes(bytes, 0, n - 2), sw: (bytes[n - 2]! << 8) | bytes[n - 1]! };
}

export function encodeResponse(response: ResponseApdu): Uint8Array {
  const data = checkResponseData(response.data);
  const sw = checkSw(response.sw, 'encodeResponse: sw');
  return concat(data, new Uint8Array([sw >> 8, sw & 0xff]));
}

export function sw1(sw: number): number {
  return checkSw(sw, 'sw1') >> 8;
}

export function sw2(sw: number): number {
  return checkSw(sw, 'sw2') & 0xff;
}

/** Log form, one space between fields: `00 A4 04 00 07 A0000000031010 00`. */
export function formatCommand(command: CommandApdu, options: FormatOptions = {}): string {
  const f = commandFields(command, options);
  const parts = [toHex(f.header, ' ')];
  if (f.lc.length > 0) parts.push(toHex(f.lc));
  if (f.data.length > 0) parts.push(options.redact ? `[${f.data.length} bytes]` : toHex(f.data));
  if (f.le.length > 0) parts.push(toHex(f.le));
  return parts.join(' ');
}

/** Log form of a response: `6F1A…84 9000`, or just the status word when there is no data. */
export function formatResponse(response: ResponseApdu, options: Pick<FormatOptions, 'redact'> = {}): string {
  const data = checkResponseData(response.data);
  const sw = hex4(checkSw(response.sw, 'formatResponse: sw'));
  if (data.length === 0) return sw;
  return `${options.redact ? `[${data.length} bytes]` : toHex(data)} ${sw}`;
}

/** Validates a command object (types, byte ranges, Nc and Ne limits) and returns it. */
export function checkCommand(command: CommandApdu, what = 'apdu'): CommandApdu {
  if (typeof command !== 'object' || command === null) throw new TypeError(`${what}: expected a command object`);
  checkByte(command.cla, `${what}: cla`);
  checkByte(command.ins, `${what}: ins`);
  checkByte(command.p1, `${what}: p1`);
  checkByte(command.p2, `${what}: p2`);
  abytes(command.data, `${what}: data`);
  if (command.data.length > MAX_EXTENDED_DATA) {
    throw new RangeError(`${what}: data is ${command.data.length} bytes, an APDU carries at most ${MAX_EXTENDED_DATA}`);
  }
  if (command.le === 0) {
    // Le byte 00 means 256, not 0; a caller writing 0 almost certainly meant "as much as possible".
    throw new RangeError(`${what}: le 0 is ambiguous; omit le for no Le field, or use 256 (short Le 00) / 65536 (extended Le 0000)`);
  }
  if (command.le !== undefined) checkInt(command.le, `${what}: le`, 1, MAX_EXTENDED_LE);
  return command;
}

interface Fields {
  header: Uint8Array;
  lc: Uint8Array;
  data: Uint8Array;
  le: Uint8Array;
}

function commandFields(command: CommandApdu, options: EncodeOptions): Fields {
  checkCommand(command, 'encodeCommand');
  const { data, le } = command;
  const header = new Uint8Array([command.cla, command.ins, command.p1, command.p2]);
  const extended = useExtended(command, options.extended);
  if (!extended) {
    return {
      header,
      data,
      lc: data.length > 0 ? new Uint8Array([data.length]) : EMPTY,
      le: le !== undefined ? new Uint8Array([le & 0xff]) : EMPTY, // 256 → 00
    };
  }
  const lc = data.length > 0 ? new Uint8Array([0, data.length >> 8, data.length & 0xff]) : EMPTY;
  let leField = EMPTY;
  if (le !== undefined) {
    const two = [(le >> 8) & 0xff, le & 0xff]; // 65536 → 0000
    // Case 2E carries the 00 marker in front of Le; case 4E already has it in front of Lc.
    leField = new Uint8Array(data.length > 0 ? two : [0, ...two]);
  }
  return { header, lc, data, le: leField };
}

function useExtended(command: CommandApdu, forced: boolean | undefined): boolean {
  const needed = command.data.length > MAX_SHORT_DATA || (command.le ?? 0) > MAX_SHORT_LE;
  if (forced === false && needed) {
    const why =
      command.data.length > MAX_SHORT_DATA
        ? `${command.data.length} data bytes (short allows ${MAX_SHORT_DATA})`
        : `le ${command.le} (short allows ${MAX_SHORT_LE})`;
    throw new RangeError(`encodeCommand: the short form was asked for, but ${why} need the extended form`);
  }
  // Case 1 has no length field, so there is nothing to extend.
  return commandCase(command) !== 1 && (forced ?? needed);
}

function checkResponseData(data: unknown): Uint8Array {
  const bytes = abytes(data, 'response: data');
  if (bytes.length > MAX_EXTENDED_LE) {
    throw new RangeError(`response: data is ${bytes.length} bytes, a response carries at most ${MAX_EXTENDED_LE}`);
  }
  return bytes;
}

