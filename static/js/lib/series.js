// @ts-check
/**
 * Per-step series the page keeps for the whole run: a growable Float64Array indexed by step, and
 * the race's series (each racer's loss, w and b by step, and the run's own w and b), so that the
 * loss chart and the race trails are rebuilt from the history after a reload. Pure: node --test
 * checks it (tests/js/series.test.js).
 */
import { num } from "../protocol.js";

/** @typedef {import("../contract/contract").RaceSeries} RaceSeries */

/**
 * Values by step: step k at index k − 1. Grows by doubling; a step never sent reads NaN.
 *
 * `values` is a new array whenever values already held change other than by appending (a clear,
 * a step sent again with another value), as well as when it grows: so whatever keeps something
 * derived from it incrementally (the loss chart's min/max pyramid and smoothing) knows that the
 * same array with a count that only grew means appends only, and starts over otherwise.
 */
export class StepSeries {
  constructor(capacity = 1024) {
    this.values = new Float64Array(Math.max(1, capacity)).fill(NaN);
    /** Steps 1 … count are held. */
    this.count = 0;
  }

  /**
   * The values of steps firstStep, firstStep + 1, …; "NaN"/"Infinity" strings read as numbers.
   * @param {number} firstStep @param {ArrayLike<number | string | null>} values
   */
  set(firstStep, values) {
    const end = firstStep - 1 + values.length;
    const overlap = Math.min(this.count, end) - (firstStep - 1);
    // A step sent again (a replay) with the value already held is no change.
    let rewrites = false;
    for (let i = 0; i < overlap && !rewrites; i++) rewrites = !Object.is(this.values[firstStep - 1 + i], num(values[i]));
    if (end > this.values.length || rewrites) {
      let size = this.values.length;
      while (size < end) size *= 2;
      const grown = new Float64Array(size).fill(NaN);
      grown.set(this.values.subarray(0, this.count));
      this.values = grown;
    }
    for (let i = 0; i < values.length; i++) this.values[firstStep - 1 + i] = num(values[i]);
    this.count = Math.max(this.count, end);
  }

  clear() {
    this.values = new Float64Array(this.values.length).fill(NaN);
    this.count = 0;
  }

  /** The held steps' values, a view (no copy). */
  view() {
    return this.values.subarray(0, this.count);
  }
}

/** @typedef {{name: string, loss: StepSeries, w: StepSeries, b: StepSeries}} RacerSeries */

/** The race by step: racers in the order the server lists them (index, not name, is the key). */
export class RaceHistory {
  constructor() {
    /** @type {RacerSeries[]} */
    this.racers = [];
    /** The run's own (w, b) by step, where the server sends them. */
    this.own = { w: new StepSeries(), b: new StepSeries() };
  }

  /**
   * One `scalars` message's race entries and the run's own path, aligned with its `loss`.
   * @param {number} firstStep @param {RaceSeries[] | null | undefined} race
   * @param {{w: (number | string)[], b: (number | string)[]} | null | undefined} [path]
   */
  add(firstStep, race, path) {
    (race ?? []).forEach((entry, i) => {
      const racer = (this.racers[i] ??= { name: entry.name, loss: new StepSeries(), w: new StepSeries(), b: new StepSeries() });
      racer.name = entry.name;
      racer.loss.set(firstStep, entry.loss);
      racer.w.set(firstStep, entry.w);
      racer.b.set(firstStep, entry.b);
    });
    if (path) {
      this.own.w.set(firstStep, path.w);
      this.own.b.set(firstStep, path.b);
    }
  }

  clear() {
    this.racers = [];
    this.own.w.clear();
    this.own.b.clear();
  }
}

/**
 * A path on the (w, b) plane from per-step series: one point per step, non-finite ones kept (the
 * drawing breaks the line there), thinned to at most `limit` points by even striding that always
 * keeps the last step.
 * @param {StepSeries} w @param {StepSeries} b @param {number} [limit]
 * @returns {[number, number][]}
 */
export function pathOf(w, b, limit = 4000) {
  const count = Math.min(w.count, b.count);
  const stride = Math.max(1, Math.ceil(count / limit));
  /** @type {[number, number][]} */
  const points = [];
  for (let i = 0; i < count; i += stride) points.push([w.values[i], b.values[i]]);
  if (count > 0 && (count - 1) % stride !== 0) points.push([w.values[count - 1], b.values[count - 1]]);
  return points;
}
