// SCP03 (GP Card Specification 2.3 Amendment D v1.1.2/v1.2), host side.
// - KDF: AES-CMAC counter mode (crypto/kdf.ts scp03Kdf); session keys as long as the static keys
//   (AES-128/192/256), context = host challenge ‖ card challenge; constants 00 card cryptogram,
//   01 host cryptogram, 02 pseudo-random card challenge, 04 S-ENC, 06 S-MAC, 07 S-RMAC.
// - S8 / S16 (v1.2): 8- or 16-byte challenges, cryptograms and MACs; i b1 = 1 means S16.
// - C-MAC = CMAC(S-MAC, chaining value ‖ CLA|04 INS P1 P2 Lc ‖ data); the whole 16-byte CMAC is the
//   next chaining value (zero for EXTERNAL AUTHENTICATE), its first 8 (S8) or 16 (S16) bytes go out.
// - C-DECRYPTION: AES-CBC under S-ENC with ICV = AES(S-ENC, counter as 16 bytes), data padded 80 00…;
//   the counter starts at 1 with the first command after EXTERNAL AUTHENTICATE and counts every
//   command, with or without data. No data, no encryption.
// - R-MAC = CMAC(S-RMAC, chaining value of the command ‖ response data ‖ SW), only on 9000/62xx/63xx.
// - R-ENCRYPTION: AES-CBC under S-ENC with ICV = AES(S-ENC, 80 ‖ counter[1..15]).
// All of it is checked byte for byte against kaoh/globalplatform's published transcripts
// (test/channels/scp03-transcripts.test.ts), including R-MAC + R-ENCRYPTION at level 33.
import { abytes, concat, constantTimeEqual, toHex, uintBE, wipe } from '../bytes/index.js';
import { aesCmac, blockCipher, pad, PaddingError, scp03Kdf, unpadMethod2 } from '../crypto/index.js';
import type { CommandApdu } from '../iso7816/index.js';
import type { Transport } from '../transport/transport.js';
import { ResponseProtectionError, SecureChannelError } from './errors.js';
import type { InitializeUpdateResponse } from './initialize-update.js';
import { checkStaticKeys, keySetKcvs, type StaticKeys } from './keys.js';
import { BaseSecureChannel } from './secure-channel.js';
import { C_DECRYPTION, C_MAC, checkSecurityLevel, R_ENCRYPTION, R_MAC } from './security-level.js';

const AES = blockCipher('aes');
const ZERO16 = new Uint8Array(16);

export const SCP03_CONSTANTS = Object.freeze({ cardCryptogram: 0x00, hostCryptogram: 0x01, cardChallenge: 0x02, enc: 0x04, mac: 0x06, rmac: 0x07 });

export interface Scp03SessionKeys {
  enc: Uint8Array;
  mac: Uint8Array;
  rmac: Uint8Array;
}

export function scp03SessionKeys(keys: StaticKeys, hostChallenge: Uint8Array, cardChallenge: Uint8Array): Scp03SessionKeys {
  checkStaticKeys(keys, 3);
  abytes(hostChallenge, 'scp03: host challenge', 8, 16);
  abytes(cardChallenge, 'scp03: card challenge', 8, 16);
  const context = concat(hostChallenge, cardChallenge);
  return {
    enc: scp03Kdf(keys.enc, SCP03_CONSTANTS.enc, context, keys.enc.length * 8),
    mac: scp03Kdf(keys.mac, SCP03_CONSTANTS.mac, context, keys.mac.length * 8),
    rmac: scp03Kdf(keys.mac, SCP03_CONSTANTS.rmac, context, keys.mac.length * 8),
  };
}

/** Cryptograms are as long as the challenges: 8 bytes in S8, 16 in S16. */
export function scp03Cryptograms(sMac: Uint8Array, hostChallenge: Uint8Array, cardChallenge: Uint8Array): { card: Uint8Array; host: Uint8Array } {
  const context = concat(hostChallenge, cardChallenge);
  const bits = cardChallenge.length * 8;
  return {
    card: scp03Kdf(sMac, SCP03_CONSTANTS.cardCryptogram, context, bits),
    host: scp03Kdf(sMac, SCP03_CONSTANTS.hostCryptogram, context, bits),
  };
}

/** Amendment D §6.2.2.1: challenge = KDF(static ENC, 02, sequence counter ‖ invoking SD AID). */
export function scp03PseudoRandomChallenge(staticEnc: Uint8Array, sequenceCounter: Uint8Array, sdAid: Uint8Array, s16 = false): Uint8Array {
  abytes(sequenceCounter, 'scp03: sequence counter', 3);
  abytes(sdAid, 'scp03: security domain AID');
  return scp03Kdf(staticEnc, SCP03_CONSTANTS.cardChallenge, concat(sequenceCounter, sdAid), s16 ? 128 : 64);
}

/** i parameter bits (Amendment D Table 5-1, v1.2 for b1). */
export interface Scp03Options {
  s16: boolean;
  pseudoRandomChallenge: boolean;
  rmac: boolean;
  renc: boolean;
}

export function scp03Options(i: number): Scp03Options {
  if (!Number.isInteger(i) || i < 0 || i > 0xff) throw new RangeError(`scp03: i parameter must be 00..FF, got ${String(i)}`);
  return { s16: (i & 0x01) !== 0, pseudoRandomChallenge: (i & 0x10) !== 0, rmac: (i & 0x20) !== 0, renc: (i & 0x40) !== 0 };
}

function counterBlock(counter: number, response: boolean): Uint8Array {
  const block = concat(new Uint8Array(8), uintBE(counter, 8));
  if (response) block[0] = 0x80;
  return block;
}

export class Scp03Channel extends BaseSecureChannel {
  readonly protocol = 'scp03' as const;
  readonly keyEncryption = 'aes-cbc-static-dek' as const;
  readonly #options: Scp03Options;
  readonly #macLength: 8 | 16;
  #keys: Scp03SessionKeys;
  #dek: Uint8Array;
  #cardCryptogram: Uint8Array;
  #expected: { card: Uint8Array; host: Uint8Array };
  #kcvs: { enc: string; mac: string; dek: string };
  #chaining: Uint8Array = ZERO16;
  #counter = 0;

  constructor(transport: Transport, keys: StaticKeys, response: InitializeUpdateResponse, hostChallenge: Uint8Array, keySource: string, cardChallengeVerified: boolean | undefined) {
    if (response.scp !== 3 || response.i === undefined) throw new SecureChannelError('scp03: the INITIALIZE UPDATE response is not an SCP03 response');
    const options = scp03Options(response.i);
    const n = response.cardChallenge.length;
    if ((n === 16) !== options.s16) {
      throw new SecureChannelError(`scp03: the card's i=${toHex(Uint8Array.of(response.i))} says ${options.s16 ? 'S16' : 'S8'} but its challenge has ${n} bytes`);
    }
    if (hostChallenge.length !== n) {
      throw new SecureChannelError(`scp03: the card answered in ${n === 16 ? 'S16' : 'S8'} mode but the host challenge had ${hostChallenge.length} bytes (use --scp-mode ${n === 16 ? 's16' : 's8'})`);
    }
    super(transport, response, hostChallenge, { i: response.i, mode: options.s16 ? 'S16' : 'S8', keySource, cardChallengeVerified });
    checkStaticKeys(keys, 3);
    this.#options = options;
    this.#macLength = options.s16 ? 16 : 8;
    this.#kcvs = keySetKcvs(keys, 3);
    this.#keys = scp03SessionKeys(keys, hostChallenge, response.cardChallenge);
    this.#dek = Uint8Array.from(keys.dek);
    this.#expected = scp03Cryptograms(this.#keys.mac, hostChallenge, response.cardChallenge);
    this.#cardCryptogram = Uint8Array.from(response.cardCryptogram);
  }

  verifyCardCryptogram(): void {
    this.checkCardCryptogram(this.#expected.card, this.#cardCryptogram, this.#kcvs);
  }

  async externalAuthenticate(level: number): Promise<void> {
    checkSecurityLevel('scp03', level);
    const hex = toHex(Uint8Array.of(this.session.i));
    if (level & R_MAC && !this.#options.rmac) throw new SecureChannelError(`scp03: the card's i=${hex} has no R-MAC support; choose a security level without R-MAC`);
    if (level & R_ENCRYPTION && !this.#options.renc) throw new SecureChannelError(`scp03: the card's i=${hex} has no R-ENCRYPTION support; choose a security level without it`);
    await this.sendExternalAuthenticate(level, this.#expected.host);
    this.level = level;
    this.authenticated = true;
  }

  protected wrappedLength(n: number): number {
    const mac = this.level & C_MAC ? this.#macLength : 0;
    const data = this.level & C_DECRYPTION && n > 0 ? (Math.floor(n / 16) + 1) * 16 : n;
    return data + mac;
  }

  protected wrap(command: CommandApdu): CommandApdu {
    const level = this.level;
    // The counter counts commands, not encryptions (Amendment D §6.2.6).
    if (this.authenticated) this.#counter++;
    let data = command.data;
    let cla = command.cla;
    if (level & C_DECRYPTION && data.length > 0) {
      const icv = AES.encryptEcb(this.#keys.enc, counterBlock(this.#counter, false));
      data = AES.encryptCbc(this.#keys.enc, icv, pad(data, 2, 16));
    }
    if (level & C_MAC) {
      cla |= 0x04;
      const lc = data.length + this.#macLength;
      if (lc > 255) this.checkFits({ ...command, data: new Uint8Array(lc) });
      const full = aesCmac(this.#keys.mac, concat(this.#chaining, Uint8Array.of(cla, command.ins, command.p1, command.p2, lc), data));
      this.#chaining = full;
      data = concat(data, full.subarray(0, this.#macLength));
    }
    const wrapped: CommandApdu = { cla, ins: command.ins, p1: command.p1, p2: command.p2, data };
    if (command.le !== undefined) wrapped.le = command.le;
    return this.checkFits(wrapped);
  }

  protected unwrap(_command: CommandApdu, response: Uint8Array): Uint8Array {
    if ((this.level & R_MAC) === 0) return response;
    const n = response.length;
    const sw = response.subarray(n - 2);
    // Amendment D §6.2.5: error status words come alone, without R-MAC or encryption.
    if (!(sw[0] === 0x90 && sw[1] === 0x00) && sw[0] !== 0x62 && sw[0] !== 0x63) return response;
    if (n - 2 < this.#macLength) {
      throw new ResponseProtectionError(`scp03: the response (SW ${toHex(sw)}) is too short to hold its ${this.#macLength}-byte R-MAC`);
    }
    let data = response.subarray(0, n - 2 - this.#macLength);
    const rmac = response.subarray(n - 2 - this.#macLength, n - 2);
    const expected = aesCmac(this.#keys.rmac, concat(this.#chaining, data, sw)).subarray(0, this.#macLength);
    if (!constantTimeEqual(expected, rmac)) {
      throw new ResponseProtectionError(`scp03: R-MAC mismatch (card sent ${toHex(rmac)}, expected ${toHex(expected)}); the response cannot be trusted`);
    }
    if (this.level & R_ENCRYPTION && data.length > 0) {
      if (data.length % 16 !== 0) throw new ResponseProtectionError(`scp03: the encrypted response data is ${data.length} bytes, not whole AES blocks`);
      const icv = AES.encryptEcb(this.#keys.enc, counterBlock(this.#counter, true));
      try {
        data = unpadMethod2(AES.decryptCbc(this.#keys.enc, icv, data), 16);
      } catch (e) {
        if (e instanceof PaddingError) throw new ResponseProtectionError('scp03: the decrypted response data has bad padding');
        throw e;
      }
    }
    return concat(data, sw);
  }

  encryptKey(key: Uint8Array): Uint8Array {
    this.requireActive();
    abytes(key, 'scp03: key to encrypt', 16, 24, 32);
    // Whole AES blocks are encrypted; an AES-192 key is padded with zeros to 32 bytes, and the key
    // length byte of PUT KEY tells the card where the key ends (cardsmith's choice, docs/globalplatform.md).
    const block = key.length % 16 === 0 ? key : concat(key, new Uint8Array(16 - (key.length % 16)));
    return AES.encryptCbc(this.#dek, ZERO16, block);
  }

  encryptSensitiveData(data: Uint8Array): Uint8Array {
    this.requireActive();
    abytes(data, 'scp03: sensitive data');
    if (data.length % 16 !== 0) {
      throw new RangeError(`scp03: sensitive data is ${data.length} bytes; it is encrypted without padding, so it must be a multiple of 16 bytes (pad it in data preparation)`);
    }
    return AES.encryptEcb(this.#dek, data);
  }

  protected wipeKeys(): void {
    wipe(this.#keys.enc, this.#keys.mac, this.#keys.rmac, this.#dek);
  }
}
