// @ts-check
/**
 * Which steps of a long series a chart draws: per pixel column, the step of the lowest and of the
 * highest finite value, and the first step whose value is not finite. A spike survives at any
 * width, and a NaN or ±Inf is never averaged or skipped away: it stays as a gap in the line.
 * Pure: node --test checks it (tests/js/decimate.test.js).
 */

/** @typedef {{lo: number, hi: number, bad: number}} Extremes indices of a bucket's picks (−1: none) */

/**
 * Indices into `values` to draw for the range [from, to), ascending, about two per bucket.
 * Where the range has no more than two values per bucket, every index.
 * @param {ArrayLike<number>} values @param {number} from @param {number} to @param {number} buckets
 * @returns {number[]}
 */
export function selectIndices(values, from, to, buckets) {
  return pickPerBucket(from, to, values.length, buckets, (start, end, found) => {
    let lo = Infinity;
    let hi = -Infinity;
    found.lo = found.hi = found.bad = -1;
    for (let i = start; i < end; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        if (found.bad < 0) found.bad = i;
        continue;
      }
      if (v < lo) (lo = v), (found.lo = i);
      if (v > hi) (hi = v), (found.hi = i);
    }
  });
}

/**
 * What both pickers share: [from, to) clamped to the `length` values held; every index where there
 * are no more than two values per bucket; else, per bucket, the picks `extremes` finds, ascending.
 * @param {number} from @param {number} to @param {number} length @param {number} buckets
 * @param {(start: number, end: number, found: Extremes) => void} extremes
 * @returns {number[]}
 */
function pickPerBucket(from, to, length, buckets, extremes) {
  from = Math.max(0, Math.floor(from));
  to = Math.min(length, Math.ceil(to));
  const count = to - from;
  /** @type {number[]} */
  const kept = [];
  if (count <= 0) return kept;
  if (count <= 2 * Math.max(1, buckets)) {
    for (let i = from; i < to; i++) kept.push(i);
    return kept;
  }
  const width = count / buckets;
  /** @type {Extremes} */
  const found = { lo: -1, hi: -1, bad: -1 };
  for (let b = 0; b < buckets; b++) {
    const start = from + Math.floor(b * width);
    const end = b === buckets - 1 ? to : from + Math.floor((b + 1) * width);
    extremes(start, end, found);
    const picks = [found.lo, found.hi, found.bad].filter((i) => i >= 0).sort((x, y) => x - y);
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

/** Values a pyramid block of the lowest level covers: 2^4. Below that, values are read directly. */
const BASE_BITS = 4;

/**
 * The same picks as `selectIndices`, from a pyramid of blocks kept up to date as values append,
 * so that a redraw reads O(buckets · log n) entries instead of every value.
 *
 * Level k holds, for each block of 2^(4 + k) consecutive values, the index of its lowest and of
 * its highest finite value (the first of equals) and of its first non-finite one (−1: none). A
 * bucket is read as the blocks that tile it, largest first, plus at most 15 values at either
 * edge; combining blocks keeps the earlier index on a tie, so the picks equal selectIndices'.
 *
 * `update(values, count)` extends it with the values appended since the last call, provided they
 * are the same array and the count only grew; any other array (lib/series.js replaces its array
 * whenever held values change other than by appending) or a smaller count rebuilds it. It also
 * counts the non-finite values as they arrive.
 */
export class MinMaxPyramid {
  constructor() {
    /** @type {ArrayLike<number>} */
    this.values = [];
    this.count = 0;
    /** @type {{lo: Int32Array, hi: Int32Array, bad: Int32Array}[]} */
    this.levels = [];
    /** How many of the values are NaN or ±Inf, and the index of the first (−1: none). */
    this.nonFinite = 0;
    this.firstNonFinite = -1;
  }

  /** @param {ArrayLike<number>} values @param {number} count the first `count` values are held */
  update(values, count) {
    count = Math.max(0, Math.min(count, values.length));
    if (values !== this.values || count < this.count) {
      this.values = values;
      this.count = 0;
      this.levels = [];
      this.nonFinite = 0;
      this.firstNonFinite = -1;
    }
    const from = this.count;
    if (count === from) return;
    for (let i = from; i < count; i++) {
      if (!Number.isFinite(values[i])) {
        this.nonFinite++;
        if (this.firstNonFinite < 0) this.firstNonFinite = i;
      }
    }
    this.count = count;
    // Level 0 from the values, each level above from the one below: only the blocks that the new
    // values touch (the last block of each level may have been partial, so it is redone).
    for (let k = 0; ; k++) {
      const bits = BASE_BITS + k;
      const first = from >> bits;
      const end = ((count - 1) >> bits) + 1;
      const level = this.level(k, end);
      for (let j = first; j < end; j++) {
        if (k === 0) this.scanBlock(level, j);
        else this.joinBlocks(level, this.levels[k - 1], j, ((count - 1) >> (bits - 1)) + 1);
      }
      if (end <= 1) break;
    }
  }

  /** Level k, grown to hold at least `blocks` blocks. @param {number} k @param {number} blocks */
  level(k, blocks) {
    let level = this.levels[k];
    if (!level || level.lo.length < blocks) {
      let size = level ? level.lo.length : 16;
      while (size < blocks) size *= 2;
      const grown = { lo: new Int32Array(size), hi: new Int32Array(size), bad: new Int32Array(size) };
      if (level) {
        grown.lo.set(level.lo);
        grown.hi.set(level.hi);
        grown.bad.set(level.bad);
      }
      level = this.levels[k] = grown;
    }
    return level;
  }

  /** @param {{lo: Int32Array, hi: Int32Array, bad: Int32Array}} level @param {number} j */
  scanBlock(level, j) {
    const values = this.values;
    const start = j << BASE_BITS;
    const end = Math.min(this.count, start + (1 << BASE_BITS));
    let lo = -1;
    let hi = -1;
    let bad = -1;
    for (let i = start; i < end; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        if (bad < 0) bad = i;
        continue;
      }
      if (lo < 0 || v < values[lo]) lo = i;
      if (hi < 0 || v > values[hi]) hi = i;
    }
    level.lo[j] = lo;
    level.hi[j] = hi;
    level.bad[j] = bad;
  }

  /**
   * Block j of a level from blocks 2j and 2j + 1 of the level below (which has `below` blocks).
   * @param {{lo: Int32Array, hi: Int32Array, bad: Int32Array}} level
   * @param {{lo: Int32Array, hi: Int32Array, bad: Int32Array}} child @param {number} j @param {number} below
   */
  joinBlocks(level, child, j, below) {
    const values = this.values;
    const a = 2 * j;
    const b = a + 1;
    let lo = child.lo[a];
    let hi = child.hi[a];
    let bad = child.bad[a];
    if (b < below) {
      const lb = child.lo[b];
      const hb = child.hi[b];
      if (lb >= 0 && (lo < 0 || values[lb] < values[lo])) lo = lb;
      if (hb >= 0 && (hi < 0 || values[hb] > values[hi])) hi = hb;
      if (bad < 0) bad = child.bad[b];
    }
    level.lo[j] = lo;
    level.hi[j] = hi;
    level.bad[j] = bad;
  }

  /**
   * Indices to draw for [from, to), as `selectIndices(values, from, to, buckets)` returns them.
   * @param {number} from @param {number} to @param {number} buckets @returns {number[]}
   */
  select(from, to, buckets) {
    return pickPerBucket(from, to, this.count, buckets, (start, end, found) => this.extremes(start, end, found));
  }

  /**
   * The lowest and highest finite value's index in [start, end) (the first of equals) and the
   * first non-finite one's, into `found` (−1: none).
   * @param {number} start @param {number} end @param {{lo: number, hi: number, bad: number}} found
   */
  extremes(start, end, found) {
    const values = this.values;
    const levels = this.levels;
    let lo = -1;
    let hi = -1;
    let bad = -1;
    const block = 1 << BASE_BITS;
    let i = start;
    // the ragged left edge, value by value, up to the first whole block
    const aligned = Math.min(end, Math.ceil(start / block) * block);
    for (; i < aligned; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        if (bad < 0) bad = i;
      } else {
        if (lo < 0 || v < values[lo]) lo = i;
        if (hi < 0 || v > values[hi]) hi = i;
      }
    }
    // whole blocks, each the largest that starts at i (its alignment) and ends by `end`
    while (i + block <= end) {
      const byAlignment = i === 0 ? 31 : 31 - Math.clz32(i & -i);
      const bySize = 31 - Math.clz32(end - i);
      const k = Math.min(byAlignment, bySize, BASE_BITS + levels.length - 1) - BASE_BITS;
      const level = levels[k];
      const j = i >> (BASE_BITS + k);
      const l = level.lo[j];
      const h = level.hi[j];
      if (l >= 0 && (lo < 0 || values[l] < values[lo])) lo = l;
      if (h >= 0 && (hi < 0 || values[h] > values[hi])) hi = h;
      if (bad < 0) bad = level.bad[j];
      i += block << k;
    }
    // the ragged right edge
    for (; i < end; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        if (bad < 0) bad = i;
      } else {
        if (lo < 0 || v < values[lo]) lo = i;
        if (hi < 0 || v > values[hi]) hi = i;
      }
    }
    found.lo = lo;
    found.hi = hi;
    found.bad = bad;
  }
}
