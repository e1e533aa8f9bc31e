// The batch's big data, once: DIR/blobs.pack holds every photo (or any data over a few hundred
// bytes) of a batch one after the other, each written once by content hash, and card scripts
// name a blob by its SHA-256, offset and size (BlobRef) instead of carrying its bytes in hex.
//
// Integrity: the manifest (MAC) lists blobs.pack with its size, and sealed.ts checks that size at
// load; the bytes are checked when read — each blob's SHA-256 against the hash the script names,
// and the script line naming it is itself sealed by cards.sha256 and the manifest's MAC. An
// edited byte is found by the read that uses it (a whole-pack digest would mean hashing
// gigabytes before the first card).
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchManifest, CardScript, RunPart } from './script.js';
import { BatchInputError, BLOBS_FILE } from './sealed.js';

export { BLOBS_FILE } from './sealed.js';

/** A blob of blobs.pack: its SHA-256 (64 lowercase hex digits), offset and size. */
export interface BlobRef {
  blob: string;
  at: number;
  size: number;
}

/** Bytes [from, from + length) of a blob (defaults: the whole blob). */
export interface BlobSlice extends BlobRef {
  from?: number;
  length?: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Hashes the writer remembers: a photo shared by the cards near each other is written once, memory stays flat. */
const WRITER_RECENT = 4096;
/** Verified blobs the reader keeps: one photo serves several UPDATE BINARY chunks, the read-back and the face. */
const READER_RECENT = 16;

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Appends blobs to a new blobs.pack, synchronously (prep's main thread needs no await per card). */
export class BlobPackWriter {
  #fd: number | undefined;
  #size = 0;
  #count = 0;
  readonly #recent = new Map<string, BlobRef>();

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** A new pack file at `path` (refused when one exists), readable by its owner only. */
  static create(path: string): BlobPackWriter {
    return new BlobPackWriter(openSync(path, 'wx', 0o600));
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Blobs written so far (repeats not counted). */
  get count(): number {
    return this.#count;
  }

  /** Appends `bytes` (SHA-256 `sha256Hex` when the caller has it) unless the same blob was added recently: then the earlier ref. */
  add(bytes: Uint8Array, sha256?: string): BlobRef {
    if (this.#fd === undefined) throw new Error('blobs: add after close');
    if (sha256 !== undefined && !SHA256_HEX.test(sha256)) throw new RangeError(`blobs: sha256 must be 64 lowercase hex digits, got ${String(sha256).slice(0, 70)}`);
    const blob = sha256 ?? sha256Hex(bytes);
    const hit = this.#recent.get(blob);
    if (hit && hit.size === bytes.length) {
      this.#recent.delete(blob);
      this.#recent.set(blob, hit);
      return { ...hit };
    }
    for (let off = 0; off < bytes.length; ) off += writeSync(this.#fd, bytes, off, bytes.length - off, this.#size + off);
    const ref: BlobRef = { blob, at: this.#size, size: bytes.length };
    this.#size += bytes.length;
    this.#count++;
    this.#recent.delete(blob);
    this.#recent.set(blob, ref);
    if (this.#recent.size > WRITER_RECENT) this.#recent.delete(this.#recent.keys().next().value!);
    return { ...ref };
  }

  /** Flushes the pack to disk (the manifest that names its size comes after) and closes it. */
  close(): { size: number; count: number } {
    if (this.#fd !== undefined) {
      const fd = this.#fd;
      this.#fd = undefined;
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.#recent.clear();
    }
    return { size: this.#size, count: this.#count };
  }
}

/** A batch's blobs.pack for reading: positional reads, each blob checked against its SHA-256. */
export class BlobPack {
  #fd: number | undefined;
  readonly #verified = new Map<string, Uint8Array>();

  private constructor(
    readonly path: string,
    /** The pack's size as the manifest lists it (sealed.ts checked the file against it). */
    readonly size: number,
  ) {}

  /**
   * The pack of a batch folder; undefined when its manifest lists none. The file is opened at the
   * first read (sealed.ts has checked it is there), so a batch loaded only to be looked at holds
   * no descriptor.
   */
  static open(dir: string, manifest: BatchManifest): BlobPack | undefined {
    const b = manifest.files.blobs;
    return b ? new BlobPack(join(dir, BLOBS_FILE), b.size) : undefined;
  }

  /** The bytes of a slice, a copy of its own (callers wipe what they send). */
  read(s: BlobSlice): Uint8Array {
    const whole = this.#blob(s);
    const from = s.from ?? 0;
    const length = s.length ?? whole.length - from;
    if (!isCount(from) || !isCount(length) || from + length > whole.length) {
      throw new BatchInputError(`${this.path}: the script asks for bytes ${String(s.from ?? 0)}+${String(s.length ?? 'rest')} of the ${whole.length}-byte blob at offset ${s.at}: not inside it`);
    }
    return whole.slice(from, from + length);
  }

  /** Reads and checks a whole blob (kept among the recent ones for the reads that follow); throws as read. */
  verify(r: BlobRef): void {
    this.#blob(r);
  }

  /** Closes the file; a later read opens it again. */
  close(): void {
    this.#verified.clear();
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closeSync(fd);
  }

  #file(): number {
    if (this.#fd !== undefined) return this.#fd;
    try {
      this.#fd = openSync(this.path, 'r');
    } catch (e) {
      throw new BatchInputError(`${this.path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}: it holds the batch's photos and other big data (restore the folder as prep wrote it)`);
    }
    return this.#fd;
  }

  /** The whole blob, read and checked once, then kept among the few most recent. */
  #blob(r: BlobRef): Uint8Array {
    if (typeof r.blob !== 'string' || !SHA256_HEX.test(r.blob) || !isCount(r.at) || !isCount(r.size)) {
      throw new BatchInputError(`${this.path}: a blob reference needs a SHA-256 (64 lowercase hex digits), an offset and a size`);
    }
    const key = `${r.at}:${r.size}:${r.blob}`;
    const hit = this.#verified.get(key);
    if (hit) {
      this.#verified.delete(key);
      this.#verified.set(key, hit);
      return hit;
    }
    if (r.at + r.size > this.size) throw new BatchInputError(`${this.path}: the blob at offset ${r.at} (${r.size} bytes) ends past the pack's ${this.size} bytes`);
    const bytes = new Uint8Array(r.size);
    const fd = this.#file();
    for (let off = 0; off < r.size; ) {
      const n = readSync(fd, bytes, off, r.size - off, r.at + off);
      if (n === 0) throw new BatchInputError(`${this.path}: short read at offset ${r.at + off}: the blob at offset ${r.at} needs ${r.size} bytes (the file was cut short)`);
      off += n;
    }
    const got = sha256Hex(bytes);
    if (got !== r.blob) {
      throw new BatchInputError(`${this.path}: the ${r.size} bytes at offset ${r.at} have SHA-256 ${got.slice(0, 16)}…, the script names ${r.blob.slice(0, 16)}…: the pack was changed after prep; prepare the batch again`);
    }
    this.#verified.set(key, bytes);
    if (this.#verified.size > READER_RECENT) this.#verified.delete(this.#verified.keys().next().value!);
    return bytes;
  }
}

/** The blobs a script names: run-apdu data parts (inside MACs and key levels too), checks' expectBlob, face photos. */
export function scriptBlobs(script: CardScript): BlobRef[] {
  const out: BlobRef[] = [];
  const parts = (list: RunPart[]): void => {
    for (const p of list) {
      if ('blob' in p) out.push(p);
      else if ('mac' in p) {
        parts(p.mac.data);
        for (const l of p.mac.key.levels) parts(l);
      } else if ('key' in p) for (const l of p.key.levels) parts(l);
    }
  };
  for (const list of [script.steps, script.verify]) {
    for (const step of list) {
      if (step.op === 'run-apdu') parts(step.data);
      else if (step.op === 'check' && step.expectBlob) out.push(step.expectBlob);
    }
  }
  for (const f of script.face?.fields ?? []) if (f.blob) out.push(f.blob);
  return out;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
