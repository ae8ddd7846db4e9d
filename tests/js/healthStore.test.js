// The store folds health events into its health history, and forgets them on reset and on a new
// connection (static/js/store.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Store } from "../../static/js/store.js";

const point = (/** @type {number} */ step) => ({
  step,
  grad_norm: 1,
  layers: [{ tensor: "weight", value_norm: 2, grad_norm: 1, update_norm: 0.002, update_ratio: 0.001, distributions: [] }],
  units: [],
  overhead: { budget: 0.05, share: 0.01, snapshot_ms: 1, interval_s: 0.05 },
});
const health = (/** @type {object[]} */ points, history = false) => JSON.stringify({ v: 1, type: "health", points, history });

test("health points are kept; a reset and a new connection clear them", () => {
  const store = new Store();
  /** @type {string[]} */
  const changes = [];
  store.changed.subscribe((c) => changes.push(c));
  store.receive(health([point(1), point(2)], true));
  store.receive(health([point(1)])); // older than the last: nothing changes
  store.receive(health([point(3)]));
  assert.deepEqual(Array.from(store.health.steps.subarray(0, store.health.length)), [1, 2, 3]);
  assert.equal(changes.filter((c) => c === "health").length, 2);
  assert.equal(store.health.latest?.step, 3);
  store.receive(JSON.stringify({ v: 1, type: "reset" }));
  assert.equal(store.health.length, 0);
  store.receive(health([point(1)]));
  store.receive(JSON.stringify({ v: 1, type: "hello", run: { id: "b" } }));
  assert.equal(store.health.length, 0);
});
