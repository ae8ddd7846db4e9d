// The loss surface's geometry (static/js/surface/geometry.js): contours, clipping, layout, arrows.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clipSegment,
  contourLevels,
  finitePoint,
  inside,
  logGrid,
  mapper,
  marchingSquares,
  niceTicks,
  plotRect,
  readableArrow,
  stopAtRim,
  surfaceRange,
  trailRuns,
} from "../../static/js/surface/geometry.js";

/** A bowl (w − 1)² + (b + 0.5)² on an n×n grid over [-2, 2]². @param {number} n */
function bowl(n) {
  const loss = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const w = -2 + (4 * c) / (n - 1);
      const b = -2 + (4 * r) / (n - 1);
      loss[r * n + c] = (w - 1) ** 2 + (b + 0.5) ** 2;
    }
  }
  return { w: /** @type {[number, number]} */ ([-2, 2]), b: /** @type {[number, number]} */ ([-2, 2]), n, loss };
}

test("the range finds the lowest grid point and a log floor", () => {
  const surface = bowl(41); // grid step 0.1: (1, -0.5) is a grid point
  const range = surfaceRange(surface);
  assert.ok(Math.abs(range.argW - 1) < 1e-9 && Math.abs(range.argB + 0.5) < 1e-9, JSON.stringify(range));
  assert.ok(range.min < 1e-20);
  assert.equal(range.max, 3 ** 2 + 2.5 ** 2);
  assert.ok(range.floor >= range.max * 1e-8, "a zero minimum does not stretch the log scale forever");
});

test("non-finite losses are skipped by the range and kept by the log grid", () => {
  const surface = bowl(5);
  const loss = Float64Array.from(surface.loss);
  loss[0] = NaN;
  loss[1] = Infinity;
  const range = surfaceRange({ ...surface, loss });
  assert.ok(Number.isFinite(range.max));
  const grid = logGrid(loss, range.floor);
  assert.ok(Number.isNaN(grid[0]));
  assert.equal(grid[1], Infinity);
});

test("contour levels are log-spaced strictly inside the range", () => {
  const levels = contourLevels(1e-3, 10, 4);
  assert.equal(levels.length, 4);
  const ratios = levels.slice(1).map((l, i) => l / levels[i]);
  for (const r of ratios) assert.ok(Math.abs(r - ratios[0]) < 1e-9);
  assert.ok(levels[0] > 1e-3 && levels[3] < 10);
  assert.deepEqual(contourLevels(1, 1, 4), []);
  assert.deepEqual(contourLevels(0, NaN, 4), []);
});

test("marching squares: every segment end lies on the level (linear data), inside the grid", () => {
  const n = 9;
  const grid = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) grid[r * n + c] = c + 2 * r; // a plane
  const level = 7.5;
  const segments = marchingSquares(grid, n, level);
  assert.ok(segments.length > 0);
  for (const [x1, y1, x2, y2] of segments) {
    assert.ok(Math.abs(x1 + 2 * y1 - level) < 1e-9 && Math.abs(x2 + 2 * y2 - level) < 1e-9);
    for (const v of [x1, x2, y1, y2]) assert.ok(v >= 0 && v <= n - 1);
  }
});

test("marching squares: a circle's contour is closed, near the true radius, cells with NaN skipped", () => {
  const n = 41;
  const grid = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) grid[r * n + c] = Math.hypot(c - 20, r - 20);
  // 10.3, not 10: no grid point lies exactly on the level (hypot(6, 8) = 10 would)
  const segments = marchingSquares(grid, n, 10.3);
  for (const [x1, y1] of segments) assert.ok(Math.abs(Math.hypot(x1 - 20, y1 - 20) - 10.3) < 0.1);
  // closed: every end point is shared by exactly two segments
  const key = (/** @type {number} */ x, /** @type {number} */ y) => `${x.toFixed(6)},${y.toFixed(6)}`;
  const ends = new Map();
  for (const [x1, y1, x2, y2] of segments) {
    for (const k of [key(x1, y1), key(x2, y2)]) ends.set(k, (ends.get(k) ?? 0) + 1);
  }
  assert.ok([...ends.values()].every((count) => count === 2));
  grid[20 * n + 30] = NaN; // on the circle
  const holed = marchingSquares(grid, n, 10.3);
  assert.ok(holed.length < segments.length && holed.length > segments.length - 8);
  assert.throws(() => marchingSquares(new Float64Array(3), 2, 0), RangeError);
});

test("clipping keeps what is inside, cuts at the edges, drops what is outside", () => {
  const rect = { x: 0, y: 0, w: 10, h: 10 };
  assert.deepEqual(clipSegment([1, 1], [9, 9], rect), [[1, 1], [9, 9]]);
  assert.deepEqual(clipSegment([-5, 5], [15, 5], rect), [[0, 5], [10, 5]]);
  assert.equal(clipSegment([-5, -5], [-1, 20], rect), null);
  assert.equal(clipSegment([11, 0], [11, 10], rect), null);
});

test("trails break at non-finite points and at the edge of the plot", () => {
  const clip = { x: 0, y: 0, w: 10, h: 10 };
  const identity = (/** @type {number[]} */ p) => p;
  const runs = trailRuns([[1, 1], [2, 2], [NaN, 3], [4, 4], [5, 5], [20, 5], [6, 6], [7, 7]], identity, clip);
  assert.deepEqual(runs, [
    [[1, 1], [2, 2]],
    [[4, 4], [5, 5], [10, 5]],
    [[10, 5 + 10 / 14], [6, 6], [7, 7]],
  ]);
});

test("ticks: 1, 2, 5 × 10^k, at least three, covering the range", () => {
  const { values, step } = niceTicks(0, 2.5, 5);
  assert.equal(step, 0.5);
  assert.deepEqual(values, [0, 0.5, 1, 1.5, 2, 2.5]);
  assert.equal(niceTicks(-0.5, 2.5, 5).step, 1); // the narrowest nice step at least range/target
  assert.ok(niceTicks(0, 1e-5, 1).values.length >= 3);
});

test("layout: the plot fits the panel, with room for axes and colour bar, at phone sizes too", () => {
  for (const [width, height] of [[600, 400], [330, 420], [300, 260], [1200, 300]]) {
    const rect = plotRect(width, height);
    assert.ok(rect.x >= 50 && rect.y >= 10, JSON.stringify(rect));
    assert.ok(rect.x + rect.w <= width && rect.y + rect.h <= height, `${width}×${height}: ${JSON.stringify(rect)}`);
    assert.ok(rect.w >= 20 && rect.h >= 20);
  }
});

test("the map puts w to the right and b upwards", () => {
  const surface = bowl(5);
  const map = mapper(surface, { x: 100, y: 50, w: 200, h: 100 });
  assert.deepEqual(map([-2, -2]), [100, 150]);
  assert.deepEqual(map([2, 2]), [300, 50]);
  assert.ok(inside(surface, [0, 0]) && !inside(surface, [3, 0]));
  assert.ok(finitePoint([1, 2]) && !finitePoint([NaN, 2]) && !finitePoint(null));
});

test("an arrow too short to see is stretched to the minimum, same direction, true length kept", () => {
  const map = (/** @type {number[]} */ [w, b]) => [100 * w, -100 * b]; // 100 px per unit, b up
  const tiny = readableArrow([0, 0], [3e-4, 4e-4], map, 26);
  assert.ok(tiny);
  assert.equal(tiny.stretched, true);
  assert.ok(Math.abs(tiny.length - 5e-4) < 1e-12);
  const [dx, dy] = [tiny.tip[0] - tiny.from[0], tiny.tip[1] - tiny.from[1]];
  assert.ok(Math.abs(Math.hypot(dx, dy) - 26) < 1e-9);
  assert.ok(Math.abs(dx / Math.hypot(dx, dy) - 0.6) < 1e-9 && Math.abs(dy / Math.hypot(dx, dy) + 0.8) < 1e-9);
  const long = readableArrow([0, 0], [1, 0], map, 26);
  assert.deepEqual(long, { from: [0, -0], tip: [100, -0], stretched: false, length: 1 });
  assert.equal(readableArrow([0, 0], [0, 0], map, 26), null);
  assert.equal(readableArrow([0, 0], [NaN, 0], map, 26), null);
  // below a pixel in float arithmetic: the direction still comes through
  const subnormal = readableArrow([1, 1], [1e-300, 0], map, 26);
  assert.ok(subnormal && subnormal.stretched && subnormal.tip[0] > subnormal.from[0]);
});

test("a tip inside a marker stops at its rim", () => {
  const tip = stopAtRim([0, 0], [10, 0], [10, 0], 5);
  assert.ok(Math.abs(tip[0] - 5) < 1e-9 && tip[1] === 0);
  assert.deepEqual(stopAtRim([0, 0], [10, 0], [30, 0], 5), [10, 0]);
});
