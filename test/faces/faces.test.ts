// Card faces: the PNG decodes (our decoder; and its CRCs and zlib stream are checked on the way),
// has the layout's dimensions, same layout ⇒ same bytes, text and photos land where the layout
// says, Chinese characters without a font get distinct deterministic placeholders, the Evolis K
// panel round-trips (and keeps anti-aliased text legible), and bad layouts fail with the field
// named. Real fonts: text.test.ts; JPEG photos and scaling: photo.test.ts; the rasteriser:
// raster.test.ts; the runner's face rendering: batch-faces.test.ts.
import t from 'tap';
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { decodePng, encodePng, EVOLIS_PANEL, FaceError, ID1_300DPI, monoPanel, panelToRaster, placeholderGlyph, PngError, renderFace, type CardLayout, type RgbImage } from '../../faces/index.js';

function photo(): Uint8Array {
  const w = 30;
  const h = 40;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set([200, 20, 20], i * 3);
  return encodePng({ width: w, height: h, data });
}

const LAYOUT: CardLayout = {
  ...ID1_300DPI,
  background: '#FFFFFF',
  fields: [
    { kind: 'text', x: 40, y: 40, size: 48, value: '张三' },
    { kind: 'text', x: 40, y: 200, size: 40, value: 'A02796279' },
    { kind: 'text', x: 40, y: 300, size: 32, value: '2024-05-01' },
    { kind: 'photo', x: 700, y: 100, size: 320, value: photo() },
  ],
};

const px = (img: RgbImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

t.test('PNG: valid structure, layout dimensions, decodes to the raster', async (t) => {
  const face = renderFace(LAYOUT);
  t.same(Array.from(face.png.subarray(0, 8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(face.png.buffer, face.png.byteOffset);
  t.equal(String.fromCharCode(...face.png.subarray(12, 16)), 'IHDR');
  t.same([v.getUint32(16), v.getUint32(20), face.png[24], face.png[25]], [1016, 648, 8, 2], 'IHDR: 1016 × 648, 8-bit RGB');
  const img = decodePng(face.png);
  t.same([img.width, img.height], [1016, 648]);
  t.ok(Buffer.from(img.data).equals(Buffer.from(face.raster.data)), 'decodes to exactly the rendered pixels');
  // the IDAT stream is a zlib stream that Node itself inflates; it follows IHDR and any ancillary
  // chunks (a tEXt note when a glyph had no font on this machine)
  let at = 8;
  while (at < face.png.length && String.fromCharCode(...face.png.subarray(at + 4, at + 8)) !== 'IDAT') at += 12 + v.getUint32(at);
  t.equal(String.fromCharCode(...face.png.subarray(at + 4, at + 8)), 'IDAT');
  t.equal(inflateSync(face.png.subarray(at + 8, at + 8 + v.getUint32(at))).length, (1016 * 3 + 1) * 648);
});

t.test('deterministic: the same layout gives the same bytes', async (t) => {
  const a = renderFace(LAYOUT).png;
  const b = renderFace(structuredClone(LAYOUT)).png;
  t.equal(createHash('sha256').update(a).digest('hex'), createHash('sha256').update(b).digest('hex'));
  const other = renderFace({ ...LAYOUT, fields: [{ kind: 'text', x: 40, y: 40, size: 48, value: '李四' }] }).png;
  t.not(Buffer.from(other).toString('hex'), Buffer.from(a).toString('hex'));
});

t.test('fields land where the layout says', async (t) => {
  const img = renderFace(LAYOUT, { fonts: [] }).raster;
  t.same(px(img, 800, 250), [200, 20, 20], 'inside the photo box');
  t.same(px(img, 699, 250), [255, 255, 255], 'left of the photo box');
  t.same(px(img, 700, 100), [200, 20, 20], 'the photo box starts at (700, 100)');
  t.same(px(img, 939, 419), [200, 20, 20], 'and is 240 × 320 (¾ of its size)');
  t.same(px(img, 940, 419), [255, 255, 255]);
  t.same(px(img, 40, 40), [0, 0, 0], 'without fonts, the placeholder frame of 张 starts at (40, 40)');
  t.same(px(img, 500, 500), [255, 255, 255], 'background elsewhere');
  const noPhoto = renderFace({ width: 100, height: 100, fields: [{ kind: 'photo', x: 10, y: 10, size: 40, value: '' }] }).raster;
  t.same(px(noPhoto, 12, 30), [200, 200, 200], 'a missing photo is a grey box');
});

t.test('Chinese placeholders: distinct per character, framed, stable', async (t) => {
  const a = placeholderGlyph('张'.codePointAt(0)!);
  const b = placeholderGlyph('三'.codePointAt(0)!);
  t.not(a.join('/'), b.join('/'));
  t.equal(a[0], '########');
  t.equal(a.every((r) => r.length === 8), true);
  t.same(placeholderGlyph(0x5f20), a);
});

t.test('Evolis K panel: 648 × 1016 dots, round trip of black and white', async (t) => {
  // The bitmap fallback font draws pure black: it must come back unchanged.
  const face = renderFace({ ...ID1_300DPI, fields: [{ kind: 'text', x: 100, y: 100, size: 80, value: 'HI' }] }, { fonts: [] });
  const panel = monoPanel(face.raster);
  t.equal(panel.length, EVOLIS_PANEL.bytes);
  const back = panelToRaster(panel);
  t.ok(Buffer.from(back.data).equals(Buffer.from(face.raster.data)), 'pure black-on-white survives the panel');
  t.throws(() => panelToRaster(new Uint8Array(10)), FaceError);
});

t.test('Evolis K panel of anti-aliased font text: solid strokes stay ink, the background stays clean', async (t) => {
  const face = renderFace({ ...ID1_300DPI, fields: [{ kind: 'text', x: 100, y: 100, size: 120, value: '姓名 HI' }] });
  const back = panelToRaster(monoPanel(face.raster));
  let solid = 0;
  let kept = 0;
  let stray = 0;
  for (let i = 0; i < face.raster.data.length; i += 3) {
    const v = face.raster.data[i]!;
    if (v === 0) {
      solid++;
      if (back.data[i] === 0) kept++;
    } else if (v === 255 && back.data[i] === 0) stray++;
  }
  t.ok(solid > 1000, `the text has solid strokes (${solid} black pixels)`);
  t.equal(kept, solid, 'every black pixel is printed');
  t.equal(stray, 0, 'no ink where the face is white');
});

t.test('bad layouts and bad photos name the field', async (t) => {
  t.throws(() => renderFace({ width: 5, height: 5, fields: [] }), /width and height/);
  t.throws(() => renderFace({ width: 100, height: 100, fields: [{ kind: 'text', x: 200, y: 0, size: 10, value: 'x' }] }), /fields\[0\]: \(200, 0\) is outside/);
  t.throws(() => renderFace({ width: 100, height: 100, fields: [{ kind: 'logo' as never, x: 0, y: 0, size: 10, value: 'x' }] }), /fields\[0\]: kind/);
  t.throws(() => renderFace({ width: 100, height: 100, fields: [{ kind: 'photo', x: 0, y: 0, size: 10, value: Uint8Array.of(1, 2, 3) }] }), /fields\[0\] \(photo\): the photo is not usable: not a PNG or JPEG file/);
  t.throws(() => renderFace({ width: 100, height: 100, fields: [{ kind: 'text', x: 0, y: 0, size: 10, value: 'x', color: 'red' }] }), { name: 'FaceError', field: 0 });
  t.throws(() => renderFace({ width: 100, height: 100, background: 'red', fields: [] }), /#RRGGBB/);
  t.throws(() => decodePng(Uint8Array.of(1, 2, 3)), PngError);
  const good = encodePng({ width: 2, height: 2, data: new Uint8Array(12) });
  const broken = new Uint8Array(good);
  broken[30] = broken[30]! ^ 0xff;
  t.throws(() => decodePng(broken), /CRC mismatch/);
  const gray = encodePng({ width: 2, height: 1, data: Uint8Array.of(0, 255) }, { gray: true });
  t.same(decodePng(gray).data, Uint8Array.of(0, 0, 0, 255, 255, 255));
  const viaUrl = renderFace({ width: 100, height: 100, fields: [{ kind: 'photo', x: 0, y: 0, size: 40, value: `data:image/png;base64,${Buffer.from(photo()).toString('base64')}` }] }).raster;
  t.same(px(viaUrl, 5, 5), [200, 20, 20]);
});
