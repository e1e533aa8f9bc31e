// The embedded key store: one file, AES-256-GCM under a key derived from a passphrase with scrypt.
//
// File (JSON): { format, formatVersion, kdf: { name: "scrypt", N, r, p, salt }, check, cipher,
// iv, ciphertext, tag }. scrypt gives 64 bytes: the first 32 are the AES key, the last 32 give
// `check` = SHA-256("cardsmith-keystore-check" ‖ them), so a wrong passphrase is told apart from a
// damaged file (it tells an attacker nothing the GCM tag would not). Plaintext: u32 length ‖ index
// JSON ‖ key values (binary, so they can be wiped; JSON strings cannot).
//
// The whole file is authenticated: the header fields, as read from the file, are the GCM
// associated data (iv and tag are GCM's own); a field that is not in the list above, a missing
// one, a cipher other than aes-256-gcm, and any text that is not what cardsmith writes (key order,
// duplicate keys; white space aside) are refused before the passphrase is even used.
// Version 2 (written since audit entries carry a MAC, keys/audit.ts) has the same layout; a
// version 1 store is read and becomes version 2 at its next change, so that an older cardsmith,
// which would append entries without a MAC, no longer writes to it.
//
// Writes: temp file in the same folder (0600) → write → fsync → rename over the store → fsync the
// folder. A crash at any point leaves either the old or the new store, never a mix. Writers take
// FILE.lock (O_EXCL, holding their pid; a lock whose process is gone is taken over).
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { concat, toHex, wipe } from '../bytes/index.js';
import { crypt } from '../crypto/block.js';
import { sm2PublicKey, sm2Sign } from '../crypto/sm2.js';
import { AuditLog, type AuditHash } from './audit.js';
import { BaseKeyStore, type StoreIndex } from './base-store.js';
import { KeyStoreAccessError, KeyUsageError } from './errors.js';
import { keyKcv, randomKey } from './material.js';
import type { LentKey } from './lent.js';
import { softwareDerive, softwareGcm, softwareMac } from './software.js';
import type { CardKey, DeriveRequest, KeyInfo, KeyRef, SignOptions } from './types.js';

export const FORMAT = 'cardsmith-keystore';
export const FORMAT_VERSION = 2;
/** Versions this cardsmith opens (1 becomes 2 at the next write). */
const READS_VERSIONS = [1, 2];
/** scrypt cost: N = 2^17, r = 8, p = 1 → 128 MiB and ~0.3 s per open on the CI machine (docs/keys.md). */
export const SCRYPT_DEFAULTS = { log2N: 17, r: 8, p: 1 } as const;
const LOG2N_MIN = 14;
const LOG2N_MAX = 20;
const CHECK_LABEL = 'cardsmith-keystore-check';
const CIPHER = 'aes-256-gcm';
/** Every field of the file, in the order it is written. */
const FIELDS = ['format', 'formatVersion', 'kdf', 'check', 'cipher', 'iv', 'ciphertext', 'tag'] as const;
const KDF_FIELDS = ['name', 'N', 'r', 'p', 'salt'] as const;
/** Base64 fields and their decoded length. */
const B64_LENGTHS = { check: 32, iv: 12, tag: 16 } as const;
const SALT_LENGTH = 16;

interface Header {
  format: string;
  formatVersion: number;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  check: string;
  cipher: typeof CIPHER;
}

interface FileBody extends Header {
  iv: string;
  ciphertext: string;
  tag: string;
}

interface IndexEntryFile extends KeyInfo {
  value: { offset: number; length: number };
}

export interface FileStoreOptions {
  /** Default: FILE.audit (next to the store). */
  auditPath?: string;
}

export interface CreateFileStoreOptions extends FileStoreOptions {
  auditHash?: AuditHash;
  /** scrypt cost as log2(N), 14–20; default 17. Also CARDSMITH_KEYSTORE_SCRYPT_LOG2N (for tests). */
  scryptLog2N?: number;
}

/** The header in its one canonical form (fixed key order): the GCM associated data. */
const aad = (h: Header): Buffer =>
  Buffer.from(JSON.stringify({ format: h.format, formatVersion: h.formatVersion, kdf: { name: h.kdf.name, N: h.kdf.N, r: h.kdf.r, p: h.kdf.p, salt: h.kdf.salt }, check: h.check, cipher: h.cipher }));

/** The file's text exactly as cardsmith writes it. */
const fileText = (b: FileBody): string =>
  JSON.stringify({ ...(JSON.parse(aad(b).toString('utf8')) as Header), iv: b.iv, ciphertext: b.ciphertext, tag: b.tag }, null, 1) + '\n';

const isB64 = (v: unknown, length?: number): v is string =>
  typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0 && (length === undefined || Buffer.from(v, 'base64').length === length);

/**
 * Checks every field of a parsed store file; throws KeyStoreAccessError ('tampered') naming the
 * first field that is unknown, missing or out of range. The passphrase is not needed for this.
 */
function checkBody(path: string, body: Record<string, unknown>, raw: string): FileBody {
  const tampered = (what: string) => new KeyStoreAccessError(`keystore: ${path} has been tampered with or damaged (${what}); restore it from backup`, 'tampered');
  for (const k of Object.keys(body)) if (!(FIELDS as readonly string[]).includes(k)) throw tampered(`field '${k.slice(0, 40)}' is not part of a cardsmith key store`);
  for (const k of FIELDS) if (!(k in body)) throw tampered(`field '${k}' is missing`);
  if (body.cipher !== CIPHER) throw tampered(`cipher '${String(body.cipher).slice(0, 40)}': a cardsmith key store is ${CIPHER}`);
  const kdf = body.kdf as Record<string, unknown> | null;
  if (kdf === null || typeof kdf !== 'object' || Array.isArray(kdf)) throw tampered("field 'kdf' is not an object");
  for (const k of Object.keys(kdf)) if (!(KDF_FIELDS as readonly string[]).includes(k)) throw tampered(`field 'kdf.${k.slice(0, 40)}' is not part of a cardsmith key store`);
  const int = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  const log2N = typeof kdf.N === 'number' ? Math.log2(kdf.N) : NaN;
  if (kdf.name !== 'scrypt' || !int(log2N, LOG2N_MIN, LOG2N_MAX) || !int(kdf.r, 1, 32) || !int(kdf.p, 1, 16) || !isB64(kdf.salt, SALT_LENGTH)) throw tampered('header fields out of range');
  for (const [k, n] of Object.entries(B64_LENGTHS)) if (!isB64(body[k], n)) throw tampered(`field '${k}' is not ${n} bytes of base64`);
  if (!isB64(body.ciphertext) || (body.ciphertext as string).length === 0) throw tampered("field 'ciphertext' is not base64");
  const b = body as unknown as FileBody;
  // Key order, duplicate keys, number formats: what JSON.parse hides. (No value holds white space.)
  if (raw.replace(/\s+/g, '') !== fileText(b).replace(/\s+/g, '')) throw tampered('the text was edited: duplicate keys, key order or number format differ from what cardsmith writes');
  return b;
}

function deriveKeys(passphrase: Uint8Array, kdf: Header['kdf']): { key: Buffer; check: string } {
  const out = scryptSync(passphrase, Buffer.from(kdf.salt, 'base64'), 64, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 64 * 1024 * 1024 });
  const key = Buffer.from(out.subarray(0, 32));
  const check = createHash('sha256').update(CHECK_LABEL).update(out.subarray(32)).digest('base64');
  out.fill(0);
  return { key, check };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FileKeyStore extends BaseKeyStore {
  readonly backend = 'file' as const;
  private values = new Map<string, Uint8Array>();
  private key: Buffer | undefined;
  private header!: Header;
  private lockPath: string | undefined;

  private constructor(readonly path: string) {
    super();
  }

  /** Creates a new, empty store (and its audit log). Refuses to overwrite anything. */
  static async create(path: string, passphrase: Uint8Array, opts: CreateFileStoreOptions = {}): Promise<FileKeyStore> {
    const full = resolve(path);
    if (existsSync(full)) throw new KeyStoreAccessError(`keystore: ${path} exists already; choose a new file (cardsmith never overwrites a key store)`, 'exists');
    if (passphrase.length < 12) throw new KeyStoreAccessError('keystore: the passphrase must be at least 12 characters long', 'login');
    const envN = process.env.CARDSMITH_KEYSTORE_SCRYPT_LOG2N;
    const log2N = opts.scryptLog2N ?? (envN ? Number(envN) : SCRYPT_DEFAULTS.log2N);
    if (!Number.isInteger(log2N) || log2N < LOG2N_MIN || log2N > LOG2N_MAX) {
      throw new KeyUsageError(`keystore: scrypt cost log2(N) must be ${LOG2N_MIN} to ${LOG2N_MAX}, got ${String(log2N)}`);
    }
    const s = new FileKeyStore(full);
    const kdf = { name: 'scrypt' as const, N: 2 ** log2N, r: SCRYPT_DEFAULTS.r, p: SCRYPT_DEFAULTS.p, salt: randomBytes(16).toString('base64') };
    const { key, check } = deriveKeys(passphrase, kdf);
    s.key = key;
    s.header = { format: FORMAT, formatVersion: FORMAT_VERSION, kdf, check, cipher: CIPHER };
    s.acquireLock();
    try {
      const auditPath = resolve(opts.auditPath ?? `${full}.audit`);
      s.log = AuditLog.create(auditPath, opts.auditHash ?? 'sha256', 'file');
      s.index = { createdAt: new Date().toISOString(), keys: [], certificates: {}, audit: { seq: 0, hash: '0'.repeat(64) } };
      await s.commit({ op: 'init', detail: { store: basename(full), kdf: `scrypt N=2^${log2N} r=${kdf.r} p=${kdf.p}` } }, () => undefined, () => undefined);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /** Opens a store; `write` takes the writer's lock for as long as it stays open. */
  static async open(path: string, passphrase: Uint8Array, opts: FileStoreOptions & { write?: boolean } = {}): Promise<FileKeyStore> {
    const full = resolve(path);
    const s = new FileKeyStore(full);
    if (opts.write) s.acquireLock();
    try {
      s.load(passphrase);
      s.log = AuditLog.open(resolve(opts.auditPath ?? `${full}.audit`), s.auditAnchor(), 'file', s.auditMac());
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  private acquireLock(): void {
    const lock = `${this.path}.lock`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(lock, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        this.lockPath = lock;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new KeyStoreAccessError(`keystore: cannot create ${lock} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'io');
        let pid = NaN;
        try {
          pid = Number(readFileSync(lock, 'utf8').trim());
        } catch {
          /* vanished meanwhile: retry */
        }
        if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
          throw new KeyStoreAccessError(`keystore: ${basename(this.path)} is being changed by process ${pid}; wait for it to finish (lock ${lock})`, 'busy');
        }
        // The process that held it is gone (crashed or killed): its write either completed or left the old store.
        try {
          unlinkSync(lock);
        } catch {
          /* another process took it over first */
        }
      }
    }
    throw new KeyStoreAccessError(`keystore: could not take the lock ${lock}; try again`, 'busy');
  }

  private load(passphrase: Uint8Array): void {
    let raw: string;
    try {
      raw = readFileSync(this.path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new KeyStoreAccessError(
        code === 'ENOENT' ? `keystore: ${this.path} does not exist (create one with cardsmith keys init --keystore FILE)` : `keystore: cannot read ${this.path} (${code ?? 'error'})`,
        code === 'ENOENT' ? 'missing' : 'io',
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new KeyStoreAccessError(`keystore: ${this.path} is truncated or not a cardsmith key store (not complete JSON); restore it from backup`, 'truncated');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || (parsed as { format?: unknown }).format !== FORMAT) {
      throw new KeyStoreAccessError(`keystore: ${this.path} is not a cardsmith key store`, 'not-a-keystore');
    }
    const version = (parsed as { formatVersion?: unknown }).formatVersion;
    if (!READS_VERSIONS.includes(version as number)) {
      throw new KeyStoreAccessError(`keystore: ${this.path} has format version ${String(version).slice(0, 20)}; this cardsmith reads versions ${READS_VERSIONS.join(' and ')}`, 'not-a-keystore');
    }
    const body = checkBody(this.path, parsed as Record<string, unknown>, raw);
    const header: Header = { format: body.format, formatVersion: body.formatVersion, kdf: body.kdf, check: body.check, cipher: body.cipher };
    const { key, check } = deriveKeys(passphrase, body.kdf);
    const open = (h: Header): Buffer | undefined => {
      try {
        const d = createDecipheriv(CIPHER, key, Buffer.from(body.iv, 'base64'), { authTagLength: 16 });
        d.setAAD(aad(h));
        d.setAuthTag(Buffer.from(body.tag, 'base64'));
        return Buffer.concat([d.update(Buffer.from(body.ciphertext, 'base64')), d.final()]);
      } catch {
        return undefined;
      }
    };
    if (!timingSafeEqual(Buffer.from(check), Buffer.from(body.check))) {
      // The right passphrase opens the contents with the check it gives: then `check` was edited.
      const opened = open({ ...header, check });
      opened?.fill(0);
      key.fill(0);
      if (opened) throw new KeyStoreAccessError(`keystore: ${this.path} has been tampered with or damaged (field 'check' was changed; the passphrase is right); restore it from backup`, 'tampered');
      throw new KeyStoreAccessError(`keystore: wrong passphrase for ${this.path} (nothing was changed; if the passphrase is right, the file's kdf fields were changed: restore it from backup)`, 'wrong-passphrase');
    }
    const plain = open(header);
    if (!plain) {
      key.fill(0);
      throw new KeyStoreAccessError(`keystore: ${this.path} has been tampered with or damaged (authentication failed; the passphrase is right); restore it from backup`, 'tampered');
    }
    try {
      const n = plain.readUInt32BE(0);
      const idx = JSON.parse(plain.subarray(4, 4 + n).toString('utf8')) as StoreIndex & { keys: IndexEntryFile[] };
      const blob = plain.subarray(4 + n);
      for (const k of idx.keys) {
        this.values.set(`${k.label}#${k.version}`, new Uint8Array(blob.subarray(k.value.offset, k.value.offset + k.value.length)));
        delete (k as Partial<IndexEntryFile>).value;
      }
      this.index = idx;
    } finally {
      plain.fill(0);
    }
    this.key = key;
    // A version 1 store is written back as version 2 (same layout; see the file header).
    this.header = { ...header, formatVersion: FORMAT_VERSION };
  }

  protected async persist(): Promise<void> {
    if (!this.key) throw new KeyStoreAccessError('keystore: the store is closed', 'io');
    const parts: Uint8Array[] = [];
    let offset = 0;
    const keys: IndexEntryFile[] = this.index.keys.map((k) => {
      const v = this.values.get(`${k.label}#${k.version}`)!;
      parts.push(v);
      const e = { ...k, value: { offset, length: v.length } };
      offset += v.length;
      return e;
    });
    const json = Buffer.from(JSON.stringify({ ...this.index, keys }));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(json.length);
    const plain = Buffer.from(concat(len, json, ...parts));
    const iv = randomBytes(12);
    const c = createCipheriv(CIPHER, this.key, iv);
    c.setAAD(aad(this.header));
    const ciphertext = Buffer.concat([c.update(plain), c.final()]);
    plain.fill(0);
    const body: FileBody = { ...this.header, iv: iv.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: c.getAuthTag().toString('base64') };
    this.atomicWrite(fileText(body));
  }

  private atomicWrite(text: string): void {
    const dir = dirname(this.path);
    const prefix = `.${basename(this.path)}.tmp-`;
    // Temp files of writers that were killed before their rename (we hold the lock: none is live).
    for (const f of readdirSync(dir)) if (f.startsWith(prefix)) unlinkSync(join(dir, f));
    const tmp = join(dir, `${prefix}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      // Test hook for the crash test (test/keys/crash.test.ts): announce, then pause between the
      // complete temp file and the rename so that the test can SIGKILL the process right there.
      const hook = process.env.CARDSMITH_TEST_PAUSE_BEFORE_RENAME;
      if (hook) {
        writeFileSync(hook, String(process.pid));
        sleepSync(30_000);
      }
      renameSync(tmp, this.path);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        /* not created */
      }
      throw new KeyStoreAccessError(`keystore: cannot write ${this.path} (${(e as NodeJS.ErrnoException).code ?? 'error'}); the previous store is unchanged`, 'io');
    }
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  async close(): Promise<void> {
    for (const v of this.values.values()) wipe(v);
    this.values.clear();
    this.key?.fill(0);
    this.key = undefined;
    if (this.lockPath) {
      try {
        unlinkSync(this.lockPath);
      } catch {
        /* already gone */
      }
      this.lockPath = undefined;
    }
  }

  // ---- backend primitives -----------------------------------------------------------------------

  private value(info: KeyInfo): Uint8Array {
    const v = this.values.get(`${info.label}#${info.version}`);
    if (!v) throw new KeyStoreAccessError('keystore: the store is closed', 'io');
    return v;
  }

  protected async createKey(info: KeyInfo, value: Uint8Array | undefined): Promise<{ kcv: string; publicKey?: string }> {
    const v = value ? value.slice() : randomKey(info.alg, info.length);
    this.values.set(`${info.label}#${info.version}`, v);
    return { kcv: keyKcv(info.alg, v), ...(info.alg === 'sm2' ? { publicKey: toHex(sm2PublicKey(v)) } : {}) };
  }

  protected async dropKey(info: KeyInfo): Promise<void> {
    const k = `${info.label}#${info.version}`;
    const v = this.values.get(k);
    if (v) wipe(v);
    this.values.delete(k);
  }

  protected async extractValue(info: KeyInfo): Promise<Uint8Array> {
    return this.value(info).slice();
  }

  protected async retireKey(): Promise<void> {
    /* the state in the index is what refuses further use */
  }

  protected async opDerive(info: KeyInfo, requests: readonly DeriveRequest[], alg: CardKey['alg']): Promise<CardKey[]> {
    return softwareDerive(info, this.value(info), requests, alg);
  }

  protected async opCipher(info: KeyInfo, direction: 'encrypt' | 'decrypt', data: Uint8Array, mode: 'ecb' | 'cbc', iv: Uint8Array | undefined): Promise<Uint8Array> {
    if (info.alg === 'sm2') throw new KeyUsageError('keys: SM2 keys do not encrypt here');
    return crypt(info.alg, mode, direction, this.value(info), data, iv);
  }

  protected async opMac(info: KeyInfo, data: Uint8Array): Promise<Uint8Array> {
    return softwareMac(info, this.value(info), data);
  }

  protected async opGcm(info: KeyInfo, direction: 'encrypt' | 'decrypt', iv: Uint8Array, data: Uint8Array, aadBytes: Uint8Array): Promise<Uint8Array> {
    return softwareGcm(this.value(info), direction, iv, data, aadBytes);
  }

  /** Copies of the values of `refs` for worker threads of this process (./lent.ts), when all are exportable. */
  override async lend(refs: readonly KeyRef[]): Promise<LentKey[] | undefined> {
    const infos = await Promise.all(refs.map((r) => this.info(r)));
    if (infos.some((i) => !i.exportable)) return undefined;
    return infos.map((info) => ({ info: { ...info }, value: this.value(info).slice() }));
  }

  protected async opSign(info: KeyInfo, message: Uint8Array, opts: SignOptions): Promise<Uint8Array> {
    return sm2Sign(this.value(info), message, opts.id ? { id: opts.id } : {});
  }
}
