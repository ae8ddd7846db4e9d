// Naming the run's loss and writing accuracies (static/js/lib/metrics.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatPercent, lossTitle } from "../../static/js/lib/metrics.js";

test("the loss is the config's, else the experiment's own, else MSE", () => {
  assert.equal(lossTitle("bce", "mse"), "BCE with logits");
  assert.equal(lossTitle(null, "cross_entropy"), "cross-entropy");
  assert.equal(lossTitle(null, null), "MSE");
  assert.equal(lossTitle(undefined, undefined), "MSE");
  assert.equal(lossTitle("huber", null), "huber"); // a loss an experiment file names itself
});

test("an accuracy reads as a percentage to one decimal", () => {
  assert.equal(formatPercent(0.9734), "97.3%");
  assert.equal(formatPercent(1), "100.0%");
  assert.equal(formatPercent(0), "0.0%");
  assert.equal(formatPercent(NaN), "—");
  assert.equal(formatPercent(null), "—");
});
