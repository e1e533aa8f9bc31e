// Answers to reset: ISO/IEC 7816-3 §8 for the contact interface, and the ATR a PC/SC reader
// builds for an ISO/IEC 14443-4 card (PC/SC Part 3 §3.1.3.2.3: 3B 8n 80 01 ‖ historical bytes ‖ TCK).
// The historical bytes (cardsmith choice) are "CSM" ‖ COS version ‖ 8-byte chip id, in the
// proprietary category (first byte not 00/10/8x); the chip id comes last so the last 8 bytes of
// the contact ATR are card-unique, as social-security level-2 diversification expects (STANDARDS §2).
import { concat } from '../../bytes/index.js';
import type { CardInterface } from '../card.js';

export const COS_VERSION = 0x01;
const MAKER = Uint8Array.of(0x43, 0x53, 0x4d); // "CSM"

export interface AtrOptions {
  iface: CardInterface;
  /** Contact only: announce T=0 (the card then answers with 61xx / 6Cxx) instead of T=1. */
  t0: boolean;
  /** 8 bytes, unique per card. */
  chipId: Uint8Array;
}

export function historicalBytes(chipId: Uint8Array): Uint8Array {
  if (chipId.length !== 8) throw new RangeError(`simulator: chip id must be 8 bytes, got ${chipId.length}`);
  return concat(MAKER, Uint8Array.of(COS_VERSION), chipId);
}

/** XOR of every byte from T0 to the last historical byte (ISO 7816-3 §8.2.5). */
export function tck(bytesAfterTs: Uint8Array): number {
  let x = 0;
  for (const b of bytesAfterTs) x ^= b;
  return x;
}

export function buildAtr(opts: AtrOptions): Uint8Array {
  const hist = historicalBytes(opts.chipId);
  const k = hist.length; // 12
  if (opts.iface === 'contactless') {
    // T0 = 8K (TD1 follows), TD1 = 80 (TD2 follows, T=0), TD2 = 01 (T=1): the fixed PC/SC form.
    const body = concat(Uint8Array.of(0x80 | k, 0x80, 0x01), hist);
    return concat(Uint8Array.of(0x3b), body, Uint8Array.of(tck(body)));
  }
  if (opts.t0) {
    // T0 = 6K: TB1 = 00 (no Vpp), TC1 = 00 (no extra guard time); no TD1 means T=0 only,
    // and an ATR offering only T=0 carries no TCK.
    return concat(Uint8Array.of(0x3b, 0x60 | k, 0x00, 0x00), hist);
  }
  // T0 = 8K: TD1 = 81 (TD2 follows, T=1), TD2 = 31 (TA3, TB3 follow, T=1),
  // TA3 = FE (IFSC 254), TB3 = 45 (BWI 4, CWI 5). T=1 is offered, so TCK is present.
  const body = concat(Uint8Array.of(0x80 | k, 0x81, 0x31, 0xfe, 0x45), hist);
  return concat(Uint8Array.of(0x3b), body, Uint8Array.of(tck(body)));
}
