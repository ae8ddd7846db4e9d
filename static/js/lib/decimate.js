// @ts-check
/**
 * Which steps of a long series a chart draws: per pixel column, the step of the lowest and of the
 * highest finite value, and the first step whose value is not finite. A spike survives at any
 * width, and a NaN or ±Inf is never averaged or skipped away: it stays as a gap in the line.
 * Pure: node --test checks it (tests/js/decimate.test.js).
 */

/**
 * Indices into `values` to draw for the range [from, to), ascending, about two per bucket.
 * Where the range has no more than two values per bucket, every index.
 * @param {ArrayLike<number>} values @param {number} from @param {number} to @param {number} buckets
 * @returns {number[]}
 */
export function selectIndices(values, from, to, buckets) {
  from = Math.max(0, Math.floor(from));
  to = Math.min(values.length, Math.ceil(to));
  const count = to - from;
  /** @type {number[]} */
  const kept = [];
  if (count <= 0) return kept;
  if (count <= 2 * Math.max(1, buckets)) {
    for (let i = from; i < to; i++) kept.push(i);
    return kept;
  }
  const width = count / buckets;
  for (let b = 0; b < buckets; b++) {
    const start = from + Math.floor(b * width);
    const end = b === buckets - 1 ? to : from + Math.floor((b + 1) * width);
    let lo = Infinity;
    let hi = -Infinity;
    let loAt = -1;
    let hiAt = -1;
    let badAt = -1;
    for (let i = start; i < end; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        if (badAt < 0) badAt = i;
        continue;
      }
      if (v < lo) (lo = v), (loAt = i);
      if (v > hi) (hi = v), (hiAt = i);
    }
    const picks = [loAt, hiAt, badAt].filter((i) => i >= 0).sort((a, b) => a - b);
    for (const i of picks) if (kept[kept.length - 1] !== i) kept.push(i);
  }
  return kept;
}

/**
 * The ascending union of several sorted index lists.
 * @param {number[][]} lists @returns {number[]}
 */
export function mergeIndices(lists) {
  const all = lists.flat().sort((a, b) => a - b);
  /** @type {number[]} */
  const out = [];
  for (const i of all) if (out[out.length - 1] !== i) out.push(i);
  return out;
}

/**
 * The values at the given indices, with non-finite ones as null (a gap in a uPlot line).
 * @param {ArrayLike<number>} values @param {number[]} indices @returns {(number | null)[]}
 */
export function pick(values, indices) {
  return indices.map((i) => {
    const v = values[i];
    return Number.isFinite(v) ? v : null;
  });
}

/**
 * How many of the first `count` values are not finite, and the step (index + 1) of the first.
 * @param {ArrayLike<number>} values @param {number} count
 * @returns {{count: number, firstStep: number | null}}
 */
export function countNonFinite(values, count) {
  let n = 0;
  /** @type {number | null} */
  let firstStep = null;
  for (let i = 0; i < Math.min(count, values.length); i++) {
    if (!Number.isFinite(values[i])) {
      n++;
      if (firstStep === null) firstStep = i + 1;
    }
  }
  return { count: n, firstStep };
}
