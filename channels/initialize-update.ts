// INITIALIZE UPDATE (GP Card Specification 2.3.1 §11.10, Appendix E.5.1 for SCP02; Amendment D
// §7.1.1 for SCP03): the command, the parsed response, and the cryptograms a host expects from it.
// Computing the card cryptogram offline is what lets `gp probe-keys` test candidate keys without
// sending EXTERNAL AUTHENTICATE — the command whose failures count towards locking the card.
import { abytes, concat, constantTimeEqual, toHex } from '../bytes/index.js';
import { apdu, type CommandApdu } from '../iso7816/index.js';
import { Iso7816Error } from '../iso7816/index.js';
import { scp02Cryptograms, scp02SessionKeys } from './scp02.js';
import { scp03Cryptograms, scp03PseudoRandomChallenge, scp03SessionKeys } from './scp03.js';
import type { StaticKeys } from './keys.js';

export interface InitializeUpdateResponse {
  /** Key diversification data: the input of the emv/visa2/kdf3 templates. */
  kdd: Uint8Array;
  keyVersion: number;
  scp: 2 | 3;
  /** SCP03: the i parameter from the response; SCP02: not sent by the card (undefined). */
  i: number | undefined;
  /** SCP02: the 2-byte sequence counter; SCP03: the 3-byte counter when present (pseudo-random challenges), else empty. */
  sequenceCounter: Uint8Array;
  /** SCP02: 6 bytes; SCP03: 8 (S8) or 16 (S16) bytes. */
  cardChallenge: Uint8Array;
  cardCryptogram: Uint8Array;
}

/** `80 50 kvn 00 Lc host-challenge 00`. P2 (key identifier) is 00: the key set's first key, as GP tools send. */
export function initializeUpdateCommand(hostChallenge: Uint8Array, keyVersion = 0): CommandApdu {
  abytes(hostChallenge, 'initializeUpdate: host challenge', 8, 16);
  return apdu(0x80, 0x50, keyVersion, 0x00, hostChallenge, 256);
}

/**
 * Splits the response data (without SW). Lengths tell the formats apart: 28 SCP02; 29/32 SCP03 S8
 * (without/with sequence counter); 45/48 SCP03 S16. SCP01 (28 bytes, SCP id 01) is refused.
 */
export function parseInitializeUpdateResponse(data: Uint8Array): InitializeUpdateResponse {
  abytes(data, 'initializeUpdate: response');
  if (data.length < 12) {
    throw new Iso7816Error(`initialize update: response of ${data.length} bytes is too short (SCP02 sends 28, SCP03 29 to 48)`, data.length);
  }
  const kdd = data.slice(0, 10);
  const keyVersion = data[10]!;
  const scpId = data[11]!;
  if (scpId === 0x02) {
    if (data.length !== 28) throw new Iso7816Error(`initialize update: SCP02 response must be 28 bytes, got ${data.length}`, 0);
    return { kdd, keyVersion, scp: 2, i: undefined, sequenceCounter: data.slice(12, 14), cardChallenge: data.slice(14, 20), cardCryptogram: data.slice(20, 28) };
  }
  if (scpId === 0x03) {
    const i = data[12]!;
    const n = data.length === 29 || data.length === 32 ? 8 : data.length === 45 || data.length === 48 ? 16 : 0;
    if (n === 0) throw new Iso7816Error(`initialize update: SCP03 response must be 29, 32 (S8) or 45, 48 (S16) bytes, got ${data.length}`, 0);
    const challenge = data.slice(13, 13 + n);
    const cryptogram = data.slice(13 + n, 13 + 2 * n);
    const sequenceCounter = data.slice(13 + 2 * n);
    return { kdd, keyVersion, scp: 3, i, sequenceCounter, cardChallenge: challenge, cardCryptogram: cryptogram };
  }
  if (scpId === 0x01) throw new Iso7816Error('initialize update: the card offers SCP01, which cardsmith does not support (SCP02 and SCP03 only)', 11);
  throw new Iso7816Error(`initialize update: unknown secure channel protocol ${toHex(Uint8Array.of(scpId))} at offset 11 (expected 02 or 03)`, 11);
}

export interface ExpectedCryptograms {
  card: Uint8Array;
  host: Uint8Array;
}

/**
 * The cryptograms a card holding `keys` would compute for this exchange. `scp02i` matters only for
 * the one-base-key variants (b1 = 0), where ENC stands for all three keys.
 */
export function expectedCryptograms(keys: StaticKeys, response: InitializeUpdateResponse, hostChallenge: Uint8Array, scp02i = 0x15): ExpectedCryptograms {
  if (response.scp === 2) {
    const base = (scp02i & 0x01) === 0 ? { enc: keys.enc, mac: keys.enc, dek: keys.enc } : keys;
    const s = scp02SessionKeys(base, response.sequenceCounter);
    return scp02Cryptograms(s.enc, hostChallenge, response.sequenceCounter, response.cardChallenge);
  }
  const s = scp03SessionKeys(keys, hostChallenge, response.cardChallenge);
  return scp03Cryptograms(s.mac, hostChallenge, response.cardChallenge);
}

/** True when the card cryptogram in the response is the one `keys` give (constant time). */
export function cardCryptogramMatches(keys: StaticKeys, response: InitializeUpdateResponse, hostChallenge: Uint8Array, scp02i = 0x15): boolean {
  return constantTimeEqual(expectedCryptograms(keys, response, hostChallenge, scp02i).card, response.cardCryptogram);
}

/**
 * SCP03 with a pseudo-random card challenge (i b5 = 1): whether the challenge is the one the ENC key
 * derives from the sequence counter and the security domain AID. Undefined when it does not apply.
 */
export function checkPseudoRandomChallenge(keys: StaticKeys, response: InitializeUpdateResponse, sdAid: Uint8Array): boolean | undefined {
  if (response.scp !== 3 || response.i === undefined || (response.i & 0x10) === 0 || response.sequenceCounter.length !== 3) return undefined;
  const expected = scp03PseudoRandomChallenge(keys.enc, response.sequenceCounter, sdAid, response.cardChallenge.length === 16);
  return constantTimeEqual(expected, response.cardChallenge);
}

/** Hex of the whole response, for logs (nothing in it is secret). */
export function formatInitializeUpdateResponse(r: InitializeUpdateResponse): string {
  return toHex(concat(r.kdd, Uint8Array.of(r.keyVersion, r.scp), r.i !== undefined ? Uint8Array.of(r.i) : new Uint8Array(0), r.scp === 2 ? r.sequenceCounter : new Uint8Array(0), r.cardChallenge, r.cardCryptogram, r.scp === 3 ? r.sequenceCounter : new Uint8Array(0)));
}
