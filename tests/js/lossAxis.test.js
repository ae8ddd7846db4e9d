// The loss chart's y axis at any magnitude (static/js/lib/lossAxis.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { lossTickLabels, toAxis, yFactor } from "../../static/js/lib/lossAxis.js";

test("losses uPlot can tick are left as they are", () => {
  for (const largest of [1e-6, 0.01, 1, 5e11]) assert.equal(yFactor(largest), 1);
  assert.equal(yFactor(0), 1);
  assert.equal(yFactor(NaN), 1);
  assert.equal(yFactor(Infinity), 1);
});

test("past 1e12 and below 1e−6 the values are scaled under 10", () => {
  assert.equal(yFactor(3.4e38), 1e38);
  assert.equal(yFactor(2e24), 1e24);
  assert.equal(yFactor(4e-9), 1e-9);
  for (const largest of [1e13, 7.7e20, 3.4e38, 2e-7, 5e-30]) {
    const scaled = largest / yFactor(largest);
    assert.ok(scaled >= 1 && scaled < 10, `${largest} → ${scaled}`);
  }
});

test("labels say the true losses, up to float32's 3.4e38", () => {
  const factor = yFactor(3.4e38);
  assert.deepEqual(lossTickLabels([0, 1, 2, 3], 1, factor, false), ["0", "1e38", "2e38", "3e38"]);
  assert.deepEqual(lossTickLabels([1.5, 2, 2.5], 0.5, yFactor(2.6e24), false), ["1.5e24", "2.0e24", "2.5e24"]);
  assert.deepEqual(lossTickLabels([0, 0.025, 0.05], 0.025, 1, false), ["0", "0.025", "0.050"]);
});

test("the log scale labels decades, and fractions of one when the range is narrow", () => {
  assert.deepEqual(lossTickLabels([-3, 0, 10, 38], 1, 1, true), ["0.001", "1", "1e10", "1e38"]);
  assert.deepEqual(lossTickLabels([null, -0.5], 0.5, 1, true), ["", "0.32"]);
});

test("NaN, ±Inf and, on a log scale, zero are gaps (null), never values", () => {
  for (const v of [NaN, Infinity, -Infinity, null]) {
    assert.equal(toAxis(v, 1, false), null);
    assert.equal(toAxis(v, 1, true), null);
  }
  assert.equal(toAxis(0, 1, true), null);
  assert.equal(toAxis(1e38, 1e38, false), 1);
  assert.equal(toAxis(1e38, 1, true), 38);
});
