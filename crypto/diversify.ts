// Card-key diversification: GlobalPlatform tool templates `emv`, `visa2`, `kdf3` (as implemented by
// GlobalPlatformPro), EMV CPS 1.1 KMC derivation, PBOC multi-level diversification and
// EMV Book 2 Annex A1.4.1 Option A.
//
// Checked against GlobalPlatformPro (github.com/martinpaljak/GlobalPlatformPro):
// - library/src/main/java/pro/javacard/gp/keys/PlaintextKeys.java (kdf_templates, diversify()) and
//   nextgen/src/main/java/pro/javacard/gp/ng/PlaintextCardKeys.java (KDF_TEMPLATES):
//     emv   "$4 $5 $6 $7 $8 $9 F0 $k $4 $5 $6 $7 $8 $9 0F $k"  → KDD[4..9], as below
//     visa2 "$0 $1 $4 $5 $6 $7 F0 $k $0 $1 $4 $5 $6 $7 0F $k"  → KDD[0..1] ‖ KDD[4..7], as below
//     kdf3  "$_ 00 00 00 $k 00 $0 … $9", where $_ is the counter position
//   $k = 1 ENC, 2 MAC, 3 DEK (GPCardKeys.KeyPurpose). The older library/.../gp/PlaintextKeys.java
//   (fillEmv, fillVisa2, SCP03_KDF_CONSTANTS "0000000t00") has the same byte ranges; no swap there.
// - emv/visa2 results are the raw 3DES-ECB output; GPPro does not adjust parity, nor do we (DES
//   ignores the parity bits, so cards and KCVs see the same key either way).
// - kdf3 = GPCrypto.scp03_kdf(master, a = empty, b = 00 00 00 t 00 ‖ KDD, bytes = master length):
//   BouncyCastle's KDFCounterBytesGenerator with an 8-bit counter, i.e. block i = AES-CMAC(M,
//   i ‖ 00 00 00 t 00 ‖ KDD). That is the SCP03 counter-mode KDF engine with the counter *first*
//   and no label/L, so it reuses cmacCounterKdf() from kdf.ts, not scp03Kdf() (whose 16-byte label
//   comes before the counter).
import { concat, not } from '../bytes/index.js';
import { blockCipher } from './block.js';
import { adjustDesParity } from './des3.js';
import { cmacCounterKdf } from './kdf.js';

export type DiversifyMethod = 'emv' | 'visa2' | 'kdf3' | 'cps11' | 'pboc' | 'emv-option-a';
export type KeyType = 'enc' | 'mac' | 'dek';
export type DiversifyAlg = 'des3' | 'sm4' | 'aes';
export type PbocAlg = 'des3' | 'sm4';

export const DIVERSIFY_METHODS: readonly DiversifyMethod[] = ['emv', 'visa2', 'kdf3', 'cps11', 'pboc', 'emv-option-a'];

/** The key-type byte t of the templates (GP KeyPurpose values). */
export const KEY_TYPE_CODE: Readonly<Record<KeyType, number>> = { enc: 0x01, mac: 0x02, dek: 0x03 };

export interface DiversifyOptions {
  method: DiversifyMethod;
  master: Uint8Array;
  /** emv, visa2, kdf3: the 10-byte KDD; cps11: KMCID(6) ‖ CSN(4); pboc: 8, 16 or 24 bytes; emv-option-a: the 8-byte A block. */
  data: Uint8Array;
  /** Required by emv, visa2, kdf3 and cps11; meaningless (and rejected) for pboc and emv-option-a. */
  keyType?: KeyType;
  /** pboc: des3 (default) or sm4; kdf3: aes; the others: des3. */
  alg?: DiversifyAlg;
}

const DES3 = blockCipher('des3');
const SM4 = blockCipher('sm4');

function checkBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`diversify: ${what} must be a Uint8Array, got ${value === null ? 'null' : typeof value}`);
  }
  return value;
}

function checkMaster(value: unknown, method: string, lengths: readonly number[], kind: string): Uint8Array {
  const key = checkBytes(value, `${method} master key`);
  if (!lengths.includes(key.length)) {
    const want = lengths.length === 1 ? `${lengths[0]}-byte` : `${lengths.slice(0, -1).join('-, ')}- or ${lengths[lengths.length - 1]}-byte`;
    throw new RangeError(`diversify: ${method} needs a ${want} ${kind} master key, got ${key.length} bytes`);
  }
  return key;
}

function checkKdd(value: unknown, method: string, what = 'key diversification data'): Uint8Array {
  const kdd = checkBytes(value, `${method} ${what}`);
  if (kdd.length !== 10) throw new RangeError(`diversify: ${method} needs 10 bytes of ${what}, got ${kdd.length}`);
  return kdd;
}

function keyTypeCode(keyType: unknown, method: string): number {
  if (keyType === undefined) throw new TypeError(`diversify: ${method} needs a key type (enc, mac or dek)`);
  if (typeof keyType !== 'string' || !Object.hasOwn(KEY_TYPE_CODE, keyType)) {
    throw new RangeError(`diversify: key type must be enc, mac or dek, got '${String(keyType)}'`);
  }
  return KEY_TYPE_CODE[keyType as KeyType];
}

/** 3DES-ECB of a 16-byte block built from 6 KDD bytes, F0/0F and t — the shape shared by emv and visa2. */
function des3Template(method: string, master: unknown, six: Uint8Array, keyType: unknown): Uint8Array {
  const key = checkMaster(master, method, [16], '3DES');
  const t = keyTypeCode(keyType, method);
  return DES3.encryptEcb(key, concat(six, Uint8Array.of(0xf0, t), six, Uint8Array.of(0x0f, t)));
}

/** GP `emv` template: 3DES_M(KDD[4..9] ‖ F0 ‖ t ‖ KDD[4..9] ‖ 0F ‖ t). */
export function diversifyEmv(master: Uint8Array, kdd: Uint8Array, keyType: KeyType): Uint8Array {
  const d = checkKdd(kdd, 'emv');
  return des3Template('emv', master, d.subarray(4, 10), keyType);
}

/** GP `visa2` template: 3DES_M(KDD[0..1] ‖ KDD[4..7] ‖ F0 ‖ t ‖ KDD[0..1] ‖ KDD[4..7] ‖ 0F ‖ t). */
export function diversifyVisa2(master: Uint8Array, kdd: Uint8Array, keyType: KeyType): Uint8Array {
  const d = checkKdd(kdd, 'visa2');
  return des3Template('visa2', master, concat(d.subarray(0, 2), d.subarray(4, 8)), keyType);
}

/**
 * EMV CPS 1.1 §5: KEYDATA = KMCID(6) ‖ CSN(4); K = 3DES_KMC(KEYDATA[4..9] ‖ F0 ‖ t) ‖
 * 3DES_KMC(KEYDATA[4..9] ‖ 0F ‖ t). ECB encrypts the two halves independently, so this is byte for
 * byte the GP `emv` template on the same 10 bytes (the INITIALIZE UPDATE KDD of a CPS card *is*
 * KMCID ‖ CSN); it shares that code and only names its input differently.
 */
export function diversifyCps11(kmc: Uint8Array, keyData: Uint8Array, keyType: KeyType): Uint8Array {
  const d = checkKdd(keyData, 'cps11', 'KEYDATA (KMCID ‖ CSN)');
  return des3Template('cps11', kmc, d.subarray(4, 10), keyType);
}

/** GP `kdf3` (AES): block i = AES-CMAC(M, i ‖ 00 00 00 t 00 ‖ KDD); result as long as the master. */
export function diversifyKdf3(master: Uint8Array, kdd: Uint8Array, keyType: KeyType): Uint8Array {
  const key = checkMaster(master, 'kdf3', [16, 24, 32], 'AES');
  const d = checkKdd(kdd, 'kdf3');
  const t = keyTypeCode(keyType, 'kdf3');
  return cmacCounterKdf('aes', key, new Uint8Array(0), concat(Uint8Array.of(0x00, 0x00, 0x00, t, 0x00), d), key.length);
}

function checkPbocAlg(alg: unknown): PbocAlg {
  if (alg !== 'des3' && alg !== 'sm4') throw new RangeError(`diversify: pboc uses des3 or sm4, got '${String(alg)}'`);
  return alg;
}

/**
 * One PBOC diversification level with 8-byte data D and a 16-byte key K:
 * 3DES → 3DES_K(D) ‖ 3DES_K(~D) (LD/T 32, medium confidence, no parity adjustment);
 * SM4 → SM4_K(D ‖ ~D), cardsmith's choice for SM4 cards (no public source fixes it).
 */
export function pbocLevel(key: Uint8Array, data: Uint8Array, alg: PbocAlg = 'des3'): Uint8Array {
  const a = checkPbocAlg(alg);
  const k = checkMaster(key, 'pboc', [16], a === 'sm4' ? 'SM4' : '3DES');
  const d = checkBytes(data, 'pboc level data');
  if (d.length !== 8) throw new RangeError(`diversify: pboc needs 8 bytes of data per level, got ${d.length}`);
  const block = concat(d, not(d));
  return a === 'sm4' ? SM4.encryptEcb(k, block) : DES3.encryptEcb(k, block);
}

/** 1–3 PBOC levels: `data` is the level data concatenated; each level's output keys the next. */
export function diversifyPboc(master: Uint8Array, data: Uint8Array, alg: PbocAlg = 'des3'): Uint8Array {
  const a = checkPbocAlg(alg);
  checkMaster(master, 'pboc', [16], a === 'sm4' ? 'SM4' : '3DES');
  const d = checkBytes(data, 'pboc data');
  if (d.length !== 8 && d.length !== 16 && d.length !== 24) {
    throw new RangeError(`diversify: pboc needs 8, 16 or 24 bytes of data (one 8-byte block per level), got ${d.length}`);
  }
  let key = master;
  for (let off = 0; off < d.length; off += 8) {
    const next = pbocLevel(key, d.subarray(off, off + 8), a);
    // Intermediate level keys are secrets nobody asked for: clear them as soon as they are used.
    if (key !== master) key.fill(0);
    key = next;
  }
  return key;
}

/**
 * EMV Book 2 Annex A1.4.1 Option A input: the rightmost 16 digits of PAN ‖ PSN, left-padded with
 * zeros when shorter, packed as 8 bytes of BCD. Neither value appears in error messages (PAN is
 * cardholder data).
 */
export function emvOptionAData(pan: string, psn: string): Uint8Array {
  if (typeof pan !== 'string') throw new TypeError(`diversify: PAN must be a string of digits, got ${typeof pan}`);
  if (typeof psn !== 'string') throw new TypeError(`diversify: PSN must be a string of 2 digits, got ${typeof psn}`);
  if (!/^[0-9]{1,19}$/.test(pan)) throw new RangeError(`diversify: PAN must be 1 to 19 decimal digits (got ${pan.length} characters)`);
  if (!/^[0-9]{2}$/.test(psn)) throw new RangeError(`diversify: PSN must be exactly 2 decimal digits (use 00 when the card has none)`);
  const digits = (pan + psn).slice(-16).padStart(16, '0');
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = (digits.charCodeAt(2 * i) - 0x30) * 16 + (digits.charCodeAt(2 * i + 1) - 0x30);
  return out;
}

/** Option A from the 8-byte A block: MK = 3DES_IMK(A) ‖ 3DES_IMK(A xor FF…FF), parity adjusted. */
export function diversifyEmvOptionA(imk: Uint8Array, a: Uint8Array): Uint8Array {
  const key = checkMaster(imk, 'emv-option-a', [16], '3DES issuer');
  const d = checkBytes(a, 'emv-option-a data');
  if (d.length !== 8) throw new RangeError(`diversify: emv-option-a needs the 8-byte A block (PAN ‖ PSN in BCD), got ${d.length}`);
  return adjustDesParity(DES3.encryptEcb(key, concat(d, not(d))));
}

/** ICC master key from the issuer master key, PAN and PSN (EMV Option A). */
export function emvOptionA(imk: Uint8Array, pan: string, psn: string): Uint8Array {
  return diversifyEmvOptionA(imk, emvOptionAData(pan, psn));
}

function rejectAlg(method: string, alg: unknown, allowed: DiversifyAlg): void {
  if (alg !== undefined && alg !== allowed) throw new RangeError(`diversify: ${method} uses ${allowed}, not '${String(alg)}'`);
}

function rejectKeyType(method: string, keyType: unknown): void {
  if (keyType !== undefined) throw new TypeError(`diversify: ${method} does not use a key type (got '${String(keyType)}')`);
}

/** One entry for the CLI, profiles and key providers: the method is data, as in GPPro's templates. */
export function diversify(opts: DiversifyOptions): Uint8Array {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('diversify: expected an options object');
  const { method, master, data, keyType, alg } = opts;
  switch (method) {
    case 'emv':
      rejectAlg(method, alg, 'des3');
      return diversifyEmv(master, data, keyType as KeyType);
    case 'visa2':
      rejectAlg(method, alg, 'des3');
      return diversifyVisa2(master, data, keyType as KeyType);
    case 'cps11':
      rejectAlg(method, alg, 'des3');
      return diversifyCps11(master, data, keyType as KeyType);
    case 'kdf3':
      rejectAlg(method, alg, 'aes');
      return diversifyKdf3(master, data, keyType as KeyType);
    case 'pboc':
      rejectKeyType(method, keyType);
      return diversifyPboc(master, data, checkPbocAlg(alg ?? 'des3'));
    case 'emv-option-a':
      rejectAlg(method, alg, 'des3');
      rejectKeyType(method, keyType);
      return diversifyEmvOptionA(master, data);
    default:
      throw new RangeError(`diversify: unknown method '${String(method)}' (expected ${DIVERSIFY_METHODS.join(', ')})`);
  }
}
