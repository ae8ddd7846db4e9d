import { test } from "node:test";
import assert from "node:assert/strict";
import { branchBody, branchCurve, forkMarks, keptText } from "../../static/js/views/branch.js";

test("a branch's chart marks where it left its parent, a parent's where each branch left it", () => {
  assert.deepEqual(forkMarks(null), []);
  assert.deepEqual(forkMarks({ branch: null, branches: [] }), []);
  const marks = forkMarks({
    branch: { run: "aaaaaa111111", step: 40 },
    branches: [{ run: "cccccc333333", step: 90 }, { run: "bbbbbb222222", step: 60 }],
  });
  assert.deepEqual(marks, [
    { step: 40, text: "branched from aaaaaa", kind: "parent" },
    { step: 60, text: "branch bbbbbb", kind: "child" },
    { step: 90, text: "branch cccccc", kind: "child" },
  ]);
});

test("the body names an optimizer only when the learning rate changed", () => {
  const sgd = { name: "sgd", lr: 0.05, momentum: 0.9 };
  assert.deepEqual(branchBody(12, sgd, 0.05), { step: 12 });
  assert.deepEqual(branchBody(12, sgd, Number.NaN), { step: 12 });
  assert.deepEqual(branchBody(12, undefined, 0.01), { step: 12 });
  assert.deepEqual(branchBody(12, sgd, 0.01), { step: 12, optimizer: { name: "sgd", lr: 0.01, momentum: 0.9 } });
});

test("the form says which steps there are", () => {
  assert.equal(keptText({ parent: null, children: [], kept: [20, 300], checkpoints: [100, 200] }),
    "Kept: steps 20–300 in memory; checkpoints at 100, 200.");
  assert.equal(keptText({ parent: null, children: [], kept: null, checkpoints: [] }),
    "No steps are kept: start the run first.");
});

test("a branch's line on its parent's chart starts at the fork", () => {
  const curve = branchCurve("branch abc", [4, 3, 2.5, "NaN", 1], 2);
  assert.equal(curve.name, "branch abc");
  assert.equal(curve.loss.count, 5);
  assert.deepEqual([...curve.loss.values].map((v) => (Number.isNaN(v) ? "gap" : v)), ["gap", 3, 2.5, "gap", 1]);
  assert.equal(branchCurve("b", [1, 2], 0).loss.values[0], 1);
});
