// PNG (ISO/IEC 15948, RFC 2083) encoding and decoding with node:zlib only, for card faces: 8-bit
// RGB or grayscale, no interlace. The encoder writes filter type 0 on every row and deflates at
// level 9, so the same pixels give the same bytes (for a given zlib: Node's is bundled). The
// decoder reads what PNG encoders commonly write (color types 0, 2, 6 at bit depth 8; types 0 and
// 3 at depths 1/2/4/8; all five row filters) — enough for cardholder photos and our own output.
// Latin-1 tEXt chunks can be written before the image data (card faces carry a flag there) and
// read back from the file's first bytes alone (readPngText). JPEG photos are jpeg.ts's job.
import { deflateSync, inflateSync } from 'node:zlib';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export class PngError extends CardsmithError {
  override name = 'PngError';
  readonly kind: ErrorKind = 'input';
}

/** An RGB raster, 3 bytes per pixel, rows top to bottom. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

function checkImage(img: RgbImage, channels: number): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1 || img.width > 16384 || img.height > 16384) {
    throw new RangeError(`png: image size must be 1..16384 × 1..16384, got ${img.width} × ${img.height}`);
  }
  if (!(img.data instanceof Uint8Array) || img.data.length !== img.width * img.height * channels) {
    throw new RangeError(`png: expected ${img.width * img.height * channels} bytes of pixels, got ${img.data?.length}`);
  }
}

/** Encodes an RGB raster (or a grayscale one with `gray: true`, 1 byte per pixel); `text`: tEXt chunks (Latin-1). */
export function encodePng(img: RgbImage, options: { gray?: boolean; text?: Record<string, string> } = {}): Uint8Array {
  const channels = options.gray ? 1 : 3;
  checkImage(img, channels);
  const stride = img.width * channels;
  const raw = new Uint8Array((stride + 1) * img.height);
  for (let y = 0; y < img.height; y++) raw.set(img.data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, img.width);
  v.setUint32(4, img.height);
  ihdr[8] = 8;
  ihdr[9] = options.gray ? 0 : 2;
  const idat = new Uint8Array(deflateSync(raw, { level: 9 }));
  const texts = Object.entries(options.text ?? {}).map(([k, v]) => {
    if (!/^[\x20-\x7e]{1,79}$/.test(k) || /^ | $|  /.test(k)) throw new RangeError(`png: bad tEXt keyword ${JSON.stringify(k)}`);
    if (!/^[\x0a\x20-\x7e\xa0-\xff]*$/.test(v)) throw new RangeError(`png: tEXt ${k}: the text must be Latin-1 without control characters`);
    return chunk('tEXt', Uint8Array.from(Buffer.from(`${k}\0${v}`, 'latin1')));
  });
  const parts = [SIGNATURE, chunk('IHDR', ihdr), ...texts, chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The tEXt chunks before the image data, as keyword → text. Reads only the file's head: `bytes`
 * may be its first few hundred bytes. Not a PNG, or a damaged chunk: {}.
 */
export function readPngText(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(bytes instanceof Uint8Array) || bytes.length < 8 || !SIGNATURE.every((b, i) => bytes[i] === b)) return out;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let o = 8; o + 12 <= bytes.length; ) {
    const len = view.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (type === 'IDAT' || type === 'IEND' || o + 12 + len > bytes.length) break;
    if (type === 'tEXt' && crc32(bytes, o + 4, o + 8 + len) === view.getUint32(o + 8 + len)) {
      const data = bytes.subarray(o + 8, o + 8 + len);
      const nul = data.indexOf(0);
      if (nul > 0) out[Buffer.from(data.subarray(0, nul)).toString('latin1')] = Buffer.from(data.subarray(nul + 1)).toString('latin1');
    }
    o += 12 + len;
  }
  return out;
}

/** Decodes a PNG to RGB (alpha composited on white, palettes expanded). */
export function decodePng(bytes: Uint8Array): RgbImage {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8 || !SIGNATURE.every((b, i) => bytes[i] === b)) throw new PngError('png: not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (;;) {
    if (o + 12 > bytes.length) throw new PngError('png: truncated (no IEND chunk)');
    const len = view.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (o + 12 + len > bytes.length) throw new PngError(`png: chunk ${type} runs past the end of the file`);
    if (crc32(bytes, o + 4, o + 8 + len) !== view.getUint32(o + 8 + len)) throw new PngError(`png: chunk ${type}: CRC mismatch`);
    const data = bytes.subarray(o + 8, o + 8 + len);
    o += 12 + len;
    if (type === 'IHDR') {
      const h = new DataView(data.buffer, data.byteOffset, data.byteLength);
      width = h.getUint32(0);
      height = h.getUint32(4);
      depth = data[8]!;
      colorType = data[9]!;
      if (data[10] !== 0 || data[11] !== 0) throw new PngError('png: unknown compression or filter method');
      if (data[12] !== 0) throw new PngError('png: interlaced images are not supported; save the photo without interlacing');
    } else if (type === 'PLTE') palette = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
  }
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  if (channels === undefined || width === 0 || height === 0) throw new PngError(`png: unsupported or missing IHDR (color type ${colorType})`);
  if ((colorType === 2 || colorType === 4 || colorType === 6) && depth !== 8) throw new PngError(`png: color type ${colorType} at bit depth ${depth} is not supported (use 8)`);
  if ((colorType === 0 || colorType === 3) && ![1, 2, 4, 8].includes(depth)) throw new PngError(`png: bit depth ${depth} is not supported`);
  if (colorType === 3 && !palette) throw new PngError('png: palette image without PLTE');
  if (width * height > 64 * 1024 * 1024) throw new PngError('png: image too large');
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(inflateSync(concatAll(idat)));
  } catch (e) {
    throw new PngError(`png: corrupt image data (${e instanceof Error ? e.message : String(e)})`);
  }
  const bitsPerPixel = channels * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  if (raw.length < (stride + 1) * height) throw new PngError('png: image data too short');
  const rows = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = rows.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? rows.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let p: number;
      switch (filter) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new PngError(`png: unknown row filter ${filter} in row ${y}`);
      }
      cur[i] = (src[i]! + p) & 0xff;
    }
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = rows.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < width; x++) {
      let r: number, g: number, b: number;
      if (depth < 8) {
        const bit = x * depth;
        const v = (row[bit >> 3]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
        if (colorType === 3) [r, g, b] = [palette![v * 3] ?? 0, palette![v * 3 + 1] ?? 0, palette![v * 3 + 2] ?? 0];
        else r = g = b = Math.round((v * 255) / ((1 << depth) - 1));
      } else if (colorType === 0) r = g = b = row[x]!;
      else if (colorType === 3) [r, g, b] = [palette![row[x]! * 3] ?? 0, palette![row[x]! * 3 + 1] ?? 0, palette![row[x]! * 3 + 2] ?? 0];
      else if (colorType === 4) r = g = b = blend(row[x * 2]!, row[x * 2 + 1]!);
      else if (colorType === 2) [r, g, b] = [row[x * 3]!, row[x * 3 + 1]!, row[x * 3 + 2]!];
      else {
        const al = row[x * 4 + 3]!;
        [r, g, b] = [blend(row[x * 4]!, al), blend(row[x * 4 + 1]!, al), blend(row[x * 4 + 2]!, al)];
      }
      out[(y * width + x) * 3] = r;
      out[(y * width + x) * 3 + 1] = g;
      out[(y * width + x) * 3 + 2] = b;
    }
  }
  return { width, height, data: out };
}

/** Composites a channel value over white. */
function blend(v: number, alpha: number): number {
  return Math.round((v * alpha + 255 * (255 - alpha)) / 255);
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
