// The audit log: one JSON object per line, append-only, each entry hash-chained to the one
// before it: hash = H(prev ‖ the entry's canonical JSON without its hash). The first entry names
// the hash (sha256 or sm3). An edit changes a hash; a deletion or reordering breaks `seq` and
// `prev`; and the store keeps the last (seq, hash) it wrote inside its authenticated contents
// (the "anchor"), so dropping the tail, or rewriting the whole chain, is caught too. A key store's
// entries also carry `mac`: HMAC-H of the entry's hash under a key kept inside the store. Anyone
// who can write the file can extend the chain; only cardsmith with the store open can compute the
// MAC, so an entry forged after the anchor is caught as well.
//
// The same implementation serves every audit trail of cardsmith: the key stores (`backend` file
// or pkcs11, anchored in the store) and the personalization runner's per-batch DIR/audit.log
// (`backend` runner, one entry per card event, no anchor: AuditLog.openOrCreate).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { toHex } from '../bytes/index.js';
import { hash } from '../crypto/hash.js';
import { AuditError } from './errors.js';

export type AuditHash = 'sha256' | 'sm3';
const ZERO = '0'.repeat(64);

export interface AuditEntry {
  seq: number;
  time: string;
  op: string;
  backend: string;
  label?: string;
  version?: number;
  alg?: string;
  kcv?: string;
  detail?: Record<string, string | number | boolean>;
  /** Only in entry 1: which hash chains the log. */
  hashAlg?: AuditHash;
  prev: string;
  hash: string;
  /** Key store logs, from entry `AuditMac.from` on: HMAC of `hash` under the store's audit key. */
  mac?: string;
}

export interface AuditAnchor {
  seq: number;
  hash: string;
}

/** The key that authenticates a key store's entries, and the first entry that carries a MAC. */
export interface AuditMac {
  key: Uint8Array;
  from: number;
}

const MAC_LABEL = 'cardsmith-audit-entry\0';
const entryMac = (alg: AuditHash, mac: AuditMac, hash: string): string => createHmac(alg, mac.key).update(MAC_LABEL + hash).digest('hex');

function canonical(e: Omit<AuditEntry, 'hash'>): string {
  // Fixed key order, absent fields left out: the same entry always hashes the same.
  const o: Record<string, unknown> = { seq: e.seq, time: e.time, op: e.op, backend: e.backend };
  if (e.label !== undefined) o.label = e.label;
  if (e.version !== undefined) o.version = e.version;
  if (e.alg !== undefined) o.alg = e.alg;
  if (e.kcv !== undefined) o.kcv = e.kcv;
  if (e.detail !== undefined) o.detail = Object.fromEntries(Object.keys(e.detail).sort().map((k) => [k, e.detail![k]]));
  if (e.hashAlg !== undefined) o.hashAlg = e.hashAlg;
  o.prev = e.prev;
  return JSON.stringify(o);
}

function entryHash(alg: AuditHash, e: Omit<AuditEntry, 'hash'>): string {
  return toHex(hash(alg, new TextEncoder().encode(e.prev + canonical(e))));
}

export interface VerifyResult {
  entries: number;
  hashAlg: AuditHash;
  head: AuditAnchor;
  /** Entries after the store's anchor: written, but the store write that should follow did not happen (an interrupted operation). */
  unconfirmed: number;
  /** The first entry checked against the store's audit key (undefined: none, a store not yet upgraded). */
  authenticatedFrom?: number;
}

/** Reads and checks the whole chain (and the MACs, given the store's key); throws AuditError naming the first bad line. */
export function verifyAuditLog(path: string, anchor?: AuditAnchor, mac?: AuditMac): VerifyResult {
  // Without an anchor (the runner's batch log), only the chain itself is checked: edits, deletions,
  // insertions and reordering anywhere are found; a cut-off tail is not.
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AuditError(`audit: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (text.length > 0 && !text.endsWith('\n')) {
    throw new AuditError(`audit: ${path}: the last line is incomplete (an interrupted write, or the file was cut); the chain cannot be trusted past line ${text.split('\n').length - 1}`);
  }
  const lines = text.split('\n').slice(0, -1);
  let prev = ZERO;
  let alg: AuditHash = 'sha256';
  let anchorSeen = anchor === undefined || anchor.seq === 0;
  for (let i = 0; i < lines.length; i++) {
    const where = `audit: ${path}:${i + 1}`;
    let e: AuditEntry;
    try {
      e = JSON.parse(lines[i]!) as AuditEntry;
    } catch {
      throw new AuditError(`${where}: not a JSON entry (edited or damaged)`);
    }
    if (i === 0) {
      if (e.hashAlg !== 'sha256' && e.hashAlg !== 'sm3') throw new AuditError(`${where}: the first entry must name the chain hash (sha256 or sm3)`);
      alg = e.hashAlg;
    }
    if (e.seq !== i + 1) throw new AuditError(`${where}: entry number ${String(e.seq)} where ${i + 1} was expected (an entry was deleted, inserted or moved)`);
    if (e.prev !== prev) throw new AuditError(`${where}: does not chain to line ${i} (an entry before it was deleted, changed or moved)`);
    const { hash: claimed, mac: claimedMac, ...rest } = e;
    if (entryHash(alg, rest) !== claimed) throw new AuditError(`${where}: the entry was changed after it was written (hash mismatch)`);
    if (mac && e.seq >= mac.from) {
      const want = Buffer.from(entryMac(alg, mac, claimed));
      if (typeof claimedMac !== 'string' || claimedMac.length !== want.length || !timingSafeEqual(want, Buffer.from(claimedMac))) {
        throw new AuditError(
          `${where}: entry ${e.seq} (${String(e.op).slice(0, 40)}) was not written by this key store (its MAC is ${claimedMac === undefined ? 'missing' : 'wrong'}): it was added or rewritten by something else; investigate, then restore the log from backup`,
        );
      }
    }
    if (anchor && e.seq === anchor.seq) {
      if (e.hash !== anchor.hash) throw new AuditError(`${where}: differs from the entry the key store recorded (the log was rewritten)`);
      anchorSeen = true;
    }
    prev = claimed;
  }
  if (!anchorSeen) {
    throw new AuditError(`audit: ${path} has ${lines.length} entries but the key store recorded entry ${anchor!.seq}: entries were removed from the end of the log`);
  }
  return { entries: lines.length, hashAlg: alg, head: { seq: lines.length, hash: prev }, unconfirmed: anchor ? lines.length - anchor.seq : 0, ...(mac ? { authenticatedFrom: mac.from } : {}) };
}

/** Appends entries; verifies the chain once when opened so that it never extends a broken one. */
export class AuditLog {
  private head: AuditAnchor;
  private alg: AuditHash;
  private mac: AuditMac | undefined;

  private constructor(readonly path: string, head: AuditAnchor, alg: AuditHash, private readonly backend: string) {
    this.head = head;
    this.alg = alg;
  }

  /** Creates a new log (refuses to overwrite one). */
  static create(path: string, alg: AuditHash, backend: string): AuditLog {
    if (existsSync(path)) throw new AuditError(`audit: ${path} already exists; a new key store needs a new audit log (move the old one away)`);
    return new AuditLog(path, { seq: 0, hash: ZERO }, alg, backend);
  }

  /**
   * An append-only log kept across processes without an external anchor (the runner's batch log):
   * a missing or empty file starts a new chain; an existing one is verified whole first and
   * extended from its last entry, so a broken chain is never extended (AuditError).
   */
  static openOrCreate(path: string, alg: AuditHash, backend: string): AuditLog {
    if (!existsSync(path) || statSync(path).size === 0) return new AuditLog(path, { seq: 0, hash: ZERO }, alg, backend);
    const r = verifyAuditLog(path);
    return new AuditLog(path, r.head, r.hashAlg, backend);
  }

  static open(path: string, anchor: AuditAnchor, backend: string, mac?: AuditMac): AuditLog {
    if (!existsSync(path)) throw new AuditError(`audit: ${path} is missing, but the key store recorded ${anchor.seq} entries in it; restore it from backup`);
    const r = verifyAuditLog(path, anchor, mac);
    const log = new AuditLog(path, r.head, r.hashAlg, backend);
    log.authenticate(mac);
    return log;
  }

  /** From now on, entries numbered `mac.from` and later carry a MAC under `mac.key`. */
  authenticate(mac: AuditMac | undefined): void {
    this.mac = mac;
  }

  get anchor(): AuditAnchor {
    return { ...this.head };
  }

  append(fields: { op: string; label?: string; version?: number; alg?: string; kcv?: string; detail?: Record<string, string | number | boolean> }): AuditAnchor {
    const base: Omit<AuditEntry, 'hash'> = {
      seq: this.head.seq + 1,
      time: new Date().toISOString(),
      op: fields.op,
      backend: this.backend,
      ...(fields.label !== undefined ? { label: fields.label } : {}),
      ...(fields.version !== undefined ? { version: fields.version } : {}),
      ...(fields.alg !== undefined ? { alg: fields.alg } : {}),
      ...(fields.kcv !== undefined ? { kcv: fields.kcv } : {}),
      ...(fields.detail !== undefined ? { detail: fields.detail } : {}),
      ...(this.head.seq === 0 ? { hashAlg: this.alg } : {}),
      prev: this.head.hash,
    };
    const entry = { ...JSON.parse(canonical(base)), hash: entryHash(this.alg, base) } as AuditEntry;
    if (this.mac && entry.seq >= this.mac.from) entry.mac = entryMac(this.alg, this.mac, entry.hash);
    // One write of one whole line with O_APPEND, then fsync: a crash leaves at most an incomplete
    // last line, which verification reports as such.
    const fd = openSync(this.path, 'a', 0o600);
    try {
      writeSync(fd, JSON.stringify(entry) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.head = { seq: entry.seq, hash: entry.hash };
    return this.anchor;
  }
}
