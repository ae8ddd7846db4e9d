// The health history keeps the latest points in typed arrays (static/js/views/health/history.js),
// and the distributions heatmap's mapping from steps and values to pixels (distributionGrid.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { binOf, binRange, columnPoints, stepRange, valueRange } from "../../static/js/views/health/distributionGrid.js";
import { BINS, HealthHistory, NOT_MEASURED } from "../../static/js/views/health/history.js";
import { smoothLog } from "../../static/js/views/health/logScale.js";
import { arrivalRate, percentText } from "../../static/js/views/health/overhead.js";

/** A point with one tensor "w": its value distribution's counts all `fill`, its grad optional. */
function point(step, { fill = 1, grad = true, ratio = 0.001 } = {}) {
  const counts = new Array(BINS).fill(fill);
  return {
    step,
    grad_norm: grad ? 2 : null,
    layers: [{
      tensor: "w", value_norm: 1, grad_norm: grad ? 2 : null, update_norm: 0.001, update_ratio: ratio,
      distributions: [
        { field: "value", low: -1, high: 1, counts, nonfinite: 0 },
        ...(grad ? [{ field: "grad", low: "-Infinity", high: 3, counts, nonfinite: 2 }] : []),
      ],
    }],
    units: [{ layer: "net.1", units: 8, dead: 3 }],
    overhead: { budget: 0.05, share: 0.02, snapshot_ms: 3, interval_s: 0.5 },
  };
}

test("points are kept in step order; the same step again replaces, an older one is left out", () => {
  const h = new HealthHistory(10);
  assert.equal(h.add([point(1), point(2, { grad: false })]), 2);
  assert.equal(h.add([point(2, { fill: 5 })]), 1); // a later phase of step 2: replaces it
  assert.equal(h.add([point(1)]), 0);
  assert.equal(h.length, 2);
  assert.deepEqual(Array.from(h.steps.subarray(0, 2)), [1, 2]);
  const value = h.distribution("w", "value");
  assert.equal(value?.countsAt(1)[0], 5);
  assert.deepEqual(h.fieldsOf("w"), ["value", "grad"]);
  // JSON's "-Infinity" is read as a number; a point without a gradient has no grad distribution
  const grad = h.distribution("w", "grad");
  assert.equal(grad?.low[0], -Infinity);
  assert.equal(grad?.nonfinite[0], 2);
  assert.equal(h.units.get("net.1")?.dead[1], 3);
  assert.equal(h.layers.get("w")?.updateRatio[0], 0.001);
});

test("a replacing point without a field clears that field at its step", () => {
  const h = new HealthHistory(10);
  h.add([point(1)]);
  h.add([point(1, { grad: false })]); // zero_grad cleared the gradient
  assert.equal(h.distribution("w", "grad")?.has(0), false);
  assert.equal(h.layers.get("w")?.gradNorm[0], NOT_MEASURED); // null: not measured, not NaN
});

test("only the latest `capacity` points are kept, live or from a long history", () => {
  const h = new HealthHistory(4);
  h.add(Array.from({ length: 7 }, (_, i) => point(i + 1, { fill: i + 1 })));
  assert.equal(h.length, 4);
  assert.equal(h.dropped, 3);
  for (let s = 8; s <= 20; s++) h.add([point(s, { fill: s })]);
  assert.equal(h.length, 4); // exactly the latest four, live too
  const steps = Array.from(h.steps.subarray(0, h.length));
  assert.equal(steps.at(-1), 20);
  assert.deepEqual(steps, [...steps].sort((a, b) => a - b));
  assert.equal(h.dropped + h.length, 20);
  // every point's counts moved with its step
  const value = h.distribution("w", "value");
  for (let i = 0; i < h.length; i++) assert.equal(value?.countsAt(i)[BINS - 1], h.steps[i]);
  assert.deepEqual(steps, [17, 18, 19, 20]);
  // a batch onto held points: room made for its new steps, the step held last replaced
  h.add([point(20, { fill: 99 }), point(21, { fill: 21 }), point(22, { fill: 22 })]);
  assert.deepEqual(Array.from(h.steps.subarray(0, h.length)), [19, 20, 21, 22]);
  assert.equal(value?.countsAt(1)[0], 99);
  assert.equal(h.indexOf(22), h.length - 1);
  assert.equal(h.indexOf(2), -1);
  h.clear();
  assert.equal(h.length, 0);
  assert.deepEqual(h.tensors, []);
});

test("bins follow torch.histc: the top edge is in the last bin; a constant tensor spans ±1", () => {
  assert.deepEqual(binRange(2, 2), [1, 3]);
  assert.equal(binOf(2, 1, 3), 32);
  assert.equal(binOf(1, 0, 1), BINS - 1);
  assert.equal(binOf(0, 0, 1), 0);
  assert.equal(binOf(1.5, 0, 1), -1);
  assert.equal(binOf(NaN, 0, 1), -1);
});

test("each pixel column shows the latest point that starts in it or before: one, no gaps, the newest drawn", () => {
  const steps = [10, 20, 40];
  const range = stepRange(steps, 3);
  assert.deepEqual(range, [10, 55]); // one mean spacing (15) past the last
  const columns = Array.from(columnPoints(steps, 3, 9, range)); // 5 steps a column
  assert.deepEqual(columns, [0, 0, 1, 1, 1, 1, 2, 2, 2]);
  // more points than columns: each column still one point, the latest in it
  const many = Array.from({ length: 100 }, (_, i) => i + 1);
  const few = Array.from(columnPoints(many, 100, 10, stepRange(many, 100)));
  assert.equal(few.length, 10);
  assert.deepEqual(few, [...few].sort((a, b) => a - b));
  assert.equal(few.at(-1), 99); // the newest point is always drawn
  assert.deepEqual(valueRange([-1, 0, NaN], [1, 0, NaN], [0, 1, 2]), [-1, 1]);
  assert.deepEqual(valueRange([5], [5], [0]), [4, 6]);
  assert.equal(valueRange([NaN], [NaN], [0]), null);
});

test("the snapshot rate is measured over the last ten seconds of arrivals", () => {
  assert.deepEqual(arrivalRate([], 1000), { rate: null, count: 0 });
  // received for 2 s so far: 3 intervals from the first arrival to now
  assert.deepEqual(arrivalRate([0, 500, 1000, 1500], 2000), { rate: 1.5, count: 4 });
  assert.deepEqual(arrivalRate([0], 100), { rate: null, count: 1 });
  // arrivals older than the window were seen: the count over the whole window
  assert.deepEqual(arrivalRate([0, 15_000, 16_000, 17_000, 18_000, 19_000], 20_000), { rate: 0.5, count: 5 });
  // paused: the last arrivals age out, and the rate falls to 0
  assert.deepEqual(arrivalRate([0, 500], 30_000), { rate: 0, count: 0 });
  assert.equal(percentText(0.05), "5.0%");
  assert.equal(percentText(0.0042), "0.42%");
  assert.equal(percentText(0.25), "25%");
});

test("a point whose elements are all NaN has its field, with no finite range", () => {
  const h = new HealthHistory(4);
  const p = point(1);
  p.layers[0].distributions[0] = { field: "value", low: "NaN", high: "NaN", counts: new Array(BINS).fill(0), nonfinite: 16 };
  p.layers[0].grad_norm = "NaN";
  h.add([p]);
  assert.equal(h.distribution("w", "value")?.has(0), true);
  assert.equal(h.distribution("w", "value")?.nonfinite[0], 16);
  assert.ok(Number.isNaN(h.layers.get("w")?.gradNorm[0] ?? 0)); // NaN is data, kept as NaN
});

test("log-axis smoothing is the debiased EMA of log10 of the values; gaps are passed over", () => {
  // log10: 0, −2, (gap), −4; weight ½: the debiased averages 0, −4/3, −4/3, −(0·¼ + 2·½·½ + 4·½)/(7/8)
  const out = smoothLog([1, 0.01, 0, 1e-4], 0.5);
  assert.equal(out[0], 1);
  assert.ok(Math.abs(Math.log10(out[1]) - -4 / 3) < 1e-12);
  assert.ok(Number.isNaN(out[2])); // zero has no place on a log axis
  assert.ok(Math.abs(Math.log10(out[3]) - -(0.5 * 2 * 0.5 + 0.5 * 4) / 0.875) < 1e-12);
});
