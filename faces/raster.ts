// A small deterministic anti-aliased scanline rasteriser for filled outlines (glyphs of card faces).
//
// Paths are flattened to polygons: quadratic and cubic Béziers are cut into n straight segments,
// n chosen from the curve's second difference so the chord never strays more than `tolerance`
// pixels from the curve (default 0.2 px). Filling uses the non-zero winding rule: each pixel row is
// sampled on `subsamples` horizontal sub-scanlines (default 16, at row + (k + ½)/16); on each, the
// edge crossings are sorted and the spans where the winding number is not zero are accumulated
// with their exact horizontal extent, so a pixel's coverage is the fraction of it inside the shape
// (exact horizontally, 1/16 steps vertically). Fully inside ⇒ exactly 1, fully outside ⇒ exactly 0.
// Only IEEE double arithmetic in a fixed order: the same path gives the same coverage everywhere.

export interface Point {
  x: number;
  y: number;
}

/** A closed polygon (the last point joins the first). */
export type Contour = Point[];

/** Coverage of the pixels [x, x + width) × [y, y + height), row by row, each 0..1. */
export interface CoverageMask {
  x: number;
  y: number;
  width: number;
  height: number;
  coverage: Float64Array;
}

/** Builds contours from path commands (moveTo / lineTo / quadTo / cubicTo / close), flattening curves. */
export class PathFlattener {
  readonly contours: Contour[] = [];
  private current: Contour | undefined;
  private last: Point = { x: 0, y: 0 };

  constructor(readonly tolerance = 0.2) {
    if (!(tolerance > 0)) throw new RangeError('raster: tolerance must be > 0');
  }

  moveTo(x: number, y: number): void {
    this.close();
    this.current = [{ x, y }];
    this.last = { x, y };
  }

  lineTo(x: number, y: number): void {
    if (!this.current) this.current = [{ ...this.last }];
    this.current.push({ x, y });
    this.last = { x, y };
  }

  quadTo(cx: number, cy: number, x: number, y: number): void {
    const p0 = this.last;
    // Chord error of n segments ≤ |p0 − 2c + p| / (4 n²).
    const d = Math.hypot(p0.x - 2 * cx + x, p0.y - 2 * cy + y);
    const n = segments(d / (4 * this.tolerance));
    for (let i = 1; i < n; i++) {
      const t = i / n;
      const u = 1 - t;
      this.lineTo(u * u * p0.x + 2 * u * t * cx + t * t * x, u * u * p0.y + 2 * u * t * cy + t * t * y);
    }
    this.lineTo(x, y);
  }

  cubicTo(c1x: number, c1y: number, c2x: number, c2y: number, x: number, y: number): void {
    const p0 = this.last;
    // Chord error of n segments ≤ 3 · max second difference / (4 n²).
    const d = Math.max(Math.hypot(p0.x - 2 * c1x + c2x, p0.y - 2 * c1y + c2y), Math.hypot(c1x - 2 * c2x + x, c1y - 2 * c2y + y));
    const n = segments((3 * d) / (4 * this.tolerance));
    for (let i = 1; i < n; i++) {
      const t = i / n;
      const u = 1 - t;
      const a = u * u * u;
      const b = 3 * u * u * t;
      const c = 3 * u * t * t;
      const e = t * t * t;
      this.lineTo(a * p0.x + b * c1x + c * c2x + e * x, a * p0.y + b * c1y + c * c2y + e * y);
    }
    this.lineTo(x, y);
  }

  /** Ends the current contour (an open one is closed by the fill anyway). */
  close(): void {
    if (this.current && this.current.length >= 3) this.contours.push(this.current);
    if (this.current) this.last = { ...this.current[0]! };
    this.current = undefined;
  }

  /** The contours, the current one closed. */
  finish(): Contour[] {
    this.close();
    return this.contours;
  }
}

function segments(squared: number): number {
  return Math.min(128, Math.max(1, Math.ceil(Math.sqrt(squared))));
}

interface Edge {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** +1 when the edge goes down (y grows), −1 when it goes up. */
  dir: number;
  top: number;
  bottom: number;
}

/**
 * Fills `contours` with the non-zero winding rule and returns the coverage of every pixel of the
 * shape's bounding box (integer-aligned). `subsamples`: sub-scanlines per pixel row (1..256).
 */
export function rasterizeContours(contours: readonly Contour[], options: { subsamples?: number } = {}): CoverageMask {
  const S = options.subsamples ?? 16;
  if (!Number.isInteger(S) || S < 1 || S > 256) throw new RangeError('raster: subsamples must be an integer 1..256');
  const edges: Edge[] = [];
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const c of contours) {
    for (let i = 0; i < c.length; i++) {
      const a = c[i]!;
      const b = c[(i + 1) % c.length]!;
      if (!Number.isFinite(a.x) || !Number.isFinite(a.y)) throw new RangeError('raster: a point is not a finite number');
      minX = Math.min(minX, a.x);
      maxX = Math.max(maxX, a.x);
      minY = Math.min(minY, a.y);
      maxY = Math.max(maxY, a.y);
      if (a.y === b.y) continue; // horizontal edges cross no sub-scanline
      edges.push({ x0: a.x, y0: a.y, x1: b.x, y1: b.y, dir: b.y > a.y ? 1 : -1, top: Math.min(a.y, b.y), bottom: Math.max(a.y, b.y) });
    }
  }
  if (edges.length === 0) return { x: 0, y: 0, width: 0, height: 0, coverage: new Float64Array(0) };
  const ox = Math.floor(minX);
  const oy = Math.floor(minY);
  const w = Math.max(1, Math.ceil(maxX) - ox);
  const h = Math.max(1, Math.ceil(maxY) - oy);
  if (w * h > 64 * 1024 * 1024) throw new RangeError(`raster: shape too large (${w} × ${h} pixels)`);
  const coverage = new Float64Array(w * h);
  edges.sort((a, b) => a.top - b.top || a.bottom - b.bottom || a.x0 - b.x0 || a.x1 - b.x1);
  const cov = new Float64Array(w + 2);
  const delta = new Float64Array(w + 2);
  const xs: number[] = [];
  const dirs: number[] = [];
  const order: number[] = [];
  let active: Edge[] = [];
  let next = 0;
  for (let row = 0; row < h; row++) {
    const y0 = oy + row;
    // Active edges: those overlapping [y0, y0 + 1).
    active = active.filter((e) => e.bottom > y0);
    while (next < edges.length && edges[next]!.top < y0 + 1) {
      if (edges[next]!.bottom > y0) active.push(edges[next]!);
      next++;
    }
    if (active.length === 0) continue;
    cov.fill(0);
    delta.fill(0);
    let touched = false;
    for (let k = 0; k < S; k++) {
      const sy = y0 + (k + 0.5) / S;
      xs.length = 0;
      dirs.length = 0;
      for (const e of active) {
        if (sy < e.top || sy >= e.bottom) continue;
        xs.push(e.x0 + ((sy - e.y0) * (e.x1 - e.x0)) / (e.y1 - e.y0) - ox);
        dirs.push(e.dir);
      }
      if (xs.length < 2) continue;
      order.length = 0;
      for (let i = 0; i < xs.length; i++) order.push(i);
      order.sort((a, b) => xs[a]! - xs[b]! || dirs[a]! - dirs[b]!);
      let winding = 0;
      let start = 0;
      for (const i of order) {
        const before = winding;
        winding += dirs[i]!;
        if (before === 0 && winding !== 0) start = xs[i]!;
        else if (before !== 0 && winding === 0) {
          addSpan(cov, delta, w, start, xs[i]!);
          touched = true;
        }
      }
    }
    if (!touched) continue;
    let run = 0;
    const base = row * w;
    for (let x = 0; x < w; x++) {
      run += delta[x]!;
      const v = (cov[x]! + run) / S;
      coverage[base + x] = v > 1 ? 1 : v < 0 ? 0 : v;
    }
  }
  return { x: ox, y: oy, width: w, height: h, coverage };
}

/** Adds the span [a, b) of one sub-scanline: exact partial pixels at both ends, whole ones via `delta`. */
function addSpan(cov: Float64Array, delta: Float64Array, w: number, a: number, b: number): void {
  if (a < 0) a = 0;
  if (b > w) b = w;
  if (b <= a) return;
  const ia = Math.floor(a);
  const ib = Math.floor(b);
  if (ia === ib) {
    cov[ia]! += b - a;
    return;
  }
  cov[ia]! += ia + 1 - a;
  delta[ia + 1]! += 1;
  delta[ib]! -= 1;
  if (ib < w) cov[ib]! += b - ib;
}
