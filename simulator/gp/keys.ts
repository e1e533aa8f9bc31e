// Key sets of the Issuer Security Domain: GP Card Specification 2.3.1 §11.8 (PUT KEY and its key
// data field, with the padded key component block form of Tables 11-70/11-71), the key information
// template (GET DATA 00E0, tag E0 with C0 entries), KCVs as GlobalPlatform 2.3.1 gives them (3DES over
// 8 × 00, AES over 16 × 01), and card-key diversification with the GP tool templates emv / visa2 /
// kdf3 (GlobalPlatform 2.3.1). The default test keys are 40 41 … 4F with key version FF, the "initial key
// set" of GPC_GUI_003 (GP "Mapping of 2.1.1 implementations to 2.2").
import { concat, equal, fromHex } from '../../bytes/index.js';
import { aesDecryptCbc, des3DecryptEcb, diversifyEmv, diversifyKdf3, diversifyVisa2, kcv } from '../../crypto/index.js';
import type { KeyType } from '../../crypto/index.js';
import { buildTlv } from '../../iso7816/index.js';
import { FieldReader, SW, fail } from './util.js';

export type KeyAlg = 'des3' | 'aes';

export interface CardKey {
  /** Key identifier within its set: 1 = ENC, 2 = MAC, 3 = DEK for a secure-channel set. */
  id: number;
  alg: KeyAlg;
  value: Uint8Array;
}

export interface KeySet {
  version: number;
  keys: CardKey[];
  /** Secure Channel Sequence Counter of this key set: the value the next INITIALIZE UPDATE uses. */
  counter: number;
}

/** 40 41 42 … 4F: the test key GP tools ship as default ("VISA default key"). */
export const DEFAULT_TEST_KEY = fromHex('404142434445464748494A4B4C4D4E4F');
/** GPC_GUI_003: the ISD's initial key set has version FF, outside the issuer range 01–7F. */
export const FACTORY_KEY_VERSION = 0xff;

/** GP key type codings (GP 2.3.1 key type coding): 80 = DES (3DES in practice), 88 = AES. */
export const KEY_TYPE_DES = 0x80;
export const KEY_TYPE_AES = 0x88;

export interface StaticKeys {
  enc: Uint8Array;
  mac: Uint8Array;
  dek: Uint8Array;
}

export type DiversificationMethod = 'emv' | 'visa2' | 'kdf3';

export function keyLengthsFor(alg: KeyAlg): readonly number[] {
  return alg === 'des3' ? [16, 24] : [16, 24, 32];
}

export function kcvOf(key: CardKey): Uint8Array {
  return kcv(key.alg, key.value, 3);
}

/** The three secure-channel keys of a set, or undefined when the set lacks one or mixes algorithms. */
export function channelKeys(set: KeySet): { alg: KeyAlg; keys: StaticKeys } | undefined {
  const enc = set.keys.find((k) => k.id === 1);
  const mac = set.keys.find((k) => k.id === 2);
  const dek = set.keys.find((k) => k.id === 3);
  if (!enc || !mac || !dek) return undefined;
  if (enc.alg !== mac.alg || enc.alg !== dek.alg) return undefined;
  return { alg: enc.alg, keys: { enc: enc.value, mac: mac.value, dek: dek.value } };
}

/** Static keys derived from a master (KMC) and the card's KDD, one per key type t (1 ENC, 2 MAC, 3 DEK). */
export function diversifyKeys(method: DiversificationMethod, master: Uint8Array, kdd: Uint8Array): StaticKeys {
  const one = (t: KeyType): Uint8Array => {
    switch (method) {
      case 'emv':
        return diversifyEmv(master, kdd, t);
      case 'visa2':
        return diversifyVisa2(master, kdd, t);
      case 'kdf3':
        return diversifyKdf3(master, kdd, t);
    }
  };
  return { enc: one('enc'), mac: one('mac'), dek: one('dek') };
}

export function makeKeySet(version: number, alg: KeyAlg, keys: StaticKeys, counter = 0): KeySet {
  return {
    version,
    counter,
    keys: [
      { id: 1, alg, value: Uint8Array.from(keys.enc) },
      { id: 2, alg, value: Uint8Array.from(keys.mac) },
      { id: 3, alg, value: Uint8Array.from(keys.dek) },
    ],
  };
}

/** GET DATA 00E0: E0 { C0 04 id version type length } per key, in the basic format. */
export function keyInformationTemplate(sets: readonly KeySet[]): Uint8Array {
  const entries: Uint8Array[] = [];
  for (const set of sets) {
    for (const k of set.keys) {
      entries.push(buildTlv(0xc0, Uint8Array.of(k.id, set.version, k.alg === 'aes' ? KEY_TYPE_AES : KEY_TYPE_DES, k.value.length)));
    }
  }
  return buildTlv(0xe0, entries);
}

/** How the session decrypts sensitive data (PUT KEY key components, STORE DATA secrets). */
export interface DekDecryptor {
  readonly blockSize: 8 | 16;
  /** Whole blocks in, whole blocks out; throws CardError(6A80) for a length that is not whole blocks. */
  decrypt(data: Uint8Array): Uint8Array;
}

/**
 * SCP02: session DEK, 3DES-ECB (GP 2.2 Appendix E.4.7 / EMV CPS). SCP03: the static Key-DEK,
 * AES-CBC with a zero ICV (Amendment D, sensitive data encryption with Key-DEK).
 */
export function dekDecryptor(alg: KeyAlg, dek: Uint8Array): DekDecryptor {
  const blockSize = alg === 'des3' ? 8 : 16;
  const key = Uint8Array.from(dek);
  return {
    blockSize,
    decrypt(data: Uint8Array): Uint8Array {
      if (data.length === 0 || data.length % blockSize !== 0) fail(SW.WRONG_DATA, 'encrypted data is not whole blocks');
      return alg === 'des3' ? des3DecryptEcb(key, data) : aesDecryptCbc(key, new Uint8Array(16), data);
    },
  };
}

/** One key of a PUT KEY command after decryption and KCV check. */
export interface PutKeyEntry {
  key: CardKey;
  kcv: Uint8Array;
}

/**
 * Parses and decrypts the key data fields of PUT KEY (GP 2.3.1 PUT KEY data field):
 * type ‖ length ‖ key component block ‖ KCV length ‖ KCV, repeated. The key component block is
 * either the encrypted key (when its length is whole cipher blocks, Table 11-71) or the clear key
 * length followed by the encrypted, right-padded key (Table 11-70). A KCV that does not match the
 * decrypted key is refused with 6A80: it means the host encrypted under a different DEK.
 */
export function parsePutKey(data: Uint8Array, firstId: number, multiple: boolean, dek: DekDecryptor): { version: number; entries: PutKeyEntry[] } {
  const r = new FieldReader(data);
  const version = r.byte('new key version');
  const entries: PutKeyEntry[] = [];
  let id = firstId;
  while (r.remaining > 0) {
    const type = r.byte('key type');
    if (type === 0xff) fail(SW.WRONG_DATA, 'extended key format is not supported');
    const block = r.lv('key component');
    const kcvField = r.lv('key check value');
    let alg: KeyAlg;
    if (type === KEY_TYPE_DES) alg = 'des3';
    else if (type === KEY_TYPE_AES) alg = 'aes';
    else fail(SW.WRONG_DATA, `key type ${type.toString(16)} is not supported`);
    let value: Uint8Array;
    if (block.length % dek.blockSize === 0) {
      value = dek.decrypt(block);
    } else {
      const length = block[0]!;
      const encrypted = block.subarray(1);
      const clear = dek.decrypt(encrypted);
      if (length > clear.length) fail(SW.WRONG_DATA, 'key length exceeds the key component');
      value = clear.slice(0, length);
    }
    if (!keyLengthsFor(alg).includes(value.length)) fail(SW.WRONG_DATA, `a ${alg} key of ${value.length} bytes is not supported`);
    const key: CardKey = { id, alg, value };
    const check = kcvOf(key);
    if (kcvField.length > 0 && (kcvField.length > 3 || !equal(kcvField, check.subarray(0, kcvField.length)))) {
      fail(SW.WRONG_DATA, 'key check value does not match the decrypted key');
    }
    entries.push({ key, kcv: check });
    id++;
    if (!multiple) break;
  }
  if (r.remaining > 0) fail(SW.WRONG_DATA, 'bytes after the key data field');
  if (entries.length === 0) fail(SW.WRONG_DATA, 'no key data field');
  return { version, entries };
}

/** PUT KEY response (GP 2.3.1 PUT KEY response): key version ‖ KCV of each key. */
export function putKeyResponse(version: number, entries: readonly PutKeyEntry[]): Uint8Array {
  return concat(Uint8Array.of(version), ...entries.map((e) => e.kcv));
}
