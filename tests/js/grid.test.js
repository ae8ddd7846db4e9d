// Resampling the plane's grid for drawing (static/js/lib/grid.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { bilinear } from "../../static/js/lib/grid.js";

test("corners stay on the grid's corners and the middle is the bilinear mean", () => {
  // rows go up: row 0 is (0, 1), row 1 is (2, 3)
  const out = bilinear([0, 1, 2, 3], 2, 3);
  assert.deepEqual([...out], [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
});

test("a NaN output stays NaN where it is used", () => {
  const out = bilinear([0, NaN, 2, 3, 4, 5, 6, 7, 8], 3, 5);
  assert.ok(Number.isNaN(out[1])); // between 0 and NaN
  assert.equal(out[24], 8);
  assert.equal(out[20], 6);
});
