// Per-step series: the loss history and the race's paths (static/js/lib/series.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { RaceHistory, StepSeries, pathOf } from "../../static/js/lib/series.js";

test("a series grows as steps arrive and reads the wire's non-finite strings", () => {
  const s = new StepSeries(2);
  s.set(1, [1, 0.5]);
  s.set(3, ["NaN", "Infinity", "-Infinity", 0.25]);
  assert.equal(s.count, 6);
  assert.deepEqual([...s.view()], [1, 0.5, NaN, Infinity, -Infinity, 0.25]);
  s.clear();
  assert.equal(s.count, 0);
  s.set(1, [2]);
  assert.deepEqual([...s.view()], [2]);
});

test("the race keeps each racer's loss, w and b by step, across messages", () => {
  const race = new RaceHistory();
  race.add(1, [
    { name: "Adam", loss: [4, 3], w: [0.1, 0.2], b: [1, 0.9] },
    { name: "RMSprop", loss: [4, 2], w: [0.3, 0.4], b: [1, 0.8] },
  ]);
  race.add(3, [
    { name: "Adam", loss: ["NaN"], w: [0.3], b: [0.8] },
    { name: "RMSprop", loss: [1], w: [0.5], b: [0.7] },
  ], { w: [0.9], b: [0.1] });
  assert.deepEqual(race.racers.map((r) => r.name), ["Adam", "RMSprop"]);
  assert.deepEqual([...race.racers[0].loss.view()], [4, 3, NaN]);
  assert.deepEqual(pathOf(race.racers[1].w, race.racers[1].b), [[0.3, 1], [0.4, 0.8], [0.5, 0.7]]);
  assert.equal(race.own.w.count, 3);
  assert.ok(Number.isNaN(race.own.w.values[0]), "steps before the path arrived are unknown, not 0");
  race.clear();
  assert.equal(race.racers.length, 0);
});

test("a long path is thinned evenly and keeps its last point", () => {
  const w = new StepSeries();
  const b = new StepSeries();
  const n = 10_001;
  w.set(1, Array.from({ length: n }, (_, i) => i));
  b.set(1, Array.from({ length: n }, (_, i) => 1 - i));
  const path = pathOf(w, b, 1000);
  assert.ok(path.length <= 1001, String(path.length));
  assert.deepEqual(path[0], [0, 1]);
  assert.deepEqual(path[path.length - 1], [n - 1, 2 - n]);
});

test("its array is replaced when held values change, kept when steps are only appended or resent unchanged", () => {
  const s = new StepSeries(4);
  s.set(1, [1, 2]);
  const first = s.values;
  s.set(3, [3]);
  s.set(2, [2, 3, "NaN"]); // steps 2 and 3 again, unchanged; step 4 new
  s.set(4, ["NaN"]); // NaN again is no change
  assert.equal(s.values, first);
  assert.deepEqual([...s.view()], [1, 2, 3, NaN]);
  s.set(2, [5]);
  assert.notEqual(s.values, first, "a changed step is not an append");
  assert.deepEqual([...s.view()], [1, 5, 3, NaN]);
  const second = s.values;
  s.set(5, [6]);
  assert.notEqual(s.values, second, "grown: a new array, the values kept");
  assert.deepEqual([...s.view()], [1, 5, 3, NaN, 6]);
  const third = s.values;
  s.clear();
  assert.notEqual(s.values, third);
  assert.ok(third[0] === 1, "the old array is left as it was, for whoever still reads it");
});
