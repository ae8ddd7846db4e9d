// The min/max pyramid of lib/decimate.js against a brute-force reading of every value, here.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MinMaxPyramid } from "../../static/js/lib/decimate.js";

/**
 * Per bucket of [from, to) (the same bucket edges as the chart's), the index of the lowest and
 * highest finite value (first of equals) and of the first non-finite one, ascending, no repeats.
 * @param {ArrayLike<number>} values @param {number} from @param {number} to @param {number} buckets
 */
function bruteForce(values, from, to, buckets) {
  const count = to - from;
  if (count <= 2 * buckets) return Array.from({ length: Math.max(0, count) }, (_, k) => from + k);
  const kept = [];
  for (let b = 0; b < buckets; b++) {
    const start = from + Math.floor((b * count) / buckets);
    const end = b === buckets - 1 ? to : from + Math.floor(((b + 1) * count) / buckets);
    const finite = [];
    let bad = -1;
    for (let i = start; i < end; i++) {
      if (Number.isFinite(values[i])) finite.push(i);
      else if (bad < 0) bad = i;
    }
    const lowest = Math.min(...finite.map((i) => values[i]));
    const highest = Math.max(...finite.map((i) => values[i]));
    const picks = new Set([bad]);
    if (finite.length) {
      picks.add(finite.find((i) => values[i] === lowest));
      picks.add(finite.find((i) => values[i] === highest));
    }
    picks.delete(-1);
    for (const i of [...picks].sort((x, y) => x - y)) if (kept[kept.length - 1] !== i) kept.push(i);
  }
  return kept;
}

/** Noise with repeats (ties), NaN and ±Inf here and there, and a one-step spike. @param {number} n */
function noisy(n, seed = 1) {
  let s = seed;
  const random = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = random();
    values[i] = r < 0.01 ? NaN : r < 0.015 ? Infinity : r < 0.02 ? -Infinity : Math.round(random() * 50) / 10;
  }
  values[Math.floor(n * 0.654321)] = 1e6;
  return values;
}

test("whole series and windows, at several widths: the same picks as brute force", () => {
  const values = noisy(20_011);
  const pyramid = new MinMaxPyramid();
  pyramid.update(values, values.length);
  for (const buckets of [1, 7, 100, 640, 1999]) {
    assert.deepEqual(pyramid.select(0, values.length, buckets), bruteForce(values, 0, values.length, buckets), `${buckets}`);
  }
  for (const [from, to] of [[3, 17_777], [4096, 8192], [1, 2], [15_000, 20_011], [0, 300]]) {
    assert.deepEqual(pyramid.select(from, to, 123), bruteForce(values, from, to, 123), `${from}–${to}`);
  }
});

test("appended in pieces of every size, it equals one built at once and brute force", () => {
  const values = noisy(50_000, 7);
  const pyramid = new MinMaxPyramid();
  let count = 0;
  for (const piece of [1, 1, 14, 1, 16, 17, 100, 1000, 4096, 5, 30_000]) {
    count += piece;
    pyramid.update(values, count);
    assert.deepEqual(pyramid.select(0, count, 97), bruteForce(values, 0, count, 97), `after ${count}`);
  }
  pyramid.update(values, values.length);
  assert.deepEqual(pyramid.select(0, values.length, 800), bruteForce(values, 0, values.length, 800));
});

test("non-finite values are counted as they arrive; a new array or a smaller count starts over", () => {
  const values = new Float64Array([1, NaN, 2, Infinity, 3, -Infinity, 4]);
  const pyramid = new MinMaxPyramid();
  pyramid.update(values, 2);
  assert.deepEqual([pyramid.nonFinite, pyramid.firstNonFinite], [1, 1]);
  pyramid.update(values, 7);
  assert.deepEqual([pyramid.nonFinite, pyramid.firstNonFinite], [3, 1]);
  const rewritten = new Float64Array([5, 6, NaN]);
  pyramid.update(rewritten, 3);
  assert.deepEqual([pyramid.nonFinite, pyramid.firstNonFinite, pyramid.count], [1, 2, 3]);
  assert.deepEqual(pyramid.select(0, 3, 1), [0, 1, 2]);
  pyramid.update(rewritten, 1);
  assert.deepEqual([pyramid.nonFinite, pyramid.count], [0, 1]);
});

test("a million steps into 1,000 columns: the spike's index is picked, and brute force agrees", () => {
  const n = 1_000_000;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = 0.5 + Math.exp(-i / 200_000) * (0.5 + 0.5 * Math.sin(i * 12.9898));
  values[654_320] = 1000;
  const pyramid = new MinMaxPyramid();
  pyramid.update(values, n);
  const picked = pyramid.select(0, n, 1000);
  assert.ok(picked.includes(654_320));
  assert.deepEqual(picked, bruteForce(values, 0, n, 1000));
});
