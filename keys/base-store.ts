// What the file store and the PKCS#11 store share: the index of key metadata, lookups by label and
// version, usage and state checks, the ceremonies' bookkeeping and the audit trail. A backend
// supplies where values live and how the cryptographic operations run.
import { randomBytes } from 'node:crypto';
import { concat, wipe } from '../bytes/index.js';
import { sm2Verify } from '../crypto/sm2.js';
import { AuditLog, verifyAuditLog, type AuditAnchor, type AuditMac, type VerifyResult } from './audit.js';
import { CertificateError, KeyNotFoundError, KeyUsageError, SealError } from './errors.js';
import { parseCertificate } from './ca.js';
import type { LentKey } from './lent.js';
import { combineComponents, componentKcv, deriveAlgs, normalizeSpec, requireUsage, splitComponents } from './material.js';
import type {
  CardKey,
  CipherOptions,
  DeriveRequest,
  ExportedComponents,
  KeyInfo,
  KeyRef,
  KeyStore,
  NewKeySpec,
  SealOptions,
  SignOptions,
} from './types.js';

/** What a backend persists besides key values: public metadata, CA certificates and the audit anchor. */
export interface StoreIndex {
  createdAt: string;
  keys: KeyInfo[];
  /** base64 DER, by `label#version`. */
  certificates: Record<string, string>;
  audit: AuditAnchor;
  /** The audit entries' MAC key (base64) and the first entry it covers; absent in stores not yet upgraded. */
  auditMac?: { key: string; from: number };
}

export const SEAL_VERSION = 0x01;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/** The IV of a seal: the given nonce (checked), else random. */
export function sealIv(opts: SealOptions): Uint8Array {
  if (opts.nonce !== undefined && (!(opts.nonce instanceof Uint8Array) || opts.nonce.length !== IV_LENGTH)) {
    throw new KeyUsageError(`keys: a seal nonce is ${IV_LENGTH} bytes, got ${opts.nonce instanceof Uint8Array ? opts.nonce.length : typeof opts.nonce}`);
  }
  return opts.nonce !== undefined ? new Uint8Array(opts.nonce) : new Uint8Array(randomBytes(IV_LENGTH));
}

/** A sealed secret as stored: 01 ‖ IV ‖ GCM ciphertext ‖ tag. */
export function sealEnvelope(iv: Uint8Array, body: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(SEAL_VERSION), iv, body);
}

/** The one result algorithm of a deriveCardKeys call's methods under `info`. */
export function deriveAlgOf(info: KeyInfo, requests: readonly DeriveRequest[]): CardKey['alg'] {
  const algs = new Set(requests.map((r) => deriveAlgs(r.method, info.alg)));
  if (algs.size > 1) throw new KeyUsageError('keys: one deriveCardKeys call uses methods of one result algorithm');
  return [...algs][0] ?? 'des3';
}

export const refName = (r: KeyRef): string => (r.version === undefined ? r.label : `${r.label} v${r.version}`);
const certKey = (k: KeyInfo): string => `${k.label}#${k.version}`;

export abstract class BaseKeyStore implements KeyStore {
  abstract readonly backend: 'file' | 'pkcs11';
  protected index!: StoreIndex;
  protected log!: AuditLog;

  get auditPath(): string {
    return this.log.path;
  }

  auditAnchor(): AuditAnchor {
    return { seq: this.index.audit.seq, hash: this.index.audit.hash };
  }

  /** The audit key, for AuditLog.open and verifyAuditLog. */
  protected auditMac(): AuditMac | undefined {
    const m = this.index.auditMac;
    return m ? { key: new Uint8Array(Buffer.from(m.key, 'base64')), from: m.from } : undefined;
  }

  verifyAudit(): VerifyResult {
    return verifyAuditLog(this.log.path, this.auditAnchor(), this.auditMac());
  }

  /** Stores a new key's value (or generates it where the value lives when `value` is undefined); returns its KCV and public key. */
  protected abstract createKey(info: KeyInfo, value: Uint8Array | undefined): Promise<{ kcv: string; publicKey?: string }>;
  /** Undoes createKey when the store write that should follow it fails. */
  protected abstract dropKey(info: KeyInfo): Promise<void>;
  /** Writes the index (and, for the file store, the values) durably. */
  protected abstract persist(): Promise<void>;
  protected abstract extractValue(info: KeyInfo): Promise<Uint8Array>;
  protected abstract retireKey(info: KeyInfo): Promise<void>;
  protected abstract opDerive(info: KeyInfo, requests: readonly DeriveRequest[], alg: CardKey['alg']): Promise<CardKey[]>;
  protected abstract opCipher(info: KeyInfo, direction: 'encrypt' | 'decrypt', data: Uint8Array, mode: 'ecb' | 'cbc', iv: Uint8Array | undefined): Promise<Uint8Array>;
  protected abstract opMac(info: KeyInfo, data: Uint8Array): Promise<Uint8Array>;
  protected abstract opGcm(info: KeyInfo, direction: 'encrypt' | 'decrypt', iv: Uint8Array, data: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  protected abstract opSign(info: KeyInfo, message: Uint8Array, opts: SignOptions): Promise<Uint8Array>;
  abstract close(): Promise<void>;

  // ---- lookups ---------------------------------------------------------------------------

  async list(): Promise<KeyInfo[]> {
    return this.index.keys.map((k) => ({ ...k, ...(k.alg === 'sm2' ? { hasCertificate: certKey(k) in this.index.certificates } : {}) }));
  }

  protected find(ref: KeyRef): KeyInfo {
    const versions = this.index.keys.filter((k) => k.label === ref.label);
    if (versions.length === 0) throw new KeyNotFoundError(`keys: no key labelled '${ref.label}' in this store (cardsmith keys list shows the labels)`);
    if (ref.version !== undefined) {
      const k = versions.find((v) => v.version === ref.version);
      if (!k) throw new KeyNotFoundError(`keys: ${ref.label} has versions ${versions.map((v) => v.version).join(', ')}, not ${ref.version}`);
      return k;
    }
    const active = versions.filter((v) => v.state === 'active').sort((a, b) => b.version - a.version);
    if (active.length === 0) throw new KeyUsageError(`keys: every version of ${ref.label} is retired; rotate it to make a new one`);
    return active[0]!;
  }

  async info(ref: KeyRef): Promise<KeyInfo> {
    return { ...this.find(ref) };
  }

  // ---- the provider operations -------------------------------------------------------------

  async deriveCardKey(master: KeyRef, request: DeriveRequest): Promise<CardKey> {
    return (await this.deriveCardKeys(master, [request]))[0]!;
  }

  async deriveCardKeys(master: KeyRef, requests: readonly DeriveRequest[]): Promise<CardKey[]> {
    const info = this.find(master);
    requireUsage(info, 'derive');
    return this.opDerive(info, requests, deriveAlgOf(info, requests));
  }

  async encrypt(ref: KeyRef, data: Uint8Array, opts: CipherOptions = {}): Promise<Uint8Array> {
    const info = this.find(ref);
    requireUsage(info, 'encrypt');
    return this.opCipher(info, 'encrypt', data, opts.mode ?? 'ecb', opts.iv);
  }

  async decrypt(ref: KeyRef, data: Uint8Array, opts: CipherOptions = {}): Promise<Uint8Array> {
    const info = this.find(ref);
    requireUsage(info, 'encrypt');
    return this.opCipher(info, 'decrypt', data, opts.mode ?? 'ecb', opts.iv);
  }

  async mac(ref: KeyRef, data: Uint8Array): Promise<Uint8Array> {
    const info = this.find(ref);
    requireUsage(info, 'mac');
    return this.opMac(info, data);
  }

  async wrap(kek: KeyRef, key: Uint8Array): Promise<Uint8Array> {
    const info = this.find(kek);
    requireUsage(info, 'wrap');
    const block = info.alg === 'des3' ? 8 : 16;
    if (!(key instanceof Uint8Array) || key.length === 0 || key.length % block !== 0) {
      throw new KeyUsageError(`keys: wrap takes a key of a multiple of ${block} bytes under a ${info.alg} KEK, got ${key instanceof Uint8Array ? key.length : typeof key}`);
    }
    return this.opCipher(info, 'encrypt', key, 'ecb', undefined);
  }

  async seal(transportKey: KeyRef, secret: Uint8Array, context: Uint8Array = new Uint8Array(0), opts: SealOptions = {}): Promise<Uint8Array> {
    const info = this.find(transportKey);
    requireUsage(info, 'seal');
    // Both backends take the IV from here: the file store as createCipheriv's IV, PKCS#11 as the
    // CKM_AES_GCM mechanism parameter (CK_GCM_PARAMS.pIv).
    const iv = sealIv(opts);
    return sealEnvelope(iv, await this.opGcm(info, 'encrypt', iv, secret, context));
  }

  async unseal(transportKey: KeyRef, sealed: Uint8Array, context: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    const info = this.find(transportKey);
    // A retired transport key still opens what was sealed under it: only sealing new secrets stops.
    if (!info.usage.includes('seal')) throw new KeyUsageError(`keys: ${info.label} v${info.version} is not a batch transport (seal) key`);
    if (!(sealed instanceof Uint8Array) || sealed.length < 1 + IV_LENGTH + TAG_LENGTH || sealed[0] !== SEAL_VERSION) {
      throw new SealError('keys: not a cardsmith sealed secret (format 01 ‖ IV ‖ ciphertext ‖ tag)');
    }
    try {
      return await this.opGcm(info, 'decrypt', sealed.subarray(1, 1 + IV_LENGTH), sealed.subarray(1 + IV_LENGTH), context);
    } catch {
      throw new SealError(`keys: the sealed secret does not open under ${info.label} v${info.version} (KCV ${info.kcv}) with this context: wrong transport key, wrong card record, or modified`);
    }
  }

  async sign(ref: KeyRef, message: Uint8Array, opts: SignOptions = {}): Promise<Uint8Array> {
    const info = this.find(ref);
    requireUsage(info, 'sign');
    return this.opSign(info, message, opts);
  }

  async publicKey(ref: KeyRef): Promise<Uint8Array> {
    const info = this.find(ref);
    if (!info.publicKey) throw new KeyUsageError(`keys: ${info.label} v${info.version} is a ${info.alg} key and has no public key`);
    return Uint8Array.from(Buffer.from(info.publicKey, 'hex'));
  }

  async certificate(ref: KeyRef): Promise<Uint8Array | undefined> {
    const b64 = this.index.certificates[certKey(this.find(ref))];
    return b64 === undefined ? undefined : new Uint8Array(Buffer.from(b64, 'base64'));
  }

  /**
   * Copies of key values for worker threads of this process (keys/lent.ts), or undefined when the
   * backend keeps its values elsewhere (a token) or one of them is not exportable.
   */
  async lend(_refs: readonly KeyRef[]): Promise<LentKey[] | undefined> {
    return undefined;
  }

  // ---- ceremonies ------------------------------------------------------------------------------

  private nextVersion(label: string): number {
    return Math.max(0, ...this.index.keys.filter((k) => k.label === label).map((k) => k.version)) + 1;
  }

  protected defaultExportable(): boolean {
    return true;
  }

  private async add(spec: NewKeySpec, version: number, value: Uint8Array | undefined, op: string, origin: KeyInfo['origin'], detail?: Record<string, string | number | boolean>): Promise<KeyInfo> {
    const s = normalizeSpec(spec);
    const info: KeyInfo = {
      label: s.label,
      version,
      alg: s.alg,
      length: value?.length ?? s.length,
      usage: s.usage,
      state: 'active',
      kcv: '',
      createdAt: new Date().toISOString(),
      origin,
      exportable: s.exportable ?? this.defaultExportable(),
    };
    const made = await this.createKey(info, value);
    info.kcv = made.kcv;
    if (made.publicKey) info.publicKey = made.publicKey;
    await this.commit(
      { op, label: info.label, version, alg: info.alg, kcv: info.kcv, detail: { usage: info.usage.join(','), length: info.length, origin, ...detail } },
      () => this.index.keys.push(info),
      () => {
        this.index.keys = this.index.keys.filter((k) => k !== info);
        return this.dropKey(info);
      },
    );
    return { ...info };
  }

  /**
   * Audit first (so no change goes unlogged), then the store write that carries the new anchor.
   * A store without an audit key (new, or written by an older cardsmith) gets one here: entries
   * from this one on carry a MAC.
   */
  protected async commit(entry: Parameters<AuditLog['append']>[0], apply: () => void, undo: () => Promise<void> | void): Promise<void> {
    const macBefore = this.index.auditMac;
    if (!macBefore) {
      this.index.auditMac = { key: randomBytes(32).toString('base64'), from: this.log.anchor.seq + 1 };
      this.log.authenticate(this.auditMac());
    }
    const anchor = this.log.append(entry);
    const before = this.index.audit;
    apply();
    this.index.audit = anchor;
    try {
      await this.persist();
    } catch (e) {
      this.index.audit = before;
      if (!macBefore) {
        delete this.index.auditMac;
        this.log.authenticate(undefined);
      }
      await undo();
      throw e;
    }
  }

  async generate(spec: NewKeySpec): Promise<KeyInfo> {
    this.requireNewLabel(spec.label);
    return this.add(spec, 1, undefined, 'generate', 'generated');
  }

  async importComponents(spec: NewKeySpec, components: readonly Uint8Array[]): Promise<KeyInfo> {
    this.requireNewLabel(spec.label);
    const key = combineComponents(spec.alg, components);
    try {
      return await this.add(spec, 1, key, 'import', 'components', { components: components.length });
    } finally {
      wipe(key);
    }
  }

  private requireNewLabel(label: string): void {
    if (this.index.keys.some((k) => k.label === label)) {
      throw new KeyNotFoundError(`keys: the label '${label}' exists already; make a new version with cardsmith keys rotate --label ${label}`);
    }
  }

  async rotate(label: string, components?: readonly Uint8Array[]): Promise<KeyInfo> {
    const versions = this.index.keys.filter((k) => k.label === label).sort((a, b) => b.version - a.version);
    if (versions.length === 0) throw new KeyNotFoundError(`keys: no key labelled '${label}' to rotate; create it with cardsmith keys generate or import`);
    const prev = versions[0]!;
    const spec: NewKeySpec = { label, alg: prev.alg, length: prev.length, usage: prev.usage, exportable: prev.exportable };
    const version = this.nextVersion(label);
    const detail = { previous: prev.version, previousKcv: prev.kcv };
    if (!components) return this.add(spec, version, undefined, 'rotate', 'generated', detail);
    const key = combineComponents(prev.alg, components);
    if (key.length !== prev.length) {
      wipe(key);
      throw new KeyUsageError(`keys: ${label} keys are ${prev.length} bytes; the components are ${key.length}`);
    }
    try {
      return await this.add(spec, version, key, 'rotate', 'components', { ...detail, components: components.length });
    } finally {
      wipe(key);
    }
  }

  async retire(ref: Required<KeyRef>): Promise<KeyInfo> {
    const info = this.find(ref);
    if (info.state === 'retired') throw new KeyUsageError(`keys: ${info.label} v${info.version} is already retired (since ${info.retiredAt ?? 'unknown'})`);
    await this.retireKey(info);
    const retiredAt = new Date().toISOString();
    await this.commit(
      { op: 'retire', label: info.label, version: info.version, alg: info.alg, kcv: info.kcv },
      () => {
        info.state = 'retired';
        info.retiredAt = retiredAt;
      },
      () => {
        info.state = 'active';
        delete info.retiredAt;
      },
    );
    return { ...info };
  }

  async exportComponents(ref: KeyRef, parts: 2 | 3): Promise<ExportedComponents> {
    const info = this.find(ref);
    if (info.alg === 'sm2') throw new KeyUsageError('keys: SM2 keys are not exported as components (the CA key stays in the store; back up the store file)');
    if (!info.exportable) {
      throw new KeyUsageError(`keys: ${info.label} v${info.version} was created non-exportable; back it up with the ${this.backend === 'pkcs11' ? "token's own backup procedure" : 'store file'}`);
    }
    const value = await this.extractValue(info);
    let components: Uint8Array[];
    try {
      components = splitComponents(value, parts);
    } finally {
      wipe(value);
    }
    const kcvs = components.map((c) => componentKcv(info.alg, c));
    // Anchored like every change: an export the store cannot record does not happen.
    try {
      await this.commit({ op: 'export-components', label: info.label, version: info.version, alg: info.alg, kcv: info.kcv, detail: { parts, componentKcvs: kcvs.join(',') } }, () => undefined, () => undefined);
    } catch (e) {
      wipe(...components);
      throw e;
    }
    return { key: { ...info }, components, kcvs };
  }

  async setCertificate(ref: KeyRef, der: Uint8Array): Promise<void> {
    const info = this.find(ref);
    if (info.alg !== 'sm2' || !info.publicKey) throw new CertificateError(`keys: a CA certificate belongs to an SM2 key; ${info.label} is ${info.alg}`);
    const cert = parseCertificate(der);
    if (cert.publicKey !== info.publicKey) {
      throw new CertificateError(`keys: the certificate's public key is not the public key of ${info.label} v${info.version} (KCV ${info.kcv})`);
    }
    if (cert.selfSigned && !sm2Verify(cert.publicKeyBytes, cert.tbs, cert.signature)) {
      throw new CertificateError('keys: the self-signed certificate does not verify with its own public key');
    }
    const k = certKey(info);
    const before = this.index.certificates[k];
    await this.commit(
      { op: 'ca-certificate', label: info.label, version: info.version, alg: info.alg, kcv: info.kcv, detail: { subject: cert.subject, serial: cert.serial, selfSigned: cert.selfSigned } },
      () => {
        this.index.certificates[k] = Buffer.from(der).toString('base64');
      },
      () => {
        if (before === undefined) delete this.index.certificates[k];
        else this.index.certificates[k] = before;
      },
    );
  }

  async audit(op: string, ref: KeyRef | undefined, detail?: Record<string, string | number | boolean>): Promise<void> {
    const info = ref ? this.find(ref) : undefined;
    await this.commit({ op, ...(info ? { label: info.label, version: info.version, alg: info.alg, kcv: info.kcv } : {}), ...(detail ? { detail } : {}) }, () => undefined, () => undefined);
  }
}
