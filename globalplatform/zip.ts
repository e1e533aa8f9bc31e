// The part of the ZIP format (PKWARE APPNOTE 6.3, §4.3) that CAP files (JAR archives) use:
// stored and deflated entries, found through the central directory so that data descriptors
// (general purpose bit 3, written by `jar`) need no special case. Inflating and CRC-32 are
// node:zlib's; the container is small enough to read here, which keeps cardsmith free of a zip
// dependency. Inflation is bounded: each entry by the size the directory declares, the archive by
// MAX_INFLATED, so a zip bomb fails before it allocates.
// Not supported, with a clear message: encryption, ZIP64, multi-disk archives, other methods.
import { crc32, inflateRawSync, deflateRawSync } from 'node:zlib';
import { concat } from '../bytes/index.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/** A malformed or unsupported archive; `offset` is where in the file the problem was found. */
export class ZipError extends CardsmithError {
  override name = 'ZipError';
  readonly kind: ErrorKind = 'input';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

/**
 * The most all entries of one archive may hold once inflated. A Java Card package is a few
 * hundred KiB at most (every component's size is a u2); this leaves ample room for manifests.
 */
export const MAX_INFLATED = 16 * 1024 * 1024;

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && u32(bytes, 0) === LOC_SIG;
}

/** Every file entry of the archive (directories skipped), size- and CRC-checked. */
export function readZip(bytes: Uint8Array): ZipEntry[] {
  const n = bytes.length;
  // The end-of-central-directory record is 22 bytes plus a comment of at most 65535.
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 65535); i--) {
    if (u32(bytes, i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError(`not a complete zip archive: no end-of-central-directory record in the last ${Math.min(n, 65557)} bytes (truncated file?)`, n);
  if (u16(bytes, eocd + 4) !== 0 || u16(bytes, eocd + 6) !== 0) throw new ZipError('multi-disk zip archives are not supported', eocd);
  const count = u16(bytes, eocd + 10);
  const cdSize = u32(bytes, eocd + 12);
  const cdOffset = u32(bytes, eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff) throw new ZipError('ZIP64 archives are not supported (a CAP file is far smaller than 4 GiB)', eocd);
  if (cdOffset + cdSize > eocd) throw new ZipError(`the central directory (offset ${cdOffset}, ${cdSize} bytes) runs past its end record at ${eocd} (truncated or corrupt archive)`, cdOffset);
  const out: ZipEntry[] = [];
  let budget = MAX_INFLATED;
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > eocd || u32(bytes, p) !== CEN_SIG) throw new ZipError(`central directory entry ${k + 1} of ${count} at offset ${p} is damaged`, p);
    const flags = u16(bytes, p + 8);
    const method = u16(bytes, p + 10);
    const crc = u32(bytes, p + 16);
    const compressed = u32(bytes, p + 20);
    const size = u32(bytes, p + 24);
    const nameLength = u16(bytes, p + 28);
    const extraLength = u16(bytes, p + 30);
    const commentLength = u16(bytes, p + 32);
    const local = u32(bytes, p + 42);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength));
    p += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    if (flags & 0x0001) throw new ZipError(`entry ${name} is encrypted; CAP files are not`, local);
    if (compressed === 0xffffffff || size === 0xffffffff || local === 0xffffffff) throw new ZipError(`entry ${name} needs ZIP64 (not supported; a CAP file is far smaller than 4 GiB)`, p);
    if (method !== 0 && method !== 8) throw new ZipError(`entry ${name}: compression method ${method} is not supported (only stored and deflated)`, local);
    if (size > budget) throw new ZipError(`entry ${name} declares ${size} bytes, past the ${MAX_INFLATED}-byte limit for all entries of a CAP archive`, p);
    budget -= size;
    if (local + 30 > n || u32(bytes, local) !== LOC_SIG) throw new ZipError(`entry ${name}: no local header at offset ${local} (truncated or corrupt archive)`, local);
    const dataStart = local + 30 + u16(bytes, local + 26) + u16(bytes, local + 28);
    if (dataStart + compressed > n) throw new ZipError(`entry ${name}: its ${compressed} bytes at offset ${dataStart} run past the end of the file (truncated archive)`, dataStart);
    const raw = bytes.subarray(dataStart, dataStart + compressed);
    const data = method === 0 ? Uint8Array.from(raw) : inflateEntry(name, raw, size, dataStart);
    if (data.length !== size) throw new ZipError(`entry ${name}: ${data.length} bytes after inflating, the directory says ${size}`, dataStart);
    if (crc32(data) !== crc) throw new ZipError(`entry ${name}: CRC-32 mismatch (corrupt archive)`, dataStart);
    out.push({ name, data });
  }
  return out;
}

/** Inflates at most `size` bytes (zlib refuses more, so nothing larger is ever allocated). */
function inflateEntry(name: string, raw: Uint8Array, size: number, at: number): Uint8Array {
  try {
    return new Uint8Array(inflateRawSync(raw, { maxOutputLength: Math.max(1, size) }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new ZipError(`entry ${name}: inflates to more than the ${size} bytes the directory declares (corrupt archive or zip bomb)`, at);
    throw new ZipError(`entry ${name}: its deflated data at offset ${at} is corrupt (${(e as Error).message})`, at);
  }
}

function le16(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff);
}

function le32(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

/**
 * A zip archive of the entries, in order. Timestamps are fixed (1980-01-01 00:00) so the same
 * entries always give the same bytes; `deflate` compresses entries that get smaller.
 */
export function writeZip(entries: readonly ZipEntry[], options: { deflate?: boolean } = {}): Uint8Array {
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const DOS_TIME = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const crc = crc32(e.data);
    let method = 0;
    let body = e.data;
    if (options.deflate) {
      const d = new Uint8Array(deflateRawSync(e.data));
      if (d.length < e.data.length) {
        method = 8;
        body = d;
      }
    }
    const common = concat(le16(20), le16(0x0800), le16(method), le16(DOS_TIME), le16(DOS_DATE), le32(crc), le32(body.length), le32(e.data.length), le16(name.length), le16(0));
    const local = concat(le32(LOC_SIG), common, name, body);
    central.push(concat(le32(CEN_SIG), le16(20), common, le16(0), le16(0), le16(0), le32(0), le32(offset), name));
    locals.push(local);
    offset += local.length;
  }
  const cd = concat(...central);
  const end = concat(le32(EOCD_SIG), le16(0), le16(0), le16(entries.length), le16(entries.length), le32(cd.length), le32(offset), le16(0));
  return concat(...locals, cd, end);
}
