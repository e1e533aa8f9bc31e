// Text on card faces with real fonts (faces/truetype.ts + text.ts): Chinese from Droid
// Sans Fallback lands exactly where the font's own outline says, anti-aliased, deterministic,
// different characters give different pixels; Latin from DejaVu Sans with kerning; per character
// the first font that has it; .ttc collections by PostScript name; the font search list (profile
// face.fonts, CARDSMITH_FONTS); and the placeholder fallback when no font has a character, which
// the result, the PNG and the warning all say. Tests that need a system font skip, saying which
// Debian package brings it, only when its file is absent (CI installs both).
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as fontkit from 'fontkit';
import { BASELINE, defaultFonts, envFonts, FACE_FLAG_KEYWORD, fontPackageFor, FontStack, measureText, PLACEHOLDER_FLAG, placeholderWarning, readPngText, renderFace, SYSTEM_FONTS, textWidth, type RgbImage } from '../../faces/index.js';
import { validateProfile } from '../../profiles/index.js';

const DROID = '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf';
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const DEJAVU_BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
const noDroid = existsSync(DROID) ? false : `${DROID} is absent: apt-get install fonts-droid-fallback`;
const noDejavu = existsSync(DEJAVU) && existsSync(DEJAVU_BOLD) ? false : `${DEJAVU} is absent: apt-get install fonts-dejavu-core`;

const px = (img: RgbImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
/** Bounding box of every pixel that is not background white. */
function inkBox(img: RgbImage): { minX: number; minY: number; maxX: number; maxY: number } {
  const b = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (img.data[(y * img.width + x) * 3] === 255) continue;
      b.minX = Math.min(b.minX, x);
      b.maxX = Math.max(b.maxX, x);
      b.minY = Math.min(b.minY, y);
      b.maxY = Math.max(b.maxY, y);
    }
  }
  return b;
}
const one = (ch: string, fonts: string[], size = 256, x = 20, y = 20, w = 320) => renderFace({ width: w, height: 320, fields: [{ kind: 'text', x, y, size, value: ch }] }, { fonts });

t.test('Droid Sans Fallback: 一 is the font\'s bar, pixel-exact', { skip: noDroid }, async (t) => {
  const font = fontkit.openSync(DROID) as fontkit.Font;
  t.equal(font.unitsPerEm, 256, 'at size 256 one font unit is one pixel');
  const bar = font.glyphForCodePoint('一'.codePointAt(0)!).bbox; // 21..234 × 93..112
  const face = one('一', [DROID]);
  t.equal(face.placeholderGlyphs, false);
  const baseline = 20 + Math.round(256 * BASELINE);
  const top = baseline - bar.maxY;
  const bottom = baseline - bar.minY;
  const left = 20 + bar.minX;
  const right = 20 + bar.maxX;
  t.same(inkBox(face.raster), { minX: left, minY: top, maxX: right - 1, maxY: bottom - 1 }, 'ink exactly inside the glyph box (integer outline: no partial pixels)');
  t.same(px(face.raster, (left + right) >> 1, (top + bottom) >> 1), [0, 0, 0], 'the middle of the bar is black');
  t.same(px(face.raster, left, top), [0, 0, 0]);
  t.same(px(face.raster, left - 1, top), [255, 255, 255]);
  t.same(px(face.raster, right, bottom - 1), [255, 255, 255]);
  t.same(px(face.raster, 100, top - 1), [255, 255, 255], 'above the bar');
  t.same(px(face.raster, 100, bottom), [255, 255, 255], 'below the bar');
});

t.test('Droid Sans Fallback: 姓 within its glyph box, anti-aliased, deterministic, distinct', { skip: noDroid }, async (t) => {
  const font = fontkit.openSync(DROID) as fontkit.Font;
  const size = 128;
  const s = size / font.unitsPerEm;
  const g = font.glyphForCodePoint('姓'.codePointAt(0)!).bbox;
  const face = one('姓', [DROID], size);
  const baseline = 20 + Math.round(size * BASELINE);
  const box = inkBox(face.raster);
  const want = { minX: Math.floor(20 + g.minX * s), minY: Math.floor(baseline - g.maxY * s), maxX: Math.ceil(20 + g.maxX * s) - 1, maxY: Math.ceil(baseline - g.minY * s) - 1 };
  for (const k of ['minX', 'minY', 'maxX', 'maxY'] as const) t.ok(Math.abs(box[k] - want[k]) <= 1, `ink ${k} ${box[k]} ≈ glyph box ${want[k]}`);
  let black = 0;
  let grey = 0;
  for (let i = 0; i < face.raster.data.length; i += 3) {
    const v = face.raster.data[i]!;
    if (v === 0) black++;
    else if (v < 255) grey++;
  }
  t.ok(black > 300, `solid strokes (${black} black pixels)`);
  t.ok(grey > 100, `anti-aliased edges (${grey} grey pixels)`);
  const again = one('姓', [DROID], size);
  t.ok(Buffer.from(again.png).equals(Buffer.from(face.png)), 'same text, same PNG bytes');
  const other = one('名', [DROID], size);
  t.notOk(Buffer.from(other.raster.data).equals(Buffer.from(face.raster.data)), '名 is not 姓');
  t.equal(readPngText(face.png)[FACE_FLAG_KEYWORD], undefined, 'no placeholder flag in the PNG');
});

t.test('a card line: Chinese from Droid, Latin and digits from DejaVu, kerned', { skip: noDroid || noDejavu }, async (t) => {
  const fonts = [DEJAVU, DROID];
  const face = renderFace({ width: 1016, height: 648, fields: [{ kind: 'text', x: 40, y: 40, size: 37, value: '姓名 Zhang Wei 2024年' }] }, { fonts });
  t.equal(face.placeholderGlyphs, false);
  t.same(face.missingGlyphs, []);
  const stack = new FontStack(fonts);
  t.equal(stack.fontFor('姓'.codePointAt(0)!)?.postscriptName, 'DroidSansFallback', '姓: the first font that has it');
  t.equal(stack.fontFor('Z'.codePointAt(0)!)?.postscriptName, 'DejaVuSans');
  t.equal(stack.fontFor(0xe000), undefined, 'a private-use character: no font');
  const dejavu = fontkit.openSync(DEJAVU) as fontkit.Font;
  const a = dejavu.glyphForCodePoint(0x41).advanceWidth;
  const v = dejavu.glyphForCodePoint(0x56).advanceWidth;
  t.equal(measureText('A', 2048, stack), a, 'advance width from the font (2048 units per em at 2048 px)');
  t.ok(measureText('AV', 2048, stack) < a + v, `A V kerned: ${measureText('AV', 2048, stack)} < ${a + v}`);
  t.equal(textWidth('姓名', 256, { fonts }), 512, 'CJK advances: one em each');
  const droidOnly = one('A姓', [DROID], 64);
  t.same(droidOnly.missingGlyphs, ['A'], 'Droid Sans Fallback has no Latin: A falls back (and is flagged)');
});

/** A TrueType collection of the given .ttf files (table offsets moved to the fonts' new places). */
function makeTtc(files: string[]): Uint8Array {
  const fonts = files.map((f) => new Uint8Array(readFileSync(f)));
  const header = 12 + 4 * fonts.length;
  const offsets: number[] = [];
  let o = header;
  for (const f of fonts) {
    offsets.push(o);
    o += (f.length + 3) & ~3;
  }
  const out = new Uint8Array(o);
  const v = new DataView(out.buffer);
  out.set([0x74, 0x74, 0x63, 0x66]); // 'ttcf'
  v.setUint32(4, 0x00010000);
  v.setUint32(8, fonts.length);
  fonts.forEach((f, i) => {
    v.setUint32(12 + 4 * i, offsets[i]!);
    out.set(f, offsets[i]!);
    const tables = v.getUint16(offsets[i]! + 4);
    for (let k = 0; k < tables; k++) {
      const rec = offsets[i]! + 12 + 16 * k + 8;
      v.setUint32(rec, v.getUint32(rec) + offsets[i]!);
    }
  });
  return out;
}

t.test('.ttc collections: the first font, or one picked by PostScript name', { skip: noDejavu }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-ttc-'));
  const ttc = join(dir, 'dejavu.ttc');
  writeFileSync(ttc, makeTtc([DEJAVU, DEJAVU_BOLD]));
  const plain = one('H', [DEJAVU], 64);
  const first = one('H', [ttc], 64);
  t.ok(Buffer.from(first.png).equals(Buffer.from(plain.png)), 'file.ttc: its first font, the same pixels as the .ttf');
  const bold = one('H', [`${ttc}#DejaVuSans-Bold`], 64);
  t.same(bold.fontProblems, []);
  t.notOk(Buffer.from(bold.raster.data).equals(Buffer.from(plain.raster.data)), 'file.ttc#DejaVuSans-Bold: the bold member');
  const wrong = one('H', [`${ttc}#NoSuchFont`], 64);
  t.match(wrong.fontProblems[0], /has no font NoSuchFont \(it has DejaVuSans, DejaVuSans-Bold\)/);
  t.equal(wrong.placeholderGlyphs, true);
});

t.test('no font: placeholder glyphs, flagged in the result and the PNG', async (t) => {
  const face = renderFace({ width: 400, height: 200, fields: [{ kind: 'text', x: 40, y: 40, size: 48, value: '张 三' }] }, { fonts: [] });
  t.equal(face.placeholderGlyphs, true);
  t.same(face.missingGlyphs, ['张', '三'], 'the characters, not the space');
  t.same(px(face.raster, 40, 40), [0, 0, 0], 'the placeholder frame of 张 starts at (40, 40)');
  t.same(readPngText(face.png), { [FACE_FLAG_KEYWORD]: PLACEHOLDER_FLAG }, 'the PNG says so (tEXt before the image data)');
  t.same(readPngText(face.png.subarray(0, 120)), { [FACE_FLAG_KEYWORD]: PLACEHOLDER_FLAG }, 'readable from the first bytes alone');
  const latin = renderFace({ width: 400, height: 200, fields: [{ kind: 'text', x: 40, y: 40, size: 48, value: 'HI' }] }, { fonts: [] });
  t.same(latin.missingGlyphs, ['H', 'I'], 'the bitmap Latin fallback counts too');
  t.match(placeholderWarning(face.missingGlyphs), /no font here has 张三; drawn as placeholder glyphs \(not print-ready\): install fonts-droid-fallback/);
  t.equal(fontPackageFor(['H']), 'fonts-dejavu-core');
  const missing = renderFace({ width: 400, height: 200, fields: [{ kind: 'text', x: 40, y: 40, size: 48, value: '张' }] }, { fonts: ['/nonexistent/cardsmith/font.ttf'] });
  t.equal(missing.placeholderGlyphs, true);
  t.match(missing.fontProblems, [/\/nonexistent\/cardsmith\/font.ttf: no such font file/], 'a named font that is missing is reported');
  const notFont = join(mkdtempSync(join(tmpdir(), 'cardsmith-nofont-')), 'x.ttf');
  writeFileSync(notFont, 'not a font');
  t.match(renderFace({ width: 100, height: 100, fields: [{ kind: 'text', x: 0, y: 0, size: 20, value: 'x' }] }, { fonts: [notFont] }).fontProblems, [/not a usable TrueType\/OpenType font/]);
});

t.test('the search list: CARDSMITH_FONTS, then the system fonts', async (t) => {
  t.same(envFonts({ CARDSMITH_FONTS: '/a/one.ttf::/b/two.ttc#Name ' }), ['/a/one.ttf', '/b/two.ttc#Name']);
  t.same(defaultFonts({ CARDSMITH_FONTS: '/a/one.ttf' }), ['/a/one.ttf', ...SYSTEM_FONTS]);
  t.same(defaultFonts({}), [...SYSTEM_FONTS]);
  t.ok(SYSTEM_FONTS.includes(DROID) && SYSTEM_FONTS.includes(DEJAVU));
  t.ok(SYSTEM_FONTS.indexOf(DEJAVU) < SYSTEM_FONTS.indexOf(DROID), 'DejaVu first: Droid Sans Fallback has no Latin');
  const stack = new FontStack(['/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#NotoSansCJKsc-Regular'].filter((f) => !existsSync(f.split('#')[0]!)));
  stack.loadAll();
  t.same(stack.problems, [], 'an absent system candidate is skipped quietly');
});

t.test('profile face.fonts: relative to the profile file, a missing one is a warning', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-profile-fonts-'));
  mkdirSync(join(dir, 'fonts'));
  writeFileSync(join(dir, 'fonts', 'card.ttf'), 'placeholder bytes: validation checks the path only');
  const mini = fileURLToPath(new URL('../profiles/fixtures/mini.yaml', import.meta.url));
  const file = join(dir, 'child.yaml');
  writeFileSync(file, `extends: ${mini}\nface:\n  fonts: [fonts/card.ttf, fonts/set.ttc#SetSC-Regular, fonts/gone.ttf]\n  front:\n    name: { text: "\${record.name}", x: 10, y: 10, fontSize: 8 }\n`);
  const r = validateProfile(file);
  t.ok(r.ok, r.diagnostics.map((d) => d.message).join('; '));
  t.same(r.profile?.face?.fonts, [join(dir, 'fonts', 'card.ttf'), `${join(dir, 'fonts', 'set.ttc')}#SetSC-Regular`, join(dir, 'fonts', 'gone.ttf')]);
  const warnings = r.diagnostics.filter((d) => d.code === 'font-missing');
  t.equal(warnings.length, 2, 'set.ttc and gone.ttf do not exist');
  t.ok(warnings.every((d) => d.severity === 'warning'));
  t.match(warnings[1]!.message, /face.fonts\[2\]: font file 'fonts\/gone.ttf' does not exist/);
});

t.test('a line far longer than the card: clipped at the edge, no huge coverage buffer', { skip: noDroid }, async (t) => {
  const long = '姓'.repeat(20000);
  const face = renderFace({ width: 200, height: 100, fields: [{ kind: 'text', x: 10, y: 10, size: 60, value: long }] }, { fonts: [DROID] });
  t.equal(face.placeholderGlyphs, false);
  t.same(px(face.raster, 199, 99), [255, 255, 255], 'below the line: background');
  t.equal(textWidth(long, 60, { fonts: [DROID] }), 20000 * 60, 'measuring still counts every character');
});
