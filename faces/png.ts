// PNG (ISO/IEC 15948, RFC 2083) encoding and decoding with node:zlib only, for card faces: 8-bit
// RGB or grayscale, no interlace. The encoder writes filter type 0 on every row and deflates at
// level 9, so the same pixels give the same bytes (for a given zlib: Node's is bundled). The
// decoder reads every standard PNG: colour types 0/2/3/4/6 at each bit depth the type allows,
// the five row filters, Adam7 interlace, tRNS transparency; 16-bit samples are scaled to 8 bits.
// Its inflation is bounded by the size IHDR calls for, so a PNG bomb fails before it allocates.
// Latin-1 tEXt chunks can be written before the image data (card faces carry a flag there) and
// read back from the file's first bytes alone (readPngText). JPEG photos are jpeg.ts's job.
import { crc32, deflateSync, inflateSync } from 'node:zlib';
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

/** An RGBA raster, 4 bytes per pixel (straight alpha), rows top to bottom. */
export type RgbaImage = RgbImage;

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Decoding refuses images of more pixels (the RGB result alone is 192 MiB). */
export const MAX_PNG_PIXELS = 64 * 1024 * 1024;

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
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
  return concatAll([SIGNATURE, chunk('IHDR', ihdr), ...texts, chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
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
    if (type === 'tEXt' && crc32(bytes.subarray(o + 4, o + 8 + len)) === view.getUint32(o + 8 + len)) {
      const data = bytes.subarray(o + 8, o + 8 + len);
      const nul = data.indexOf(0);
      if (nul > 0) out[Buffer.from(data.subarray(0, nul)).toString('latin1')] = Buffer.from(data.subarray(nul + 1)).toString('latin1');
    }
    o += 12 + len;
  }
  return out;
}

/** Decodes a PNG to RGB (alpha and tRNS composited on white, palettes expanded). */
export function decodePng(bytes: Uint8Array): RgbImage {
  return decode(bytes, false);
}

/** Decodes a PNG to 8-bit RGBA (palettes expanded, tRNS as alpha 0). */
export function decodePngRgba(bytes: Uint8Array): RgbaImage {
  return decode(bytes, true);
}

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Readonly<Record<number, readonly number[]>> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** Adam7 passes (PNG §8.2): first column, first row, column step, row step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  /** Pixels per row and rows of this (sub-)image. */
  width: number;
  height: number;
  stride: number;
}

function decode(bytes: Uint8Array, alpha: boolean): RgbImage {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8 || !SIGNATURE.every((b, i) => bytes[i] === b)) throw new PngError('png: not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8;
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (;;) {
    if (o + 12 > bytes.length) throw new PngError('png: truncated (no IEND chunk)');
    const len = view.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (o + 12 + len > bytes.length) throw new PngError(`png: chunk ${type} runs past the end of the file`);
    if (crc32(bytes.subarray(o + 4, o + 8 + len)) !== view.getUint32(o + 8 + len)) throw new PngError(`png: chunk ${type}: CRC mismatch`);
    const data = bytes.subarray(o + 8, o + 8 + len);
    o += 12 + len;
    if (type === 'IHDR') header = readHeader(data);
    else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
  }
  if (!header) throw new PngError('png: no IHDR chunk');
  const { width, height, depth, colorType } = header;
  if (colorType === 3 && !palette) throw new PngError('png: palette image without PLTE');
  const bitsPerPixel = CHANNELS[colorType]! * depth;
  const passes = layout(header, bitsPerPixel);
  const expected = passes.reduce((n, p) => n + (p.stride + 1) * p.height, 0);
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(inflateSync(concatAll(idat), { maxOutputLength: expected }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PngError(`png: the image data inflates to more than the ${expected} bytes a ${width} × ${height} image needs (corrupt file or PNG bomb)`);
    }
    throw new PngError(`png: corrupt image data (${e instanceof Error ? e.message : String(e)})`);
  }
  if (raw.length < expected) throw new PngError('png: image data too short');
  const pixel = pixelReader(header, palette, trns);
  const channels = alpha ? 4 : 3;
  const out = new Uint8Array(width * height * channels);
  const rgba = new Uint8Array(4);
  let at = 0;
  for (const p of passes) {
    unfilter(raw, at, p, Math.max(1, bitsPerPixel >> 3));
    for (let y = 0; y < p.height; y++) {
      const row = raw.subarray(at + y * (p.stride + 1) + 1, at + (y + 1) * (p.stride + 1));
      for (let x = 0; x < p.width; x++) {
        pixel(row, x, rgba);
        const i = ((p.y0 + y * p.dy) * width + p.x0 + x * p.dx) * channels;
        if (alpha) out.set(rgba, i);
        else if (rgba[3] === 255) {
          out[i] = rgba[0]!;
          out[i + 1] = rgba[1]!;
          out[i + 2] = rgba[2]!;
        }
        else for (let c = 0; c < 3; c++) out[i + c] = blend(rgba[c]!, rgba[3]!);
      }
    }
    at += (p.stride + 1) * p.height;
  }
  return { width, height, data: out };
}

function readHeader(data: Uint8Array): Header {
  if (data.length !== 13) throw new PngError(`png: IHDR is ${data.length} bytes, not 13`);
  const h = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const header = { width: h.getUint32(0), height: h.getUint32(4), depth: data[8]!, colorType: data[9]!, interlaced: data[12] === 1 };
  const { width, height, depth, colorType } = header;
  if (data[10] !== 0 || data[11] !== 0 || data[12]! > 1) throw new PngError('png: unknown compression, filter or interlace method');
  const depths = DEPTHS[colorType];
  if (!depths) throw new PngError(`png: unknown color type ${colorType}`);
  if (!depths.includes(depth)) throw new PngError(`png: bit depth ${depth} is not allowed for color type ${colorType} (allowed: ${depths.join(', ')})`);
  if (width === 0 || height === 0) throw new PngError('png: the image has no pixels');
  if (width * height > MAX_PNG_PIXELS) throw new PngError(`png: image too large (${width} × ${height}; at most ${MAX_PNG_PIXELS} pixels)`);
  return header;
}

/** The sub-images the data holds in order: one, or Adam7's seven (empty ones left out). */
function layout(h: Header, bitsPerPixel: number): Pass[] {
  const steps = h.interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  return steps
    .map(([x0, y0, dx, dy]) => {
      const width = Math.ceil((h.width - x0) / dx);
      return { x0, y0, dx, dy, width, height: Math.ceil((h.height - y0) / dy), stride: Math.ceil((width * bitsPerPixel) / 8) };
    })
    .filter((p) => p.width > 0 && p.height > 0);
}

/** Undoes the row filters of one sub-image in place (PNG §9.2); `bpp`: bytes per complete pixel. */
function unfilter(raw: Uint8Array, at: number, p: Pass, bpp: number): void {
  for (let y = 0; y < p.height; y++) {
    const start = at + y * (p.stride + 1);
    const filter = raw[start]!;
    const cur = raw.subarray(start + 1, start + 1 + p.stride);
    const prev = y > 0 ? raw.subarray(start - p.stride, start) : new Uint8Array(p.stride);
    for (let i = 0; i < p.stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let q: number;
      switch (filter) {
        case 0: q = 0; break;
        case 1: q = a; break;
        case 2: q = b; break;
        case 3: q = (a + b) >> 1; break;
        case 4: {
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          q = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new PngError(`png: unknown row filter ${filter} in row ${y}`);
      }
      cur[i] = (cur[i]! + q) & 0xff;
    }
  }
}

/** Reads pixel x of an unfiltered row as 8-bit RGBA (PNG §13.12 scaling; tRNS §11.3.2.1). */
function pixelReader(h: Header, palette: Uint8Array | undefined, trns: Uint8Array | undefined): (row: Uint8Array, x: number, rgba: Uint8Array) => void {
  const { depth, colorType } = h;
  const max = (1 << depth) - 1;
  const sample = depth === 16 ? (row: Uint8Array, i: number) => (row[2 * i]! << 8) | row[2 * i + 1]! : depth === 8 ? (row: Uint8Array, i: number) => row[i]! : (row: Uint8Array, i: number) => (row[(i * depth) >> 3]! >> (8 - depth - ((i * depth) & 7))) & max;
  const to8 = (v: number) => (depth === 8 ? v : Math.round((v * 255) / max));
  // a gray or RGB tRNS names one colour, in the image's sample depth, that is transparent
  const key = trns && (colorType === 0 || colorType === 2) && trns.length >= 2 * CHANNELS[colorType]! ? Array.from({ length: CHANNELS[colorType]! }, (_, k) => (trns[2 * k]! << 8) | trns[2 * k + 1]!) : undefined;
  switch (colorType) {
    case 0:
      return (row, x, rgba) => {
        const v = sample(row, x);
        rgba.fill(to8(v), 0, 3);
        rgba[3] = key && v === key[0] ? 0 : 255;
      };
    case 2:
      return (row, x, rgba) => {
        const r = sample(row, 3 * x);
        const g = sample(row, 3 * x + 1);
        const b = sample(row, 3 * x + 2);
        rgba[0] = to8(r);
        rgba[1] = to8(g);
        rgba[2] = to8(b);
        rgba[3] = key && r === key[0] && g === key[1] && b === key[2] ? 0 : 255;
      };
    case 3:
      return (row, x, rgba) => {
        const v = sample(row, x);
        for (let c = 0; c < 3; c++) rgba[c] = palette![v * 3 + c] ?? 0;
        rgba[3] = trns?.[v] ?? 255;
      };
    case 4:
      return (row, x, rgba) => {
        rgba.fill(to8(sample(row, 2 * x)), 0, 3);
        rgba[3] = to8(sample(row, 2 * x + 1));
      };
    default:
      return (row, x, rgba) => {
        for (let c = 0; c < 4; c++) rgba[c] = to8(sample(row, 4 * x + c));
      };
  }
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
