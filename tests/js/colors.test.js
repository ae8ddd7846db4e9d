// The model views' colour scales (static/js/lib/colors.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { NAN_COLOR } from "../../static/js/format.js";
import { CLASS0, CLASS1, classColor, outputColor, probabilityColor, targetColor, tint } from "../../static/js/lib/colors.js";

test("P(class 1) runs from class 0's orange through grey to class 1's blue", () => {
  assert.deepEqual(probabilityColor(0), CLASS0);
  assert.deepEqual(probabilityColor(1), CLASS1);
  assert.deepEqual(probabilityColor(0.5), [236, 238, 240]);
  assert.deepEqual(probabilityColor(1.7), CLASS1); // an MSE-trained output past 1 is clamped
  assert.deepEqual(probabilityColor(NaN), NAN_COLOR);
});

test("samples take their class's colour, or their value's on the output's scale", () => {
  assert.deepEqual(targetColor("binary", 1, 0), CLASS1);
  assert.deepEqual(targetColor("binary", 0, 0), CLASS0);
  assert.deepEqual(targetColor("classes", 3, 0), classColor(3));
  assert.deepEqual(targetColor("regression", -2, 2), CLASS0);
  assert.notDeepEqual(classColor(0), classColor(1));
  assert.deepEqual(classColor(10), classColor(0));
  assert.deepEqual(classColor(NaN), NAN_COLOR);
});

test("a predicted class is its colour lightened; a value is diverging", () => {
  assert.deepEqual(outputColor("class", 2, 0), tint(classColor(2), 0.55));
  assert.deepEqual(outputColor("value", 3, 3), CLASS1);
  assert.deepEqual(tint([0, 100, 255], 1), [255, 255, 255]);
  assert.deepEqual(tint([0, 100, 255], 0), [0, 100, 255]);
});
