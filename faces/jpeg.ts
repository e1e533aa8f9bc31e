// JPEG decoding for cardholder photos: jpeg-js 0.4 (BSD-3-Clause, pure JavaScript, no
// dependencies; baseline and progressive Huffman JPEGs, grayscale, YCbCr and Adobe CMYK/YCCK),
// strict mode (a truncated or corrupt photo is an error, not a grey patch), at most 50 megapixels.
// The result is turned upright by the EXIF orientation tag (phone photos are often stored on their
// side with orientation 6 or 8), which jpeg-js reads but does not apply.
import jpeg from 'jpeg-js';
import type { RgbImage } from './png.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export class JpegError extends CardsmithError {
  override name = 'JpegError';
  readonly kind: ErrorKind = 'input';
}

/** True when the bytes start like a JPEG file (SOI marker, then another marker). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Decodes a JPEG to RGB, upright. Throws JpegError. */
export function decodeJpeg(bytes: Uint8Array): RgbImage {
  if (!(bytes instanceof Uint8Array) || !isJpeg(bytes)) throw new JpegError('jpeg: not a JPEG file (no SOI marker)');
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: 50, maxMemoryUsageInMB: 512 });
  } catch (e) {
    throw new JpegError(`jpeg: cannot decode (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!(img.width > 0) || !(img.height > 0) || img.data.length !== img.width * img.height * 3) throw new JpegError('jpeg: no image in the file');
  return orient({ width: img.width, height: img.height, data: img.data }, exifOrientation(bytes));
}

/** The EXIF orientation (1..8) of a JPEG's APP1 segment, 1 when there is none. */
export function exifOrientation(bytes: Uint8Array): number {
  let o = 2;
  while (o + 4 <= bytes.length && bytes[o] === 0xff) {
    const marker = bytes[o + 1]!;
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      o += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // image data: no more headers
    const len = (bytes[o + 2]! << 8) | bytes[o + 3]!;
    if (len < 2 || o + 2 + len > bytes.length) break;
    const seg = bytes.subarray(o + 4, o + 2 + len);
    if (marker === 0xe1 && seg.length >= 14 && String.fromCharCode(...seg.subarray(0, 6)) === 'Exif\0\0') return tiffOrientation(seg.subarray(6));
    o += 2 + len;
  }
  return 1;
}

function tiffOrientation(t: Uint8Array): number {
  const le = t[0] === 0x49 && t[1] === 0x49;
  if (!le && !(t[0] === 0x4d && t[1] === 0x4d)) return 1;
  const v = new DataView(t.buffer, t.byteOffset, t.byteLength);
  const u16 = (p: number) => v.getUint16(p, le);
  if (t.length < 8 || u16(2) !== 42) return 1;
  const ifd = v.getUint32(4, le);
  if (ifd + 2 > t.length) return 1;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > t.length) break;
    if (u16(e) === 0x0112) {
      const value = u16(e + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/** Applies an EXIF orientation: the stored image becomes the one to show. */
export function orient(img: RgbImage, orientation: number): RgbImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: w, height: h } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(ow * oh * 3);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // (sx, sy): the stored pixel shown at (x, y).
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: [sx, sy] = [w - 1 - x, y]; break;
        case 3: [sx, sy] = [w - 1 - x, h - 1 - y]; break;
        case 4: [sx, sy] = [x, h - 1 - y]; break;
        case 5: [sx, sy] = [y, x]; break;
        case 6: [sx, sy] = [y, h - 1 - x]; break;
        case 7: [sx, sy] = [w - 1 - y, h - 1 - x]; break;
        default: [sx, sy] = [w - 1 - y, x]; break; // 8
      }
      const s = (sy * w + sx) * 3;
      const d = (y * ow + x) * 3;
      out[d] = img.data[s]!;
      out[d + 1] = img.data[s + 1]!;
      out[d + 2] = img.data[s + 2]!;
    }
  }
  return { width: ow, height: oh, data: out };
}
