// What counts as news from the driver's page (views/follow.js): sent only when it changed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { driverKey } from "../../static/js/views/follow.js";

const view = { element: { tensor: "weight", index: 3 }, step: 7, phase: "backward", panels: [], views: { logscale: "false" } };

test("a paused run's new step or phase is news for the room", () => {
  assert.notEqual(driverKey(view, false), driverKey({ ...view, step: 8, phase: "step" }, false));
});

test("a running run's steps are not: every page has them from the stream", () => {
  assert.equal(driverKey(view, true), driverKey({ ...view, step: 9, phase: "loss" }, true));
});

test("a new selection, panel or view choice is news, running or not", () => {
  for (const running of [true, false]) {
    const key = driverKey(view, running);
    assert.notEqual(key, driverKey({ ...view, element: { tensor: "weight", index: 4 } }, running));
    assert.notEqual(key, driverKey({ ...view, panels: ["race-summary"] }, running));
    assert.notEqual(key, driverKey({ ...view, views: { logscale: "true" } }, running));
  }
});
