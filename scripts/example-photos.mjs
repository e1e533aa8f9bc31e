// Draws the example batch's cardholder photos (examples/photos/0001.jpg … 0024.jpg): made-up
// ID-photo-like drawings — a plain light background, shoulders, neck, head, hair, eyes and
// mouth — varied by index (long hair where the example batch says sex 2), so the demo's card
// faces show a picture. Not photographs of anyone.
// Deterministic: the same script writes the same files. Run: node scripts/example-photos.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';

const W = 120;
const H = 150;
const SS = 3; // supersampling per axis: smooth edges without a rasteriser
const OUT = fileURLToPath(new URL('../examples/photos/', import.meta.url));
const BATCH = fileURLToPath(new URL('../examples/sscard-gen3-batch.csv', import.meta.url));

/** Photo file name → the record's sex code (GB/T 2261.1: 1 male, 2 female), from the example batch. */
function sexByPhoto() {
  const [head, ...rows] = readFileSync(BATCH, 'utf8').trimEnd().split(/\r?\n/).map((l) => l.split(','));
  const sex = head.indexOf('sex');
  const photo = head.indexOf('photo');
  return new Map(rows.map((r) => [r[photo].replace(/^photos\//, ''), r[sex]]));
}

const BACKGROUNDS = [[236, 240, 245], [214, 228, 245], [245, 245, 245], [222, 234, 250]];
const SKINS = [[241, 204, 170], [226, 185, 143], [198, 151, 112], [234, 196, 160], [214, 170, 128]];
const HAIRS = [[30, 26, 24], [52, 38, 30], [20, 20, 22], [74, 52, 36]];
const CLOTHES = [[40, 52, 84], [60, 60, 66], [28, 28, 32], [96, 40, 44], [44, 74, 64], [220, 222, 226]];

/** Inside the ellipse centred (cx, cy) with radii rx, ry. */
const inEllipse = (x, y, cx, cy, rx, ry) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;

/** The colour at (x, y) of portrait `i`: later shapes are drawn over earlier ones. */
function colourAt(i, longHair, x, y) {
  const bg = BACKGROUNDS[i % BACKGROUNDS.length];
  const skin = SKINS[(i * 3) % SKINS.length];
  const hair = HAIRS[(i * 5) % HAIRS.length];
  const cloth = CLOTHES[(i * 7) % CLOTHES.length];
  const headW = 27 + (i % 4); // half-widths and heights in pixels
  const headH = 35 + (i % 3);
  const cx = 60;
  const cy = 64;
  let c = [bg[0] - y / 12, bg[1] - y / 12, bg[2] - y / 20]; // a faint top-to-bottom shade
  if (longHair && inEllipse(x, y, cx, cy + 12, headW + 9, headH + 16) && y > cy - 10) c = hair;
  if (inEllipse(x, y, cx, 168, 58, 52)) c = cloth; // shoulders
  if (x > cx - 12 && x < cx + 12 && y > cy + headH - 12 && y < 122) c = skin.map((v) => v - 18); // neck
  if (inEllipse(x, y, cx, cy, headW, headH)) c = skin;
  if (inEllipse(x, y, cx, cy - headH * 0.45, headW + 3, headH * 0.62) && y < cy - headH * 0.28 + (longHair ? 6 : 0)) c = hair;
  for (const ex of [cx - headW * 0.4, cx + headW * 0.4]) {
    if (inEllipse(x, y, ex, cy + 2, 4.2, 2.4)) c = [250, 250, 250];
    if (inEllipse(x, y, ex, cy + 2, 2, 2)) c = [40, 30, 28];
    if (inEllipse(x, y, ex, cy - 6, 6, 1.3)) c = hair; // eyebrow
  }
  if (inEllipse(x, y, cx, cy + 14, 2.5, 4)) c = skin.map((v) => v - 25); // nose shadow
  if (inEllipse(x, y, cx, cy + 24, 8, 2.2)) c = [176, 96, 92]; // mouth
  return c;
}

const sexes = sexByPhoto();
for (let i = 1; i <= 24; i++) {
  const name = `${String(i).padStart(4, '0')}.jpg`;
  const longHair = sexes.get(name) === '2';
  const data = Buffer.alloc(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sum = [0, 0, 0];
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const c = colourAt(i, longHair, x + (sx + 0.5) / SS, y + (sy + 0.5) / SS);
          for (let k = 0; k < 3; k++) sum[k] += c[k];
        }
      }
      const o = (y * W + x) * 4;
      for (let k = 0; k < 3; k++) data[o + k] = Math.max(0, Math.min(255, Math.round(sum[k] / (SS * SS))));
      data[o + 3] = 255;
    }
  }
  writeFileSync(`${OUT}${name}`, jpeg.encode({ data, width: W, height: H }, 85).data);
}
console.log(`wrote 24 photos (${W} × ${H}) to ${OUT}`);
