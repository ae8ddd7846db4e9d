// Decimation of the loss series for the chart (static/js/lib/decimate.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { countNonFinite, mergeIndices, pick, selectIndices } from "../../static/js/lib/decimate.js";

/** A slowly falling loss with some noise: no step is special. @param {number} n */
function falling(n) {
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = 1 / (1 + i / 100) + 0.01 * Math.sin(i * 0.37);
  return values;
}

test("short series: every step is kept", () => {
  const values = falling(50);
  assert.deepEqual(selectIndices(values, 0, 50, 100), [...Array(50).keys()]);
});

test("a million steps into 800 columns: at most three points a column, ascending, in range", () => {
  const values = falling(1_000_000);
  const kept = selectIndices(values, 0, values.length, 800);
  assert.ok(kept.length <= 3 * 800 && kept.length >= 800, String(kept.length));
  for (let k = 1; k < kept.length; k++) assert.ok(kept[k] > kept[k - 1]);
  assert.ok(kept[0] >= 0 && kept[kept.length - 1] < values.length);
});

test("per column, its minimum and maximum are kept: a one-step spike survives", () => {
  const values = falling(100_000);
  values[54_321] = 1e30;
  values[77_777] = -5;
  const kept = selectIndices(values, 0, values.length, 300);
  assert.ok(kept.includes(54_321));
  assert.ok(kept.includes(77_777));
  // the overall extremes are kept too, whatever the column boundaries
  let hi = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[hi]) hi = i;
  assert.ok(kept.includes(hi));
});

test("NaN and ±Inf are never lost: each column with one keeps its first as a gap", () => {
  const values = falling(100_000);
  const bad = [3, 12_345, 12_346, 99_999];
  values[3] = NaN;
  values[12_345] = Infinity;
  values[12_346] = NaN;
  values[99_999] = -Infinity;
  for (const buckets of [10, 137, 1000, 60_000]) {
    const kept = selectIndices(values, 0, values.length, buckets);
    const gaps = kept.filter((i) => !Number.isFinite(values[i]));
    for (const i of [3, 99_999]) assert.ok(gaps.includes(i), `${buckets} columns lost step ${i + 1}`);
    assert.ok(gaps.includes(12_345), `${buckets} columns lost the Inf`);
    const ys = pick(values, kept);
    assert.equal(ys.filter((y) => y === null).length, gaps.length);
  }
  assert.deepEqual(countNonFinite(values, values.length), { count: bad.length, firstStep: 4 });
});

test("a column of nothing but NaN still draws as a gap", () => {
  const values = new Float64Array(10_000).fill(NaN);
  const kept = selectIndices(values, 0, values.length, 100);
  assert.equal(kept.length, 100);
  assert.ok(pick(values, kept).every((y) => y === null));
});

test("a sub-range (a zoomed window) is decimated within its bounds", () => {
  const values = falling(1_000_000);
  const kept = selectIndices(values, 500_000, 500_400, 200);
  assert.deepEqual(kept, [...Array(400).keys()].map((k) => 500_000 + k));
  const wide = selectIndices(values, 10_000, 900_000, 100);
  assert.ok(wide[0] >= 10_000 && wide[wide.length - 1] < 900_000);
});

test("indices of several series merge into one ascending list without repeats", () => {
  assert.deepEqual(mergeIndices([[1, 5, 9], [2, 5, 10], []]), [1, 2, 5, 9, 10]);
});

test("counting non-finite values stops at count", () => {
  assert.deepEqual(countNonFinite([1, NaN, 2, NaN], 1), { count: 0, firstStep: null });
  assert.deepEqual(countNonFinite([1, NaN, 2, NaN], 4), { count: 2, firstStep: 2 });
});
