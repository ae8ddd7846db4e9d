// @ts-check
/**
 * Debiased exponential smoothing of a per-step series, as TensorBoard's scalar charts do it:
 *
 *     last = last · w + (1 − w) · v        (last starts at 0)
 *     smoothed = last / (1 − wⁿ)           (n: how many finite values have been seen)
 *
 * Dividing by 1 − wⁿ undoes the pull towards the starting 0, so the first smoothed value is the
 * first value itself rather than (1 − w) of it. A NaN or ±Inf is data, not noise: it stays a gap
 * (its smoothed value is the value itself) and does not enter the average, so one NaN does not
 * turn every later smoothed value into NaN. Weight 0 draws the raw series.
 *
 * `Smoother` keeps the state between calls, so a series that grows by appends is smoothed once
 * per new value, never again from the start (the loss chart's redraw stays O(pixels)).
 * Pure: node --test checks it (tests/js/smoothing.test.js).
 */

/** The weights a page offers: 0 (raw) up to 0.999 (about a thousand steps remembered). */
export const MAX_WEIGHT = 0.999;

/** @param {number} weight */
function checkWeight(weight) {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
}

/**
 * The whole series smoothed at once.
 * @param {ArrayLike<number>} values @param {number} weight in [0, 1)
 * @returns {Float64Array}
 */
export function smooth(values, weight) {
  const smoother = new Smoother(weight, values.length);
  smoother.extend(values, values.length);
  return smoother.values.slice(0, values.length);
}

/** A series smoothed as it grows: `extend` smooths only the values not yet seen. */
export class Smoother {
  /** @param {number} weight in [0, 1) @param {number} [capacity] */
  constructor(weight, capacity = 1024) {
    checkWeight(weight);
    this.weight = weight;
    /** Smoothed values: index i for values[i]; the first `count` are filled. */
    this.values = new Float64Array(Math.max(1, capacity));
    this.count = 0;
    /** The running (biased) average, and wⁿ for the n finite values seen so far. */
    this.last = 0;
    this.power = 1;
  }

  /** Forget everything (a new weight, or a series rewritten from the start). @param {number} [weight] */
  reset(weight = this.weight) {
    checkWeight(weight);
    this.weight = weight;
    this.count = 0;
    this.last = 0;
    this.power = 1;
  }

  /**
   * Smooth values[count], …, values[upTo − 1]: those appended since the last call.
   * @param {ArrayLike<number>} values @param {number} upTo
   */
  extend(values, upTo) {
    upTo = Math.min(upTo, values.length);
    if (upTo <= this.count) return;
    if (upTo > this.values.length) {
      let size = this.values.length;
      while (size < upTo) size *= 2;
      const grown = new Float64Array(size);
      grown.set(this.values.subarray(0, this.count));
      this.values = grown;
    }
    const w = this.weight;
    const out = this.values;
    let last = this.last;
    let power = this.power;
    for (let i = this.count; i < upTo; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        out[i] = v; // a gap stays a gap, and the average carries on past it
        continue;
      }
      last = last * w + (1 - w) * v;
      power *= w;
      out[i] = last / (1 - power);
    }
    this.last = last;
    this.power = power;
    this.count = upTo;
  }
}
