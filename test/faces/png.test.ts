// The PNG decoder against PNGs from another encoder (fixtures/png: an independent Python writer):
// every colour type at every bit depth the type allows, all five row filters, with and without
// Adam7 interlace, tRNS — pixel for pixel against the RGBA the generator wrote. Inflation is
// bounded by IHDR (a PNG bomb is refused), sizes are capped, and a seeded fuzz with repaired CRCs
// (so the damage reaches the decoder) only ever ends in a PngError.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { decodePng, decodePngRgba, MAX_PNG_PIXELS, PngError } from '../../faces/index.js';
import { xorshift32 } from '../helpers/rng.js';

const DIR = new URL('./fixtures/png/', import.meta.url);
interface Expected {
  width: number;
  height: number;
  colorType: number;
  depth: number;
  interlaced: boolean;
  rgba: string;
}
const EXPECTED: Record<string, Expected> = JSON.parse(readFileSync(new URL('expected.json', DIR), 'utf8'));
const file = (name: string) => new Uint8Array(readFileSync(new URL(name, DIR)));

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function png(ihdr: { width: number; height: number; depth?: number; colorType?: number; interlace?: number }, idat: Uint8Array, ihdrLength = 13): Uint8Array {
  const h = new Uint8Array(13);
  const v = new DataView(h.buffer);
  v.setUint32(0, ihdr.width);
  v.setUint32(4, ihdr.height);
  h.set([ihdr.depth ?? 8, ihdr.colorType ?? 2, 0, 0, ihdr.interlace ?? 0], 8);
  return Buffer.concat([Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', h.subarray(0, ihdrLength)), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

/** The chunks of a PNG: type and the offset of its data. */
function chunks(bytes: Uint8Array): { type: string; at: number; length: number }[] {
  const out = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let o = 8; o + 12 <= bytes.length; o += 12 + view.getUint32(o)) out.push({ type: Buffer.from(bytes.subarray(o + 4, o + 8)).toString('latin1'), at: o + 8, length: view.getUint32(o) });
  return out;
}

t.test('foreign PNGs: every colour type, bit depth, filter and interlace decode to the generator’s pixels', async (t) => {
  for (const [name, e] of Object.entries(EXPECTED)) {
    const rgba = decodePngRgba(file(name));
    t.same([rgba.width, rgba.height], [e.width, e.height], `${name}: size`);
    t.equal(Buffer.from(rgba.data).toString('hex'), e.rgba, `${name}: RGBA pixels`);
    // decodePng composites the same pixels over white
    const want = Buffer.from(e.rgba, 'hex');
    const white = new Uint8Array(e.width * e.height * 3);
    for (let i = 0; i < e.width * e.height; i++) {
      for (let c = 0; c < 3; c++) white[i * 3 + c] = Math.round((want[i * 4 + c]! * want[i * 4 + 3]! + 255 * (255 - want[i * 4 + 3]!)) / 255);
    }
    t.equal(Buffer.from(decodePng(file(name)).data).toString('hex'), Buffer.from(white).toString('hex'), `${name}: RGB on white`);
  }
});

t.test('the fixtures cover what the decoder claims', async (t) => {
  const kinds = new Set(Object.values(EXPECTED).map((e) => `${e.colorType}/${e.depth}/${e.interlaced ? 'adam7' : 'plain'}`));
  for (const [type, depths] of [[0, [1, 2, 4, 8, 16]], [2, [8, 16]], [3, [1, 2, 4, 8]], [4, [8, 16]], [6, [8, 16]]] as const) {
    for (const depth of depths) for (const il of ['plain', 'adam7']) t.ok(kinds.has(`${type}/${depth}/${il}`), `colour type ${type}, depth ${depth}, ${il}`);
  }
  // read the filter byte of every row straight from the inflated data of each non-interlaced file
  for (const [name, e] of Object.entries(EXPECTED).filter(([, e]) => !e.interlaced)) {
    const bytes = file(name);
    const raw = inflateSync(Buffer.concat(chunks(bytes).filter((c) => c.type === 'IDAT').map((c) => bytes.subarray(c.at, c.at + c.length))));
    const stride = Math.ceil((e.width * { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[e.colorType]! * e.depth) / 8) + 1;
    const filters = new Set(Array.from({ length: e.height }, (_, y) => raw[y * stride]));
    t.same([...filters].sort(), [0, 1, 2, 3, 4], `${name}: rows use all five filters`);
  }
  t.ok(Object.keys(EXPECTED).some((n) => n.includes('trns')) && Object.values(EXPECTED).some((e) => /(..)(..)(..)00/.test(e.rgba)), 'tRNS fixtures with transparent pixels');
});

t.test('PNG bomb: image data that inflates past what IHDR calls for is refused', async (t) => {
  const bomb = png({ width: 16, height: 16 }, deflateSync(new Uint8Array(64 * 1024 * 1024)));
  t.ok(bomb.length < 100 * 1024, `the bomb is ${bomb.length} bytes`);
  t.throws(() => decodePng(bomb), { name: 'PngError', message: 'png: the image data inflates to more than the 784 bytes a 16 × 16 image needs (corrupt file or PNG bomb)' });
  // the exact size decodes
  t.same(decodePng(png({ width: 16, height: 16 }, deflateSync(new Uint8Array(784)))).data.length, 16 * 16 * 3);
  t.throws(() => decodePng(png({ width: 16, height: 16 }, deflateSync(new Uint8Array(783)))), /png: image data too short/);
});

t.test('sizes past the cap and malformed headers are refused before any inflation', async (t) => {
  const tiny = deflateSync(new Uint8Array(1));
  t.throws(() => decodePng(png({ width: 100_000, height: 100_000 }, tiny)), { name: 'PngError', message: `png: image too large (100000 × 100000; at most ${MAX_PNG_PIXELS} pixels)` });
  t.throws(() => decodePng(png({ width: 0, height: 5 }, tiny)), /png: the image has no pixels/);
  t.throws(() => decodePng(png({ width: 1, height: 1, depth: 4, colorType: 2 }, tiny)), /png: bit depth 4 is not allowed for color type 2 \(allowed: 8, 16\)/);
  t.throws(() => decodePng(png({ width: 1, height: 1, colorType: 5 }, tiny)), /png: unknown color type 5/);
  t.throws(() => decodePng(png({ width: 1, height: 1, interlace: 2 }, tiny)), /png: unknown compression, filter or interlace method/);
  t.throws(() => decodePng(png({ width: 1, height: 1 }, tiny, 12)), /png: IHDR is 12 bytes, not 13/);
  t.throws(() => decodePng(png({ width: 1, height: 1, colorType: 3 }, tiny)), /png: palette image without PLTE/);
});

t.test('seeded fuzz (chunk CRCs repaired): a decoded image or a PngError, nothing else', async (t) => {
  const next = xorshift32(15948);
  const seeds = ['rgb8.png', 'p4-trns.png', 'ga16-i.png', 'g1.png'].map(file);
  const wrong: string[] = [];
  let decoded = 0;
  for (let i = 0; i < 1500; i++) {
    const bytes = Uint8Array.from(seeds[next() % seeds.length]!);
    const list = chunks(bytes);
    const c = list[next() % list.length]!;
    for (let k = 0, n = 1 + (next() % 3); k < n && c.length > 0; k++) bytes[c.at + (next() % c.length)] = next() >>> 24;
    new DataView(bytes.buffer).setUint32(c.at + c.length, crc32(bytes.subarray(c.at - 4, c.at + c.length)));
    try {
      const img = decodePng(bytes);
      if (img.data.length !== img.width * img.height * 3) wrong.push(`#${i}: ${img.data.length} bytes for ${img.width} × ${img.height}`);
      decoded++;
    } catch (e) {
      if (!(e instanceof PngError)) wrong.push(`#${i} (${c.type}): ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  t.same(wrong, [], 'only PngError');
  t.ok(decoded > 0 && decoded < 1500, `some mutations still decode (${decoded}), others fail`);
});
