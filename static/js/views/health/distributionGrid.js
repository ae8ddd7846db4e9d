// @ts-check
/**
 * Where the distributions heatmap puts each point: which point a pixel column shows, the common
 * value axis, and which bin a value falls in. Pure: node --test checks it
 * (tests/js/distributionGrid.test.js).
 *
 * x is the step. Each point holds from its own step to the next point's (the last one for the
 * mean spacing), so a run sampled unevenly has no gaps; a pixel column shows the latest point that
 * starts within or before it. So there is never more than one point per pixel column: with more
 * points than columns some are not drawn (the newest always is), and none is squeezed into a sliver.
 * y is the element's value, one axis for every point: from the lowest `low` to the highest `high`
 * of the points drawn. Each point's 64 bins span its own [low, high] on that axis.
 */
import { BINS } from "./history.js";

/**
 * The range a point's bins cover: [low, high], except for a constant tensor (low = high), where
 * torch.histc counts every element in the middle bin of [low − 1, high + 1].
 * @param {number} low @param {number} high @returns {[number, number]}
 */
export function binRange(low, high) {
  return low === high ? [low - 1, high + 1] : [low, high];
}

/**
 * The bin a value falls in, as torch.histc counts it (the top edge belongs to the last bin), or
 * −1 outside the range.
 * @param {number} value @param {number} low @param {number} high (already binRange'd)
 */
export function binOf(value, low, high) {
  if (!(value >= low && value <= high) || !(high > low)) return -1;
  return Math.min(BINS - 1, Math.floor(((value - low) / (high - low)) * BINS));
}

/**
 * The x range of `length` points at `steps`: the first step to one mean spacing past the last.
 * @param {ArrayLike<number>} steps ascending @param {number} length @returns {[number, number]}
 */
export function stepRange(steps, length) {
  if (length === 0) return [0, 1];
  const first = steps[0];
  const last = steps[length - 1];
  const spacing = length > 1 ? (last - first) / (length - 1) : 1;
  return [first, last + Math.max(spacing, 1e-9)];
}

/**
 * For each of `width` pixel columns over `range`, the index of the point it shows (the latest that
 * starts before the column's right edge), or −1 left of the first point.
 * @param {ArrayLike<number>} steps ascending @param {number} length @param {number} width
 * @param {[number, number]} range
 * @returns {Int32Array}
 */
export function columnPoints(steps, length, width, range) {
  const out = new Int32Array(Math.max(0, width)).fill(-1);
  let j = -1;
  for (let c = 0; c < width; c++) {
    const right = range[0] + ((c + 1) / width) * (range[1] - range[0]);
    while (j + 1 < length && steps[j + 1] < right) j++;
    out[c] = j;
  }
  return out;
}

/**
 * The value axis for the points shown: the lowest and highest edge of their bins, or null when
 * none of them has the field.
 * @param {ArrayLike<number>} low @param {ArrayLike<number>} high @param {Iterable<number>} indices
 * @returns {[number, number] | null}
 */
export function valueRange(low, high, indices) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const i of indices) {
    if (i < 0 || !Number.isFinite(low[i]) || !Number.isFinite(high[i])) continue;
    const [a, b] = binRange(low[i], high[i]);
    if (a < lo) lo = a;
    if (b > hi) hi = b;
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * A bin's shade: its count against the column's fullest bin, on a square-root scale so that the
 * tails of a distribution stay visible beside its peak; 0 for an empty bin.
 * @param {number} count @param {number} fullest
 */
export function shade(count, fullest) {
  if (!(count > 0) || !(fullest > 0)) return 0;
  return Math.max(0.12, Math.sqrt(count / fullest));
}
