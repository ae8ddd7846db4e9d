// @ts-check
/**
 * The loss chart's y axis in numbers uPlot can handle. uPlot finds no ticks once a value has more
 * than 17 integer digits (a loss past ~1e17), and none finer than 1e−16: so the chart gives it
 * loss / factor, a power of ten that brings the largest loss under 10 when it is outside
 * [1e−6, 1e12), and labels the ticks with the true values. The log scale plots log10(loss) on a
 * linear scale and labels decades ("1e20"). Pure: node --test checks it (tests/js/lossAxis.test.js).
 */
import { formatCompact, formatDecade, formatTicks } from "../format.js";

/**
 * The power of ten to divide the losses by before uPlot sees them (1 where none is needed).
 * @param {number} largest the largest finite |loss| drawn
 */
export function yFactor(largest) {
  if (!(largest > 0) || !Number.isFinite(largest) || (largest >= 1e-6 && largest < 1e12)) return 1;
  return 10 ** Math.floor(Math.log10(largest));
}

/**
 * What uPlot is given for one loss: loss / factor, or log10(loss) on the log scale (null where
 * there is nothing to place: not finite, or not positive on a log scale).
 * @param {number | null} loss @param {number} factor @param {boolean} log
 */
export function toAxis(loss, factor, log) {
  if (loss === null || !Number.isFinite(loss)) return null;
  if (!log) return loss / factor;
  return loss > 0 ? Math.log10(loss) : null;
}

/**
 * Labels of uPlot's ticks (in axis units) in true losses. `null` ticks (left out) read "".
 * @param {(number | null)[]} ticks @param {number} incr the tick spacing in axis units
 * @param {number} factor @param {boolean} log
 * @returns {string[]}
 */
export function lossTickLabels(ticks, incr, factor, log) {
  if (log) {
    return ticks.map((t) => {
      if (t == null) return "";
      const k = Math.round(t);
      return Math.abs(t - k) < 1e-9 ? formatDecade(k) : formatCompact(10 ** t, 2);
    });
  }
  return formatTicks(ticks.map((t) => (t == null ? null : t * factor)), incr * factor);
}
