// The key provider interface that data preparation, the runner and the GP tools use, and the
// administration interface the ceremonies use. Keys are named by label and version; a caller
// never receives the bytes of a stored (master) key, only results computed with it: derived card
// keys (which are going to a card), ciphertexts, MACs, sealed blobs, signatures and certificates.
import type { DiversifyMethod, KeyType } from '../crypto/diversify.js';
import type { VerifyResult } from './audit.js';

/** Algorithms a stored key can have. `des3` is 2- or 3-key triple DES. */
export type KeyAlg = 'des3' | 'aes' | 'sm4' | 'sm2';
export const KEY_ALGS: readonly KeyAlg[] = ['des3', 'aes', 'sm4', 'sm2'];

/**
 * What a key may be used for; enforced on every operation (and, in a PKCS#11 token, by the
 * key's CKA_ attributes). derive: a master key for card-key diversification; encrypt: data
 * encryption/decryption; mac: CMAC; wrap: encrypting other keys (a KEK, GP PUT KEY style);
 * seal: AES-256-GCM batch transport key; sign: SM2 signatures (the card CA).
 */
import type { LentKey } from './lent.js';

export type KeyUsage = 'derive' | 'encrypt' | 'mac' | 'wrap' | 'seal' | 'sign';
export const KEY_USAGES: readonly KeyUsage[] = ['derive', 'encrypt', 'mac', 'wrap', 'seal', 'sign'];

export type KeyState = 'active' | 'retired';

/** How a caller names a key. Without a version: the newest active version of the label. */
export interface KeyRef {
  label: string;
  version?: number;
}

/** Everything about a stored key that may be shown: never its value. */
export interface KeyInfo {
  label: string;
  version: number;
  alg: KeyAlg;
  /** Key length in bytes (SM2: 32, the private scalar). */
  length: number;
  usage: KeyUsage[];
  state: KeyState;
  /** 3 bytes, upper-case hex (docs/keys.md "KCV conventions"); for SM2 the first 3 bytes of SM3(public key). */
  kcv: string;
  createdAt: string;
  retiredAt?: string;
  /** How the value came to be. */
  origin: 'generated' | 'components';
  /** Whether export-components may write it out (PKCS#11: CKA_EXTRACTABLE). */
  exportable: boolean;
  /** SM2 only: the public key, 04 ‖ x ‖ y, hex. */
  publicKey?: string;
  /** SM2 only: whether a CA certificate is stored with the key. */
  hasCertificate?: boolean;
}

export interface DeriveRequest {
  method: DiversifyMethod;
  /** emv, visa2, kdf3, cps11: the 10-byte KDD; pboc: 8/16/24 bytes; emv-option-a: the 8-byte A block. */
  data: Uint8Array;
  /** emv, visa2, kdf3, cps11: which key of the set. */
  keyType?: KeyType;
}

/** A derived card key: its bytes go to a card (sealed in a script, or under a session DEK). Wipe `value` after use. */
export interface CardKey {
  alg: 'des3' | 'aes' | 'sm4';
  value: Uint8Array;
  kcv: string;
}

export interface CipherOptions {
  mode?: 'ecb' | 'cbc';
  /** CBC only; zeros when absent. */
  iv?: Uint8Array;
}

/** Options of KeyProvider.seal. */
export interface SealOptions {
  /**
   * The 12-byte GCM nonce (IV) to use instead of a random one. The caller must guarantee that a
   * nonce is never used twice under one key for a different (context, secret): data preparation
   * derives it SIV-style as a MAC of (context ‖ secret) under the same key (docs/keys.md "Sealing").
   */
  nonce?: Uint8Array;
}

export interface SignOptions {
  /** SM2 user ID hashed into Z_A; default "1234567812345678". */
  id?: Uint8Array;
}

/** The one interface every consumer of keys uses. */
export interface KeyProvider {
  readonly backend: 'file' | 'pkcs11';
  list(): Promise<KeyInfo[]>;
  /** Looks a key up; throws KeyNotFoundError, or KeyUsageError for an explicitly named retired version when `forUse`. */
  info(ref: KeyRef): Promise<KeyInfo>;
  deriveCardKey(master: KeyRef, request: DeriveRequest): Promise<CardKey>;
  /** Several keys from one master (a card's key set); one lookup. */
  deriveCardKeys(master: KeyRef, requests: readonly DeriveRequest[]): Promise<CardKey[]>;
  encrypt(ref: KeyRef, data: Uint8Array, opts?: CipherOptions): Promise<Uint8Array>;
  decrypt(ref: KeyRef, data: Uint8Array, opts?: CipherOptions): Promise<Uint8Array>;
  /** CMAC, the full block (8 bytes for 3DES, 16 for AES/SM4); callers truncate. */
  mac(ref: KeyRef, data: Uint8Array): Promise<Uint8Array>;
  /** Encrypts a key (e.g. a card key) under a KEK, ECB, no padding: the GP PUT KEY form. */
  wrap(kek: KeyRef, key: Uint8Array): Promise<Uint8Array>;
  /**
   * AES-256-GCM under a batch transport key; `context` is bound as associated data (e.g. the card's
   * record id). The nonce is random unless `opts.nonce` gives it (deterministic sealing).
   */
  seal(transportKey: KeyRef, secret: Uint8Array, context?: Uint8Array, opts?: SealOptions): Promise<Uint8Array>;
  unseal(transportKey: KeyRef, sealed: Uint8Array, context?: Uint8Array): Promise<Uint8Array>;
  /** SM2 signature r ‖ s (64 bytes). */
  sign(ref: KeyRef, message: Uint8Array, opts?: SignOptions): Promise<Uint8Array>;
  /** SM2 public key, 04 ‖ x ‖ y. */
  publicKey(ref: KeyRef): Promise<Uint8Array>;
  /** The CA certificate (DER) stored with an SM2 key, if any. */
  certificate(ref: KeyRef): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
  /**
   * Copies of key values for worker threads of this process (keys/lent.ts), or undefined when the
   * store keeps its values elsewhere (a token) or one of the keys is not exportable.
   */
  lend?(refs: readonly KeyRef[]): Promise<LentKey[] | undefined>;
}

export interface NewKeySpec {
  label: string;
  alg: KeyAlg;
  /** Bytes; defaults: des3 16, aes 32, sm4 16, sm2 32. */
  length?: number;
  usage?: KeyUsage[];
  /** Allow export-components later (file store: default true; PKCS#11: default false). */
  exportable?: boolean;
}

export interface ExportedComponents {
  key: KeyInfo;
  /** The clear components; the caller writes them out and wipes them. */
  components: Uint8Array[];
  kcvs: string[];
}

/** The administration side: what the ceremonies do. Every call here appends to the audit log. */
export interface KeyStore extends KeyProvider {
  generate(spec: NewKeySpec): Promise<KeyInfo>;
  /** A new key (version 1) = XOR of the components; the caller has checked each component's KCV. */
  importComponents(spec: NewKeySpec, components: readonly Uint8Array[]): Promise<KeyInfo>;
  /** A new version of a label: generated, or from components. The previous versions stay usable until retired. */
  rotate(label: string, components?: readonly Uint8Array[]): Promise<KeyInfo>;
  retire(ref: Required<KeyRef>): Promise<KeyInfo>;
  exportComponents(ref: KeyRef, parts: 2 | 3): Promise<ExportedComponents>;
  /** Stores a CA certificate with an SM2 key (its public key must match). */
  setCertificate(ref: KeyRef, der: Uint8Array): Promise<void>;
  /** Records an operation that changes no key (certificate issued, components exported elsewhere): audit entry and anchor. */
  audit(op: string, ref: KeyRef | undefined, detail?: Record<string, string | number | boolean>): Promise<void>;
  readonly auditPath: string;
  /** The last audit entry this store recorded (its anchor): seq and hash. */
  auditAnchor(): { seq: number; hash: string };
  /** Checks the whole audit log: chain, anchor, and each entry's MAC under the store's audit key. */
  verifyAudit(): VerifyResult;
}
