// Photos for card faces: decode by magic bytes (PNG with png.ts, JPEG with jpeg.ts), and scale
// into a box. Scaling is separable and deterministic: each axis shrinks by area averaging (every
// source pixel contributes by the fraction of it under the target pixel) and grows by linear
// interpolation between pixel centres; both in double precision, rounded once at the end.
import { decodeJpeg, isJpeg, JpegError } from './jpeg.js';
import { decodePng, PngError, type RgbImage } from './png.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export class ImageError extends CardsmithError {
  override name = 'ImageError';
  readonly kind: ErrorKind = 'input';
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export type ImageFormat = 'png' | 'jpeg';

export function imageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (isJpeg(bytes)) return 'jpeg';
  return undefined;
}

/** Decodes a PNG or JPEG (told apart by their first bytes) to RGB. Throws ImageError. */
export function decodeImage(bytes: Uint8Array): RgbImage & { format: ImageFormat } {
  const format = imageFormat(bytes);
  if (!format) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ImageError(`not a PNG or JPEG file (it starts with ${head || 'nothing'})`);
  }
  try {
    return { ...(format === 'png' ? decodePng(bytes) : decodeJpeg(bytes)), format };
  } catch (e) {
    if (e instanceof PngError || e instanceof JpegError) throw new ImageError(e.message);
    throw e;
  }
}

/** Per target index: the source indices and weights (summing to 1) of one axis. */
function axisWeights(src: number, dst: number): { index: Int32Array; weight: Float64Array; start: Int32Array } {
  const index: number[] = [];
  const weight: number[] = [];
  const start = new Int32Array(dst + 1);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    start[d] = index.length;
    if (scale >= 1) {
      // Area: the target pixel covers source [a, b).
      const a = d * scale;
      const b = (d + 1) * scale;
      for (let s = Math.floor(a); s < Math.min(src, Math.ceil(b)); s++) {
        const w = Math.min(b, s + 1) - Math.max(a, s);
        if (w > 0) {
          index.push(s);
          weight.push(w / scale);
        }
      }
    } else {
      // Linear: between the two source pixel centres around the target centre.
      const c = Math.min(src - 1, Math.max(0, (d + 0.5) * scale - 0.5));
      const s0 = Math.floor(c);
      const s1 = Math.min(src - 1, s0 + 1);
      const f = c - s0;
      index.push(s0);
      weight.push(1 - f);
      if (s1 !== s0 && f > 0) {
        index.push(s1);
        weight.push(f);
      }
    }
  }
  start[dst] = index.length;
  return { index: Int32Array.from(index), weight: Float64Array.from(weight), start };
}

/** Scales `img` to w × h (area average when shrinking, linear when growing, per axis). */
export function resample(img: RgbImage, w: number, h: number): RgbImage {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`resample: size must be positive integers, got ${w} × ${h}`);
  if (img.width === w && img.height === h) return img;
  const xs = axisWeights(img.width, w);
  const ys = axisWeights(img.height, h);
  // Horizontal pass into doubles, then vertical.
  const mid = new Float64Array(w * img.height * 3);
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width * 3;
    for (let x = 0; x < w; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = xs.start[x]!; k < xs.start[x + 1]!; k++) {
        const o = row + xs.index[k]! * 3;
        const wt = xs.weight[k]!;
        r += img.data[o]! * wt;
        g += img.data[o + 1]! * wt;
        b += img.data[o + 2]! * wt;
      }
      const m = (y * w + x) * 3;
      mid[m] = r;
      mid[m + 1] = g;
      mid[m + 2] = b;
    }
  }
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = ys.start[y]!; k < ys.start[y + 1]!; k++) {
        const m = (ys.index[k]! * w + x) * 3;
        const wt = ys.weight[k]!;
        r += mid[m]! * wt;
        g += mid[m + 1]! * wt;
        b += mid[m + 2]! * wt;
      }
      const o = (y * w + x) * 3;
      out[o] = clamp8(r);
      out[o + 1] = clamp8(g);
      out[o + 2] = clamp8(b);
    }
  }
  return { width: w, height: h, data: out };
}

function clamp8(v: number): number {
  const r = Math.round(v);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/**
 * The photo for a w × h box: the largest centred crop with the box's proportions (a photo of
 * other proportions is trimmed, never distorted), scaled with `resample`.
 */
export function fitCover(img: RgbImage, w: number, h: number): RgbImage {
  // Crop in whole source pixels: compare w/h with width/height without rounding drift.
  let cw = img.width;
  let ch = img.height;
  if (img.width * h > w * img.height) cw = Math.max(1, Math.round((img.height * w) / h));
  else if (img.width * h < w * img.height) ch = Math.max(1, Math.round((img.width * h) / w));
  const cx = Math.floor((img.width - cw) / 2);
  const cy = Math.floor((img.height - ch) / 2);
  let src = img;
  if (cw !== img.width || ch !== img.height) {
    const data = new Uint8Array(cw * ch * 3);
    for (let y = 0; y < ch; y++) data.set(img.data.subarray(((cy + y) * img.width + cx) * 3, ((cy + y) * img.width + cx + cw) * 3), y * cw * 3);
    src = { width: cw, height: ch, data };
  }
  return resample(src, w, h);
}
