// The printed card face: text and photo items inside the card's size, text from prep-time data,
// photos from file fields, and font files relative to the profile that names them.
import { existsSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { clip } from '../../bytes/index.js';
import { describeType } from '../expr.js';
import { entry } from '../source.js';
import { didYouMean } from '../suggest.js';
import type { FacePhoto, FaceSpec, FaceText } from '../types.js';
import type { Context } from './context.js';

export function readFace(ctx: Context): FaceSpec | undefined {
  const face = ctx.map(ctx.get(ctx.root, 'face'));
  if (!face) return undefined;
  const width = ctx.num(face, 'width') ?? 85.6;
  const height = ctx.num(face, 'height') ?? 54;
  const side = (key: string): (FaceText | FacePhoto)[] => {
    const out: (FaceText | FacePhoto)[] = [];
    for (const e of ctx.entries(ctx.get(face, key))) {
      const m = ctx.map(e.value);
      if (!m) continue;
      const x = ctx.num(m, 'x');
      const y = ctx.num(m, 'y');
      if (x === undefined || y === undefined) continue;
      const hasText = entry(m, 'text');
      const hasPhoto = entry(m, 'photo');
      if (!!hasText === !!hasPhoto) {
        ctx.error(e.keyLoc, 'face-item', `face item ${e.key} needs exactly one of text and photo`);
        continue;
      }
      if (x > width || y > height) ctx.error(ctx.locOf(m, x > width ? 'x' : 'y'), 'face-bounds', `face item ${e.key} starts outside the ${width} × ${height} mm card`);
      if (hasPhoto) {
        const field = ctx.str(m, 'photo')!;
        const w = ctx.num(m, 'width');
        const h = ctx.num(m, 'height');
        const f = ctx.fields.get(field);
        if (!f) ctx.error(ctx.locOf(m, 'photo'), 'unknown-field', `record field '${clip(field)}' is not declared`, didYouMean(field, ctx.fields.keys()));
        else if (f.type !== 'file') ctx.error(ctx.locOf(m, 'photo'), 'face-item', `the photo comes from a file field; '${clip(field)}' is ${f.type}`);
        if (w === undefined || h === undefined) {
          ctx.error(e.keyLoc, 'face-item', `photo ${e.key} needs width and height (the box, mm)`);
          continue;
        }
        if (x + w > width || y + h > height) ctx.error(e.keyLoc, 'face-bounds', `photo box ${e.key} (${x}+${w} × ${y}+${h} mm) does not fit on the ${width} × ${height} mm card`);
        out.push({ kind: 'photo', name: e.key, field, x, y, width: w, height: h, loc: e.keyLoc });
      } else {
        for (const k of ['width', 'height']) if (entry(m, k)) ctx.error(ctx.keyLocOf(m, k), 'face-item', `${k} is for photo boxes`);
        const v = ctx.expr(m, 'text', `face ${e.key}`);
        if (!v) continue;
        if (v.type.t !== 'text') ctx.error(ctx.locOf(m, 'text'), 'expr-type', `face ${e.key}: printed text must be text, but it is ${describeType(v.type)}`);
        if (v.phase === 'run') ctx.error(ctx.locOf(m, 'text'), 'expr-phase', `face ${e.key}: the face is printed from prep data; card.* facts are not known then`);
        const fontSize = ctx.num(m, 'fontSize');
        if (fontSize === undefined) ctx.error(e.keyLoc, 'face-item', `text ${e.key} needs fontSize (pt)`);
        out.push({ kind: 'text', name: e.key, value: v, x, y, fontSize: fontSize ?? 8, font: ctx.str(m, 'font'), loc: e.keyLoc });
      }
    }
    return out;
  };
  // Font files: relative to the profile file that names them (like CAP files); a missing one is a
  // warning, not an error: the renderer goes on with CARDSMITH_FONTS and the system fonts.
  const fonts: string[] = [];
  const fontList = ctx.get(face, 'fonts');
  for (const [i, item] of (fontList?.kind === 'seq' ? fontList.items : []).entries()) {
    if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value === '') continue;
    const loc = item.loc;
    const hash = item.value.lastIndexOf('#');
    const member = hash > 0 && !/[\\/]/.test(item.value.slice(hash + 1)) ? item.value.slice(hash) : '';
    const file = resolvePath(dirname(ctx.absOf(loc.file)), member ? item.value.slice(0, hash) : item.value);
    if (!existsSync(file)) ctx.warn(loc, 'font-missing', `face.fonts[${i}]: font file '${clip(item.value, 240)}' does not exist here`, 'the path is relative to the profile file that names it; faces use the next font that has each character');
    fonts.push(file + member);
  }
  return { width, height, ...(fonts.length ? { fonts } : {}), front: side('front'), back: side('back') };
}
