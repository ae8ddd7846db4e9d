// Debiased exponential smoothing (static/js/lib/smoothing.js), against values worked out by hand.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Smoother, smooth } from "../../static/js/lib/smoothing.js";

/** @param {ArrayLike<number>} actual @param {number[]} expected */
function close(actual, expected) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i])) assert.ok(Number.isNaN(actual[i]), `index ${i}: ${actual[i]}`);
    else if (!Number.isFinite(expected[i])) assert.equal(actual[i], expected[i], `index ${i}`);
    else assert.ok(Math.abs(actual[i] - expected[i]) < 1e-12, `index ${i}: ${actual[i]} against ${expected[i]}`);
  }
}

test("weight 0.5 by hand: debiased, so the first value is itself", () => {
  // last: 0.5·0 + 0.5·1 = 0.5, /(1 − 0.5) = 1
  //       0.5·0.5 + 0.5·2 = 1.25, /(1 − 0.25) = 5/3
  //       0.5·1.25 + 0.5·4 = 2.625, /(1 − 0.125) = 3
  close(smooth([1, 2, 4], 0.5), [1, 5 / 3, 3]);
});

test("NaN and ±Inf stay gaps and do not poison what follows", () => {
  // the same running average as above, the non-finite values skipped (n counts finite ones only):
  // after 1, 2, 4 last = 2.625; then 3: 0.5·2.625 + 0.5·3 = 2.8125, /(1 − 0.0625) = 3
  close(smooth([1, 2, NaN, 4, Infinity, -Infinity, 3], 0.5), [1, 5 / 3, NaN, 3, Infinity, -Infinity, 3]);
  // a series that starts with a gap: the first finite value is still itself
  close(smooth([NaN, 8, 2], 0.75), [NaN, 8, (0.75 * 0.25 * 8 + 0.25 * 2) / (1 - 0.5625)]);
});

test("weight 0 is the raw series", () => {
  const raw = [3, -1, NaN, 1e30, 0.25];
  close(smooth(raw, 0), raw);
});

test("weight 0.9 by hand, and a constant series stays constant", () => {
  // 0.1·10 = 1, /0.1 = 10; 0.9·1 + 0.1·0 = 0.9, /(1 − 0.81) = 0.9/0.19
  close(smooth([10, 0], 0.9), [10, 0.9 / 0.19]);
  const constant = smooth(new Float64Array(5000).fill(0.7), 0.999);
  for (const v of constant) assert.ok(Math.abs(v - 0.7) < 1e-9, String(v));
});

test("weights outside [0, 1) are refused", () => {
  for (const w of [1, -0.1, NaN, 2]) assert.throws(() => smooth([1], w), RangeError);
});

test("Smoother: appends in pieces equal the whole series smoothed at once, and reset starts over", () => {
  const values = new Float64Array(3000).map((_, i) => (i % 97 === 5 ? NaN : Math.sin(i / 7) + i / 1000));
  const smoother = new Smoother(0.6, 4);
  for (const upTo of [1, 2, 2, 10, 1000, 2999, 3000]) smoother.extend(values, upTo);
  assert.equal(smoother.count, 3000);
  close(smoother.values.subarray(0, 3000), [...smooth(values, 0.6)]);
  smoother.reset(0);
  smoother.extend(values, 3000);
  close(smoother.values.subarray(0, 3000), [...values]);
});
