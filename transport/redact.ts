// Log forms of APDU exchanges that never show key or PIN bytes. Which instructions carry secrets
// (ISO/IEC 7816-4 §11, GlobalPlatform 2.3.1 §11, the PBOC-style COS of JR/T 0025):
// their data field — and for a few the response too — is shown as `[n bytes]`.
import { toHex } from '../bytes/index.js';
import { formatCommand, formatResponse, parseCommand, parseResponse } from '../iso7816/index.js';

export interface Redaction {
  /** Hide the command's data field. */
  command: boolean;
  /** Hide the response's data (the status word always shows). */
  response: boolean;
}

// Any class: PIN and authentication data.
const ANY_CLASS: Record<number, Redaction> = {
  0x20: { command: true, response: false }, // VERIFY (PIN)
  0x21: { command: true, response: false }, // VERIFY (PIN, BER-TLV)
  0x24: { command: true, response: false }, // CHANGE REFERENCE DATA / PBOC PIN UNBLOCK
  0x2a: { command: true, response: true }, // PERFORM SECURITY OPERATION (decipher returns plaintext)
  0x2c: { command: true, response: false }, // RESET RETRY COUNTER (PUK + new PIN)
  0x82: { command: true, response: false }, // EXTERNAL AUTHENTICATE (ISO, GP 84 82)
  0x86: { command: true, response: true }, // GENERAL AUTHENTICATE
  0x87: { command: true, response: true }, // GENERAL AUTHENTICATE
};

// Proprietary class (CLA b8 = 1): GlobalPlatform and the native social-security COS.
const PROPRIETARY: Record<number, Redaction> = {
  0xc4: { command: true, response: true }, // generation-3 PIN hash: data = PIN, response = SM3(PIN)
  0xd4: { command: true, response: false }, // WRITE KEY
  0xd8: { command: true, response: false }, // PUT KEY
  0x5e: { command: true, response: false }, // CHANGE/RELOAD PIN
  0xe2: { command: true, response: false }, // STORE DATA (DGIs 8000-8FFF carry keys)
};

const NONE: Redaction = { command: false, response: false };

export function redactionFor(cla: number, ins: number): Redaction {
  const any = ANY_CLASS[ins];
  if (any) return any;
  if ((cla & 0x80) !== 0 && cla !== 0xff) return PROPRIETARY[ins] ?? NONE;
  return NONE;
}

/** `00 A4 04 00 07 A0000000031010 00`; data of secret-carrying commands as `[n bytes]`. */
export function formatCommandBytes(command: Uint8Array): string {
  const r = command.length >= 2 ? redactionFor(command[0]!, command[1]!) : NONE;
  try {
    return formatCommand(parseCommand(command), { redact: r.command });
  } catch {
    // Not a well-formed APDU (sent on purpose to test a card): header, then the rest.
    const head = toHex(command.subarray(0, 4), ' ');
    const rest = command.subarray(4);
    if (rest.length === 0) return `${head} (malformed)`;
    return `${head} ${r.command ? `[${rest.length} bytes]` : toHex(rest)} (malformed)`;
  }
}

/** `6F1A…84 9000`, or `[16 bytes] 9000` for the response of a secret-carrying command. */
export function formatResponseBytes(command: Uint8Array, response: Uint8Array): string {
  const r = command.length >= 2 ? redactionFor(command[0]!, command[1]!) : NONE;
  if (response.length < 2) return `${toHex(response)} (malformed: no status word)`;
  return formatResponse(parseResponse(response), { redact: r.response });
}
