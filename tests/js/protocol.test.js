// Reading the model views' spans out of a snapshot's data block (static/js/protocol.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { decodeViews, spanView } from "../../static/js/protocol.js";

test("a span is a view of the data block; one outside it is an error", () => {
  const data = new Float32Array([0, 1, 2, 3, 4]);
  assert.deepEqual([...spanView(data, [1, 3])], [1, 2, 3]);
  assert.equal(spanView(data, [1, 3]).buffer, data.buffer); // no copy
  assert.deepEqual([...spanView(data, [5, 0])], []);
  assert.throws(() => spanView(data, [3, 3]), /outside/);
  assert.throws(() => spanView(data, [-1, 1]), /outside/);
});

test("every span of the views is read; no views reads null", () => {
  const data = new Float32Array(Array.from({ length: 20 }, (_, i) => i));
  const header = {
    views: {
      plane: { x1: [-1, 1], x2: [-2, 2], n: 2, output: [0, 4], output_kind: "probability", unit_n: 1,
        units: [{ layer: 1, unit: 0, values: [4, 1] }] },
      curve: { x: [0, 1], y: ["NaN", 2] },
      network: { shown: 16, layers: [{ name: "input", units: 2, labels: ["x1", "x2"] }, { name: "output", units: 1, labels: null }],
        links: [{ parameter: "0.weight", rows: 1, cols: 2, value: [5, 2], grad: [7, 2], update: null }] },
      filters: { parameter: "0.weight", count: 1, height: 2, width: 2, values: [9, 4] },
      confusion: [[1, 0], [0, 1]],
    },
  };
  const views = decodeViews(/** @type {any} */ ({ header, data }));
  assert.ok(views && views.plane && views.network && views.filters && views.curve);
  assert.deepEqual([...views.plane.output], [0, 1, 2, 3]);
  assert.equal(views.plane.outputKind, "probability");
  assert.deepEqual([...views.plane.units[0].values], [4]);
  assert.deepEqual(views.curve.y, [NaN, 2]);
  assert.deepEqual([...views.network.links[0].value], [5, 6]);
  assert.deepEqual([...(views.network.links[0].grad ?? [])], [7, 8]);
  assert.equal(views.network.links[0].update, null);
  assert.deepEqual([...views.filters.values], [9, 10, 11, 12]);
  assert.equal(decodeViews(/** @type {any} */ ({ header: { views: null }, data })), null);
});
