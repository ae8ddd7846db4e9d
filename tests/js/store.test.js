// The store folds the evaluation events and the snapshot's views into its state (static/js/store.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Store } from "../../static/js/store.js";

const point = (/** @type {number} */ step, accuracy = 0.5) => ({
  step, train_loss: 1, validation_loss: 2, train_accuracy: accuracy, validation_accuracy: accuracy,
});
const evaluation = (/** @type {object[]} */ points, history = false) => JSON.stringify({ v: 1, type: "evaluation", points, history });

/** A binary snapshot as the server encodes it: uint32 LE header length, JSON header padded to 4, float32 data. */
function snapshot(/** @type {object} */ header, /** @type {number[]} */ data) {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 4) * 4;
  const buffer = new ArrayBuffer(4 + padded + 4 * data.length);
  new DataView(buffer).setUint32(0, padded, true);
  new Uint8Array(buffer, 4, padded).fill(32).set(json);
  new Float32Array(buffer, 4 + padded).set(data);
  return buffer;
}

test("history then live points: a repeated step is left out; reset and a new connection clear them", () => {
  const store = new Store();
  /** @type {string[]} */
  const changes = [];
  store.changed.subscribe((c) => changes.push(c));
  store.receive(evaluation([point(10), point(20, 0.9)], true));
  store.receive(evaluation([point(20, 0.1)])); // the live repeat of the history's last
  store.receive(evaluation([point(30, 0.95)]));
  assert.deepEqual(store.evaluations.steps, [10, 20, 30]);
  assert.deepEqual(store.evaluations.validationAccuracy, [0.5, 0.9, 0.95]);
  assert.equal(changes.filter((c) => c === "evaluation").length, 2); // the repeat changed nothing
  store.receive(JSON.stringify({ v: 1, type: "reset" }));
  assert.equal(store.evaluations.count, 0);
  store.receive(evaluation([point(5)]));
  assert.equal(store.evaluations.count, 1);
  store.receive(JSON.stringify({ v: 1, type: "hello", run: { id: "b" } }));
  assert.equal(store.evaluations.count, 0);
});

test("a snapshot's views are read from its data block; one without views reads null", () => {
  const store = new Store();
  const views = {
    plane: null, curve: null, filters: null, confusion: [[3, 1], [0, 4]],
    network: { shown: 16, layers: [], links: [{ parameter: "0.weight", rows: 1, cols: 2, value: [1, 2], grad: null, update: null }] },
  };
  store.receive(snapshot({ type: "snapshot", step: 1, views, tensors: [] }, [9, 0.25, -0.5]));
  assert.deepEqual([...(store.views?.network?.links[0].value ?? [])], [0.25, -0.5]);
  assert.deepEqual(store.views?.confusion, [[3, 1], [0, 4]]);
  store.receive(snapshot({ type: "snapshot", step: 2, views: null, tensors: [] }, []));
  assert.equal(store.views, null);
});
