// (interim: replaced by the pack module)
import { closeSync, openSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
export const BLOBS_FILE = 'blobs.pack';
export interface BlobRef { blob: string; at: number; size: number }
export interface BlobSlice extends BlobRef { from?: number; length?: number }
export class BlobPackWriter {
  #fd: number; size = 0; count = 0; #seen = new Map<string, BlobRef>();
  private constructor(fd: number) { this.#fd = fd; }
  static create(path: string): BlobPackWriter { return new BlobPackWriter(openSync(path, 'wx', 0o600)); }
  add(bytes: Uint8Array, sha256Hex?: string): BlobRef {
    const blob = sha256Hex ?? createHash('sha256').update(bytes).digest('hex');
    const hit = this.#seen.get(blob); if (hit) return hit;
    const ref = { blob, at: this.size, size: bytes.length };
    writeSync(this.#fd, bytes); this.size += bytes.length; this.count++;
    this.#seen.set(blob, ref); if (this.#seen.size > 4096) this.#seen.delete(this.#seen.keys().next().value!);
    return ref;
  }
  close() { closeSync(this.#fd); return { size: this.size, count: this.count }; }
}
