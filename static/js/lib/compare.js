// @ts-check
/**
 * Several runs' curves on one chart: each run's loss (and its validation loss, where it has one)
 * from its JSON export (GET /api/runs/{id}/export?format=json), thinned to about two points per
 * pixel column per line by decimate.js (the lowest and highest value of each column and its first
 * NaN/Inf: a spike survives in a run of 1,000,000 steps), then joined on one step axis for uPlot.
 * Pure: node --test checks it (tests/js/compare.test.js).
 */
import { pick, selectIndices } from "./decimate.js";

/**
 * @typedef {{steps: number[], scalars: {[k: string]: (number | string | null)[] | undefined}}} RunExport
 *   the part of a run's JSON export that is drawn
 * @typedef {{label: string, steps: number[], values: (number | null)[], validation: boolean, run: number}} Curve
 *   one line: its points' steps and values (null: NaN/Inf or no value, a gap), and the run it is of
 */

/** The series of an export drawn per run: the loss, and the validation loss as a second line. */
export const LOSS = "loss";
export const VALIDATION = "evaluation/validation_loss";

/** A value of an export as a number: "NaN", "Infinity", "-Infinity" as such, null as NaN. @param {number | string | null} v */
export function toNumber(v) {
  if (v === null) return NaN;
  return typeof v === "number" ? v : Number(v);
}

/**
 * One curve of a series of an export: only the steps that have a value, thinned to `buckets`
 * columns (every point when there are no more than two a column).
 * @param {RunExport} exported @param {string} key @param {number} buckets
 * @returns {{steps: number[], values: (number | null)[]} | null} null: the run has no such series
 */
export function thinned(exported, key, buckets) {
  const column = exported.scalars[key];
  if (!column) return null;
  /** @type {number[]} */
  const steps = [];
  /** @type {number[]} */
  const values = [];
  for (let i = 0; i < column.length; i++) {
    if (column[i] === null) continue; // no value of this series at that step (not a NaN)
    steps.push(exported.steps[i]);
    values.push(toNumber(column[i]));
  }
  if (steps.length === 0) return null;
  const kept = selectIndices(values, 0, values.length, buckets);
  return { steps: kept.map((i) => steps[i]), values: pick(values, kept) };
}

/**
 * The curves of the chosen runs, in the order chosen: each run's loss, then its validation loss.
 * @param {{label: string, exported: RunExport}[]} runs @param {number} buckets
 * @returns {Curve[]}
 */
export function curvesOf(runs, buckets) {
  /** @type {Curve[]} */
  const curves = [];
  runs.forEach(({ label, exported }, run) => {
    const loss = thinned(exported, LOSS, buckets);
    if (loss) curves.push({ label: `${label} · loss`, ...loss, validation: false, run });
    const validation = thinned(exported, VALIDATION, buckets);
    if (validation) curves.push({ label: `${label} · validation loss`, ...validation, validation: true, run });
  });
  return curves;
}

/**
 * The curves on one ascending step axis, as uPlot takes them: [steps, ...one array per curve],
 * null where a curve has no point at a step (the chart joins across these gaps).
 * @param {Curve[]} curves @returns {(number | null)[][]}
 */
export function joined(curves) {
  const xs = [...new Set(curves.flatMap((c) => c.steps))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const columns = curves.map((curve) => {
    /** @type {(number | null)[]} */
    const column = new Array(xs.length).fill(null);
    curve.steps.forEach((step, i) => {
      column[/** @type {number} */ (at.get(step))] = curve.values[i];
    });
    return column;
  });
  return [xs, ...columns];
}
