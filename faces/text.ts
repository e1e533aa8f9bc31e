// One line of text on a card face: each character takes the first font of the FontStack that has
// it (truetype.ts); runs of characters in one font are shaped together (advances, kerning), turned
// into outlines scaled to the line's em size, and filled by raster.ts as one shape, then blended
// into the raster with the coverage as alpha. The em square starts at the field's y; the baseline
// is at 88 % of the size (the ideographic em box: CJK glyphs fill [y, y + size), Latin descenders
// reach a little below). Characters no font has are drawn with font.ts — the 5 × 7 Latin bitmap or
// a placeholder block — and returned in `missing` so callers can say the face is not print-ready.
import { isWide, latinGlyph, placeholderGlyph, type GlyphRows } from './font.js';
import type { RgbImage } from './png.js';
import { PathFlattener, rasterizeContours, type Contour } from './raster.js';
import type { FontStack, OutlineCommand, OutlineFont } from './truetype.js';

/** Baseline position below the top of the line, as a fraction of the size. */
export const BASELINE = 0.88;

export interface TextResult {
  /** Pen advance of the whole line, pixels. */
  width: number;
  /** Characters (not whitespace) that no font had, drawn with the bitmap fallback; unique, in order. */
  missing: string[];
}

type Run = { font: OutlineFont; text: string } | { font: undefined; text: string };

function runs(text: string, fonts: FontStack): Run[] {
  const out: Run[] = [];
  for (const ch of text) {
    const font = fonts.fontFor(ch.codePointAt(0)!);
    const last = out[out.length - 1];
    if (last && last.font === font) last.text += ch;
    else out.push(font ? { font, text: ch } : { font: undefined, text: ch });
  }
  return out;
}

/** Fallback cell widths, as the bitmap renderer always had them. */
function fallbackAdvance(ch: string, size: number): number {
  return isWide(ch.codePointAt(0)!) || !latinGlyph(ch) ? Math.round((size * 9) / 8) : Math.round((size * 6) / 8);
}

function addOutline(path: PathFlattener, commands: readonly OutlineCommand[], ox: number, oy: number, scale: number): void {
  // Font units are y-up; the raster is y-down.
  const X = (v: number) => ox + v * scale;
  const Y = (v: number) => oy - v * scale;
  for (const c of commands) {
    const a = c.args;
    switch (c.command) {
      case 'moveTo': path.moveTo(X(a[0]!), Y(a[1]!)); break;
      case 'lineTo': path.lineTo(X(a[0]!), Y(a[1]!)); break;
      case 'quadraticCurveTo': path.quadTo(X(a[0]!), Y(a[1]!), X(a[2]!), Y(a[3]!)); break;
      case 'bezierCurveTo': path.cubicTo(X(a[0]!), Y(a[1]!), X(a[2]!), Y(a[3]!), X(a[4]!), Y(a[5]!)); break;
      case 'closePath': path.close(); break;
    }
  }
  path.close();
}

/** Lays the line out: outline contours (pixels) and bitmap fallback cells; glyphs starting at or beyond `clipX` are measured, not drawn. */
function layout(text: string, x: number, y: number, size: number, fonts: FontStack, clipX = Infinity): { contours: Contour[]; cells: { rows: GlyphRows; cols: number; x: number; w: number }[]; width: number; missing: string[] } {
  const baseline = y + Math.round(size * BASELINE);
  const path = new PathFlattener(0.2);
  const cells: { rows: GlyphRows; cols: number; x: number; w: number }[] = [];
  const missing: string[] = [];
  let pen = x;
  for (const run of runs(text, fonts)) {
    if (run.font) {
      const scale = size / run.font.unitsPerEm;
      for (const g of run.font.shape(run.text)) {
        if (g.commands.length && pen < clipX) addOutline(path, g.commands, pen + g.xOffset * scale, baseline - g.yOffset * scale, scale);
        pen += g.advance * scale;
      }
      continue;
    }
    for (const ch of run.text) {
      const cp = ch.codePointAt(0)!;
      const adv = fallbackAdvance(ch, size);
      const glyph = isWide(cp) ? undefined : latinGlyph(ch);
      const at = Math.round(pen);
      if (at >= clipX) {
        // off the card: nothing to draw
      } else if (glyph) cells.push({ rows: glyph, cols: 6, x: at, w: Math.round((size * 6) / 8) });
      else if (!/\s/u.test(ch)) cells.push({ rows: placeholderGlyph(cp), cols: 8, x: at, w: size });
      if (!/\s/u.test(ch) && !missing.includes(ch)) missing.push(ch);
      pen += adv;
    }
  }
  return { contours: path.finish(), cells, width: pen - x, missing };
}

/** Width in pixels of `text` at em size `size`. */
export function measureText(text: string, size: number, fonts: FontStack): number {
  return Math.round(layout(text, 0, 0, size, fonts).width);
}

/** Draws one line with its em square's top-left at (x, y). */
export function drawText(img: RgbImage, x: number, y: number, size: number, text: string, ink: Uint8Array, fonts: FontStack): TextResult {
  const l = layout(text, x, y, size, fonts, img.width);
  const mask = rasterizeContours(l.contours);
  for (let my = 0; my < mask.height; my++) {
    const py = mask.y + my;
    if (py < 0 || py >= img.height) continue;
    for (let mx = 0; mx < mask.width; mx++) {
      const a = mask.coverage[my * mask.width + mx]!;
      const px = mask.x + mx;
      if (a === 0 || px < 0 || px >= img.width) continue;
      const o = (py * img.width + px) * 3;
      for (let c = 0; c < 3; c++) img.data[o + c] = Math.round(img.data[o + c]! + (ink[c]! - img.data[o + c]!) * a);
    }
  }
  // Bitmap fallback cells: `size` rows of the glyph's 8-row cell.
  for (const cell of l.cells) {
    for (let py = 0; py < size; py++) {
      const row = cell.rows[Math.floor((py * 8) / size)];
      if (row === undefined) continue;
      for (let px = 0; px < cell.w; px++) {
        if (row[Math.floor((px * cell.cols) / cell.w)] !== '#') continue;
        const X = cell.x + px;
        const Y = y + py;
        if (X >= 0 && Y >= 0 && X < img.width && Y < img.height) img.data.set(ink, (Y * img.width + X) * 3);
      }
    }
  }
  return { width: Math.round(l.width), missing: l.missing };
}
