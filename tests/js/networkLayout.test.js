// The network diagram's geometry (static/js/lib/networkLayout.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { edgeStyle, edgesOf, largestPerLink, layoutNetwork } from "../../static/js/lib/networkLayout.js";

const box = { x: 0, y: 0, w: 300, h: 170 };

test("layers are columns; a layer past `shown` draws `shown` units and says how many more", () => {
  const layers = [
    { name: "input", units: 2, labels: ["x1", "x2"] },
    { name: "hidden 1", units: 40, labels: null },
    { name: "output", units: 1, labels: null },
  ];
  const { columns, radius } = layoutNetwork(layers, 16, box);
  assert.deepEqual(columns.map((c) => c.x), [0, 150, 300]);
  assert.deepEqual(columns.map((c) => c.nodes.length), [2, 16, 1]);
  assert.deepEqual(columns.map((c) => c.more), [0, 24, 0]);
  assert.deepEqual(columns[0].nodes.map((n) => n.label), ["x1", "x2"]);
  // the fullest column (16 nodes and its "+24 more") spans the box at one pitch: 170 / 16
  const hidden = columns[1];
  assert.equal(hidden.nodes[0].y, 0);
  assert.equal(hidden.moreY, 170);
  assert.ok(Math.abs(hidden.nodes[1].y - hidden.nodes[0].y - 170 / 16) < 1e-9);
  // smaller columns are centred at the same pitch; one node sits in the middle
  assert.equal(columns[2].nodes[0].y, 85);
  assert.ok(Math.abs((columns[0].nodes[0].y + columns[0].nodes[1].y) / 2 - 85) < 1e-9);
  assert.ok(radius > 0 && radius < 170 / 16 / 2, "neighbouring nodes do not touch");
});

test("link i joins column i's node `col` to column i + 1's node `row`, row-major", () => {
  const layers = [
    { name: "input", units: 2, labels: null },
    { name: "hidden 1", units: 3, labels: null },
  ];
  const layout = layoutNetwork(layers, 16, box);
  const W = [1, 2, 3, 4, 5, 6]; // 3 rows (hidden units) × 2 cols (inputs)
  const edges = edgesOf(layout, [{ rows: 3, cols: 2, values: W }]);
  assert.equal(edges.length, 6);
  const e = edges.find((x) => x.row === 2 && x.col === 1);
  assert.ok(e);
  assert.equal(e.value, 6);
  assert.deepEqual(e.from, [layout.columns[0].x, layout.columns[0].nodes[1].y]);
  assert.deepEqual(e.to, [layout.columns[1].x, layout.columns[1].nodes[2].y]);
  assert.deepEqual(edgesOf(layout, [{ rows: 3, cols: 2, values: null }]), []); // nothing to draw yet
});

test("an edge's sign is its colour; its width and opacity grow with |value| against its layer's largest", () => {
  const big = edgeStyle(-2, 2);
  const small = edgeStyle(0.5, 2);
  assert.equal(big.sign, "negative");
  assert.equal(small.sign, "positive");
  assert.ok(big.width > small.width && big.alpha > small.alpha);
  assert.equal(edgeStyle(-2, 2, 1.5).width, 1.5); // the largest is as wide as its link allows
  assert.equal(edgeStyle(0, 2, 1.5).width, 0.4);
  assert.equal(edgeStyle(0, 0).sign, "zero");
  assert.equal(edgeStyle(NaN, 2).sign, "nonfinite");
  assert.equal(edgeStyle(-Infinity, 2).sign, "nonfinite");
  assert.deepEqual(largestPerLink([[1, -3, NaN], null, [Infinity, 0.5]]), [3, 0, 0.5]);
});
