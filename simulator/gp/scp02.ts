// SCP02, card side: GlobalPlatform Card Specification 2.2 (2.2.1) Appendix E, explicit initiation.
// - Session keys: 3DES-CBC(static key, IV 0, constant ‖ sequence counter ‖ 12 × 00); constants
//   0182 S-ENC, 0101 C-MAC, 0102 R-MAC, 0181 DEK (E.4.1). With i b1 = 0 one base key (key 1)
//   stands for all three.
// - Card challenge: random, or with i b7 ("well-known pseudo-random algorithm") the first 6 bytes
//   of the C-MAC (retail MAC under the C-MAC session key, ICV 0) over the selected SD's AID.
// - Cryptograms: full 3DES CBC-MAC (ISO 9797-1 alg 1, padding method 2) under S-ENC; card over
//   host challenge ‖ counter ‖ card challenge, host over counter ‖ card challenge ‖ host challenge.
// - C-MAC: retail MAC (ISO 9797-1 alg 3) under the C-MAC key over the modified header (CLA with
//   b3 set, Lc + 8) and the plain data (i b2 = 1: over the unmodified APDU); ICV 0 for EXTERNAL
//   AUTHENTICATE, then the previous C-MAC, DES-ECB encrypted under the key's first half when i b5
//   ("ICV encryption") is set.
// - C-DECRYPTION: 3DES-CBC under S-ENC, ICV 0, padding 80 00… always added (E.4.6).
// - R-MAC (cardsmith's reading, the one GlobalPlatformPro implements): retail MAC under the R-MAC
//   key over CLA (b3, b2, b1 cleared) ‖ INS ‖ P1 ‖ P2 ‖ Lc (00 when absent) ‖ plain command data ‖
//   Li ‖ response data ‖ SW1 SW2, ICV = previous R-MAC; the first ICV is the C-MAC of EXTERNAL
//   AUTHENTICATE. Appended to every response of a command the session unwrapped.
import { concat, constantTimeEqual } from '../../bytes/index.js';
import { blockCipher, des3DecryptCbc, des3EncryptCbc, mac9797, PaddingError, retailMac, unpadMethod2 } from '../../crypto/index.js';
import { dekDecryptor, type DekDecryptor, type StaticKeys } from './keys.js';
import type { RandomSource } from './random.js';
import { LEVEL_CDEC, LEVEL_CMAC, LEVEL_RMAC, type CardCommand, type CardSession } from './session.js';
import { be, fail, SW, type CardResponse } from './util.js';

/** i parameter bits (GP 2.2 Appendix E.1.1). */
export const SCP02_I = {
  THREE_KEYS: 0x01,
  CMAC_UNMODIFIED: 0x02,
  EXPLICIT: 0x04,
  ICV_MAC_AID: 0x08,
  ICV_ENCRYPT: 0x10,
  RMAC: 0x20,
  PSEUDO_RANDOM: 0x40,
} as const;

/** The i values this card implements: explicit initiation, ICV zero (b4 = 0). */
export function checkScp02I(i: number): string | undefined {
  if (!Number.isInteger(i) || i < 0 || i > 0x7f) return 'i must be a byte with b8 = 0';
  if ((i & SCP02_I.EXPLICIT) === 0) return 'implicit initiation (i b3 = 0) is not simulated';
  if ((i & SCP02_I.ICV_MAC_AID) !== 0) return 'ICV = MAC over AID (i b4 = 1) is not simulated';
  return undefined;
}

/** EXTERNAL AUTHENTICATE P1 values SCP02 defines (GP 2.2 E.5.2.1). */
const SCP02_LEVELS = new Set([0x00, 0x01, 0x03, 0x11, 0x13]);

const DES = blockCipher('des');

export interface Scp02Params {
  i: number;
  keys: StaticKeys;
  keyVersion: number;
  counter: number;
  kdd: Uint8Array;
  sdAid: Uint8Array;
  hostChallenge: Uint8Array;
  random: RandomSource;
}

function sessionKey(base: Uint8Array, constant: number, counter: number): Uint8Array {
  return des3EncryptCbc(base, new Uint8Array(8), concat(be(constant, 2), be(counter, 2), new Uint8Array(12)));
}

function fullMac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return mac9797({ alg: 'des3', algorithm: 1, padding: 2, key, data });
}

export class Scp02Session implements CardSession {
  readonly scp = '02' as const;
  state: 'initiated' | 'authenticated' = 'initiated';
  level = 0;
  readonly keyVersion: number;
  readonly initializeUpdateResponse: Uint8Array;
  readonly dek: DekDecryptor;

  private readonly i: number;
  private readonly sEnc: Uint8Array;
  private readonly sMac: Uint8Array;
  private readonly sRmac: Uint8Array;
  private readonly hostCryptogram: Uint8Array;
  private lastMac: Uint8Array = new Uint8Array(8);
  private rmacIcv: Uint8Array = new Uint8Array(8);

  constructor(p: Scp02Params) {
    this.i = p.i;
    this.keyVersion = p.keyVersion;
    const three = (p.i & SCP02_I.THREE_KEYS) !== 0;
    const encBase = p.keys.enc;
    const macBase = three ? p.keys.mac : p.keys.enc;
    const dekBase = three ? p.keys.dek : p.keys.enc;
    this.sEnc = sessionKey(encBase, 0x0182, p.counter);
    this.sMac = sessionKey(macBase, 0x0101, p.counter);
    this.sRmac = sessionKey(macBase, 0x0102, p.counter);
    this.dek = dekDecryptor('des3', sessionKey(dekBase, 0x0181, p.counter));
    const seq = be(p.counter, 2);
    const cardChallenge =
      (p.i & SCP02_I.PSEUDO_RANDOM) !== 0 ? retailMac(this.sMac, p.sdAid).slice(0, 6) : p.random(6).slice(0, 6);
    const cardCryptogram = fullMac(this.sEnc, concat(p.hostChallenge, seq, cardChallenge));
    this.hostCryptogram = fullMac(this.sEnc, concat(seq, cardChallenge, p.hostChallenge));
    this.initializeUpdateResponse = concat(p.kdd, Uint8Array.of(p.keyVersion, 0x02), seq, cardChallenge, cardCryptogram);
  }

  externalAuthenticate(c: CardCommand): void {
    if (c.p2 !== 0x00) fail(SW.WRONG_P1P2, 'EXTERNAL AUTHENTICATE P2 must be 00');
    if (!SCP02_LEVELS.has(c.p1)) fail(SW.WRONG_P1P2, 'security level not defined for SCP02');
    if (c.data.length !== 16) fail(SW.WRONG_LENGTH, 'EXTERNAL AUTHENTICATE carries 8 bytes cryptogram and 8 bytes MAC');
    const cryptogram = c.data.subarray(0, 8);
    if (!constantTimeEqual(cryptogram, this.hostCryptogram)) fail(SW.AUTH_FAILED, 'host cryptogram mismatch');
    const mac = this.cmac(c, cryptogram, new Uint8Array(8));
    if (!constantTimeEqual(mac, c.data.subarray(8, 16))) fail(SW.SECURITY_STATUS, 'EXTERNAL AUTHENTICATE C-MAC mismatch');
    this.lastMac = mac;
    // The R-MAC chain starts from the C-MAC of EXTERNAL AUTHENTICATE, as GlobalPlatformPro
    // (GPSession: setRMACIV(getIV()) after EXTERNAL AUTHENTICATE) and kaoh/globalplatform do.
    this.rmacIcv = mac;
    this.level = c.p1;
    this.state = 'authenticated';
  }

  /** Retail MAC over the modified (or, with i b2, unmodified) command. */
  private cmac(c: CardCommand, plain: Uint8Array, icv: Uint8Array): Uint8Array {
    const unmodified = (this.i & SCP02_I.CMAC_UNMODIFIED) !== 0;
    const cla = unmodified ? c.cla & ~0x04 : c.cla | 0x04;
    const lc = unmodified ? plain.length : plain.length + 8;
    if (lc > 0xff) fail(SW.SECURITY_STATUS, 'SCP02 MACs short APDUs only');
    return retailMac(this.sMac, concat(Uint8Array.of(cla, c.ins, c.p1, c.p2, lc), plain), icv);
  }

  unwrap(c: CardCommand): CardCommand {
    if (this.state !== 'authenticated' || (this.level & LEVEL_CMAC) === 0) fail(SW.SECURITY_STATUS, 'secure messaging not expected');
    if (c.data.length < 8) fail(SW.SECURITY_STATUS, 'C-MAC missing');
    const body = c.data.subarray(0, c.data.length - 8);
    const mac = c.data.subarray(c.data.length - 8);
    let plain: Uint8Array = body;
    if ((this.level & LEVEL_CDEC) !== 0 && body.length > 0) {
      if (body.length % 8 !== 0) fail(SW.SECURITY_STATUS, 'encrypted data is not whole blocks');
      try {
        plain = unpadMethod2(des3DecryptCbc(this.sEnc, new Uint8Array(8), body), 8);
      } catch (e) {
        if (e instanceof PaddingError) fail(SW.SECURITY_STATUS, 'bad padding in decrypted data');
        throw e;
      }
    }
    const icv = (this.i & SCP02_I.ICV_ENCRYPT) !== 0 ? DES.encryptEcb(this.sMac.subarray(0, 8), this.lastMac) : this.lastMac;
    const expected = this.cmac(c, plain, icv);
    if (!constantTimeEqual(expected, mac)) fail(SW.SECURITY_STATUS, 'C-MAC mismatch');
    this.lastMac = expected;
    return { cla: c.cla & ~0x04, ins: c.ins, p1: c.p1, p2: c.p2, data: Uint8Array.from(plain), le: c.le, extended: c.extended };
  }

  wrap(plain: CardCommand, r: CardResponse): CardResponse {
    if ((this.level & LEVEL_RMAC) === 0) return r;
    const input = concat(
      Uint8Array.of(plain.cla & ~0x07, plain.ins, plain.p1, plain.p2, plain.data.length & 0xff),
      plain.data,
      Uint8Array.of(r.data.length & 0xff),
      r.data,
      Uint8Array.of(r.sw >> 8, r.sw & 0xff),
    );
    const mac = retailMac(this.sRmac, input, this.rmacIcv);
    this.rmacIcv = mac;
    return { data: concat(r.data, mac), sw: r.sw };
  }
}
