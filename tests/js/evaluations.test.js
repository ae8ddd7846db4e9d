// The run's evaluations and their place on the loss chart (static/js/lib/evaluations.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { EvaluationSeries, alignAt, lowerBound, pickEvaluations } from "../../static/js/lib/evaluations.js";

/** @param {number} step @param {object} [rest] */
const point = (step, rest = {}) => ({
  step, train_loss: 1 / step, validation_loss: 2 / step, train_accuracy: null, validation_accuracy: null, ...rest,
});

test("points are kept in step order; a repeated or older step is left out", () => {
  const s = new EvaluationSeries();
  assert.equal(s.add([point(5), point(10)]), 2);
  // the history's last point comes again live, then an older one, then a new one
  assert.equal(s.add([point(10), point(7), point(15)]), 1);
  assert.deepEqual(s.steps, [5, 10, 15]);
  assert.deepEqual(s.validationLoss, [2 / 5, 2 / 10, 2 / 15]);
  assert.equal(s.indexOf(10), 1);
  assert.equal(s.indexOf(11), -1);
  s.clear();
  assert.equal(s.count, 0);
  assert.equal(s.add([point(3)]), 1); // a new run starts again from any step
});

test("null is 'not measured' (NaN in the arrays, flags off); 'NaN' from the wire is a value", () => {
  const s = new EvaluationSeries();
  s.add([point(1, { validation_loss: null })]);
  assert.equal(s.hasValidation, false);
  assert.equal(s.hasAccuracy, false);
  assert.ok(Number.isNaN(s.validationLoss[0]));
  s.add([point(2, { validation_loss: "NaN", validation_accuracy: 0.973, train_accuracy: 1 })]);
  assert.equal(s.hasValidation, true);
  assert.equal(s.hasAccuracy, true);
  assert.ok(Number.isNaN(s.validationLoss[1]));
  assert.equal(s.validationAccuracy[1], 0.973);
});

test("sparse values land on the chart's steps, null elsewhere and where not finite", () => {
  assert.deepEqual(alignAt([2, 5, 9], [0.5, NaN, 0.1], [1, 2, 3, 5, 8, 9, 10]), [null, 0.5, null, null, null, 0.1, null]);
  assert.deepEqual(alignAt([], [], [1, 2]), [null, null]);
  assert.equal(lowerBound([1, 3, 5], 4), 2);
  assert.equal(lowerBound([1, 3, 5], 6), 3);
  assert.equal(lowerBound([1, 3, 5], 0), 0);
});

test("few evaluations are all drawn; many are thinned per column, a spike and a NaN kept", () => {
  const steps = Array.from({ length: 10 }, (_, i) => 10 * (i + 1));
  const values = steps.map((s) => 1 / s);
  assert.deepEqual(pickEvaluations(steps, [values], 100, null), [...steps.keys()]);
  const many = Array.from({ length: 5000 }, (_, i) => i + 1);
  const loss = many.map((s) => 1 / s);
  loss[2345] = 50; // a spike
  loss[4000] = NaN;
  const picked = pickEvaluations(many, [loss], 100, null);
  assert.ok(picked.length <= 300, `${picked.length} points for 100 columns`);
  assert.ok(picked.includes(2345) && picked.includes(4000));
  assert.deepEqual(picked, [...picked].sort((a, b) => a - b));
});

test("zoomed into steps, every evaluation inside is drawn, with one either side", () => {
  const steps = Array.from({ length: 5000 }, (_, i) => 2 * (i + 1)); // steps 2, 4, …, 10000
  const loss = steps.map((s) => Math.sin(s));
  const picked = pickEvaluations(steps, [loss], 100, { min: 4001, max: 4101 });
  const inside = steps.map((s, i) => [s, i]).filter(([s]) => s >= 4001 && s <= 4101).map(([, i]) => i);
  for (const i of inside) assert.ok(picked.includes(i), `step ${steps[i]}`);
  assert.ok(picked.includes(inside[0] - 1) && picked.includes(inside[inside.length - 1] + 1));
  assert.ok(picked.length < 400, `${picked.length}: coarse outside the window`);
});
