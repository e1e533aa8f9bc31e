// Static secure channel keys (ENC, MAC, DEK) and where they come from: given outright, or derived
// per card from a master key with one of the diversification templates the GP tools use (emv,
// visa2, kdf3 — crypto/diversify.ts, GlobalPlatform 2.3.1) and the KDD of INITIALIZE UPDATE.
// Keys are data here, never text: what gets shown is the KCV (GP Card Specification 2.3.1 §11.8.2.3,
// Amendment D §7.2).
import { abytes, toHex } from '../bytes/index.js';
import { diversifyEmv, diversifyKdf3, diversifyVisa2, kcv, type KeyType } from '../crypto/index.js';

export interface StaticKeys {
  enc: Uint8Array;
  mac: Uint8Array;
  dek: Uint8Array;
}

export type Diversification = 'none' | 'emv' | 'visa2' | 'kdf3';
export const DIVERSIFICATIONS: readonly Diversification[] = ['none', 'emv', 'visa2', 'kdf3'];

/** Where a session's static keys come from: asked once per INITIALIZE UPDATE, with the card's KDD. */
export interface KeySource {
  /** For messages and reports: never key bytes, e.g. `master KCV 8BAF47, emv`. */
  readonly description: string;
  keysFor(kdd: Uint8Array, scp: 2 | 3): StaticKeys;
}

/** GlobalPlatform's published test key 40 41 … 4F, the default of most development cards. */
export const GP_TEST_KEY: Uint8Array = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);

export function keyAlgorithm(scp: 2 | 3): 'des3' | 'aes' {
  return scp === 2 ? 'des3' : 'aes';
}

function checkKey(key: Uint8Array, scp: 2 | 3, what: string): void {
  abytes(key, `keys: ${what}`);
  if (scp === 2 && key.length !== 16) throw new RangeError(`scp02: ${what} key must be 16 bytes (two-key 3DES), got ${key.length}`);
  if (scp === 3 && ![16, 24, 32].includes(key.length)) {
    throw new RangeError(`scp03: ${what} key must be 16, 24 or 32 bytes (AES-128/192/256), got ${key.length}`);
  }
}

export function checkStaticKeys(keys: StaticKeys, scp: 2 | 3): StaticKeys {
  checkKey(keys.enc, scp, 'ENC');
  checkKey(keys.mac, scp, 'MAC');
  checkKey(keys.dek, scp, 'DEK');
  return keys;
}

/** KCVs of a key set, the way key ceremonies and error messages show keys. */
export function keySetKcvs(keys: StaticKeys, scp: 2 | 3): { enc: string; mac: string; dek: string } {
  const alg = keyAlgorithm(scp);
  const one = (k: Uint8Array) => {
    try {
      return toHex(kcv(alg, k));
    } catch {
      return `(not a ${alg} key: ${k.length} bytes)`;
    }
  };
  return { enc: one(keys.enc), mac: one(keys.mac), dek: one(keys.dek) };
}

/** The same keys for every card (ENC, MAC and DEK may be one key). */
export function staticKeySource(keys: StaticKeys | Uint8Array): KeySource {
  const set: StaticKeys = keys instanceof Uint8Array ? { enc: keys, mac: keys, dek: keys } : keys;
  abytes(set.enc, 'keys: ENC');
  abytes(set.mac, 'keys: MAC');
  abytes(set.dek, 'keys: DEK');
  const same = set.enc === set.mac && set.mac === set.dek;
  const kcvFor = (k: Uint8Array) => {
    try {
      return toHex(kcv(k.length === 16 ? 'des3' : 'aes', k));
    } catch {
      return '?';
    }
  };
  const description = same ? `key KCV ${kcvFor(set.enc)}` : `keys ENC KCV ${kcvFor(set.enc)}, MAC KCV ${kcvFor(set.mac)}, DEK KCV ${kcvFor(set.dek)}`;
  return {
    description,
    keysFor(_kdd, scp) {
      return checkStaticKeys({ enc: set.enc, mac: set.mac, dek: set.dek }, scp);
    },
  };
}

/**
 * Card keys from a master key and a template: emv and visa2 give 3DES keys (SCP02), kdf3 gives AES
 * keys as long as the master (SCP03); `none` uses the master itself as ENC, MAC and DEK.
 */
export function masterKeySource(master: Uint8Array, diversification: Diversification): KeySource {
  abytes(master, 'keys: master key');
  if (!DIVERSIFICATIONS.includes(diversification)) {
    throw new RangeError(`keys: diversification must be one of ${DIVERSIFICATIONS.join(', ')}, got '${String(diversification)}'`);
  }
  let masterKcv = '?';
  try {
    masterKcv = toHex(kcv(diversification === 'kdf3' || master.length !== 16 ? 'aes' : 'des3', master));
  } catch {
    // A master of the wrong length is reported when keys are derived, with the reason.
  }
  return {
    description: `master KCV ${masterKcv}, ${diversification === 'none' ? 'not diversified' : diversification}`,
    keysFor(kdd, scp) {
      abytes(kdd, 'keys: KDD', 10);
      const derive = (t: KeyType): Uint8Array => {
        switch (diversification) {
          case 'none':
            return master;
          case 'emv':
          case 'visa2':
            if (scp === 3) throw new RangeError(`keys: ${diversification} derives 3DES keys for SCP02; SCP03 cards use kdf3 (AES)`);
            return diversification === 'emv' ? diversifyEmv(master, kdd, t) : diversifyVisa2(master, kdd, t);
          case 'kdf3':
            if (scp === 2) throw new RangeError('keys: kdf3 derives AES keys for SCP03; SCP02 cards use emv or visa2 (3DES)');
            return diversifyKdf3(master, kdd, t);
        }
      };
      return checkStaticKeys({ enc: derive('enc'), mac: derive('mac'), dek: derive('dek') }, scp);
    },
  };
}
