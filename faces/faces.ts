// Card faces: a simple layout (the profile's card face: name in Chinese, photo, card number,
// dates) rendered to an RGB raster and a PNG, and the one-bit black (K) panel an Evolis printer
// takes (Programming Guide A5013 rev. E, "Db" command: 648 × 1016 dots at 300 dpi, 2 levels,
// 8 dots per byte).
//
// Text is drawn from TrueType/OpenType fonts (text.ts: fontkit parses, our raster.ts fills with
// anti-aliasing); per character the first font that has it, from `options.fonts` or else
// CARDSMITH_FONTS and the well-known system files (truetype.ts). A character no font has falls back
// to font.ts (a 5 × 7 Latin bitmap, or a placeholder block) and the result says so
// (`placeholderGlyphs`, and a tEXt chunk in the PNG that the report reads). Photos are PNG or JPEG
// (told apart by their first bytes; image.ts), cropped to the box's proportions and scaled by area
// averaging. Same layout and fonts ⇒ same pixels ⇒ same PNG bytes.
import { encodePng, type RgbImage } from './png.js';
import { decodeImage, fitCover, ImageError } from './image.js';
import { drawText, measureText } from './text.js';
import { defaultFonts, fontPackageFor, fontStack, type FontStack } from './truetype.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export class FaceError extends CardsmithError {
  override name = 'FaceError';
  readonly kind: ErrorKind = 'input';
  /** Index of the layout field at fault, when one is. */
  readonly field: number | undefined;

  constructor(message: string, options: { field?: number } = {}) {
    super(message);
    this.field = options.field;
  }
}

export interface FaceField {
  kind: 'text' | 'photo';
  /** Top-left corner in pixels. */
  x: number;
  y: number;
  /** Text: em size (line height) in pixels. Photo: box height in pixels. */
  size: number;
  /** Text: the characters. Photo: PNG or JPEG bytes, or a `data:image/png;base64,` / `data:image/jpeg;base64,` URL ('' or no bytes: an empty box). */
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

export interface RenderOptions {
  /**
   * Font files in search order (`path` or `path.ttc#PostScriptName`). Default: CARDSMITH_FONTS,
   * then the well-known system fonts (truetype.ts SYSTEM_FONTS). `[]`: no font, placeholder glyphs.
   */
  fonts?: readonly string[];
}

export interface RenderedFace {
  png: Uint8Array;
  raster: RgbImage;
  /** True when some character was drawn as a placeholder (no font had it): not print-ready. */
  placeholderGlyphs: boolean;
  /** Those characters, unique, in order of appearance. */
  missingGlyphs: string[];
  /** Named fonts that could not be loaded (missing file, not a font). */
  fontProblems: string[];
}

/** PNG tEXt keyword and value marking a face drawn with placeholder glyphs (the report reads them back). */
export const FACE_FLAG_KEYWORD = 'cardsmith-face';
export const PLACEHOLDER_FLAG = 'placeholder-glyphs';

/** ID-1 (85.60 × 53.98 mm) at 300 dpi, as Evolis printers take it. */
export const ID1_300DPI = { width: 1016, height: 648 } as const;

/** The K panel of an Evolis printer: 648 dots per line, 1016 lines, 1 bit per dot (1 = ink). */
export const EVOLIS_PANEL = { dotsPerLine: 648, lines: 1016, bytes: (648 * 1016) / 8 } as const;

export function renderFace(layout: CardLayout, options: RenderOptions = {}): RenderedFace {
  const fonts = fontStack(options.fonts ?? defaultFonts());
  const missing: string[] = [];
  const raster = paint(layout, fonts, missing);
  const flagged = missing.length > 0;
  return {
    png: encodePng(raster, flagged ? { text: { [FACE_FLAG_KEYWORD]: PLACEHOLDER_FLAG } } : {}),
    raster,
    placeholderGlyphs: flagged,
    missingGlyphs: missing,
    fontProblems: [...fonts.problems],
  };
}

export function rasterizeFace(layout: CardLayout, options: RenderOptions = {}): RgbImage {
  return paint(layout, fontStack(options.fonts ?? defaultFonts()), []);
}

function paint(layout: CardLayout, fonts: FontStack, missing: string[]): RgbImage {
  checkLayout(layout);
  const { width, height } = layout;
  const img: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  const bg = parseColor(layout.background ?? '#FFFFFF', 'background');
  for (let i = 0; i < width * height; i++) img.data.set(bg, i * 3);
  layout.fields.forEach((f, i) => {
    if (f.kind === 'text') {
      const r = drawText(img, f.x, f.y, f.size, f.value as string, parseColor(f.color ?? '#000000', `fields[${i}].color`, i), fonts);
      for (const ch of r.missing) if (!missing.includes(ch)) missing.push(ch);
    } else drawPhoto(img, f, i);
  });
  return img;
}

/** The warning to show once when faces have placeholder glyphs: names the font package to install. */
export function placeholderWarning(missing: readonly string[]): string {
  const shown = missing.slice(0, 8).join('');
  return `card faces: no font here has ${shown}${missing.length > 8 ? '…' : ''}; drawn as placeholder glyphs (not print-ready): install ${fontPackageFor(missing)} (apt-get install ${fontPackageFor(missing)}) or name a font in the profile's face.fonts or CARDSMITH_FONTS`;
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
    const fail = (m: string) => new FaceError(`${where}: ${m}`, { field: i });
    if (f.kind !== 'text' && f.kind !== 'photo') throw fail(`kind must be text or photo, got ${JSON.stringify(f.kind)}`);
    for (const k of ['x', 'y', 'size'] as const) {
      if (!Number.isInteger(f[k])) throw fail(`${k} must be an integer`);
    }
    if (f.x < 0 || f.y < 0 || f.x >= width || f.y >= height) throw fail(`(${f.x}, ${f.y}) is outside the ${width} × ${height} card`);
    if (f.size < 4 || f.size > height) throw fail(`size must be 4..${height}, got ${f.size}`);
    if (f.width !== undefined && (!Number.isInteger(f.width) || f.width < 1 || f.width > width)) throw fail(`width must be 1..${width}`);
    if (f.kind === 'text' && typeof f.value !== 'string') throw fail(`a text field's value must be a string`);
  });
}

function parseColor(text: string, what: string, field?: number): Uint8Array {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(text);
  if (!m) throw new FaceError(`face: ${what} must be a color #RRGGBB, got ${JSON.stringify(text)}`, field !== undefined ? { field } : {});
  return Uint8Array.of(parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16));
}

function plot(img: RgbImage, x: number, y: number, rgb: Uint8Array): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  img.data.set(rgb, (y * img.width + x) * 3);
}

/** Width in pixels of `text` at em size `size`, with the fonts renderFace would use. */
export function textWidth(text: string, size: number, options: RenderOptions = {}): number {
  return measureText(text, size, fontStack(options.fonts ?? defaultFonts()));
}

const DATA_URL = /^data:image\/(png|jpeg|jpg);base64,([A-Za-z0-9+/=\s]+)$/;

function photoBytes(value: string | Uint8Array, index: number): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value.length === 0 ? undefined : value;
  if (value === '') return undefined;
  const m = DATA_URL.exec(value);
  if (!m) throw new FaceError(`face: fields[${index}] (photo): a photo must be PNG or JPEG bytes or a data:image/png;base64 / data:image/jpeg;base64 URL`, { field: index });
  return new Uint8Array(Buffer.from(m[2]!, 'base64'));
}

function drawPhoto(img: RgbImage, f: FaceField, index: number): void {
  const h = f.size;
  const w = f.width ?? Math.round((f.size * 3) / 4);
  const bytes = photoBytes(f.value, index);
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
    photo = decodeImage(bytes);
  } catch (e) {
    throw new FaceError(`face: fields[${index}] (photo): the photo is not usable: ${e instanceof ImageError ? e.message : String(e)}`, { field: index });
  }
  // Centred crop to the box's proportions, area-average scaling (image.ts).
  const fitted = fitCover(photo, w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      plot(img, f.x + x, f.y + y, fitted.data.subarray(o, o + 3));
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
