// @ts-check
/**
 * The run's evaluations (issue 9): train and validation loss and accuracy, measured at display
 * rate, so at sparse steps. Kept in step order in plain arrays, one per metric, NaN where the
 * server measured nothing (no validation split, a regression's accuracy). And the helpers that put
 * such sparse points on the loss chart's steps. Pure: node --test checks it
 * (tests/js/evaluations.test.js).
 */
import { num } from "../protocol.js";
import { mergeIndices, selectIndices } from "./decimate.js";

/** @typedef {import("../contract/contract").Evaluation} Evaluation */

export class EvaluationSeries {
  constructor() {
    /** @type {number[]} ascending */
    this.steps = [];
    /** @type {number[]} */
    this.trainLoss = [];
    /** @type {number[]} */
    this.validationLoss = [];
    /** @type {number[]} */
    this.trainAccuracy = [];
    /** @type {number[]} */
    this.validationAccuracy = [];
    /** Whether any point had a validation loss / an accuracy (null is "not measured", not NaN). */
    this.hasValidation = false;
    this.hasAccuracy = false;
  }

  get count() {
    return this.steps.length;
  }

  /**
   * Points in step order. A point at or before the last step held is left out: a live point
   * repeats a step the history already gave.
   * @param {Evaluation[]} points @returns {number} how many were added
   */
  add(points) {
    let added = 0;
    for (const p of points) {
      if (this.steps.length && p.step <= this.steps[this.steps.length - 1]) continue;
      this.steps.push(p.step);
      this.trainLoss.push(num(p.train_loss));
      this.validationLoss.push(num(p.validation_loss));
      this.trainAccuracy.push(num(p.train_accuracy));
      this.validationAccuracy.push(num(p.validation_accuracy));
      if (p.validation_loss !== null) this.hasValidation = true;
      if (p.train_accuracy !== null || p.validation_accuracy !== null) this.hasAccuracy = true;
      added++;
    }
    return added;
  }

  clear() {
    this.steps = [];
    this.trainLoss = [];
    this.validationLoss = [];
    this.trainAccuracy = [];
    this.validationAccuracy = [];
    this.hasValidation = false;
    this.hasAccuracy = false;
  }

  /** The index of the point at exactly `step`, or −1. @param {number} step */
  indexOf(step) {
    const i = lowerBound(this.steps, step);
    return this.steps[i] === step ? i : -1;
  }
}

/**
 * The first index whose value is ≥ x in an ascending array (its length when none is).
 * @param {ArrayLike<number>} sorted @param {number} x
 */
export function lowerBound(sorted, x) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Sparse values placed on a chart's x column: the value where a step has one, null elsewhere
 * (uPlot skips a null, and joins the points around it where the series spans gaps). Non-finite
 * values are null too. Both step lists ascend.
 * @param {ArrayLike<number>} steps @param {ArrayLike<number>} values @param {ArrayLike<number>} xs
 * @returns {(number | null)[]}
 */
export function alignAt(steps, values, xs) {
  /** @type {(number | null)[]} */
  const out = new Array(xs.length).fill(null);
  let j = 0;
  for (let k = 0; k < xs.length; k++) {
    while (j < steps.length && steps[j] < xs[k]) j++;
    if (j < steps.length && steps[j] === xs[k] && Number.isFinite(values[j])) out[k] = values[j];
  }
  return out;
}

/**
 * Which evaluations a chart draws, as ascending indices: per line about two a pixel column (each
 * column's lowest and highest, and its first non-finite: lib/decimate.js), all of them while they
 * are few. Zoomed into a window of steps: full resolution inside it and one point either side (the
 * lines enter the window), coarse outside (a double-click can show everything again).
 * @param {ArrayLike<number>} steps ascending @param {ArrayLike<number>[]} lines values by index
 * @param {number} columns @param {{min: number, max: number} | null} zoom
 * @returns {number[]}
 */
export function pickEvaluations(steps, lines, columns, zoom) {
  const n = steps.length;
  const pick = (/** @type {ArrayLike<number>} */ values) => {
    if (!zoom) return selectIndices(values, 0, n, columns);
    const from = Math.max(0, lowerBound(steps, zoom.min) - 1);
    const to = Math.min(n, lowerBound(steps, zoom.max) + 1);
    return [...selectIndices(values, 0, from, 50), ...selectIndices(values, from, to, columns), ...selectIndices(values, to, n, 50)];
  };
  return mergeIndices(lines.map(pick));
}
