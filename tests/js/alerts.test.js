// The alert's words on the chart and in the panel (lib/marks.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { alertLabel, alertWhere } from "../../static/js/lib/marks.js";

const alert = { step: 16, phase: "backward", tensor: "1.weight.grad", detail: "…", paused: true };

test("an alert's chart label names the tensor", () => {
  assert.equal(alertLabel(alert), "NaN/Inf: 1.weight.grad");
});

test("an alert says its step and phase, or that it was there from the start", () => {
  assert.equal(alertWhere(alert), "The backward phase of step 16");
  assert.equal(alertWhere({ ...alert, step: 0, phase: null, tensor: "1.bias" }), "At initialisation");
});
