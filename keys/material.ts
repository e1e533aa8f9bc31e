// Rules about key values that both backends share: lengths, default usages, KCVs, the XOR of
// components, and which diversification methods a master of each algorithm can drive.
import { randomBytes } from 'node:crypto';
import { toHex, wipe } from '../bytes/index.js';
import type { DiversifyMethod } from '../crypto/diversify.js';
import { kcv } from '../crypto/kcv.js';
import { sm2PublicKey } from '../crypto/sm2.js';
import { sm3 } from '../crypto/sm3.js';
import { KeyUsageError } from './errors.js';
import { KEY_ALGS, KEY_USAGES, type CardKey, type KeyAlg, type KeyInfo, type KeyUsage, type NewKeySpec } from './types.js';

export const KEY_LENGTHS: Readonly<Record<KeyAlg, readonly number[]>> = {
  des3: [16, 24],
  aes: [16, 24, 32],
  sm4: [16],
  sm2: [32],
};
export const DEFAULT_LENGTH: Readonly<Record<KeyAlg, number>> = { des3: 16, aes: 32, sm4: 16, sm2: 32 };
const DEFAULT_USAGE: Readonly<Record<KeyAlg, KeyUsage[]>> = { des3: ['derive'], aes: ['derive'], sm4: ['derive'], sm2: ['sign'] };
const ALLOWED_USAGE: Readonly<Record<KeyAlg, readonly KeyUsage[]>> = {
  des3: ['derive', 'encrypt', 'mac', 'wrap'],
  aes: ['derive', 'encrypt', 'mac', 'wrap', 'seal'],
  sm4: ['derive', 'encrypt', 'mac', 'wrap'],
  sm2: ['sign'],
};

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkLabel(label: unknown): string {
  if (typeof label !== 'string' || !LABEL.test(label)) {
    throw new KeyUsageError(`keys: label must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, got '${String(label).slice(0, 80)}'`);
  }
  return label;
}

/** Fills in and checks the defaults of a new key. */
export function normalizeSpec(spec: NewKeySpec): Required<Omit<NewKeySpec, 'exportable'>> & { exportable?: boolean } {
  checkLabel(spec.label);
  if (!KEY_ALGS.includes(spec.alg)) throw new KeyUsageError(`keys: algorithm must be one of ${KEY_ALGS.join(', ')}, got '${String(spec.alg)}'`);
  const length = spec.length ?? DEFAULT_LENGTH[spec.alg];
  if (!KEY_LENGTHS[spec.alg].includes(length)) {
    throw new KeyUsageError(`keys: a ${spec.alg} key is ${KEY_LENGTHS[spec.alg].join(', ')} bytes long, not ${length}`);
  }
  const usage = [...new Set(spec.usage && spec.usage.length > 0 ? spec.usage : DEFAULT_USAGE[spec.alg])];
  for (const u of usage) {
    if (!KEY_USAGES.includes(u)) throw new KeyUsageError(`keys: unknown usage '${String(u)}' (expected ${KEY_USAGES.join(', ')})`);
    if (!ALLOWED_USAGE[spec.alg].includes(u)) {
      throw new KeyUsageError(`keys: a ${spec.alg} key cannot have usage '${u}' (allowed: ${ALLOWED_USAGE[spec.alg].join(', ')})`);
    }
  }
  if (usage.includes('seal') && !(spec.alg === 'aes' && length === 32)) {
    throw new KeyUsageError('keys: a batch transport (seal) key must be AES-256 (--alg aes --length 32)');
  }
  return { label: spec.label, alg: spec.alg, length, usage, ...(spec.exportable !== undefined ? { exportable: spec.exportable } : {}) };
}

/** KCV as the ceremonies print it (docs/keys.md). SM2: first 3 bytes of SM3(04 ‖ x ‖ y) — cardsmith's convention. */
export function keyKcv(alg: KeyAlg, value: Uint8Array): string {
  if (alg === 'sm2') return toHex(sm3(sm2PublicKey(value)).subarray(0, 3));
  return toHex(kcv(alg, value));
}

/** KCV of a clear component: the KCV it would have as a key of the target algorithm (the usual ceremony sheet). */
export function componentKcv(alg: KeyAlg, component: Uint8Array): string {
  if (alg === 'sm2') throw new KeyUsageError('keys: SM2 keys are not entered as components; generate them in the store');
  return toHex(kcv(alg, component));
}

export function randomKey(alg: KeyAlg, length: number): Uint8Array {
  if (alg === 'sm2') {
    // A scalar in [1, n-2]: sm2PublicKey rejects anything else, so draw until it accepts.
    for (;;) {
      const d = new Uint8Array(randomBytes(32));
      try {
        sm2PublicKey(d);
        return d;
      } catch {
        wipe(d);
      }
    }
  }
  return new Uint8Array(randomBytes(length));
}

/** The key from its clear components: their XOR. Checks count and lengths; never shows the values. */
export function combineComponents(alg: KeyAlg, components: readonly Uint8Array[]): Uint8Array {
  if (alg === 'sm2') throw new KeyUsageError('keys: SM2 keys are not entered as components; generate them in the store');
  if (components.length < 2 || components.length > 3) {
    throw new KeyUsageError(`keys: a key is entered as 2 or 3 components, got ${components.length}`);
  }
  const length = components[0]!.length;
  if (!KEY_LENGTHS[alg].includes(length)) {
    throw new KeyUsageError(`keys: a ${alg} component is ${KEY_LENGTHS[alg].join(', ')} bytes long; component 1 has ${length}`);
  }
  const key = new Uint8Array(length);
  components.forEach((c, i) => {
    if (c.length !== length) throw new KeyUsageError(`keys: component ${i + 1} has ${c.length} bytes, component 1 has ${length}; all must be equally long`);
    for (let j = 0; j < length; j++) key[j]! ^= c[j]!;
  });
  const first = components[0]!;
  if (components.some((c, i) => i > 0 && c.every((b, j) => b === first[j]))) {
    wipe(key);
    throw new KeyUsageError('keys: two components are identical; each custodian must bring a different component');
  }
  return key;
}

/** Random components whose XOR is `key`: parts-1 random values and one that completes the XOR. */
export function splitComponents(key: Uint8Array, parts: 2 | 3): Uint8Array[] {
  if (parts !== 2 && parts !== 3) throw new KeyUsageError(`keys: export as 2 or 3 components, not ${String(parts)}`);
  const out: Uint8Array[] = [];
  const last = key.slice();
  for (let i = 0; i < parts - 1; i++) {
    const r = new Uint8Array(randomBytes(key.length));
    for (let j = 0; j < last.length; j++) last[j]! ^= r[j]!;
    out.push(r);
  }
  out.push(last);
  return out;
}

/** Which master algorithm each diversification method needs, and the algorithm of the card key it makes. */
export function deriveAlgs(method: DiversifyMethod, masterAlg: KeyAlg): CardKey['alg'] {
  switch (method) {
    case 'emv':
    case 'visa2':
    case 'cps11':
    case 'emv-option-a':
      if (masterAlg !== 'des3') throw new KeyUsageError(`keys: method ${method} needs a des3 master key, this one is ${masterAlg}`);
      return 'des3';
    case 'kdf3':
      if (masterAlg !== 'aes') throw new KeyUsageError(`keys: method kdf3 needs an aes master key, this one is ${masterAlg}`);
      return 'aes';
    case 'pboc':
      if (masterAlg !== 'des3' && masterAlg !== 'sm4') throw new KeyUsageError(`keys: method pboc needs a des3 or sm4 master key, this one is ${masterAlg}`);
      return masterAlg;
    default:
      throw new KeyUsageError(`keys: unknown diversification method '${String(method)}'`);
  }
}

/** Refuses an operation the key's usage or state does not allow. */
export function requireUsage(info: KeyInfo, usage: KeyUsage): void {
  if (info.state !== 'active') {
    throw new KeyUsageError(
      `keys: ${info.label} v${info.version} (KCV ${info.kcv}) was retired${info.retiredAt ? ` on ${info.retiredAt}` : ''} and can no longer ${usage}; use the current version (cardsmith keys list)`,
    );
  }
  if (!info.usage.includes(usage)) {
    throw new KeyUsageError(`keys: ${info.label} v${info.version} has usage ${info.usage.join(', ')}, not '${usage}'`);
  }
}
