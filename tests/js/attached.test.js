// An attached script's run in the page's words, and which attached runs the list shows
// (static/js/lib/attached.js, static/js/views/attached.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { droppedText, endedText, optimizerNote, optimizerOf, processText, shortClass } from "../../static/js/lib/attached.js";
import { Store } from "../../static/js/store.js";
import { LISTED, listedRuns } from "../../static/js/views/attached.js";

const ADAM = { name: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, amsgrad: false };

/** @param {object} [optimizer] @param {object} [more] */
function attached(optimizer = {}, more = {}) {
  return {
    process: { name: "mnist", host: "box", pid: 4242 },
    optimizer: { torch_class: "torch.optim.adam.Adam", config: ADAM, ledger: true, groups: 1, ...optimizer },
    parameters: 4,
    dropped_snapshots: 0,
    dropped_scalars: 0,
    logged: [],
    ...more,
  };
}

/** @param {string} id @param {string} state @param {object | null} [script] */
function run(id, state, script = attached()) {
  return { id, state, reason: null, step: 7, config: script ? null : { optimizer: { name: "sgd", lr: 0.1 } }, attached: script };
}

test("the optimizer in force: the run's own, else the one read from the script's param_groups", () => {
  assert.deepEqual(optimizerOf(run("a", "running", null)), { name: "sgd", lr: 0.1 });
  assert.equal(optimizerOf(run("b", "running")), ADAM);
  assert.equal(optimizerOf(run("c", "running", attached({ torch_class: "lion.Lion", config: null }))), null);
  assert.equal(optimizerOf(null), null);
});

test("a class with fields is editable but cannot change; one without says why nothing is", () => {
  const adam = optimizerNote(attached({ groups: 3 }));
  assert.equal(adam.editable, true);
  assert.match(adam.text, /torch\.optim\.adam\.Adam: its class cannot change from the page, only its hyperparameters/);
  assert.match(adam.text, /all 3 of its param_groups/);
  const lion = optimizerNote(attached({ torch_class: "lion_pytorch.Lion", config: null }));
  assert.equal(lion.editable, false);
  assert.match(lion.text, /lion_pytorch\.Lion: a class Stepscope has no fields for/);
  assert.equal(shortClass("torch.optim.adam.Adam"), "Adam");
  assert.equal(processText(attached()), "mnist · box · pid 4242");
});

test("dropped counts are said only when not zero, with the right plural", () => {
  assert.equal(droppedText(attached()), "");
  assert.equal(droppedText(attached({}, { dropped_snapshots: 1 })), "The script dropped 1 snapshot (the server was slow): training went on.");
  assert.equal(
    droppedText(attached({}, { dropped_snapshots: 2, dropped_scalars: 5 })),
    "The script dropped 2 snapshots (the server was slow) and 5 steps' scalars (its buffer was full): training went on.",
  );
});

test("a stopped attached run says the script is no longer watched, why, and how to watch it again", () => {
  const stopped = { ...run("a", "stopped"), reason: "stopped from the page: the script trains on, unobserved" };
  const text = endedText(stopped);
  assert.match(text, /^The script “mnist” is no longer watched \(stopped from the page: the script trains on, unobserved\)\./);
  assert.match(text, /history stays readable/);
  assert.match(text, /run the script again/);
  assert.equal(endedText({ ...run("b", "failed", null), reason: "boom" }), "This run failed: boom.");
});

test("the list: attached runs only, live first, newest first, at most LISTED", () => {
  const runs = [run("own", "running", null), run("old", "stopped"), run("a1", "running"), run("new", "stopped"), run("a2", "paused")];
  assert.deepEqual(listedRuns(runs).map((r) => r.id), ["a2", "a1", "new", "old"]);
  const many = Array.from({ length: LISTED + 3 }, (_, i) => run(`r${i}`, "stopped"));
  assert.equal(listedRuns(many).length, LISTED);
  assert.deepEqual(listedRuns([run("own", "running", null)]), []);
});

test("the store keeps each logged name by step: a step without a value is a gap; a new connection clears them", () => {
  const store = new Store();
  /** @type {string[]} */
  const changes = [];
  store.changed.subscribe((c) => changes.push(c));
  const logged = (/** @type {number} */ first, /** @type {object} */ values, history = false) =>
    JSON.stringify({ v: 1, type: "logged", first_step: first, values, history });
  store.receive(logged(1, { accuracy: [0.5, null, 0.7] }, true));
  store.receive(logged(4, { accuracy: [0.8], lr: [0.01] }));
  assert.deepEqual([...store.logged.keys()], ["accuracy", "lr"]);
  const accuracy = /** @type {import("../../static/js/lib/series.js").StepSeries} */ (store.logged.get("accuracy"));
  assert.deepEqual([...accuracy.view()], [0.5, NaN, 0.7, 0.8]);
  const lr = /** @type {import("../../static/js/lib/series.js").StepSeries} */ (store.logged.get("lr"));
  assert.equal(lr.count, 4);
  assert.deepEqual([...lr.view()], [NaN, NaN, NaN, 0.01]);
  assert.ok(changes.includes("logged"));
  store.receive(JSON.stringify({ v: 1, type: "hello", protocol: 1, run: { id: "a", attached: null } }));
  assert.equal(store.logged.size, 0);
});

test("a REST answer's attached optimizer replaces the shown one (its lr edited from the page)", () => {
  const store = new Store();
  const before = run("a", "paused");
  store.setRun(/** @type {any} */ (before));
  const after = { ...before, attached: attached({ config: { ...ADAM, lr: 0.05 } }) };
  store.acceptConfig(/** @type {any} */ (after));
  assert.equal(optimizerOf(store.run)?.lr, 0.05);
});
