// TrueType / OpenType fonts for card faces: which font files to use, and their glyph outlines.
//
// Parsing is fontkit 2.x (MIT, foliojs). Picked over opentype.js 2.0 because it also opens font
// collections (.ttc: Noto Sans CJK, WenQuanYi and the Windows CJK fonts ship as collections) and
// gives kerned advances from GPOS/kern through `layout()` at no extra cost. fontkit is only asked
// for outlines and advances; drawing them is our own rasteriser (raster.ts), so the pixels do not
// depend on a library's renderer.
//
// Font choice, first match wins per character: the fonts the layout names (a profile's
// `face.fonts`), then CARDSMITH_FONTS (file paths separated by ':' — ';' on Windows), then
// well-known system files (SYSTEM_FONTS). A collection member is picked with `file.ttc#PostScriptName`
// (default: the collection's first font). System candidates that are not installed are skipped
// quietly; a named font that is missing or unreadable is reported in FontStack.problems.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter } from 'node:path';
import type * as Fontkit from 'fontkit';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

// Loaded at the first font (its CommonJS build): importing fontkit takes ~120 ms, which every
// cardsmith command would pay otherwise.
let fontkitModule: typeof Fontkit | undefined;
function fontkit(): typeof Fontkit {
  return (fontkitModule ??= createRequire(import.meta.url)('fontkit') as typeof Fontkit);
}

export class FontError extends CardsmithError {
  override name = 'FontError';
  readonly kind: ErrorKind = 'operation';
}

/** One path drawing command, in font units (y up), as fontkit gives them. */
export interface OutlineCommand {
  command: 'moveTo' | 'lineTo' | 'quadraticCurveTo' | 'bezierCurveTo' | 'closePath';
  args: number[];
}

/** A positioned glyph of a shaped run, in font units. */
export interface ShapedGlyph {
  commands: readonly OutlineCommand[];
  /** Pen advance after the glyph (kerning applied). */
  advance: number;
  xOffset: number;
  yOffset: number;
}

export interface OutlineFont {
  /** The spec it was loaded from (`path` or `path#PostScriptName`). */
  readonly spec: string;
  readonly postscriptName: string;
  readonly unitsPerEm: number;
  /** True when the font maps the code point to a real glyph (not .notdef). */
  has(cp: number): boolean;
  /** Glyphs of `text` (characters this font has), kerned, with ligatures where the font has them. */
  shape(text: string): ShapedGlyph[];
}

/**
 * Well-known font files, in order: Latin first (DejaVu Sans, Debian's fonts-dejavu-core), then
 * CJK: Droid Sans Fallback (fonts-droid-fallback, the one docs/runner.md and CI install, first so
 * that machines set up as documented render alike), Noto Sans CJK SC (fonts-noto-cjk),
 * WenQuanYi Micro Hei / Zen Hei (fonts-wqy-*), then common macOS and Windows files.
 */
export const SYSTEM_FONTS: readonly string[] = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#NotoSansCJKsc-Regular',
  '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
  '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
  '/System/Library/Fonts/Supplemental/Arial Unicode.ttf',
  '/System/Library/Fonts/PingFang.ttc',
  'C:\\Windows\\Fonts\\arial.ttf',
  'C:\\Windows\\Fonts\\msyh.ttc',
  'C:\\Windows\\Fonts\\simsun.ttc',
];

/** The font files of CARDSMITH_FONTS (or `env`), in order. */
export function envFonts(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.CARDSMITH_FONTS ?? '').split(delimiter).map((s) => s.trim()).filter((s) => s !== '');
}

/** The default search list: CARDSMITH_FONTS, then SYSTEM_FONTS. A layout's own fonts go in front. */
export function defaultFonts(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...envFonts(env), ...SYSTEM_FONTS];
}

/** The Debian package that brings glyphs for `chars` (for warnings): a CJK font, or DejaVu. */
export function fontPackageFor(chars: Iterable<string>): string {
  for (const ch of chars) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x2e80) return 'fonts-droid-fallback';
  }
  return 'fonts-dejavu-core';
}

/** A font spec's file and its collection member (`file.ttc#PostScriptName`), if any. */
export function splitFontSpec(spec: string): { file: string; name: string | undefined } {
  const hash = spec.lastIndexOf('#');
  // 'C:\…' and plain paths have no '#'; a '#' in a directory name is followed by a separator.
  if (hash > 0 && !/[\\/]/.test(spec.slice(hash + 1)) && spec.slice(hash + 1) !== '') return { file: spec.slice(0, hash), name: spec.slice(hash + 1) };
  return { file: spec, name: undefined };
}

class FontkitFont implements OutlineFont {
  readonly postscriptName: string;
  readonly unitsPerEm: number;
  private readonly commands = new Map<number, readonly OutlineCommand[]>();

  constructor(
    readonly spec: string,
    private readonly font: Fontkit.Font,
  ) {
    this.postscriptName = font.postscriptName ?? spec;
    this.unitsPerEm = font.unitsPerEm;
    if (!(this.unitsPerEm > 0)) throw new FontError(`${spec}: the font has no units per em`);
  }

  has(cp: number): boolean {
    return this.font.hasGlyphForCodePoint(cp);
  }

  shape(text: string): ShapedGlyph[] {
    const run = this.font.layout(text);
    return run.glyphs.map((g, i) => {
      let commands = this.commands.get(g.id);
      if (!commands) {
        commands = g.path.commands.map((c) => ({ command: c.command, args: [...c.args] }));
        this.commands.set(g.id, commands);
      }
      const p = run.positions[i]!;
      return { commands, advance: p.xAdvance, xOffset: p.xOffset, yOffset: p.yOffset };
    });
  }
}

const loaded = new Map<string, OutlineFont | FontError>();

/** Loads a font file (cached per spec for the life of the process). Throws FontError. */
export function loadFont(spec: string): OutlineFont {
  const hit = loaded.get(spec);
  if (hit instanceof FontError) throw hit;
  if (hit) return hit;
  const { file, name } = splitFontSpec(spec);
  let result: OutlineFont | FontError;
  try {
    const bytes = readFileSync(file);
    const opened = fontkit().create(bytes);
    let font: Fontkit.Font | undefined;
    if ('fonts' in opened) {
      font = name !== undefined ? opened.fonts.find((f) => f.postscriptName === name) : opened.fonts[0];
      if (!font) throw new FontError(`${spec}: the collection has no font ${name ?? ''} (it has ${opened.fonts.map((f) => f.postscriptName).join(', ')})`);
    } else font = opened;
    if (name !== undefined && font.postscriptName !== name) throw new FontError(`${spec}: the font is ${font.postscriptName}, not ${name}`);
    result = new FontkitFont(spec, font);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    result = e instanceof FontError ? e : new FontError(code === 'ENOENT' ? `${file}: no such font file` : `${file}: not a usable TrueType/OpenType font (${e instanceof Error ? e.message : String(e)})`);
  }
  loaded.set(spec, result);
  if (result instanceof FontError) throw result;
  return result;
}

/** An ordered list of font files, loaded as characters need them. */
export class FontStack {
  /** Named fonts (not SYSTEM_FONTS candidates) that could not be loaded, with the reason. */
  readonly problems: string[] = [];
  private readonly fonts: (OutlineFont | null | undefined)[];
  private readonly byCodePoint = new Map<number, OutlineFont | null>();

  constructor(readonly specs: readonly string[]) {
    this.fonts = specs.map(() => undefined);
  }

  private font(i: number): OutlineFont | null {
    const have = this.fonts[i];
    if (have !== undefined) return have;
    const spec = this.specs[i]!;
    let f: OutlineFont | null = null;
    if (SYSTEM_FONTS.includes(spec) && !existsSync(splitFontSpec(spec).file)) f = null;
    else {
      try {
        f = loadFont(spec);
      } catch (e) {
        this.problems.push(e instanceof Error ? e.message : String(e));
      }
    }
    this.fonts[i] = f;
    return f;
  }

  /** The first font that has the character, or undefined. */
  fontFor(cp: number): OutlineFont | undefined {
    const hit = this.byCodePoint.get(cp);
    if (hit !== undefined) return hit ?? undefined;
    let found: OutlineFont | null = null;
    for (let i = 0; i < this.specs.length && !found; i++) {
      const f = this.font(i);
      if (f?.has(cp)) found = f;
    }
    this.byCodePoint.set(cp, found);
    return found ?? undefined;
  }

  /** Loads every font of the list now (so `problems` is complete); returns those that loaded. */
  loadAll(): OutlineFont[] {
    return this.specs.map((_, i) => this.font(i)).filter((f): f is OutlineFont => f !== null);
  }
}

const stacks = new Map<string, FontStack>();

/** The FontStack of a list of specs, shared while the process lives (fonts are parsed once). */
export function fontStack(specs: readonly string[]): FontStack {
  const key = specs.join('\n');
  let s = stacks.get(key);
  if (!s) {
    s = new FontStack(specs);
    if (stacks.size > 64) stacks.clear();
    stacks.set(key, s);
  }
  return s;
}
