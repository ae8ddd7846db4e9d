// What changed between two configurations, in the notice's words (static/js/lib/configText.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { architectureChanges, describeChange, sameOptimizer } from "../../static/js/lib/configText.js";

const LOSSES = { mse: "MSELoss", bce: "BCEWithLogitsLoss", cross_entropy: "CrossEntropyLoss" };
const BEFORE = {
  experiment: "spiral",
  seed: 0,
  n_samples: 500,
  batch_size: 16,
  noise: 0,
  validation_fraction: 0.3,
  architecture: { kind: "mlp", hidden: [16, 16], activation: "tanh", features: ["x1", "x2"] },
  loss: "bce",
  optimizer: { name: "adam", lr: 0.03 },
};

test("a layer added: the count and the widths, as the brief's notice has it", () => {
  const after = { ...BEFORE, architecture: { ...BEFORE.architecture, hidden: [16, 16, 8] } };
  assert.deepEqual(describeChange(BEFORE, after, LOSSES), [
    "the architecture changed (2 hidden layers → 3: 16-16 → 16-16-8)",
  ]);
});

test("units, activation and inputs each say what they were and are", () => {
  const after = {
    ...BEFORE,
    architecture: { kind: "mlp", hidden: [16, 32], activation: "relu", features: ["x1", "x2", "x1^2", "sin x2"] },
  };
  assert.deepEqual(architectureChanges(BEFORE.architecture, after.architecture), [
    "hidden units 16-16 → 16-32",
    "activation Tanh → ReLU",
    "inputs x₁, x₂ → x₁, x₂, x₁², sin x₂",
  ]);
});

test("no hidden layer at all reads as none; one layer is singular", () => {
  const none = { ...BEFORE.architecture, hidden: [] };
  const one = { ...BEFORE.architecture, hidden: [4] };
  assert.deepEqual(architectureChanges(none, one), ["0 hidden layers → 1: none → 4"]);
  assert.deepEqual(architectureChanges(one, none), ["1 hidden layer → 0: 4 → none"]);
});

test("an MLP turned CNN says so, and not the widths the CNN does not use", () => {
  const mlp = { kind: "mlp", hidden: [32], activation: "relu", features: ["x1"] };
  const cnn = { ...mlp, kind: "cnn", hidden: [64] };
  assert.deepEqual(architectureChanges(mlp, cnn), ["MLP → CNN"]);
});

test("data first, in the page's words, then the model, then the loss by torch's class name", () => {
  const after = {
    ...BEFORE,
    batch_size: 1,
    validation_fraction: 0.2,
    architecture: { ...BEFORE.architecture, activation: "gelu" },
    loss: "mse",
  };
  assert.deepEqual(describeChange(BEFORE, after, LOSSES), [
    "validation share 0.2 (was 0.3)",
    "batch size 1 (was 16)",
    "the architecture changed (activation Tanh → GELU)",
    "the loss changed (BCEWithLogitsLoss → MSELoss)",
  ]);
  assert.deepEqual(describeChange(BEFORE, { ...BEFORE }, LOSSES), [], "nothing changed: nothing said");
});

test("the optimizer a new run keeps is named with its learning rate", () => {
  assert.equal(sameOptimizer({ name: "adam", lr: 0.03 }, "Adam"), "the optimizer is the same (Adam, lr 0.03)");
  assert.equal(sameOptimizer({ name: "sgd", lr: 1e-7 }), "the optimizer is the same (sgd, lr 1e-7)");
});
