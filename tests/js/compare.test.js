// The Compare chart's data: each run's loss and validation loss, thinned and joined on one axis.
import { test } from "node:test";
import assert from "node:assert/strict";
import { curvesOf, joined, thinned, toNumber } from "../../static/js/lib/compare.js";

test("export values read back as numbers, NaN and Infinity included", () => {
  assert.deepEqual([1.5, "NaN", "Infinity", "-Infinity", null].map(toNumber), [1.5, NaN, Infinity, -Infinity, NaN]);
});

test("a sparse series keeps only the steps it has values at", () => {
  const exported = { steps: [1, 2, 3, 4], scalars: { loss: [4, 3, 2, 1], "evaluation/validation_loss": [null, 3.5, null, 1.5] } };
  assert.deepEqual(thinned(exported, "evaluation/validation_loss", 100), { steps: [2, 4], values: [3.5, 1.5] });
  assert.equal(thinned(exported, "logged/accuracy", 100), null);
});

test("a million steps thin to about two points a column, and a one-step spike survives", () => {
  const n = 1_000_000;
  const steps = Array.from({ length: n }, (_, i) => i + 1);
  const loss = steps.map((s) => 1 / s);
  loss[654_320] = 1000;
  const curve = thinned({ steps, scalars: { loss } }, "loss", 500);
  assert.ok(curve && curve.steps.length <= 1500, String(curve?.steps.length));
  assert.ok(curve.steps.includes(654_321));
  assert.equal(Math.max(...curve.values.map((v) => v ?? 0)), 1000);
});

test("two runs' curves join on one step axis, a gap where a run has no point", () => {
  const a = { steps: [1, 2, 3], scalars: { loss: [3, 2, "NaN"] } };
  const b = { steps: [2, 4], scalars: { loss: [5, 4], "evaluation/validation_loss": [null, 4.5] } };
  const curves = curvesOf([{ label: "a", exported: a }, { label: "b", exported: b }], 100);
  assert.deepEqual(curves.map((c) => [c.label, c.run, c.validation]), [
    ["a · loss", 0, false],
    ["b · loss", 1, false],
    ["b · validation loss", 1, true],
  ]);
  assert.deepEqual(joined(curves), [
    [1, 2, 3, 4],
    [3, 2, null, null],
    [null, 5, null, 4],
    [null, null, null, 4.5],
  ]);
});
