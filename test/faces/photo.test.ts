// Photos on card faces: JPEG decoding (jpeg-js) of the example cardholder photos and of baseline
// and progressive fixtures (made with libjpeg's cjpeg from a known picture: a 48 × 64 gradient with
// a red disc at (24, 24)), EXIF orientation, detection by magic bytes, data: URLs, the deterministic
// scaling into the photo box, and clear errors naming the field.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, decodeJpeg, encodePng, exifOrientation, FaceError, fitCover, ImageError, imageFormat, JpegError, orient, renderFace, resample, type RgbImage } from '../../faces/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const repoFile = (...p: string[]) => new Uint8Array(readFileSync(join(ROOT, ...p)));
const baseline = repoFile('test', 'faces', 'fixtures', 'photo-baseline.jpg');
const progressive = repoFile('test', 'faces', 'fixtures', 'photo-progressive.jpg');

const px = (img: RgbImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
const near = (a: number[], b: number[], tol: number) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

t.test('the example cardholder photos decode: 120 × 150 drawings on a light background, each its own', async (t) => {
  const seen = new Set<string>();
  for (const n of ['0001', '0012', '0024']) {
    const bytes = repoFile('examples', 'photos', `${n}.jpg`);
    t.equal(imageFormat(bytes), 'jpeg');
    t.ok(bytes.length <= 8192, `${n}.jpg (${bytes.length} bytes) fits the profile's photo limit`);
    const img = decodeJpeg(bytes);
    t.same([img.width, img.height], [120, 150], `${n}.jpg is 120 × 150`);
    t.ok(px(img, 2, 2).every((v) => v > 200), `${n}.jpg: light background in the corner (${px(img, 2, 2)})`);
    t.ok(px(img, 60, 145).every((v) => v < 200) || px(img, 60, 145).every((v) => v > 200), `${n}.jpg: clothing at the bottom centre`);
    seen.add(Buffer.from(img.data).toString('base64'));
  }
  t.equal(seen.size, 3, 'three different pictures');
});

t.test('baseline and progressive JPEGs decode to the known picture', async (t) => {
  t.equal(progressive[0], 0xff);
  // The progressive fixture really is progressive: an SOF2 marker, no SOF0.
  const markers = (b: Uint8Array) => {
    const out: number[] = [];
    for (let o = 2; o + 4 <= b.length && b[o] === 0xff; o += 2 + ((b[o + 2]! << 8) | b[o + 3]!)) {
      out.push(b[o + 1]!);
      if (b[o + 1] === 0xda) break;
    }
    return out;
  };
  t.ok(markers(progressive).includes(0xc2) && !markers(progressive).includes(0xc0), 'progressive: SOF2');
  t.ok(markers(baseline).includes(0xc0), 'baseline: SOF0');
  for (const [name, bytes] of [['baseline', baseline], ['progressive', progressive]] as const) {
    const img = decodeImage(bytes);
    t.equal(img.format, 'jpeg');
    t.same([img.width, img.height], [48, 64], `${name}: 48 × 64`);
    t.ok(near(px(img, 24, 24), [220, 40, 40], 8), `${name}: the red disc at (24, 24): ${px(img, 24, 24)}`);
    // Outside the disc: red = x·255/47, green = y·255/63, blue 128 (JPEG loses a little).
    t.ok(near(px(img, 45, 2), [244, 8, 128], 12), `${name}: top right ≈ (244, 8, 128): ${px(img, 45, 2)}`);
    t.ok(near(px(img, 2, 60), [11, 243, 128], 12), `${name}: bottom left ≈ (11, 243, 128): ${px(img, 2, 60)}`);
  }
});

/** A JPEG with an APP1 Exif segment carrying `orientation`, inserted after SOI. */
function withOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  const tiff = Uint8Array.of(0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0);
  const payload = new Uint8Array([...new TextEncoder().encode('Exif'), 0, 0, ...tiff]);
  const seg = new Uint8Array([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload]);
  return new Uint8Array([...jpeg.subarray(0, 2), ...seg, ...jpeg.subarray(2)]);
}

t.test('EXIF orientation: a photo stored on its side is turned upright', async (t) => {
  t.equal(exifOrientation(baseline), 1, 'no Exif: 1');
  const six = withOrientation(baseline, 6);
  t.equal(exifOrientation(six), 6);
  const img = decodeJpeg(six);
  t.same([img.width, img.height], [64, 48], 'orientation 6: turned a quarter clockwise, 64 × 48');
  const plain = decodeJpeg(baseline);
  // Shown (x, y) = stored (y, h − 1 − x): the disc at stored (24, 24) is shown at (63 − 24, 24).
  t.same(px(img, 39, 24), px(plain, 24, 24));
  t.same(px(img, 0, 0), px(plain, 0, 63), 'shown top left = stored bottom left');
  const tiny: RgbImage = { width: 2, height: 1, data: Uint8Array.of(1, 1, 1, 2, 2, 2) };
  t.same(Array.from(orient(tiny, 2).data), [2, 2, 2, 1, 1, 1], '2: mirrored');
  t.same(Array.from(orient(tiny, 3).data), [2, 2, 2, 1, 1, 1], '3: half turn');
  t.same([orient(tiny, 8).width, orient(tiny, 8).height], [1, 2], '8: a quarter anticlockwise');
  t.same(Array.from(orient(tiny, 8).data), [2, 2, 2, 1, 1, 1], '8: the right pixel goes on top');
});

t.test('resampling: area average when shrinking, linear when growing, deterministic', async (t) => {
  const checker: RgbImage = { width: 4, height: 4, data: new Uint8Array(48) };
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) checker.data.fill((x + y) % 2 ? 255 : 0, (y * 4 + x) * 3, (y * 4 + x) * 3 + 3);
  const half = resample(checker, 2, 2);
  t.same(Array.from(half.data), new Array(12).fill(128), 'a 2 × 2 checker averages to grey (nearest neighbour would give black or white)');
  const third = resample({ width: 3, height: 1, data: Uint8Array.of(0, 0, 0, 90, 90, 90, 180, 180, 180) }, 2, 1);
  t.same(px(third, 0, 0), [30, 30, 30], 'area weights ⅔ + ⅓ of 0 and 90 → 30');
  t.same(px(third, 1, 0), [150, 150, 150], '⅓ · 90 + ⅔ · 180 → 150');
  const grow = resample({ width: 2, height: 1, data: Uint8Array.of(0, 0, 0, 200, 200, 200) }, 4, 1);
  t.same(Array.from(grow.data.filter((_, i) => i % 3 === 0)), [0, 50, 150, 200], 'linear between pixel centres');
  const img = decodeJpeg(progressive);
  t.same(Array.from(resample(img, 30, 40).data), Array.from(resample(img, 30, 40).data), 'same input, same pixels');
  const cover = fitCover({ width: 4, height: 2, data: Uint8Array.of(10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40, 10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40) }, 1, 1);
  t.same(px(cover, 0, 0), [25, 25, 25], 'a wide photo in a square box: the centre 2 × 2 (20 and 30), not squeezed');
});

t.test('a JPEG photo on a face: bytes or data:image/jpeg URL, scaled into the box', async (t) => {
  const viaBytes = renderFace({ width: 200, height: 200, fields: [{ kind: 'photo', x: 10, y: 10, size: 128, width: 96, value: baseline }] }, { fonts: [] });
  t.ok(near(px(viaBytes.raster, 10 + 48, 10 + 64), [220, 40, 40], 10), `the disc lands in the middle of the box: ${px(viaBytes.raster, 58, 74)}`);
  t.same(px(viaBytes.raster, 9, 50), [255, 255, 255], 'left of the box: background');
  t.same(px(viaBytes.raster, 106, 50), [255, 255, 255], 'right of the box: background');
  const viaUrl = renderFace({ width: 200, height: 200, fields: [{ kind: 'photo', x: 10, y: 10, size: 128, width: 96, value: `data:image/jpeg;base64,${Buffer.from(baseline).toString('base64')}` }] }, { fonts: [] });
  t.ok(Buffer.from(viaUrl.png).equals(Buffer.from(viaBytes.png)), 'the data URL gives the same face');
  const png = encodePng(decodeJpeg(baseline));
  t.equal(imageFormat(png), 'png');
  const viaPng = renderFace({ width: 200, height: 200, fields: [{ kind: 'photo', x: 10, y: 10, size: 128, width: 96, value: png }] }, { fonts: [] });
  t.ok(Buffer.from(viaPng.png).equals(Buffer.from(viaBytes.png)), 'the same pixels as PNG give the same face');
});

t.test('bad photos: clear errors with the field', async (t) => {
  t.throws(() => decodeImage(Uint8Array.of(1, 2, 3, 4)), ImageError);
  t.throws(() => decodeImage(Uint8Array.of(1, 2, 3, 4)), /not a PNG or JPEG file \(it starts with 01 02 03 04\)/);
  t.throws(() => decodeJpeg(Uint8Array.of(0x89, 0x50)), JpegError);
  const truncated = baseline.subarray(0, 400);
  t.throws(() => decodeJpeg(truncated), JpegError, 'a truncated JPEG is an error, not a grey patch');
  const layout = (value: Uint8Array | string) => ({ width: 100, height: 100, fields: [{ kind: 'text' as const, x: 0, y: 0, size: 10, value: 'A' }, { kind: 'photo' as const, x: 0, y: 20, size: 40, value }] });
  const e = (() => {
    try {
      renderFace(layout(truncated), { fonts: [] });
    } catch (x) {
      return x;
    }
    return undefined;
  })();
  t.ok(e instanceof FaceError);
  t.equal((e as FaceError).field, 1, 'FaceError.field is the photo field');
  t.match((e as Error).message, /^face: fields\[1\] \(photo\): the photo is not usable: jpeg: cannot decode/);
  t.throws(() => renderFace(layout('data:image/gif;base64,R0lGOD'), { fonts: [] }), /fields\[1\] \(photo\): a photo must be PNG or JPEG bytes or a data:image\/png;base64 \/ data:image\/jpeg;base64 URL/);
  t.throws(() => renderFace(layout('photos/0001.jpg'), { fonts: [] }), FaceError, 'a file name is not a photo (the runner reads the file)');
});
