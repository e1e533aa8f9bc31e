// SCP03, card side: GlobalPlatform Card Specification 2.3.1 Amendment D (with the S16 mode of
// v1.2), in short:
// - KDF: AES-CMAC counter mode over 11 × 00 ‖ const ‖ 00 ‖ L ‖ i ‖ context (crypto/kdf.ts);
//   S-ENC const 04 from Key-ENC, S-MAC 06 and S-RMAC 07 from Key-MAC, each as long as its static
//   key; context = host challenge ‖ card challenge. Card / host cryptograms: const 00 / 01 under
//   S-MAC, 64 bits (S8) or 128 bits (S16).
// - Card challenge: random, or with i b5 pseudo-random = KDF(Key-ENC, const 02, context =
//   sequence counter (3 bytes) ‖ AID of the selected SD); the counter is then appended to the
//   INITIALIZE UPDATE response. (The published kaoh/globalplatform transcript is of that kind: its
//   card challenge is KDF(ENC, 02, 00001E ‖ A000000151000000).)
// - C-MAC: CMAC(S-MAC, chaining value ‖ CLA ‖ INS ‖ P1 ‖ P2 ‖ Lc ‖ data as sent), 8 (S8) or 16
//   (S16) bytes sent, the full 16 bytes chain; the first chaining value is 16 × 00.
// - C-DECRYPTION: AES-CBC under S-ENC with ICV = AES(S-ENC, counter as 16 bytes); the counter
//   starts at 0 after EXTERNAL AUTHENTICATE and is incremented for every command, with or without
//   data; padding 80 00… always added.
// - R-MAC: CMAC(S-RMAC, chaining value (this command's C-MAC) ‖ response data ‖ SW), truncated as
//   the C-MAC; R-ENCRYPTION: response data padded and AES-CBC encrypted with ICV =
//   AES(S-ENC, 80 ‖ counter[1..15]). No protection at all on an error status word (anything but
//   9000, 62xx, 63xx): only the SW is returned.
// - i parameter: b1 S16 mode, b5 pseudo-random challenge, b6 R-MAC support, b7 R-ENC support.
import { concat, constantTimeEqual } from '../../bytes/index.js';
import { aesDecryptCbc, aesEncryptCbc, aesEncryptEcb, aesCmac, pad, PaddingError, scp03Kdf, unpadMethod2 } from '../../crypto/index.js';
import { dekDecryptor, type DekDecryptor, type StaticKeys } from './keys.js';
import type { RandomSource } from './random.js';
import { LEVEL_CDEC, LEVEL_CMAC, LEVEL_RENC, LEVEL_RMAC, type CardCommand, type CardSession } from './session.js';
import { be, fail, SW, type CardResponse } from './util.js';

export const SCP03_I = {
  S16: 0x01,
  PSEUDO_RANDOM: 0x10,
  RMAC: 0x20,
  RENC: 0x40,
} as const;

export function checkScp03I(i: number): string | undefined {
  if (!Number.isInteger(i) || i < 0 || i > 0x7f) return 'i must be a byte with b8 = 0';
  if ((i & 0x0e) !== 0) return 'i bits b4-b2 are RFU';
  if ((i & SCP03_I.RENC) !== 0 && (i & SCP03_I.RMAC) === 0) return 'R-ENCRYPTION support needs R-MAC support (i b6)';
  return undefined;
}

/** Security levels Amendment D defines for EXTERNAL AUTHENTICATE P1 (R-ENC only with C-DEC). */
const SCP03_LEVELS = new Set([0x00, 0x01, 0x03, 0x11, 0x13, 0x33]);

export interface Scp03Params {
  i: number;
  keys: StaticKeys;
  keyVersion: number;
  counter: number;
  kdd: Uint8Array;
  sdAid: Uint8Array;
  hostChallenge: Uint8Array;
  random: RandomSource;
}

export class Scp03Session implements CardSession {
  readonly scp = '03' as const;
  state: 'initiated' | 'authenticated' = 'initiated';
  level = 0;
  readonly keyVersion: number;
  readonly initializeUpdateResponse: Uint8Array;
  readonly dek: DekDecryptor;

  private readonly i: number;
  /** 8 in S8 mode, 16 in S16 mode: challenge, cryptogram and MAC length. */
  private readonly n: number;
  private readonly sEnc: Uint8Array;
  private readonly sMac: Uint8Array;
  private readonly sRmac: Uint8Array;
  private readonly hostCryptogram: Uint8Array;
  private chain: Uint8Array = new Uint8Array(16);
  private counter = 0;

  constructor(p: Scp03Params) {
    this.i = p.i;
    this.n = (p.i & SCP03_I.S16) !== 0 ? 16 : 8;
    this.keyVersion = p.keyVersion;
    const pseudo = (p.i & SCP03_I.PSEUDO_RANDOM) !== 0;
    const seq = be(p.counter, 3);
    const cardChallenge = pseudo ? scp03Kdf(p.keys.enc, 0x02, concat(seq, p.sdAid), this.n * 8) : p.random(this.n).slice(0, this.n);
    const context = concat(p.hostChallenge, cardChallenge);
    this.sEnc = scp03Kdf(p.keys.enc, 0x04, context, p.keys.enc.length * 8);
    this.sMac = scp03Kdf(p.keys.mac, 0x06, context, p.keys.mac.length * 8);
    this.sRmac = scp03Kdf(p.keys.mac, 0x07, context, p.keys.mac.length * 8);
    // Amendment D has no session DEK: sensitive data is encrypted under the static Key-DEK.
    this.dek = dekDecryptor('aes', p.keys.dek);
    const cardCryptogram = scp03Kdf(this.sMac, 0x00, context, this.n * 8);
    this.hostCryptogram = scp03Kdf(this.sMac, 0x01, context, this.n * 8);
    this.initializeUpdateResponse = concat(p.kdd, Uint8Array.of(p.keyVersion, 0x03, p.i), cardChallenge, cardCryptogram, pseudo ? seq : new Uint8Array(0));
  }

  externalAuthenticate(c: CardCommand): void {
    if (c.p2 !== 0x00) fail(SW.WRONG_P1P2, 'EXTERNAL AUTHENTICATE P2 must be 00');
    if (!SCP03_LEVELS.has(c.p1)) fail(SW.WRONG_P1P2, 'security level not defined for SCP03');
    if ((c.p1 & LEVEL_RMAC) !== 0 && (this.i & SCP03_I.RMAC) === 0) fail(SW.WRONG_P1P2, 'R-MAC not supported by this i');
    if ((c.p1 & LEVEL_RENC) !== 0 && (this.i & SCP03_I.RENC) === 0) fail(SW.WRONG_P1P2, 'R-ENCRYPTION not supported by this i');
    if (c.data.length !== 2 * this.n) fail(SW.WRONG_LENGTH, 'EXTERNAL AUTHENTICATE carries cryptogram and MAC');
    const cryptogram = c.data.subarray(0, this.n);
    if (!constantTimeEqual(cryptogram, this.hostCryptogram)) fail(SW.AUTH_FAILED, 'host cryptogram mismatch');
    const full = this.cmac(c, c.data.subarray(0, c.data.length - this.n));
    if (!constantTimeEqual(full.subarray(0, this.n), c.data.subarray(this.n))) fail(SW.SECURITY_STATUS, 'EXTERNAL AUTHENTICATE C-MAC mismatch');
    this.chain = full;
    this.counter = 0;
    this.level = c.p1;
    this.state = 'authenticated';
  }

  /** CMAC over chaining value ‖ header ‖ Lc (as sent: 1 byte, or 00 hh ll when extended) ‖ data before the MAC. */
  private cmac(c: CardCommand, body: Uint8Array): Uint8Array {
    const lc = c.data.length;
    const lcField = c.extended ? Uint8Array.of(0, lc >> 8, lc & 0xff) : Uint8Array.of(lc);
    return aesCmac(this.sMac, concat(this.chain, Uint8Array.of(c.cla, c.ins, c.p1, c.p2), lcField, body));
  }

  private counterBlock(response: boolean): Uint8Array {
    const block = new Uint8Array(16);
    block.set(be(this.counter >>> 0, 4), 12);
    if (response) block[0] = 0x80;
    return aesEncryptEcb(this.sEnc, block);
  }

  unwrap(c: CardCommand): CardCommand {
    if (this.state !== 'authenticated' || (this.level & LEVEL_CMAC) === 0) fail(SW.SECURITY_STATUS, 'secure messaging not expected');
    if (c.data.length < this.n) fail(SW.SECURITY_STATUS, 'C-MAC missing');
    const body = c.data.subarray(0, c.data.length - this.n);
    const full = this.cmac(c, body);
    if (!constantTimeEqual(full.subarray(0, this.n), c.data.subarray(c.data.length - this.n))) fail(SW.SECURITY_STATUS, 'C-MAC mismatch');
    this.chain = full;
    let plain: Uint8Array = body;
    if ((this.level & LEVEL_CDEC) !== 0) {
      this.counter++;
      if (body.length > 0) {
        if (body.length % 16 !== 0) fail(SW.SECURITY_STATUS, 'encrypted data is not whole blocks');
        try {
          plain = unpadMethod2(aesDecryptCbc(this.sEnc, this.counterBlock(false), body), 16);
        } catch (e) {
          if (e instanceof PaddingError) fail(SW.SECURITY_STATUS, 'bad padding in decrypted data');
          throw e;
        }
      }
    }
    return { cla: c.cla & ~0x04, ins: c.ins, p1: c.p1, p2: c.p2, data: Uint8Array.from(plain), le: c.le, extended: c.extended };
  }

  wrap(_plain: CardCommand, r: CardResponse): CardResponse {
    if ((this.level & LEVEL_RMAC) === 0) return r;
    const s1 = r.sw >> 8;
    if (r.sw !== SW.OK && s1 !== 0x62 && s1 !== 0x63) return { data: new Uint8Array(0), sw: r.sw };
    let data = r.data;
    if ((this.level & LEVEL_RENC) !== 0 && data.length > 0) data = aesEncryptCbc(this.sEnc, this.counterBlock(true), pad(data, 2, 16));
    const rmac = aesCmac(this.sRmac, concat(this.chain, data, Uint8Array.of(r.sw >> 8, r.sw & 0xff))).subarray(0, this.n);
    return { data: concat(data, rmac), sw: r.sw };
  }
}
