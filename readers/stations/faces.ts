// Card faces: a simple layout (the profile's card face: name in Chinese, photo, card number,
// dates) rendered to an RGB raster and a PNG, and the one-bit black (K) panel an Evolis printer
// takes (Programming Guide A5013 rev. E, "Db" command: 648 × 1016 dots at 300 dpi, 2 levels,
// 8 dots per byte). Text uses font.ts: a small Latin bitmap font and a deterministic block
// placeholder for Chinese characters (see there why). Same layout ⇒ same pixels ⇒ same PNG bytes.
import { decodePng, encodePng, PngError, type RgbImage } from './png.js';
import { isWide, latinGlyph, placeholderGlyph } from './font.js';

export class FaceError extends Error {
  override name = 'FaceError';
}

export interface FaceField {
  kind: 'text' | 'photo';
  /** Top-left corner in pixels. */
  x: number;
  y: number;
  /** Text: line height in pixels. Photo: box height in pixels. */
  size: number;
  /** Text: the characters. Photo: PNG bytes, or a `data:image/png;base64,` URL. */
  value: string | Uint8Array;
  /** Photo box width (default 3/4 of size, a passport photo's proportions). */
  width?: number;
  /** Ink color `#RRGGBB` (text; default black). */
  color?: string;
}

export interface CardLayout {
  /** Pixels; an ID-1 card at 300 dpi is 1016 × 648 (ID1_300DPI). */
  width: number;
  height: number;
  /** `#RRGGBB`, default white. */
  background?: string;
  fields: FaceField[];
}

export interface RenderedFace {
  png: Uint8Array;
  raster: RgbImage;
}

/** ID-1 (85.60 × 53.98 mm) at 300 dpi, as Evolis printers take it. */
export const ID1_300DPI = { width: 1016, height: 648 } as const;

/** The K panel of an Evolis printer: 648 dots per line, 1016 lines, 1 bit per dot (1 = ink). */
export const EVOLIS_PANEL = { dotsPerLine: 648, lines: 1016, bytes: (648 * 1016) / 8 } as const;

export function renderFace(layout: CardLayout): RenderedFace {
  const raster = rasterizeFace(layout);
  return { png: encodePng(raster), raster };
}

export function rasterizeFace(layout: CardLayout): RgbImage {
  checkLayout(layout);
  const { width, height } = layout;
  const img: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  const bg = parseColor(layout.background ?? '#FFFFFF', 'background');
  for (let i = 0; i < width * height; i++) img.data.set(bg, i * 3);
  layout.fields.forEach((f, i) => {
    if (f.kind === 'text') drawText(img, f, i);
    else drawPhoto(img, f, i);
  });
  return img;
}

function checkLayout(layout: CardLayout): void {
  if (typeof layout !== 'object' || layout === null) throw new FaceError('face: layout must be an object { width, height, fields }');
  const { width, height } = layout;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 4096 || height > 4096) {
    throw new FaceError(`face: width and height must be integers 16..4096, got ${String(width)} × ${String(height)}`);
  }
  if (!Array.isArray(layout.fields)) throw new FaceError('face: fields must be an array');
  layout.fields.forEach((f, i) => {
    const where = `face: fields[${i}]`;
    if (f.kind !== 'text' && f.kind !== 'photo') throw new FaceError(`${where}: kind must be text or photo, got ${JSON.stringify(f.kind)}`);
    for (const k of ['x', 'y', 'size'] as const) {
      if (!Number.isInteger(f[k])) throw new FaceError(`${where}: ${k} must be an integer`);
    }
    if (f.x < 0 || f.y < 0 || f.x >= width || f.y >= height) throw new FaceError(`${where}: (${f.x}, ${f.y}) is outside the ${width} × ${height} card`);
    if (f.size < 4 || f.size > height) throw new FaceError(`${where}: size must be 4..${height}, got ${f.size}`);
    if (f.width !== undefined && (!Number.isInteger(f.width) || f.width < 1 || f.width > width)) throw new FaceError(`${where}: width must be 1..${width}`);
    if (f.kind === 'text' && typeof f.value !== 'string') throw new FaceError(`${where}: a text field's value must be a string`);
  });
}

function parseColor(text: string, what: string): Uint8Array {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(text);
  if (!m) throw new FaceError(`face: ${what} must be a color #RRGGBB, got ${JSON.stringify(text)}`);
  return Uint8Array.of(parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16));
}

function plot(img: RgbImage, x: number, y: number, rgb: Uint8Array): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  img.data.set(rgb, (y * img.width + x) * 3);
}

/** Draws `rows` (cells) scaled into a box of w × h pixels at (x, y). */
function blit(img: RgbImage, rows: readonly string[], cellsW: number, cellsH: number, x: number, y: number, w: number, h: number, rgb: Uint8Array): void {
  for (let py = 0; py < h; py++) {
    const row = rows[Math.floor((py * cellsH) / h)];
    if (row === undefined) continue;
    for (let px = 0; px < w; px++) {
      if (row[Math.floor((px * cellsW) / w)] === '#') plot(img, x + px, y + py, rgb);
    }
  }
}

/** Width in pixels of `text` at line height `size`. */
export function textWidth(text: string, size: number): number {
  let w = 0;
  for (const ch of text) w += isWide(ch.codePointAt(0)!) || !latinGlyph(ch) ? Math.round((size * 9) / 8) : Math.round((size * 6) / 8);
  return w;
}

function drawText(img: RgbImage, f: FaceField, _index: number): void {
  const rgb = parseColor(f.color ?? '#000000', 'color');
  const size = f.size;
  let x = f.x;
  for (const ch of f.value as string) {
    const cp = ch.codePointAt(0)!;
    const glyph = isWide(cp) ? undefined : latinGlyph(ch);
    if (glyph) {
      // 5 × 7 glyph in a 6 × 8 cell: one column and one row of spacing.
      const cw = Math.round((size * 6) / 8);
      blit(img, glyph, 6, 8, x, f.y, cw, size, rgb);
      x += cw;
    } else {
      // Placeholder block, size × size, then 1/8 size of spacing.
      blit(img, placeholderGlyph(cp), 8, 8, x, f.y, size, size, rgb);
      x += Math.round((size * 9) / 8);
    }
  }
}

function photoBytes(value: string | Uint8Array, where: string): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value.length === 0 ? undefined : value;
  if (value === '') return undefined;
  const m = /^data:image\/png;base64,([A-Za-z0-9+/=\s]+)$/.exec(value);
  if (!m) throw new FaceError(`${where}: a photo must be PNG bytes or a data:image/png;base64 URL`);
  return new Uint8Array(Buffer.from(m[1]!, 'base64'));
}

function drawPhoto(img: RgbImage, f: FaceField, index: number): void {
  const where = `face: fields[${index}]`;
  const h = f.size;
  const w = f.width ?? Math.round((f.size * 3) / 4);
  const bytes = photoBytes(f.value, where);
  if (!bytes) {
    // No photo in the record: a grey box with a cross, so the gap is visible on the card.
    const grey = Uint8Array.of(0xc8, 0xc8, 0xc8);
    const dark = Uint8Array.of(0x60, 0x60, 0x60);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) plot(img, f.x + x, f.y + y, grey);
    for (let i = 0; i < Math.max(w, h); i++) {
      plot(img, f.x + Math.floor((i * w) / Math.max(w, h)), f.y + Math.floor((i * h) / Math.max(w, h)), dark);
      plot(img, f.x + w - 1 - Math.floor((i * w) / Math.max(w, h)), f.y + Math.floor((i * h) / Math.max(w, h)), dark);
    }
    return;
  }
  let photo: RgbImage;
  try {
    photo = decodePng(bytes);
  } catch (e) {
    throw new FaceError(`${where}: the photo is not a usable PNG: ${e instanceof PngError ? e.message : String(e)}`);
  }
  // Nearest-neighbour scale into the box (deterministic; faces are not photo retouching).
  for (let y = 0; y < h; y++) {
    const sy = Math.min(photo.height - 1, Math.floor((y * photo.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(photo.width - 1, Math.floor((x * photo.width) / w));
      const o = (sy * photo.width + sx) * 3;
      plot(img, f.x + x, f.y + y, photo.data.subarray(o, o + 3));
    }
  }
}

/** Scales a raster to w × h, nearest neighbour. */
export function scaleRaster(img: RgbImage, w: number, h: number): RgbImage {
  if (img.width === w && img.height === h) return img;
  const out: RgbImage = { width: w, height: h, data: new Uint8Array(w * h * 3) };
  for (let y = 0; y < h; y++) {
    const sy = Math.floor((y * img.height) / h);
    for (let x = 0; x < w; x++) {
      const sx = Math.floor((x * img.width) / w);
      out.data.set(img.data.subarray((sy * img.width + sx) * 3, (sy * img.width + sx) * 3 + 3), (y * w + x) * 3);
    }
  }
  return out;
}

const BAYER4 = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5];

/**
 * The face as an Evolis K (black resin) panel: the card image scaled to 1016 × 648, turned a
 * quarter clockwise so a line runs across the card's short side (648 dots, 81 bytes), 1016 lines,
 * most significant bit first, 1 = ink. With `dither` (default) grey levels become a 4 × 4 ordered
 * (Bayer) dot pattern, so photos keep their shading on a one-colour ribbon; without it, ink where
 * the luminance is below 128. Black text on a light background comes out the same either way.
 */
export function monoPanel(img: RgbImage, options: { dither?: boolean } = {}): Uint8Array {
  const dither = options.dither ?? true;
  const src = scaleRaster(img, ID1_300DPI.width, ID1_300DPI.height);
  const { dotsPerLine, lines } = EVOLIS_PANEL;
  const out = new Uint8Array(EVOLIS_PANEL.bytes);
  for (let line = 0; line < lines; line++) {
    for (let dot = 0; dot < dotsPerLine; dot++) {
      const x = line;
      const y = ID1_300DPI.height - 1 - dot;
      const o = (y * src.width + x) * 3;
      const lum = (src.data[o]! * 299 + src.data[o + 1]! * 587 + src.data[o + 2]! * 114) / 1000;
      const threshold = dither ? (BAYER4[(y & 3) * 4 + (x & 3)]! + 0.5) * 15 : 128; // 7.5..232.5: near-white stays clean
      if (lum < threshold) out[line * (dotsPerLine / 8) + (dot >> 3)]! |= 0x80 >> (dot & 7);
    }
  }
  return out;
}

/** The inverse of monoPanel: a K panel back to a 1016 × 648 black-on-white raster (the simulated printer keeps it as the face). */
export function panelToRaster(panel: Uint8Array): RgbImage {
  if (!(panel instanceof Uint8Array) || panel.length !== EVOLIS_PANEL.bytes) throw new FaceError(`face: a K panel has ${EVOLIS_PANEL.bytes} bytes, got ${panel?.length}`);
  const { width, height } = ID1_300DPI;
  const img: RgbImage = { width, height, data: new Uint8Array(width * height * 3).fill(255) };
  const { dotsPerLine } = EVOLIS_PANEL;
  for (let line = 0; line < EVOLIS_PANEL.lines; line++) {
    for (let dot = 0; dot < dotsPerLine; dot++) {
      if (panel[line * (dotsPerLine / 8) + (dot >> 3)]! & (0x80 >> (dot & 7))) {
        img.data.fill(0, ((height - 1 - dot) * width + line) * 3, ((height - 1 - dot) * width + line) * 3 + 3);
      }
    }
  }
  return img;
}
