// The PKCS#11 backend (pkcs11js): master keys live in the token as sensitive objects and every
// operation with them runs inside it. What the token holds besides the keys: one private data
// object (CKA_APPLICATION "cardsmith", label "cardsmith-keystore-index") with the metadata that
// PKCS#11 has no attribute for (version, usage, state, KCV, certificates, the audit anchor).
//
// Card-key derivation runs in the token with the "encrypt data" derivation mechanisms. pkcs11js
// cannot pass CK_KEY_DERIVATION_STRING_DATA (the parameter of CKM_DES3_ECB_ENCRYPT_DATA and
// CKM_AES_ECB_ENCRYPT_DATA: it copies a Buffer parameter as raw bytes, and has no struct type for
// it), but it does pass the CBC ones; CBC over one block with a zero IV is ECB of that block, so
// each template block is one C_DeriveKey with CKM_DES3_CBC_ENCRYPT_DATA / CKM_AES_CBC_ENCRYPT_DATA.
// The result is a CKK_GENERIC_SECRET (SoftHSM adjusts DES parity when the derived key is typed
// CKK_DES*, which would change the bytes the file store gives), read out as the card key (card keys
// go to cards). kdf3 runs as CKM_AES_CMAC signatures under the master. SM2 and SM4 have no standard
// PKCS#11 mechanisms and SoftHSM2 has none of its own: they fail with UnsupportedAlgorithmError.
import { createDecipheriv } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as P from 'pkcs11js';
import { adjustDesParity } from '../crypto/des3.js';
import { concat, not, toHex, wipe } from '../bytes/index.js';
import { KEY_TYPE_CODE } from '../crypto/diversify.js';
import { AuditLog, type AuditHash } from './audit.js';
import { BaseKeyStore, type StoreIndex } from './base-store.js';
import { HsmError, KeyStoreAccessError, KeyUsageError, UnsupportedAlgorithmError } from './errors.js';
import { keyKcv } from './material.js';
import type { CardKey, DeriveRequest, KeyInfo, SignOptions } from './types.js';

type Pkcs11Module = typeof P;
type Handle = Buffer;

const INDEX_LABEL = 'cardsmith-keystore-index';
const APPLICATION = 'cardsmith';
/** The Debian/Ubuntu path of SoftHSM2's module; give --pkcs11-module for a real HSM. */
export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface Pkcs11Options {
  /** Path of the PKCS#11 module (.so). */
  module: string;
  /** Token label (as softhsm2-util --init-token --label set it). */
  token: string;
  /** User PIN; wiped from the options object is impossible for a string, so callers keep it short-lived. */
  pin: string;
  auditPath: string;
  write?: boolean;
}

let loaded: Pkcs11Module | undefined;
function pkcs11js(): Pkcs11Module {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
    return loaded;
  } catch {
    throw new HsmError('pkcs11: the pkcs11js package is not installed or did not build (npm ci needs a C++ compiler); the PKCS#11 backend is unavailable');
  }
}

// One C_Initialize per module per process; stores opened on the same module share it.
const libraries = new Map<string, { lib: P.PKCS11; users: number }>();

function codeName(e: unknown): string {
  const m = e instanceof Error ? /CKR_[A-Z_]+/.exec(e.message) : null;
  return m ? m[0] : e instanceof Error ? e.message : String(e);
}

function hsm(what: string, e: unknown): HsmError {
  return new HsmError(`pkcs11: ${what} failed (${codeName(e)})`);
}

export class Pkcs11KeyStore extends BaseKeyStore {
  readonly backend = 'pkcs11' as const;
  private p!: Pkcs11Module;
  private lib!: P.PKCS11;
  private session: Handle | undefined;
  private indexHandle: Handle | undefined;
  private generation = 0;
  private handles = new Map<string, Handle>();
  private tokenDesc = '';

  private constructor(private readonly opts: Pkcs11Options) {
    super();
  }

  protected override defaultExportable(): boolean {
    return false;
  }

  /** Prepares an initialised token for cardsmith: the index object and a new audit log. */
  static async init(opts: Pkcs11Options & { auditHash?: AuditHash }): Promise<Pkcs11KeyStore> {
    const s = new Pkcs11KeyStore(opts);
    s.connect();
    try {
      if (s.findIndex().length > 0) throw new KeyStoreAccessError(`pkcs11: token '${opts.token}' already holds a cardsmith key store; nothing was changed`, 'exists');
      s.index = { createdAt: new Date().toISOString(), keys: [], certificates: {}, audit: { seq: 0, hash: '0'.repeat(64) } };
      s.log = AuditLog.create(opts.auditPath, opts.auditHash ?? 'sha256', 'pkcs11');
      await s.commit({ op: 'init', detail: { token: opts.token, module: opts.module.split('/').pop() ?? opts.module, library: s.tokenDesc } }, () => undefined, () => undefined);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  static async open(opts: Pkcs11Options): Promise<Pkcs11KeyStore> {
    const s = new Pkcs11KeyStore(opts);
    s.connect();
    try {
      const found = s.findIndex();
      if (found.length === 0) throw new KeyStoreAccessError(`pkcs11: token '${opts.token}' holds no cardsmith key store; run cardsmith keys init for it first`, 'missing');
      const versions = found.map((h) => {
        const raw = s.call('C_GetAttributeValue (index)', () => s.lib.C_GetAttributeValue(s.session!, h, [{ type: s.p.CKA_VALUE }])[0]!.value as Buffer);
        try {
          const { generation, ...index } = JSON.parse(raw.toString('utf8')) as StoreIndex & { generation: number };
          return { h, generation, index: index as StoreIndex };
        } catch {
          throw new KeyStoreAccessError(`pkcs11: the cardsmith index object in token '${opts.token}' is damaged`, 'tampered');
        }
      });
      versions.sort((a, b) => b.generation - a.generation);
      const latest = versions[0]!;
      s.indexHandle = latest.h;
      s.generation = latest.generation;
      s.index = latest.index;
      // Left over by an update that was interrupted between its create and its destroy.
      if (opts.write) for (const v of versions.slice(1)) s.lib.C_DestroyObject(s.session!, v.h);
      s.log = AuditLog.open(opts.auditPath, s.auditAnchor(), 'pkcs11', s.auditMac());
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  private call<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof HsmError || e instanceof KeyStoreAccessError) throw e;
      throw hsm(what, e);
    }
  }

  private connect(): void {
    this.p = pkcs11js();
    let entry = libraries.get(this.opts.module);
    if (!entry) {
      const lib = new this.p.PKCS11();
      try {
        lib.load(this.opts.module);
        lib.C_Initialize();
      } catch (e) {
        throw new KeyStoreAccessError(`pkcs11: cannot load the module ${this.opts.module} (${codeName(e)}); install it (Debian: softhsm2) or give --pkcs11-module PATH`, 'io');
      }
      entry = { lib, users: 0 };
      libraries.set(this.opts.module, entry);
    }
    entry.users++;
    this.lib = entry.lib;
    const info = this.lib.C_GetInfo();
    this.tokenDesc = `${info.manufacturerID.trim()} ${info.libraryVersion.major}.${info.libraryVersion.minor}`;
    const slots = this.lib.C_GetSlotList(true);
    const labels: string[] = [];
    let slot: Handle | undefined;
    for (const s of slots) {
      const label = this.lib.C_GetTokenInfo(s).label.trim();
      labels.push(label);
      if (label === this.opts.token) slot = s;
    }
    if (!slot) {
      throw new KeyStoreAccessError(
        `pkcs11: no token labelled '${this.opts.token}' in ${this.opts.module} (tokens: ${labels.filter(Boolean).join(', ') || 'none'}); initialise one with softhsm2-util --init-token`,
        'missing',
      );
    }
    this.session = this.call('C_OpenSession', () => this.lib.C_OpenSession(slot!, this.p.CKF_SERIAL_SESSION | this.p.CKF_RW_SESSION));
    try {
      this.lib.C_Login(this.session, this.p.CKU_USER, this.opts.pin);
    } catch (e) {
      const code = codeName(e);
      if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
        throw new KeyStoreAccessError(
          code === 'CKR_PIN_INCORRECT' ? `pkcs11: wrong PIN for token '${this.opts.token}' (nothing was changed; the token may lock after several wrong PINs)` : `pkcs11: login to token '${this.opts.token}' failed (${code})`,
          'login',
        );
      }
    }
  }

  private findObjects(template: P.Template): Handle[] {
    const lib = this.lib;
    lib.C_FindObjectsInit(this.session!, template);
    try {
      return lib.C_FindObjects(this.session!, 100);
    } finally {
      lib.C_FindObjectsFinal(this.session!);
    }
  }

  private findIndex(): Handle[] {
    return this.call('C_FindObjects (index)', () =>
      this.findObjects([
        { type: this.p.CKA_CLASS, value: this.p.CKO_DATA },
        { type: this.p.CKA_APPLICATION, value: APPLICATION },
        { type: this.p.CKA_LABEL, value: INDEX_LABEL },
      ]),
    );
  }

  private handle(info: KeyInfo): Handle {
    const id = `${info.label}#${info.version}`;
    let h = this.handles.get(id);
    if (!h) {
      h = this.call('C_FindObjects', () => this.findObjects([{ type: this.p.CKA_CLASS, value: this.p.CKO_SECRET_KEY }, { type: this.p.CKA_ID, value: Buffer.from(id) }]))[0];
      if (!h) throw new HsmError(`pkcs11: ${info.label} v${info.version} is in the cardsmith index but its key object is missing from token '${this.opts.token}'`);
      this.handles.set(id, h);
    }
    return h;
  }

  private writeIndexObject(): Handle {
    this.generation++;
    return this.call('C_CreateObject (index)', () =>
      this.lib.C_CreateObject(this.session!, [
        { type: this.p.CKA_CLASS, value: this.p.CKO_DATA },
        { type: this.p.CKA_TOKEN, value: true },
        { type: this.p.CKA_PRIVATE, value: true },
        { type: this.p.CKA_APPLICATION, value: APPLICATION },
        { type: this.p.CKA_LABEL, value: INDEX_LABEL },
        { type: this.p.CKA_VALUE, value: Buffer.from(JSON.stringify({ generation: this.generation, ...this.index })) },
      ]),
    );
  }

  /**
   * SoftHSM2 makes CKA_VALUE of a data object read-only, so an update writes a new index object
   * (generation + 1) and then destroys the old one. A crash in between leaves two; open() takes the
   * higher generation and removes the other.
   */
  protected async persist(): Promise<void> {
    const old = this.indexHandle;
    this.indexHandle = this.writeIndexObject();
    if (old) this.call('C_DestroyObject (old index)', () => this.lib.C_DestroyObject(this.session!, old));
  }

  async close(): Promise<void> {
    if (this.session) {
      try {
        this.lib.C_CloseSession(this.session);
      } catch {
        /* already closed */
      }
      this.session = undefined;
      const entry = libraries.get(this.opts.module);
      if (entry && --entry.users === 0) {
        libraries.delete(this.opts.module);
        try {
          entry.lib.C_Finalize();
        } catch {
          /* finalized */
        }
      }
    }
  }

  // ---- keys ---------------------------------------------------------------------------------

  private unsupported(alg: string, what: string): UnsupportedAlgorithmError {
    return new UnsupportedAlgorithmError(
      `pkcs11: token '${this.opts.token}' (${this.tokenDesc}) has no ${alg.toUpperCase()} mechanism, so it cannot ${what}; keep ${alg.toUpperCase()} keys in a file key store or use an HSM with ${alg.toUpperCase()} support (cardsmith never falls back to software)`,
    );
  }

  private keyType(info: KeyInfo): number {
    if (info.alg === 'des3') return info.length === 16 ? this.p.CKK_DES2 : this.p.CKK_DES3;
    if (info.alg === 'aes') return this.p.CKK_AES;
    throw this.unsupported(info.alg, `hold a ${info.alg} key`);
  }

  private attributes(info: KeyInfo): P.Template {
    const u = new Set(info.usage);
    const p = this.p;
    return [
      { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
      { type: p.CKA_KEY_TYPE, value: this.keyType(info) },
      { type: p.CKA_TOKEN, value: true },
      { type: p.CKA_PRIVATE, value: true },
      { type: p.CKA_SENSITIVE, value: true },
      { type: p.CKA_EXTRACTABLE, value: info.exportable },
      { type: p.CKA_MODIFIABLE, value: true },
      { type: p.CKA_LABEL, value: info.label },
      { type: p.CKA_ID, value: Buffer.from(`${info.label}#${info.version}`) },
      { type: p.CKA_DERIVE, value: u.has('derive') },
      { type: p.CKA_ENCRYPT, value: u.has('encrypt') || u.has('wrap') || u.has('seal') },
      { type: p.CKA_DECRYPT, value: u.has('encrypt') || u.has('seal') },
      // kdf3 derivation is AES-CMAC under the master, so AES derivation masters may sign.
      { type: p.CKA_SIGN, value: u.has('mac') || (u.has('derive') && info.alg === 'aes') },
      { type: p.CKA_VERIFY, value: u.has('mac') },
      { type: p.CKA_WRAP, value: u.has('wrap') },
    ];
  }

  protected async createKey(info: KeyInfo, value: Uint8Array | undefined): Promise<{ kcv: string; publicKey?: string }> {
    if (info.alg === 'sm2' || info.alg === 'sm4') throw this.unsupported(info.alg, `${value ? 'import' : 'generate'} ${info.alg === 'sm2' ? 'an SM2 key' : 'an SM4 key'}`);
    const template = this.attributes(info);
    let h: Handle;
    if (value) {
      const v = Buffer.from(value);
      try {
        h = this.call('C_CreateObject', () => this.lib.C_CreateObject(this.session!, [...template, { type: this.p.CKA_VALUE, value: v }]));
      } finally {
        v.fill(0);
      }
    } else {
      const mech = info.alg === 'aes' ? this.p.CKM_AES_KEY_GEN : info.length === 16 ? this.p.CKM_DES2_KEY_GEN : this.p.CKM_DES3_KEY_GEN;
      const t = info.alg === 'aes' ? [...template, { type: this.p.CKA_VALUE_LEN, value: info.length }] : template;
      h = this.call('C_GenerateKey', () => this.lib.C_GenerateKey(this.session!, { mechanism: mech }, t));
    }
    this.handles.set(`${info.label}#${info.version}`, h);
    return { kcv: value ? keyKcv(info.alg, value) : this.kcvInToken(info, h) };
  }

  /** The KCV computed by the token: ECB of the KCV block, through whichever operation the key allows. */
  private kcvInToken(info: KeyInfo, h: Handle): string {
    const block = info.alg === 'aes' ? Buffer.alloc(16, 0x01) : Buffer.alloc(8);
    if (info.usage.includes('derive')) return toHex(this.ecbBlock(info, h, block).subarray(0, 3));
    const hasEncrypt = info.usage.some((u) => u === 'encrypt' || u === 'wrap' || u === 'seal');
    if (!hasEncrypt) this.call('C_SetAttributeValue', () => this.lib.C_SetAttributeValue(this.session!, h, [{ type: this.p.CKA_ENCRYPT, value: true }]));
    try {
      return toHex(this.cipher(info, h, 'encrypt', block, 'ecb', undefined).subarray(0, 3));
    } finally {
      if (!hasEncrypt) this.call('C_SetAttributeValue', () => this.lib.C_SetAttributeValue(this.session!, h, [{ type: this.p.CKA_ENCRYPT, value: false }]));
    }
  }

  protected async dropKey(info: KeyInfo): Promise<void> {
    const id = `${info.label}#${info.version}`;
    const h = this.handles.get(id);
    if (h) {
      try {
        this.lib.C_DestroyObject(this.session!, h);
      } catch {
        /* best effort */
      }
      this.handles.delete(id);
    }
  }

  protected async retireKey(info: KeyInfo): Promise<void> {
    // Let the token itself refuse further use; decrypt stays, so data sealed under it still opens.
    const p = this.p;
    const off = [p.CKA_DERIVE, p.CKA_ENCRYPT, p.CKA_SIGN, p.CKA_WRAP].map((type) => ({ type, value: false }));
    this.call('C_SetAttributeValue (retire)', () => this.lib.C_SetAttributeValue(this.session!, this.handle(info), off));
  }

  protected async extractValue(info: KeyInfo): Promise<Uint8Array> {
    const p = this.p;
    // Wrap under a one-off session AES-256 key (RFC 3394 key wrap), unwrap here: the clear key only
    // exists in this process, for the components.
    const kek = this.call('C_GenerateKey (export KEK)', () =>
      this.lib.C_GenerateKey(this.session!, { mechanism: p.CKM_AES_KEY_GEN }, [
        { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
        { type: p.CKA_KEY_TYPE, value: p.CKK_AES },
        { type: p.CKA_VALUE_LEN, value: 32 },
        { type: p.CKA_TOKEN, value: false },
        { type: p.CKA_SENSITIVE, value: false },
        { type: p.CKA_EXTRACTABLE, value: true },
        { type: p.CKA_WRAP, value: true },
      ]),
    );
    try {
      const wrapped = this.call('C_WrapKey', () => this.lib.C_WrapKey(this.session!, { mechanism: p.CKM_AES_KEY_WRAP }, kek, this.handle(info), Buffer.alloc(info.length + 16)));
      const kekValue = this.lib.C_GetAttributeValue(this.session!, kek, [{ type: p.CKA_VALUE }])[0]!.value as Buffer;
      try {
        const d = createDecipheriv('id-aes256-wrap', kekValue, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
        const out = new Uint8Array(Buffer.concat([d.update(wrapped), d.final()]));
        if (out.length !== info.length) throw new HsmError('pkcs11: the exported key has an unexpected length');
        return out;
      } finally {
        kekValue.fill(0);
      }
    } finally {
      this.lib.C_DestroyObject(this.session!, kek);
    }
  }

  // ---- operations -----------------------------------------------------------------------------

  /** ECB of one block inside the token via CKM_*_CBC_ENCRYPT_DATA with a zero IV (see the file header). */
  private ecbBlock(info: KeyInfo, h: Handle, block: Uint8Array): Buffer {
    const p = this.p;
    const aes = info.alg === 'aes';
    const mechanism: P.Mechanism = aes
      ? { mechanism: p.CKM_AES_CBC_ENCRYPT_DATA, parameter: { type: p.CK_PARAMS_AES_CBC, iv: Buffer.alloc(16), data: Buffer.from(block) } as P.IParams }
      : { mechanism: p.CKM_DES3_CBC_ENCRYPT_DATA, parameter: { type: p.CK_PARAMS_DES_CBC_ENCRYPT_DATA, iv: Buffer.alloc(8), data: Buffer.from(block) } as P.IParams };
    const derived = this.call(`C_DeriveKey (${aes ? 'CKM_AES_CBC_ENCRYPT_DATA' : 'CKM_DES3_CBC_ENCRYPT_DATA'})`, () =>
      this.lib.C_DeriveKey(this.session!, mechanism, h, [
        { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
        { type: p.CKA_KEY_TYPE, value: p.CKK_GENERIC_SECRET },
        { type: p.CKA_VALUE_LEN, value: block.length },
        { type: p.CKA_TOKEN, value: false },
        { type: p.CKA_SENSITIVE, value: false },
        { type: p.CKA_EXTRACTABLE, value: true },
      ]),
    );
    try {
      return this.call('C_GetAttributeValue (derived)', () => this.lib.C_GetAttributeValue(this.session!, derived, [{ type: p.CKA_VALUE }])[0]!.value as Buffer);
    } finally {
      this.lib.C_DestroyObject(this.session!, derived);
    }
  }

  private cmacInToken(info: KeyInfo, h: Handle, data: Uint8Array): Buffer {
    const p = this.p;
    const aes = info.alg === 'aes';
    return this.call(aes ? 'C_Sign (CKM_AES_CMAC)' : 'C_Sign (CKM_DES3_CMAC)', () => {
      this.lib.C_SignInit(this.session!, { mechanism: aes ? p.CKM_AES_CMAC : p.CKM_DES3_CMAC }, h);
      // pkcs11js passes an empty Buffer as a NULL pointer, which C_Sign refuses: sign "no update" instead.
      if (data.length === 0) return this.lib.C_SignFinal(this.session!, Buffer.alloc(16));
      return this.lib.C_Sign(this.session!, Buffer.from(data), Buffer.alloc(16));
    });
  }

  /** A session copy of an intermediate PBOC level key, so the next level is derived in the token too. */
  private sessionDeriveKey(value: Uint8Array): Handle {
    const p = this.p;
    const v = Buffer.from(value);
    try {
      return this.call('C_CreateObject (level key)', () =>
        this.lib.C_CreateObject(this.session!, [
          { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
          { type: p.CKA_KEY_TYPE, value: p.CKK_DES2 },
          { type: p.CKA_TOKEN, value: false },
          { type: p.CKA_SENSITIVE, value: true },
          { type: p.CKA_DERIVE, value: true },
          { type: p.CKA_VALUE, value: v },
        ]),
      );
    } finally {
      v.fill(0);
    }
  }

  private deriveOne(info: KeyInfo, h: Handle, r: DeriveRequest): Uint8Array {
    const d = r.data;
    const need = (n: number, what: string) => {
      if (!(d instanceof Uint8Array) || d.length !== n) throw new KeyUsageError(`keys: ${r.method} needs ${n} bytes of ${what}, got ${d instanceof Uint8Array ? d.length : typeof d}`);
    };
    const t = (): number => {
      if (!r.keyType || !(r.keyType in KEY_TYPE_CODE)) throw new KeyUsageError(`keys: ${r.method} needs a key type (enc, mac or dek)`);
      return KEY_TYPE_CODE[r.keyType];
    };
    const template = (six: Uint8Array) => {
      if (info.length !== 16) throw new KeyUsageError(`keys: ${r.method} needs a 16-byte 3DES master; ${info.label} is ${info.length} bytes`);
      const k = t();
      return concat(this.ecbBlock(info, h, concat(six, Uint8Array.of(0xf0, k))), this.ecbBlock(info, h, concat(six, Uint8Array.of(0x0f, k))));
    };
    switch (r.method) {
      case 'emv':
      case 'cps11':
        need(10, 'KDD');
        return template(d.subarray(4, 10));
      case 'visa2':
        need(10, 'KDD');
        return template(concat(d.subarray(0, 2), d.subarray(4, 8)));
      case 'kdf3': {
        need(10, 'KDD');
        const suffix = concat(Uint8Array.of(0x00, 0x00, 0x00, t(), 0x00), d);
        const blocks: Uint8Array[] = [];
        for (let i = 1; i <= Math.ceil(info.length / 16); i++) blocks.push(this.cmacInToken(info, h, concat(Uint8Array.of(i), suffix)));
        return concat(...blocks).slice(0, info.length);
      }
      case 'emv-option-a': {
        need(8, 'the A block (PAN ‖ PSN)');
        if (info.length !== 16) throw new KeyUsageError(`keys: emv-option-a needs a 16-byte 3DES issuer master key`);
        return adjustDesParity(concat(this.ecbBlock(info, h, d), this.ecbBlock(info, h, not(d))));
      }
      case 'pboc': {
        if (info.alg !== 'des3') throw this.unsupported(info.alg, 'derive PBOC SM4 keys');
        if (info.length !== 16) throw new KeyUsageError(`keys: pboc needs a 16-byte 3DES master`);
        if (!(d instanceof Uint8Array) || ![8, 16, 24].includes(d.length)) throw new KeyUsageError('keys: pboc needs 8, 16 or 24 bytes of data (one 8-byte block per level)');
        let key = h;
        let value: Uint8Array = new Uint8Array(0);
        for (let off = 0; off < d.length; off += 8) {
          const level = d.subarray(off, off + 8);
          const next = concat(this.ecbBlock(info, key, level), this.ecbBlock(info, key, not(level)));
          if (key !== h) this.lib.C_DestroyObject(this.session!, key);
          wipe(value);
          value = next;
          if (off + 8 < d.length) key = this.sessionDeriveKey(value);
        }
        return value;
      }
      default:
        throw new KeyUsageError(`keys: unknown diversification method '${String(r.method)}'`);
    }
  }

  protected async opDerive(info: KeyInfo, requests: readonly DeriveRequest[], alg: CardKey['alg']): Promise<CardKey[]> {
    if (info.alg === 'sm4' || info.alg === 'sm2') throw this.unsupported(info.alg, 'derive with it');
    const h = this.handle(info);
    return requests.map((r) => {
      const value = this.deriveOne(info, h, r);
      return { alg, value, kcv: keyKcv(alg, value) };
    });
  }

  private cipher(info: KeyInfo, h: Handle, direction: 'encrypt' | 'decrypt', data: Uint8Array, mode: 'ecb' | 'cbc', iv: Uint8Array | undefined): Buffer {
    const p = this.p;
    const aes = info.alg === 'aes';
    const bs = aes ? 16 : 8;
    if (data.length % bs !== 0) throw new KeyUsageError(`keys: data of ${data.length} bytes is not a multiple of the ${bs}-byte block (pad it first)`);
    const mech: P.Mechanism =
      mode === 'ecb'
        ? { mechanism: aes ? p.CKM_AES_ECB : p.CKM_DES3_ECB }
        : { mechanism: aes ? p.CKM_AES_CBC : p.CKM_DES3_CBC, parameter: Buffer.from(iv ?? new Uint8Array(bs)) };
    return this.call(`C_${direction === 'encrypt' ? 'Encrypt' : 'Decrypt'}`, () => {
      if (direction === 'encrypt') {
        this.lib.C_EncryptInit(this.session!, mech, h);
        return this.lib.C_Encrypt(this.session!, Buffer.from(data), Buffer.alloc(data.length + bs));
      }
      this.lib.C_DecryptInit(this.session!, mech, h);
      return this.lib.C_Decrypt(this.session!, Buffer.from(data), Buffer.alloc(data.length + bs));
    });
  }

  protected async opCipher(info: KeyInfo, direction: 'encrypt' | 'decrypt', data: Uint8Array, mode: 'ecb' | 'cbc', iv: Uint8Array | undefined): Promise<Uint8Array> {
    if (info.alg === 'sm4' || info.alg === 'sm2') throw this.unsupported(info.alg, direction);
    return new Uint8Array(this.cipher(info, this.handle(info), direction, data, mode, iv));
  }

  protected async opMac(info: KeyInfo, data: Uint8Array): Promise<Uint8Array> {
    if (info.alg === 'sm4' || info.alg === 'sm2') throw this.unsupported(info.alg, 'compute a CMAC');
    return new Uint8Array(this.cmacInToken(info, this.handle(info), data));
  }

  protected async opGcm(info: KeyInfo, direction: 'encrypt' | 'decrypt', iv: Uint8Array, data: Uint8Array, aadBytes: Uint8Array): Promise<Uint8Array> {
    const p = this.p;
    const mech: P.Mechanism = {
      mechanism: p.CKM_AES_GCM,
      parameter: { type: p.CK_PARAMS_AES_GCM_v240, iv: Buffer.from(iv), ivBits: 96, aad: Buffer.from(aadBytes), tagBits: 128 } as P.GcmParams,
    };
    const h = this.handle(info);
    if (direction === 'encrypt') {
      return new Uint8Array(this.call('C_Encrypt (CKM_AES_GCM)', () => {
        this.lib.C_EncryptInit(this.session!, mech, h);
        return this.lib.C_Encrypt(this.session!, Buffer.from(data), Buffer.alloc(data.length + 16));
      }));
    }
    this.lib.C_DecryptInit(this.session!, mech, h);
    return new Uint8Array(this.lib.C_Decrypt(this.session!, Buffer.from(data), Buffer.alloc(data.length)));
  }

  protected async opSign(info: KeyInfo, _message: Uint8Array, _opts: SignOptions): Promise<Uint8Array> {
    throw this.unsupported(info.alg, 'sign (SM2)');
  }
}
