// ISO/IEC 7816-4 §5.3 (and ISO/IEC 7816-3 §12.2 for T=0): the two status words a transport
// resolves so that callers always see complete responses —
//   61xx  more data: fetch it with GET RESPONSE `00 C0 00 00 xx` (xx = 00 means 256), repeatedly;
//   6Cxx  wrong Le: send the same command again with Le = xx.
// One helper, used by every transport (in-process simulator, PC/SC), so both behave alike.
import { concat } from '../bytes/index.js';
import { encodeCommand, parseCommand, type ParsedCommand } from '../iso7816/index.js';
import { CardProtocolError } from './transport.js';

/** Sends one command APDU exactly as given and returns the card's raw response (data ‖ SW1 SW2). */
export type RawTransmit = (command: Uint8Array) => Promise<Uint8Array>;

export interface T0Options {
  /** Most GET RESPONSE commands for one command (default 320: 65 536 bytes in 256-byte pieces, plus margin). */
  maxGetResponses?: number;
  /** Most repeats of one command after 6Cxx (default 3). */
  maxLeRepeats?: number;
}

const INS_GET_RESPONSE = 0xc0;

/**
 * Transmits `command` through `raw` and resolves 61xx and 6Cxx. The data of every partial response
 * is kept, so a card that sends data together with 61xx (T=1 style) loses nothing. A command that
 * does not parse (the caller sent a malformed APDU on purpose) gets its 6Cxx answer back as is.
 * Throws CardProtocolError when the card keeps asking for more rounds than any response needs.
 */
export async function transmitResolvingT0(raw: RawTransmit, command: Uint8Array, options: T0Options = {}): Promise<Uint8Array> {
  const maxGetResponses = options.maxGetResponses ?? 320;
  const maxLeRepeats = options.maxLeRepeats ?? 3;

  let response = await raw(command);
  // 6Cxx: repeat the command with the Le the card asked for (it still may answer 61xx after that).
  // The command is parsed only then: the common path costs no parsing.
  const parsed = sw1Of(response) === 0x6c ? tryParse(command) : undefined;
  for (let repeats = 0; sw1Of(response) === 0x6c && parsed !== undefined; repeats++) {
    if (repeats >= maxLeRepeats) {
      throw new CardProtocolError(`card answered 6Cxx (wrong Le) ${repeats + 1} times in a row to INS ${hex2(parsed.ins)}; giving up`);
    }
    response = await raw(withLe(parsed, leOf(response)));
  }

  let parts: Uint8Array[] | undefined; // made only when the card answers 61xx
  let getResponses = 0;
  let leRepeats = 0;
  let getResponseLe = 0;
  while (sw1Of(response) === 0x61 || (getResponses > 0 && sw1Of(response) === 0x6c)) {
    if (sw1Of(response) === 0x61) {
      (parts ??= []).push(response.subarray(0, response.length - 2));
      getResponseLe = leOf(response);
      leRepeats = 0;
      if (getResponses >= maxGetResponses) {
        throw new CardProtocolError(`card still answered 61xx (more data) after ${getResponses} GET RESPONSE commands; giving up`);
      }
      getResponses++;
    } else {
      // 6Cxx to our GET RESPONSE: ask again with the Le it named.
      if (leRepeats >= maxLeRepeats) {
        throw new CardProtocolError(`card answered 6Cxx (wrong Le) ${leRepeats + 1} times in a row to GET RESPONSE; giving up`);
      }
      leRepeats++;
      getResponseLe = leOf(response);
    }
    response = await raw(getResponseCommand(command[0] ?? 0, getResponseLe));
  }
  if (parts === undefined) return response;
  parts.push(response);
  return concat(...parts);
}

/**
 * GET RESPONSE `00 C0 00 00 xx`, on the logical channel of the command it continues (channels 0–3
 * in CLA b2–b1, 4–19 in the further interindustry class `4x`/`6x`); secure messaging bits are not kept.
 */
export function getResponseCommand(cla: number, le: number): Uint8Array {
  const channel = (cla & 0x40) !== 0 ? (cla & 0x0f) + 4 : cla & 0x03;
  const outCla = channel < 4 ? channel : 0x40 | (channel - 4);
  return new Uint8Array([outCla, INS_GET_RESPONSE, 0x00, 0x00, le & 0xff]);
}

function tryParse(command: Uint8Array): ParsedCommand | undefined {
  try {
    return parseCommand(command);
  } catch {
    return undefined;
  }
}

function withLe(command: ParsedCommand, le: number): Uint8Array {
  // Keep the form (short/extended) the caller chose; Le ≤ 256 fits both.
  return encodeCommand({ cla: command.cla, ins: command.ins, p1: command.p1, p2: command.p2, data: command.data, le }, { extended: command.extended });
}

function sw1Of(response: Uint8Array): number {
  if (response.length < 2) throw new CardProtocolError(`card answered ${response.length} byte(s), a response needs at least SW1 SW2`);
  return response[response.length - 2]!;
}

/** SW2 of 61xx/6Cxx as a byte count: 00 means 256. */
function leOf(response: Uint8Array): number {
  const n = response[response.length - 1]!;
  return n === 0 ? 256 : n;
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
