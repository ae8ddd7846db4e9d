// The alert's words on the chart and in the panel (lib/marks.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { alertKind, alertLabel, alertWhere } from "../../static/js/lib/marks.js";

const alert = { step: 16, phase: "backward", tensor: "1.weight.grad", detail: "…", paused: true };

test("an alert's chart label names the tensor", () => {
  assert.equal(alertLabel(alert), "NaN/Inf: 1.weight.grad");
});

test("an alert says its step and phase, or that it was there from the start", () => {
  assert.equal(alertWhere(alert), "The backward phase of step 16");
  assert.equal(alertWhere({ ...alert, step: 0, phase: null, tensor: "1.bias" }), "At initialisation");
});

test("each kind of alert is named in words, and an alert without a kind is a NaN/Inf one", () => {
  assert.equal(alertLabel({ ...alert, kind: "nonfinite" }), "NaN/Inf: 1.weight.grad");
  assert.equal(alertLabel({ ...alert, kind: "exploding", tensor: "all parameters" }), "Exploding gradient: all parameters");
  assert.equal(alertLabel({ ...alert, kind: "vanishing", tensor: "0.weight" }), "Vanishing gradient: 0.weight");
  assert.equal(alertLabel({ ...alert, kind: "dead_units", tensor: "net.1" }), "Dead ReLU units: net.1");
  const kinds = /** @type {const} */ (["nonfinite", "exploding", "vanishing", "dead_units"]);
  const colors = new Set(kinds.map((kind) => alertKind({ ...alert, kind }).color));
  assert.equal(colors.size, 4, "four kinds, four colours");
});
