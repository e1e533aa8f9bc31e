// The scanline rasteriser (faces/raster.ts): exact coverage inside and outside simple
// shapes, exact partial coverage on pixel-aligned half edges, anti-aliased edges in (0, 1) whose
// total equals the shape's area, the non-zero winding rule (overlaps stay 1, counter-wound holes
// are empty), curves flattened within the tolerance, and the same input giving the same coverage.
import t from 'tap';
import { PathFlattener, rasterizeContours, type CoverageMask, type Contour } from '../../faces/index.js';

const at = (m: CoverageMask, x: number, y: number): number => {
  if (x < m.x || y < m.y || x >= m.x + m.width || y >= m.y + m.height) return 0;
  return m.coverage[(y - m.y) * m.width + (x - m.x)]!;
};
const total = (m: CoverageMask) => m.coverage.reduce((a, b) => a + b, 0);
const rect = (x0: number, y0: number, x1: number, y1: number, clockwise = true): Contour =>
  clockwise ? [{ x: x0, y: y0 }, { x: x1, y: y0 }, { x: x1, y: y1 }, { x: x0, y: y1 }] : [{ x: x0, y: y0 }, { x: x0, y: y1 }, { x: x1, y: y1 }, { x: x1, y: y0 }];

t.test('an integer-aligned square: exactly 1 inside, exactly 0 outside, the box is the square', async (t) => {
  const m = rasterizeContours([rect(2, 3, 8, 7)]);
  t.same([m.x, m.y, m.width, m.height], [2, 3, 6, 4]);
  for (let y = 0; y < 12; y++) {
    for (let x = 0; x < 12; x++) {
      const inside = x >= 2 && x < 8 && y >= 3 && y < 7;
      if (at(m, x, y) !== (inside ? 1 : 0)) t.fail(`(${x}, ${y}): ${at(m, x, y)}`);
    }
  }
  t.equal(total(m), 24, 'total coverage = area');
  t.same(Array.from(rasterizeContours([rect(2, 3, 8, 7, false)]).coverage), Array.from(m.coverage), 'the winding direction does not matter');
});

t.test('a square on half pixels: edge pixels exactly ½, corners ¼', async (t) => {
  const m = rasterizeContours([rect(1.5, 1.5, 4.5, 4.5)]);
  t.equal(at(m, 2, 2), 1);
  t.equal(at(m, 3, 3), 1);
  t.equal(at(m, 1, 2), 0.5, 'left edge');
  t.equal(at(m, 4, 3), 0.5, 'right edge');
  t.equal(at(m, 2, 1), 0.5, 'top edge');
  t.equal(at(m, 3, 4), 0.5, 'bottom edge');
  t.equal(at(m, 1, 1), 0.25, 'corner');
  t.equal(at(m, 0, 0), 0);
  t.equal(total(m), 9);
});

t.test('a triangle: interior 1, outside 0, edges anti-aliased in (0, 1), total = area', async (t) => {
  // Right triangle (0,0) (20,0) (0,20): the hypotenuse x + y = 20.
  const m = rasterizeContours([[{ x: 0, y: 0 }, { x: 20, y: 0 }, { x: 0, y: 20 }]]);
  t.equal(at(m, 2, 2), 1, 'well inside');
  t.equal(at(m, 5, 10), 1);
  t.equal(at(m, 15, 15), 0, 'beyond the hypotenuse');
  t.equal(at(m, 19, 19), 0);
  let edge = 0;
  for (let y = 0; y < 20; y++) {
    const x = 19 - y; // pixels the hypotenuse cuts through the middle of
    const v = at(m, x, y);
    if (!(v > 0 && v < 1)) t.fail(`edge pixel (${x}, ${y}) = ${v}`);
    edge++;
    // The diagonal halves this pixel: ½ up to the 1/16 vertical sampling.
    if (Math.abs(v - 0.5) > 1 / 16) t.fail(`edge pixel (${x}, ${y}) = ${v}, expected ≈ 0.5`);
  }
  t.equal(edge, 20);
  t.ok(Math.abs(total(m) - 200) < 1e-9, `total ${total(m)} = area 200`);
  for (const v of m.coverage) if (v < 0 || v > 1) t.fail(`coverage ${v} out of range`);
});

t.test('non-zero winding: same-direction overlap stays 1, a counter-wound inner square is a hole', async (t) => {
  const overlap = rasterizeContours([rect(0, 0, 6, 6), rect(3, 3, 9, 9)]);
  t.equal(at(overlap, 4, 4), 1, 'winding 2 is inside, coverage 1');
  t.equal(total(overlap), 36 + 36 - 9, 'the union');
  const ring = rasterizeContours([rect(0, 0, 10, 10, true), rect(3, 3, 7, 7, false)]);
  t.equal(at(ring, 5, 5), 0, 'the hole');
  t.equal(at(ring, 1, 1), 1);
  t.equal(total(ring), 100 - 16);
  // Even-odd would also empty a same-direction inner square; non-zero keeps it filled.
  const nested = rasterizeContours([rect(0, 0, 10, 10, true), rect(3, 3, 7, 7, true)]);
  t.equal(at(nested, 5, 5), 1, 'same-direction nested square: filled (non-zero, not even-odd)');
});

t.test('curves: quadratic and cubic circles within tolerance of πr², deterministic', async (t) => {
  const r = 20;
  const k = 0.5522847498; // cubic Bézier circle constant
  const cubic = new PathFlattener(0.1);
  cubic.moveTo(30 + r, 30);
  cubic.cubicTo(30 + r, 30 + k * r, 30 + k * r, 30 + r, 30, 30 + r);
  cubic.cubicTo(30 - k * r, 30 + r, 30 - r, 30 + k * r, 30 - r, 30);
  cubic.cubicTo(30 - r, 30 - k * r, 30 - k * r, 30 - r, 30, 30 - r);
  cubic.cubicTo(30 + k * r, 30 - r, 30 + r, 30 - k * r, 30 + r, 30);
  const c1 = rasterizeContours(cubic.finish());
  t.ok(Math.abs(total(c1) - Math.PI * r * r) < 0.01 * Math.PI * r * r, `cubic circle area ${total(c1).toFixed(1)} ≈ ${(Math.PI * r * r).toFixed(1)}`);
  t.ok(cubic.contours[0]!.length > 16, 'curves were cut into many segments');
  t.equal(at(c1, 30, 30), 1);
  t.equal(at(c1, 5, 5), 0);
  // Quadratic: 8 arcs through the octant points, control points on the tangents.
  const quad = new PathFlattener(0.1);
  const n = 8;
  const c = 1 / Math.cos(Math.PI / n);
  quad.moveTo(30 + r, 30);
  for (let i = 0; i < n; i++) {
    const a = ((i + 0.5) * 2 * Math.PI) / n;
    const b = ((i + 1) * 2 * Math.PI) / n;
    quad.quadTo(30 + r * c * Math.cos(a), 30 + r * c * Math.sin(a), 30 + r * Math.cos(b), 30 + r * Math.sin(b));
  }
  const q = rasterizeContours(quad.finish());
  t.ok(Math.abs(total(q) - Math.PI * r * r) < 0.01 * Math.PI * r * r, `quadratic circle area ${total(q).toFixed(1)}`);
  const again = new PathFlattener(0.1);
  again.moveTo(30 + r, 30);
  for (let i = 0; i < n; i++) {
    const a = ((i + 0.5) * 2 * Math.PI) / n;
    const b = ((i + 1) * 2 * Math.PI) / n;
    again.quadTo(30 + r * c * Math.cos(a), 30 + r * c * Math.sin(a), 30 + r * Math.cos(b), 30 + r * Math.sin(b));
  }
  t.same(Array.from(rasterizeContours(again.finish()).coverage), Array.from(q.coverage), 'same path, same coverage');
});

t.test('degenerate input and bad options', async (t) => {
  t.equal(rasterizeContours([]).width, 0, 'nothing to fill');
  t.equal(total(rasterizeContours([[{ x: 0, y: 0 }, { x: 5, y: 0 }, { x: 10, y: 0 }]])), 0, 'a flat contour covers nothing');
  t.throws(() => rasterizeContours([rect(0, 0, 1, 1)], { subsamples: 0 }), RangeError);
  t.throws(() => rasterizeContours([[{ x: 0, y: 0 }, { x: NaN, y: 1 }, { x: 1, y: 1 }]]), /finite/);
  t.throws(() => new PathFlattener(0), RangeError);
});
