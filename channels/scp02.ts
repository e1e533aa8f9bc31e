// SCP02 (GP Card Specification 2.3.1 Appendix E), host side.
// - Session keys: 3DES-CBC(static key, IV 0, const ‖ sequence counter ‖ 12 × 00), consts ENC 0182,
//   C-MAC 0101, R-MAC 0102, DEK 0181.
// - Cryptograms: full 3DES CBC-MAC (ISO 9797-1 alg 1, padding method 2) under S-ENC; card over
//   host challenge ‖ seq ‖ card challenge, host over seq ‖ card challenge ‖ host challenge.
// - C-MAC: ISO 9797-1 alg 3 (single DES, 3DES last block) under S-MAC over CLA|04 INS P1 P2 (Lc+8) ‖
//   plain data (i b2 = 0, "modified" header); with i b2 = 1 over the header as the caller built it.
//   ICV: zero for EXTERNAL AUTHENTICATE, then the previous C-MAC — DES-ECB-encrypted under the first
//   half of S-MAC when i b5 (ICV encryption, i = 15/55) is set.
// - C-DECRYPTION: 3DES-CBC under S-ENC, zero IV, of the data padded 80 00… (always padded, as the
//   published kaoh/globalplatform transcripts show: 39 plain bytes go out as 40).
// - R-MAC: ISO 9797-1 alg 3 under S-RMAC over the plain command (CLA INS P1 P2 Lc data) ‖ Lr ‖
//   response data ‖ SW, chained: the ICV is the previous R-MAC, the first one the C-MAC of EXTERNAL
//   AUTHENTICATE (as GlobalPlatformPro and kaoh/globalplatform do; no published vector exists).
import { abytes, concat, constantTimeEqual, toHex, wipe } from '../bytes/index.js';
import { blockCipher, mac9797, pad, retailMac } from '../crypto/index.js';
import type { CommandApdu } from '../iso7816/index.js';
import type { Transport } from '../transport/transport.js';
import { ResponseProtectionError, SecureChannelError } from './errors.js';
import type { InitializeUpdateResponse } from './initialize-update.js';
import { checkStaticKeys, keySetKcvs, type StaticKeys } from './keys.js';
import { BaseSecureChannel } from './secure-channel.js';
import { C_DECRYPTION, C_MAC, checkSecurityLevel, R_MAC } from './security-level.js';

const DES = blockCipher('des');
const DES3 = blockCipher('des3');
const ZERO8 = new Uint8Array(8);

export const SCP02_CONSTANTS = Object.freeze({ enc: 0x0182, cmac: 0x0101, rmac: 0x0102, dek: 0x0181 });

export interface Scp02SessionKeys {
  enc: Uint8Array;
  mac: Uint8Array;
  rmac: Uint8Array;
  dek: Uint8Array;
}

function deriveOne(key: Uint8Array, constant: number, seq: Uint8Array): Uint8Array {
  const block = new Uint8Array(16);
  block[0] = constant >> 8;
  block[1] = constant & 0xff;
  block.set(seq, 2);
  return DES3.encryptCbc(key, ZERO8, block);
}

export function scp02SessionKeys(keys: StaticKeys, sequenceCounter: Uint8Array): Scp02SessionKeys {
  abytes(sequenceCounter, 'scp02: sequence counter', 2);
  checkStaticKeys(keys, 2);
  return {
    enc: deriveOne(keys.enc, SCP02_CONSTANTS.enc, sequenceCounter),
    mac: deriveOne(keys.mac, SCP02_CONSTANTS.cmac, sequenceCounter),
    rmac: deriveOne(keys.mac, SCP02_CONSTANTS.rmac, sequenceCounter),
    dek: deriveOne(keys.dek, SCP02_CONSTANTS.dek, sequenceCounter),
  };
}

function fullMac(sEnc: Uint8Array, data: Uint8Array): Uint8Array {
  return mac9797({ alg: 'des3', algorithm: 1, padding: 2, key: sEnc, data });
}

/** Card and host cryptograms; `cardChallenge` is the 6-byte challenge (the seq counter is separate). */
export function scp02Cryptograms(sEnc: Uint8Array, hostChallenge: Uint8Array, sequenceCounter: Uint8Array, cardChallenge: Uint8Array): { card: Uint8Array; host: Uint8Array } {
  abytes(hostChallenge, 'scp02: host challenge', 8);
  abytes(cardChallenge, 'scp02: card challenge', 6);
  return {
    card: fullMac(sEnc, concat(hostChallenge, sequenceCounter, cardChallenge)),
    host: fullMac(sEnc, concat(sequenceCounter, cardChallenge, hostChallenge)),
  };
}

/** What the i parameter (GP 2.3.1 Table E-1) asks of the host. */
export interface Scp02Options {
  /** b1: three static keys (1) or one base key for everything (0). */
  threeKeys: boolean;
  /** b2 = 0: the C-MAC covers the header as sent (CLA|04, Lc+8); b2 = 1: the header before modification. */
  macOnModifiedHeader: boolean;
  /** b5: the ICV of each C-MAC after the first is DES-encrypted under the first half of S-MAC. */
  icvEncryption: boolean;
  /** b6: the card supports R-MAC. */
  rmac: boolean;
  /** b7: the card challenge comes from a well-known pseudo-random algorithm (i = 55); opaque to the host. */
  pseudoRandomChallenge: boolean;
}

/**
 * Supported: explicit initiation (b3 = 1) with a zero initial ICV (b4 = 0), e.g. 04, 05, 14, 15, 45,
 * 54, 55. Implicit initiation and "ICV = MAC over AID" (0A, 0B, 1A, 1B) are refused.
 */
export function scp02Options(i: number): Scp02Options {
  if (!Number.isInteger(i) || i < 0 || i > 0x7f) throw new RangeError(`scp02: i parameter must be 00..7F, got ${String(i)}`);
  const hex = i.toString(16).toUpperCase().padStart(2, '0');
  if ((i & 0x04) === 0) throw new RangeError(`scp02: i=${hex} asks for implicit initiation, which cardsmith does not support (explicit: i=15, 55, …)`);
  if ((i & 0x08) !== 0) throw new RangeError(`scp02: i=${hex} sets the initial ICV to a MAC over the AID, which cardsmith does not support (use i=15 or 55)`);
  return {
    threeKeys: (i & 0x01) !== 0,
    macOnModifiedHeader: (i & 0x02) === 0,
    icvEncryption: (i & 0x10) !== 0,
    rmac: (i & 0x20) !== 0,
    pseudoRandomChallenge: (i & 0x40) !== 0,
  };
}

export class Scp02Channel extends BaseSecureChannel {
  readonly protocol = 'scp02' as const;
  readonly keyEncryption = 'des3-ecb-session-dek' as const;
  readonly #options: Scp02Options;
  #keys: Scp02SessionKeys;
  #cardCryptogram: Uint8Array;
  #expected: { card: Uint8Array; host: Uint8Array };
  #kcvs: { enc: string; mac: string; dek: string };
  #lastCmac: Uint8Array | undefined;
  #lastRmac: Uint8Array = ZERO8;

  constructor(transport: Transport, keys: StaticKeys, response: InitializeUpdateResponse, hostChallenge: Uint8Array, i: number, keySource: string) {
    if (response.scp !== 2) throw new SecureChannelError('scp02: the INITIALIZE UPDATE response is not an SCP02 response');
    const options = scp02Options(i);
    super(transport, response, hostChallenge, { i, mode: undefined, keySource, cardChallengeVerified: undefined });
    this.#options = options;
    const base = options.threeKeys ? keys : { enc: keys.enc, mac: keys.enc, dek: keys.enc };
    this.#kcvs = keySetKcvs(base, 2);
    this.#keys = scp02SessionKeys(base, response.sequenceCounter);
    this.#expected = scp02Cryptograms(this.#keys.enc, hostChallenge, response.sequenceCounter, response.cardChallenge);
    this.#cardCryptogram = Uint8Array.from(response.cardCryptogram);
  }

  /** Throws CardCryptogramError (and ends the session) unless the card proved it holds the same keys. */
  verifyCardCryptogram(): void {
    this.checkCardCryptogram(this.#expected.card, this.#cardCryptogram, this.#kcvs);
  }

  /** Sends EXTERNAL AUTHENTICATE (C-MAC, zero ICV) with `level` in P1; the level applies from the next command. */
  async externalAuthenticate(level: number): Promise<void> {
    checkSecurityLevel('scp02', level);
    await this.sendExternalAuthenticate(level, this.#expected.host);
    // R-MAC chaining starts from the C-MAC of EXTERNAL AUTHENTICATE (GP 2.3.1 E.4.5).
    this.#lastRmac = this.#lastCmac ?? ZERO8;
    this.level = level;
    this.authenticated = true;
  }

  protected wrappedLength(n: number): number {
    const mac = this.level & C_MAC ? 8 : 0;
    const data = this.level & C_DECRYPTION && n > 0 ? (Math.floor(n / 8) + 1) * 8 : n;
    return data + mac;
  }

  protected wrap(command: CommandApdu): CommandApdu {
    const level = this.level;
    if ((level & (C_MAC | C_DECRYPTION)) === 0) return command;
    const plain = command.data;
    const cla = command.cla | 0x04;
    let mac: Uint8Array = new Uint8Array(0);
    if (level & C_MAC) {
      const icv = this.#lastCmac === undefined ? ZERO8 : this.#options.icvEncryption ? DES.encryptEcb(this.#keys.mac.subarray(0, 8), this.#lastCmac) : this.#lastCmac;
      const header = this.#options.macOnModifiedHeader
        ? Uint8Array.of(cla, command.ins, command.p1, command.p2, plain.length + 8)
        : Uint8Array.of(command.cla, command.ins, command.p1, command.p2, plain.length);
      if (plain.length + 8 > 255) this.checkFits({ ...command, data: new Uint8Array(plain.length + 8) });
      mac = retailMac(this.#keys.mac, concat(header, plain), icv);
      this.#lastCmac = mac;
    }
    let data = plain;
    if (level & C_DECRYPTION && plain.length > 0) data = DES3.encryptCbc(this.#keys.enc, ZERO8, pad(plain, 2, 8));
    const wrapped: CommandApdu = { cla, ins: command.ins, p1: command.p1, p2: command.p2, data: concat(data, mac) };
    if (command.le !== undefined) wrapped.le = command.le;
    return this.checkFits(wrapped);
  }

  protected unwrap(command: CommandApdu, response: Uint8Array): Uint8Array {
    if ((this.level & R_MAC) === 0) return response;
    const n = response.length;
    const sw = response.subarray(n - 2);
    const swValue = (sw[0]! << 8) | sw[1]!;
    if (n < 10) {
      // An error status word comes alone; only a success or warning must carry the R-MAC.
      if (swValue === 0x9000 || sw[0] === 0x62 || sw[0] === 0x63) {
        throw new ResponseProtectionError(`scp02: the response (SW ${toHex(sw)}) has no R-MAC although R-MAC is on`);
      }
      return response;
    }
    const data = response.subarray(0, n - 10);
    const rmac = response.subarray(n - 10, n - 2);
    const input = concat(Uint8Array.of(command.cla & ~0x04 & 0xff, command.ins, command.p1, command.p2, command.data.length), command.data, Uint8Array.of(data.length), data, sw);
    const expected = retailMac(this.#keys.rmac, input, this.#lastRmac);
    if (!constantTimeEqual(expected, rmac)) {
      throw new ResponseProtectionError(`scp02: R-MAC mismatch (card sent ${toHex(rmac)}, expected ${toHex(expected)}); the response cannot be trusted`);
    }
    this.#lastRmac = expected;
    return concat(data, sw);
  }

  encryptKey(key: Uint8Array): Uint8Array {
    this.requireActive();
    abytes(key, 'scp02: key to encrypt', 16, 24);
    return DES3.encryptEcb(this.#keys.dek, key);
  }

  encryptSensitiveData(data: Uint8Array): Uint8Array {
    this.requireActive();
    abytes(data, 'scp02: sensitive data');
    if (data.length % 8 !== 0) {
      throw new RangeError(`scp02: sensitive data is ${data.length} bytes; it is encrypted without padding, so it must be a multiple of 8 bytes (pad it in data preparation)`);
    }
    return DES3.encryptEcb(this.#keys.dek, data);
  }

  protected wipeKeys(): void {
    wipe(this.#keys.enc, this.#keys.mac, this.#keys.rmac, this.#keys.dek);
  }
}
