// Labels of the optimizer marks on the loss chart (static/js/lib/marks.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { describeChange, layoutLabels, markLabels, noteConfig } from "../../static/js/lib/marks.js";

const TITLES = /** @type {Record<string, string>} */ ({ sgd: "SGD", adam: "Adam" });
const title = (/** @type {string} */ name) => TITLES[name] ?? name;
const sgd = (/** @type {number} */ lr, momentum = 0) => ({ name: "sgd", lr, momentum, nesterov: false });

test("a learning-rate change says what changed, from and to", () => {
  assert.equal(describeChange(sgd(0.01), sgd(0.1), title), "lr 0.01→0.1");
  assert.equal(describeChange(sgd(0.01), sgd(0.01, 0.9), title), "momentum 0→0.9");
  assert.equal(describeChange(sgd(1e-6), sgd(2e-6), title), "lr 1e−6→2e−6");
});

test("a new optimizer names both, and the learning rate when it changed", () => {
  const adam = { name: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, amsgrad: false };
  assert.equal(describeChange(sgd(0.01), adam, title), "SGD→Adam, lr 0.01→0.001");
  assert.equal(describeChange(sgd(0.001), adam, title), "SGD→Adam");
  assert.equal(describeChange(null, adam, title), "Adam, lr 0.001");
});

test("each mark is diffed against the one before it, or its own `previous`", () => {
  const marks = [
    { step: 10, optimizer: sgd(0.1) },
    { step: 20, optimizer: sgd(1) },
    { step: 30, optimizer: sgd(1, 0.9), previous: sgd(0.5) },
  ];
  assert.deepEqual(markLabels(marks, title, [sgd(0.01), sgd(0.1)]), [
    "lr 0.01→0.1",
    "lr 0.1→1",
    "lr 0.5→1, momentum 0→0.9",
  ]);
  // nothing says what the first one replaced: its optimizer and learning rate
  assert.deepEqual(markLabels(marks.slice(0, 1), title), ["SGD, lr 0.1"]);
});

test("a change seen live is diffed against the config the page saw before it", () => {
  let seen = noteConfig([], sgd(0.01));
  seen = noteConfig(seen, sgd(0.01)); // a status with the same config: no new entry
  seen = noteConfig(seen, sgd(0.05));
  assert.equal(seen.length, 2);
  assert.deepEqual(markLabels([{ step: 4, optimizer: sgd(0.05) }], title, seen), ["lr 0.01→0.05"]);
  // a config the page never saw in force: nothing to diff against
  assert.deepEqual(markLabels([{ step: 4, optimizer: sgd(0.07) }], title, seen), ["SGD, lr 0.07"]);
});

const measure = (/** @type {string} */ text) => 6 * text.length;

test("labels far apart share the top row", () => {
  const placed = layoutLabels(
    [{ x: 0, text: "lr 0.01→0.1" }, { x: 300, text: "lr 0.1→1" }],
    { rows: 3, gap: 6, pad: 4, right: 800, measure },
  );
  assert.deepEqual(placed.map((p) => p.row), [0, 0]);
  assert.deepEqual(placed.map((p) => p.text), ["lr 0.01→0.1", "lr 0.1→1"]);
});

test("labels close together stagger into rows and never overlap", () => {
  const labels = [0, 10, 20].map((x, i) => ({ x, text: `lr change ${i}` }));
  const placed = layoutLabels(labels, { rows: 3, gap: 6, pad: 4, right: 800, measure });
  assert.deepEqual(placed.map((p) => p.row), [0, 1, 2]);
  assertNoOverlap(placed);
});

test("more than the rows can hold fold into the label before them: '+n'", () => {
  const labels = Array.from({ length: 20 }, (_, i) => ({ x: 100 + 3 * i, text: `lr 0.0${i % 10}→0.${i % 10}` }));
  const placed = layoutLabels(labels, { rows: 2, gap: 6, pad: 4, right: 800, measure });
  assert.equal(placed.length, 2);
  const counted = placed.reduce((n, p) => n + 1 + p.hidden.length, 0);
  assert.equal(counted, 20, "every mark is shown or counted");
  assert.match(placed[1].text, /\+18$/);
  assertNoOverlap(placed);
});

test("a label at the right edge goes left of its line, inside the chart", () => {
  const [label] = layoutLabels([{ x: 790, text: "lr 0.01→0.1" }], { rows: 1, gap: 6, pad: 4, right: 800, measure });
  assert.ok(label.x + measure(label.text) <= 790 && label.x >= 0);
});

/** @param {{x: number, row: number, text: string}[]} placed */
function assertNoOverlap(placed) {
  for (const a of placed) {
    for (const b of placed) {
      if (a === b || a.row !== b.row) continue;
      const apart = a.x + measure(a.text) <= b.x || b.x + measure(b.text) <= a.x;
      assert.ok(apart, `${a.text} overlaps ${b.text}`);
    }
  }
}
