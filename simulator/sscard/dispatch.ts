// Which instruction each class byte accepts (ISO/IEC 7816-4 §5.4.1 class byte: 00 plain, 04
// proprietary secure messaging; 80 / 84 the proprietary class of the PBOC-style COS commands).
// An INS the card knows under another class gets 6E00, an INS it does not know at all 6D00.
import type { Reply } from '../core/sw.js';
import type { Ctx } from './context.js';
import { externalAuthenticate, getChallenge, internalAuthenticate } from './commands/auth.js';
import { readBinary, updateBinary } from './commands/binary.js';
import { createFile } from './commands/create.js';
import { applicationBlock, applicationUnblock, cardBlock, endPersonalization } from './commands/lifecycle.js';
import { changeOrReloadPin, pinHash, pinUnblock, verify } from './commands/pin.js';
import { computeSignature, generateKeyPair } from './commands/pki.js';
import { appendRecord, readRecord, updateRecord } from './commands/record.js';
import { select } from './commands/select.js';
import { writeKey } from './commands/write-key.js';

export type Handler = (c: Ctx) => Reply;

/** GET RESPONSE is handled by the card itself (it needs the pending response), so it is only named here. */
export const INS_GET_RESPONSE = 0xc0;
const GET_RESPONSE_MARK: Handler = () => {
  throw new Error('simulator: GET RESPONSE is handled before dispatch');
};

export const COMMANDS: Readonly<Record<number, Readonly<Record<number, Handler>>>> = {
  0x00: {
    0xa4: select,
    0xb0: readBinary,
    0xd6: updateBinary,
    0xb2: readRecord,
    0xdc: updateRecord,
    0xe2: appendRecord,
    0x84: getChallenge,
    0x82: externalAuthenticate,
    0x88: internalAuthenticate,
    0x20: verify,
    0x2a: computeSignature,
    [INS_GET_RESPONSE]: GET_RESPONSE_MARK,
  },
  0x04: {
    0xb0: readBinary,
    0xd6: updateBinary,
    0xb2: readRecord,
    0xdc: updateRecord,
    0xe2: appendRecord,
  },
  0x80: {
    0xe0: createFile,
    0xd4: writeKey,
    0x5e: changeOrReloadPin,
    0xea: endPersonalization,
    0x40: generateKeyPair,
    0xc4: pinHash,
  },
  0x84: {
    0xd4: writeKey,
    0x1e: applicationBlock,
    0x18: applicationUnblock,
    0x16: cardBlock,
    0x24: pinUnblock,
  },
};

const KNOWN_INS = new Set(Object.values(COMMANDS).flatMap((t) => Object.keys(t).map(Number)));

// The same table indexed by number (CLA, then INS), so a lookup builds no key and no result object.
const BY_CLASS: (readonly (Handler | undefined)[] | undefined)[] = [];
for (const [cla, table] of Object.entries(COMMANDS)) {
  const row: (Handler | undefined)[] = new Array<Handler | undefined>(256).fill(undefined);
  for (const [ins, handler] of Object.entries(table)) row[Number(ins)] = handler;
  BY_CLASS[Number(cla)] = row;
}

/** The handler for CLA/INS, or undefined (then `refusal` says which status word refuses it). */
export function handlerFor(cla: number, ins: number): Handler | undefined {
  return BY_CLASS[cla]?.[ins];
}

/** The status word that refuses a CLA/INS pair without a handler. */
export function refusal(cla: number, ins: number): number {
  if (BY_CLASS[cla] === undefined) return classProblem(cla);
  return KNOWN_INS.has(ins) ? 0x6e00 : 0x6d00;
}

/** Why a class byte is refused: chaining 6884, logical channel 6881, ISO SM 6882, else 6E00. */
function classProblem(cla: number): number {
  if (cla < 0x20) {
    if (cla & 0x10) return 0x6884;
    if (cla & 0x03) return 0x6881;
    if ((cla & 0x0c) === 0x08 || (cla & 0x0c) === 0x0c) return 0x6882;
  } else if ((cla & 0xf8) === 0x80 && (cla & 0x03) !== 0) {
    // 81–83, 85–87: the proprietary classes of 80/84 on another logical channel.
    return 0x6881;
  }
  return 0x6e00;
}

/** Instructions a blocked application still answers (everything else: 6A81). */
export const ALLOWED_WHEN_BLOCKED: ReadonlySet<number> = new Set([0xa4, 0xc0, 0x84, 0x18, 0x16]);
