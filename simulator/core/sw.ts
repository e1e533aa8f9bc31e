// ISO/IEC 7816-4 §5.1.3 status words the simulated card answers with, and the one internal
// exception that carries a status word from deep inside a command handler to process().
// ISO/IEC 7816-4 lists which SW means what; iso7816/status-words.ts has the readable meanings.
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

/** The status words this card uses, by name, so handlers read like the specification. */
export const SW = Object.freeze({
  OK: 0x9000,
  /** Selected file deactivated (an application blocked with APPLICATION BLOCK). */
  FILE_DEACTIVATED: 0x6283,
  /** End of file reached before reading Ne bytes. */
  END_OF_FILE: 0x6282,
  WRONG_LENGTH: 0x6700,
  LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
  SM_NOT_SUPPORTED: 0x6882,
  CHAINING_NOT_SUPPORTED: 0x6884,
  INCOMPATIBLE_FILE_STRUCTURE: 0x6981,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTH_METHOD_BLOCKED: 0x6983,
  REFERENCE_DATA_NOT_USABLE: 0x6984,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  NO_CURRENT_EF: 0x6986,
  SM_DATA_INCORRECT: 0x6988,
  INCORRECT_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  RECORD_NOT_FOUND: 0x6a83,
  NOT_ENOUGH_MEMORY: 0x6a84,
  TLV_INCONSISTENT: 0x6a85,
  INCORRECT_P1P2: 0x6a86,
  REFERENCED_DATA_NOT_FOUND: 0x6a88,
  FILE_EXISTS: 0x6a89,
  DF_NAME_EXISTS: 0x6a8a,
  WRONG_P1P2: 0x6b00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  NO_PRECISE_DIAGNOSIS: 0x6f00,
} as const);

/** `63Cx`: verification failed, x tries left (x ≤ 15). */
export function triesLeft(x: number): number {
  return 0x63c0 | Math.min(15, Math.max(0, x));
}

/**
 * A command ends with this status word and no data. Thrown inside handlers so that a check
 * ten calls deep can stop the command without every caller testing a result; process()
 * catches it. Never leaves the simulator, and never carries command data (it may be a key).
 */
export class SwError extends CardsmithError {
  override readonly name = 'SwError';
  readonly kind: ErrorKind = 'card';
  constructor(readonly sw: number) {
    super(`card status ${sw.toString(16).toUpperCase().padStart(4, '0')}`);
  }
}

/** Stops the current command with `sw`. */
export function fail(sw: number): never {
  throw new SwError(sw);
}

/** A handler's answer before the response-length rules (Le, T=0) are applied. */
export interface Reply {
  data: Uint8Array;
  sw: number;
}

const EMPTY = new Uint8Array(0);

export function reply(sw: number, data: Uint8Array = EMPTY): Reply {
  return { data, sw };
}

export function ok(data: Uint8Array = EMPTY): Reply {
  return { data, sw: SW.OK };
}
