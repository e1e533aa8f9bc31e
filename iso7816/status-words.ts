// ISO/IEC 7816-4 §5.1.3 status words (with the GlobalPlatform 2.3.1 and Java Card additions
// named in each entry) — readable meanings, classes, and the error for an unexpected one.
import type { CommandApdu, ResponseApdu } from './apdu.js';
import { checkSw, hex2, hex4 } from './internal.js';
import { insName } from './instructions.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export type SwClass = 'ok' | 'warning' | 'error';

export interface StatusWordInfo {
  readonly sw: number;
  readonly meaning: string;
  /** Where the meaning comes from. */
  readonly source: string;
}

const ISO = 'ISO 7816-4';
const GP = 'GlobalPlatform 2.3.1';

/** Fixed status words; the families 61xx, 63Cx, 6402–6480 and 6Cxx are computed in swMeaning. */
export const STATUS_WORDS: readonly StatusWordInfo[] = Object.freeze(
  (
    [
      [0x9000, 'success', ISO],
      [0x6200, 'warning, no information given (memory unchanged)', ISO],
      [0x6281, 'part of returned data may be corrupted', ISO],
      [0x6282, 'end of file or record reached before reading Ne bytes', ISO],
      [0x6283, 'selected file deactivated', ISO],
      [0x6284, 'file control information not formatted per ISO 7816-4', ISO],
      [0x6285, 'selected file in termination state', ISO],
      [0x6286, 'no input data available from a sensor on the card', ISO],
      [0x6300, 'warning, no information given (memory changed); after EXTERNAL AUTHENTICATE: host cryptogram rejected', `${ISO}; ${GP}`],
      [0x6310, 'more data available', GP],
      [0x6381, 'file filled up by the last write', ISO],
      [0x6400, 'execution error, no information given (memory unchanged)', ISO],
      [0x6401, 'immediate response required by the card', ISO],
      [0x6500, 'execution error, no information given (memory changed)', ISO],
      [0x6581, 'memory failure', ISO],
      [0x6700, 'wrong length', ISO],
      [0x6800, 'functions in CLA not supported', ISO],
      [0x6881, 'logical channel not supported', ISO],
      [0x6882, 'secure messaging not supported', ISO],
      [0x6883, 'last command of the chain expected', ISO],
      [0x6884, 'command chaining not supported', ISO],
      [0x6900, 'command not allowed', ISO],
      [0x6981, 'command incompatible with file structure', ISO],
      [0x6982, 'security status not satisfied', ISO],
      [0x6983, 'authentication method blocked', ISO],
      [0x6984, 'reference data not usable', ISO],
      [0x6985, 'conditions of use not satisfied', ISO],
      [0x6986, 'command not allowed (no current EF)', ISO],
      [0x6987, 'expected secure messaging data objects missing', ISO],
      [0x6988, 'incorrect secure messaging data objects', ISO],
      [0x6999, 'applet selection failed', 'Java Card (ISO7816.SW_APPLET_SELECT_FAILED)'],
      [0x6a00, 'wrong parameters, no information given', ISO],
      [0x6a80, 'incorrect parameters in the command data field', ISO],
      [0x6a81, 'function not supported', ISO],
      [0x6a82, 'file or application not found', ISO],
      [0x6a83, 'record not found', ISO],
      [0x6a84, 'not enough memory space in the file', ISO],
      [0x6a85, 'Nc inconsistent with TLV structure', ISO],
      [0x6a86, 'incorrect parameters P1-P2', ISO],
      [0x6a87, 'Nc inconsistent with parameters P1-P2', ISO],
      [0x6a88, 'referenced data not found', `${ISO}; ${GP}`],
      [0x6a89, 'file already exists', ISO],
      [0x6a8a, 'DF name already exists', ISO],
      [0x6b00, 'wrong parameters P1-P2', ISO],
      [0x6d00, 'instruction code not supported or invalid', ISO],
      [0x6e00, 'class not supported', ISO],
      [0x6f00, 'no precise diagnosis', ISO],
    ] as const
  ).map(([sw, meaning, source]) => Object.freeze({ sw, meaning, source })),
);

const BY_SW = new Map(STATUS_WORDS.map((e) => [e.sw, e.meaning]));

// What ISO 7816-4 says a whole SW1 group means, for SW2 values not in the table.
const GROUPS: Record<number, string> = {
  0x62: 'warning, memory unchanged',
  0x63: 'warning, memory changed',
  0x64: 'execution error, memory unchanged',
  0x65: 'execution error, memory changed',
  0x66: 'security-related issue',
  0x67: 'wrong length',
  0x68: 'functions in CLA not supported',
  0x69: 'command not allowed',
  0x6a: 'wrong parameters P1-P2',
  0x6b: 'wrong parameters P1-P2',
  0x6d: 'instruction code not supported or invalid',
  0x6e: 'class not supported',
  0x6f: 'no precise diagnosis',
};

/** Meaning alone, e.g. `file or application not found`. */
export function swMeaning(sw: number): string {
  checkSw(sw, 'swMeaning');
  const known = BY_SW.get(sw);
  if (known !== undefined) return known;
  const s1 = sw >> 8;
  const s2 = sw & 0xff;
  if (s1 === 0x61) return s2 === 0 ? 'more data available (GET RESPONSE with Le 00)' : `${s2} more bytes available (GET RESPONSE)`;
  if (s1 === 0x63 && (s2 & 0xf0) === 0xc0) {
    const x = s2 & 0x0f;
    return `verification failed, ${x} ${x === 1 ? 'try' : 'tries'} left`;
  }
  if (s1 === 0x64 && s2 >= 0x02 && s2 <= 0x80) return 'triggering by the card';
  if (s1 === 0x6c) return `wrong Le, ${s2 === 0 ? 256 : s2} bytes available (repeat with Le ${hex2(s2)})`;
  const group = GROUPS[s1];
  if (group !== undefined) return `unlisted status word (group ${hex2(s1)}: ${group})`;
  if (s1 >= 0x90 && s1 <= 0x9f) return 'proprietary status word';
  return 'invalid status word (SW1 must be 61-6F or 9X)';
}

/** `6A82 file or application not found`. */
export function describeSw(sw: number): string {
  return `${formatSw(sw)} ${swMeaning(sw)}`;
}

/** `6A82`. */
export function formatSw(sw: number): string {
  return hex4(checkSw(sw, 'formatSw'));
}

/** True for 9000 only: 61xx still has data waiting and 62xx/63xx are warnings (see swClass). */
export function isSuccess(sw: number): boolean {
  return checkSw(sw, 'isSuccess') === 0x9000;
}

/**
 * 'ok' for 9000 and 61xx (ISO: normal processing; a transport fetches the rest with GET RESPONSE),
 * 'warning' for 62xx/63xx, 'error' for everything else — proprietary 9Xxx included, because
 * cardsmith cannot know what a vendor meant and a caller expecting 9000 must not go on.
 */
export function swClass(sw: number): SwClass {
  checkSw(sw, 'swClass');
  const s1 = sw >> 8;
  if (sw === 0x9000 || s1 === 0x61) return 'ok';
  if (s1 === 0x62 || s1 === 0x63) return 'warning';
  return 'error';
}

/** The part of a command a status word error may keep: never the data, which may be a key or PIN. */
export type CommandRef = Pick<CommandApdu, 'ins'> & Partial<Pick<CommandApdu, 'cla'>>;

/** The card answered something other than what the caller needed. Carries no command data. */
export class StatusWordError extends CardsmithError {
  override readonly name = 'StatusWordError';
  readonly kind: ErrorKind = 'operation';
  readonly sw: number;
  readonly ins: number;
  readonly cla: number | undefined;

  constructor(sw: number, command: CommandRef) {
    checkSw(sw, 'StatusWordError: sw');
    const name = insName(command.ins, command.cla);
    super(`card answered ${formatSw(sw)} (${swMeaning(sw)}) to ${name}`);
    this.sw = sw;
    this.ins = command.ins;
    this.cla = command.cla;
  }
}

/** Returns the response when its status word is one of `expected` (default 9000), else throws StatusWordError. */
export function requireSw(response: ResponseApdu, command: CommandRef, ...expected: number[]): ResponseApdu {
  const sw = checkSw(response.sw, 'requireSw: sw');
  const wanted = expected.length > 0 ? expected : [0x9000];
  if (!wanted.includes(sw)) throw new StatusWordError(sw, command);
  return response;
}
