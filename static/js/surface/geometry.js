// @ts-check
/**
 * The loss surface's geometry, free of the DOM: the grid's range and log levels, contour lines
 * (marching squares), clipping to the plot, axis ticks, the plot's layout in the panel, and the
 * arrows' maths. Pure: node --test checks it (tests/js/surface-geometry.test.js).
 */

/**
 * @typedef {{w: [number, number], b: [number, number], n: number, loss: ArrayLike<number>,
 *            minimum?: [number, number], start?: [number, number]}} Surface
 *   `loss` holds n×n values, row-major: row r is b = bMin + r·(bMax − bMin)/(n − 1), column c is
 *   w = wMin + c·(wMax − wMin)/(n − 1).
 * @typedef {[number, number, number, number]} Segment x1, y1, x2, y2 in grid coordinates
 * @typedef {{x: number, y: number, w: number, h: number}} Rect
 * @typedef {{min: number, max: number, floor: number, argW: number, argB: number}} Range
 *   the grid's lowest and highest finite loss, where the log scale starts, and the lowest point
 */

/** The most the log scale spans, max/min: lower losses, and zero, take its lowest colour. */
export const LOG_RANGE = 1e-8;
export const MARGIN = { left: 50, right: 12, top: 10, bottom: 38 };
/**
 * The colour bar: its gap from the plot, its thickness, the room it takes right of the plot (bar,
 * ticks, labels, rotated title) or under the x axis (title, bar, labels).
 */
export const COLORBAR = { gap: 14, width: 11, room: 92, under: 46 };

/** @param {unknown} p */
export const finitePoint = (p) =>
  Array.isArray(p) && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]);

/**
 * The grid's range: lowest and highest finite loss, the floor of the log scale (the lowest
 * positive loss, but no lower than LOG_RANGE × max), and where the lowest loss is.
 * @param {Surface} surface @returns {Range}
 */
export function surfaceRange(surface) {
  const { n, loss } = surface;
  let min = Infinity;
  let max = -Infinity;
  let minPositive = Infinity;
  let at = -1;
  for (let i = 0; i < n * n; i++) {
    const v = loss[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) (min = v), (at = i);
    if (v > max) max = v;
    if (v > 0 && v < minPositive) minPositive = v;
  }
  const floor = Number.isFinite(minPositive) ? Math.max(minPositive, max * LOG_RANGE) : NaN;
  const [w0, w1] = surface.w;
  const [b0, b1] = surface.b;
  return {
    min,
    max,
    floor,
    argW: at < 0 ? NaN : w0 + ((at % n) / (n - 1)) * (w1 - w0),
    argB: at < 0 ? NaN : b0 + (Math.floor(at / n) / (n - 1)) * (b1 - b0),
  };
}

/**
 * log(loss) per grid point, losses under the floor raised to it; +Inf stays +Inf, NaN stays NaN.
 * @param {ArrayLike<number>} loss @param {number} floor @returns {Float64Array}
 */
export function logGrid(loss, floor) {
  const out = new Float64Array(loss.length);
  for (let i = 0; i < loss.length; i++) {
    const v = loss[i];
    out[i] = Number.isFinite(v) ? Math.log(Math.max(v, floor)) : v === Infinity ? Infinity : NaN;
  }
  return out;
}

/**
 * `count` levels spaced evenly in log(loss), strictly between minLoss and maxLoss. A minimum at or
 * below zero starts the scale LOG_RANGE below the maximum. Empty when there is no range.
 * @param {number} minLoss @param {number} maxLoss @param {number} count
 * @returns {number[]}
 */
export function contourLevels(minLoss, maxLoss, count) {
  if (!(maxLoss > 0) || !Number.isFinite(maxLoss) || !(count >= 1)) return [];
  const lo = Math.log(minLoss > 0 ? minLoss : maxLoss * LOG_RANGE);
  const hi = Math.log(maxLoss);
  if (!(hi > lo)) return [];
  const levels = [];
  for (let i = 1; i <= count; i++) levels.push(Math.exp(lo + ((hi - lo) * i) / (count + 1)));
  return levels;
}

/**
 * Marching squares: the line segments where a grid crosses `level`, interpolated linearly along
 * the cell edges. Saddle cells are resolved by the cell's mean. Cells with a non-finite corner are
 * skipped.
 * @param {ArrayLike<number>} grid n×n values, row-major, grid[row·n + column]
 * @param {number} n @param {number} level
 * @returns {Segment[]} segments in grid coordinates: x is the column, y the row
 */
export function marchingSquares(grid, n, level) {
  /** @type {Segment[]} */
  const segments = [];
  if (grid.length < n * n) throw new RangeError(`grid has ${grid.length} values, not ${n}×${n}`);
  for (let r = 0; r + 1 < n; r++) {
    for (let c = 0; c + 1 < n; c++) {
      // Corners anticlockwise from the lower left: (c, r), (c+1, r), (c+1, r+1), (c, r+1).
      const v = [grid[r * n + c], grid[r * n + c + 1], grid[(r + 1) * n + c + 1], grid[(r + 1) * n + c]];
      if (!v.every(Number.isFinite)) continue;
      const above = v.map((x) => x >= level);
      if (above.every((a) => a === above[0])) continue;
      const corners = [[c, r], [c + 1, r], [c + 1, r + 1], [c, r + 1]];
      /** The crossing on edge e, from corner e to corner e + 1. @param {number} e */
      const cross = (e) => {
        const a = v[e];
        const b = v[(e + 1) % 4];
        const t = a === b ? 0.5 : (level - a) / (b - a);
        const [x0, y0] = corners[e];
        const [x1, y1] = corners[(e + 1) % 4];
        return [x0 + (x1 - x0) * t, y0 + (y1 - y0) * t];
      };
      const edges = [0, 1, 2, 3].filter((e) => above[e] !== above[(e + 1) % 4]);
      if (edges.length === 2) {
        const [p, q] = edges.map(cross);
        segments.push([p[0], p[1], q[0], q[1]]);
        continue;
      }
      // A saddle: cut off the two corners on the other side of the level from the cell's centre.
      const centre = (v[0] + v[1] + v[2] + v[3]) / 4 >= level;
      for (let k = 0; k < 4; k++) {
        if (above[k] === centre) continue;
        const p = cross((k + 3) % 4); // the edge arriving at corner k
        const q = cross(k); // the edge leaving it
        segments.push([p[0], p[1], q[0], q[1]]);
      }
    }
  }
  return segments;
}

/**
 * Clip the segment a→b to a rectangle (Liang–Barsky). Null when none of it is inside.
 * @param {number[]} a @param {number[]} b @param {Rect} rect @returns {number[][] | null}
 */
export function clipSegment(a, b, rect) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  let t0 = 0;
  let t1 = 1;
  const checks = [
    [-dx, a[0] - rect.x],
    [dx, rect.x + rect.w - a[0]],
    [-dy, a[1] - rect.y],
    [dy, rect.y + rect.h - a[1]],
  ];
  for (const [p, q] of checks) {
    if (p === 0) {
      if (q < 0) return null;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return null;
  }
  return [
    [a[0] + dx * t0, a[1] + dy * t0],
    [a[0] + dx * t1, a[1] + dy * t1],
  ];
}

/**
 * Tick values at 1, 2 or 5 × 10^k spacing: about `target` of them, and never fewer than three.
 * @param {number} lo @param {number} hi @param {number} target
 * @returns {{values: number[], step: number}}
 */
export function niceTicks(lo, hi, target) {
  const raw = (hi - lo) / Math.max(1, target);
  if (!(raw > 0) || !Number.isFinite(raw)) return { values: [lo], step: 1 };
  const nice = [1, 2, 5]
    .flatMap((m) => [-1, 0, 1].map((e) => m * 10 ** (Math.floor(Math.log10(raw)) + e)))
    .sort((a, b) => b - a);
  const at = (/** @type {number} */ step) => {
    const values = [];
    // + 0 turns the -0 that Math.ceil(-1e-9) gives into 0
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) values.push(k * step + 0);
    return values;
  };
  // The narrowest nice step at least `raw`, or a narrower one where that gives fewer than three.
  const first = Math.max(0, nice.findLastIndex((step) => step >= raw * 0.999));
  for (const step of nice.slice(first)) {
    const values = at(step);
    if (values.length >= 3) return { values, step };
  }
  const step = nice[nice.length - 1];
  return { values: at(step), step };
}

/** @param {Surface} surface @param {number[]} p */
export function inside(surface, p) {
  const [w0, w1] = [Math.min(...surface.w), Math.max(...surface.w)];
  const [b0, b1] = [Math.min(...surface.b), Math.max(...surface.b)];
  return p[0] >= w0 && p[0] <= w1 && p[1] >= b0 && p[1] <= b1;
}

/**
 * Whether the colour bar goes right of the plot (true) or under it: beside unless that leaves a
 * clearly smaller plot, as in a narrow, tall panel.
 * @param {number} width @param {number} height the panel's drawing area, CSS px
 */
export function barBeside(width, height) {
  const side = (/** @type {number} */ w, /** @type {number} */ h) => Math.min(w, h * 1.25, h);
  const w = width - MARGIN.left - MARGIN.right;
  const h = height - MARGIN.top - MARGIN.bottom;
  return side(w - COLORBAR.room, h) >= side(w, h - COLORBAR.under) - 12;
}

/**
 * The plot area: square-ish, centred, with room for the axes and the colour bar.
 * @param {number} width @param {number} height @returns {Rect}
 */
export function plotRect(width, height) {
  const beside = barBeside(width, height);
  const availW = Math.max(20, width - MARGIN.left - MARGIN.right - (beside ? COLORBAR.room : 0));
  const availH = Math.max(20, height - MARGIN.top - MARGIN.bottom - (beside ? 0 : COLORBAR.under));
  const w = Math.min(availW, availH * 1.25);
  const h = Math.min(availH, w * 1.25);
  const x = MARGIN.left + Math.floor((availW - w) / 2);
  return { x, y: MARGIN.top + Math.floor((availH - h) / 2), w: Math.floor(w), h: Math.floor(h) };
}

/**
 * Data (w, b) to pixels in the plot: w grows rightwards, b upwards.
 * @param {Surface} surface @param {Rect} rect @returns {(p: number[]) => number[]}
 */
export function mapper(surface, rect) {
  const [w0, w1] = surface.w;
  const [b0, b1] = surface.b;
  return (p) => [rect.x + ((p[0] - w0) / (w1 - w0)) * rect.w, rect.y + rect.h - ((p[1] - b0) / (b1 - b0)) * rect.h];
}

/**
 * The trail as runs of pixel points, broken at non-finite points and clipped to the rectangle.
 * @param {number[][]} trail @param {(p: number[]) => number[]} map @param {Rect} clip
 * @returns {number[][][]}
 */
export function trailRuns(trail, map, clip) {
  /** @type {number[][][]} */
  const runs = [];
  /** @type {number[][] | null} */
  let run = null;
  /** @type {number[] | null} */
  let previous = null;
  for (const p of trail) {
    if (!finitePoint(p)) {
      previous = null;
      run = null;
      continue;
    }
    const q = map(p);
    if (previous) {
      const piece = clipSegment(previous, q, clip);
      if (!piece) {
        run = null;
      } else {
        const [a, b] = piece;
        const last = run?.[run.length - 1];
        if (!run || !last || last[0] !== a[0] || last[1] !== a[1]) {
          run = [a];
          runs.push(run);
        }
        run.push(b);
        if (b[0] !== q[0] || b[1] !== q[1]) run = null; // it left the rectangle
      }
    }
    previous = q;
  }
  return runs;
}

/**
 * The tip b pulled back along a→b to where the arrow enters the circle of `radius` around `centre`,
 * when b lies inside that circle and a outside it; else b as it is.
 * @param {number[]} a @param {number[]} b @param {number[]} centre @param {number} radius
 */
export function stopAtRim(a, b, centre, radius) {
  const inCircle = (/** @type {number[]} */ p) => Math.hypot(p[0] - centre[0], p[1] - centre[1]) < radius;
  if (!inCircle(b) || inCircle(a)) return b;
  // |a + t·d − centre| = radius, the smaller root: where the arrow first meets the circle.
  const d = [b[0] - a[0], b[1] - a[1]];
  const f = [a[0] - centre[0], a[1] - centre[1]];
  const qa = d[0] * d[0] + d[1] * d[1];
  const qb = 2 * (f[0] * d[0] + f[1] * d[1]);
  const qc = f[0] * f[0] + f[1] * f[1] - radius * radius;
  const t = (-qb - Math.sqrt(Math.max(0, qb * qb - 4 * qa * qc))) / (2 * qa);
  return [a[0] + d[0] * t, a[1] + d[1] * t];
}

/**
 * An arrow from `from` along `delta` (both in data units), as drawn: its pixel tip, stretched to at
 * least `minPixels` long (same direction) where it would be too short to see. `length` is the true
 * length in data units, to write beside a stretched arrow; null when there is no direction at all
 * (a zero or non-finite step).
 * @param {number[]} from @param {number[]} delta @param {(p: number[]) => number[]} map
 * @param {number} minPixels
 * @returns {{from: number[], tip: number[], stretched: boolean, length: number} | null}
 */
export function readableArrow(from, delta, map, minPixels) {
  if (!finitePoint(from) || !finitePoint(delta)) return null;
  const length = Math.hypot(delta[0], delta[1]);
  if (length === 0) return null;
  const a = map(from);
  const b = map([from[0] + delta[0], from[1] + delta[1]]);
  const pixels = Math.hypot(b[0] - a[0], b[1] - a[1]);
  if (!(pixels > 0) || !Number.isFinite(pixels)) {
    // Too small to move a pixel in float arithmetic: take the direction from the data.
    const unit = map([from[0] + delta[0] / length, from[1] + delta[1] / length]);
    const u = [unit[0] - a[0], unit[1] - a[1]];
    const norm = Math.hypot(u[0], u[1]);
    if (!(norm > 0)) return null;
    return { from: a, tip: [a[0] + (u[0] / norm) * minPixels, a[1] + (u[1] / norm) * minPixels], stretched: true, length };
  }
  if (pixels >= minPixels) return { from: a, tip: b, stretched: false, length };
  const k = minPixels / pixels;
  return { from: a, tip: [a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k], stretched: true, length };
}
