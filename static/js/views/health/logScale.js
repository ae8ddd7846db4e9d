// @ts-check
/** Smoothing for series drawn on a log axis. Pure: node --test checks it (tests/js/healthHistory.test.js). */
import { smooth } from "../../lib/smoothing.js";

/**
 * The debiased EMA of a log-scale series, taken of log10 of its values (a geometric average): on
 * a log axis a norm falls by decades, and a linear average would hold the line up near the first
 * large values for many points. Values that have no place on the axis (zero, negative, NaN, Inf,
 * not measured) are gaps the average passes over.
 * @param {ArrayLike<number>} values @param {number} weight
 */
export function smoothLog(values, weight) {
  const logs = Float64Array.from(values, (v) => (v > 0 && v < Infinity ? Math.log10(v) : NaN));
  return smooth(logs, weight).map((v) => 10 ** v);
}

