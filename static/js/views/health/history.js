// @ts-check
/**
 * The run's health points (issue 10), kept for the health views: per step, each parameter
 * tensor's norms, update ratio and 64-bin distributions, each ReLU layer's dead units, and the
 * instrumentation's overhead. No DOM: node --test checks it (tests/js/healthHistory.test.js).
 *
 * Memory is bounded: only the latest `capacity` points (2,000 by default) are kept, in typed
 * arrays. At up to 2 points a second that is the last quarter of an hour of a live run; a longer
 * history (sent on (re)sync) is cut to its latest points, and `dropped` says how many went. A
 * wide MLP's point carries about 30 distributions of 64 counts: 2,000 of them hold ~15 MB as
 * Uint32Array, where the JSON objects would hold several times that.
 *
 * Each series is one array of `capacity` entries, index 0 the oldest point held, so every series
 * is a contiguous view from 0 to `length`. Once full, a new point moves the others one place to
 * the front (a memmove of the held counts: 1.4 ms for a wide MLP's 30 distributions, measured in
 * Node on this machine, at most twice a second); a batch makes room for all its points with one
 * move.
 */
import { num } from "../../protocol.js";

/**
 * The contract's health types (app/contract/health.py). Where the schema says number, the stream
 * may send "NaN", "Infinity" or "-Infinity" (docs/protocol.md): every number is read with num().
 * @typedef {import("../../contract/contract").HealthPoint} HealthPoint
 */

/** Bins of every distribution (the contract's 64). */
export const BINS = 64;
/** Points kept, by default. */
export const CAPACITY = 2000;

/**
 * What a norm series holds where the point measured nothing (null: no gradient yet, no update):
 * −Infinity, which no norm can be, so that NaN and +Inf stay what the server found.
 */
export const NOT_MEASURED = -Infinity;

/** A number from the stream, or NOT_MEASURED for null. @param {number | string | null | undefined} x */
function measured(x) {
  return x === null || x === undefined ? NOT_MEASURED : num(x);
}

/** One tensor's scalar series, aligned with the history's steps (NOT_MEASURED where a point has none). */
export class LayerSeries {
  /** @param {number} size */
  constructor(size) {
    this.valueNorm = new Float64Array(size).fill(NOT_MEASURED);
    this.gradNorm = new Float64Array(size).fill(NOT_MEASURED);
    this.updateNorm = new Float64Array(size).fill(NOT_MEASURED);
    this.updateRatio = new Float64Array(size).fill(NOT_MEASURED);
  }
}

/**
 * One field of one tensor over the points: each point's range [low, high] and its 64 counts
 * (point i's at counts[64·i … 64·i + 63]). A point without this field has present[i] = 0; one
 * whose elements are all NaN or Inf has it, with no finite range (low and high NaN).
 */
export class DistributionSeries {
  /** @param {number} size */
  constructor(size) {
    this.low = new Float64Array(size).fill(NaN);
    this.high = new Float64Array(size).fill(NaN);
    this.nonfinite = new Float64Array(size);
    this.present = new Uint8Array(size);
    this.counts = new Uint32Array(size * BINS);
  }

  /** Point i's counts, a view (no copy). @param {number} i */
  countsAt(i) {
    return this.counts.subarray(i * BINS, (i + 1) * BINS);
  }

  /** Whether point i has this field. @param {number} i */
  has(i) {
    return this.present[i] === 1;
  }
}

export class HealthHistory {
  /** @param {number} [capacity] */
  constructor(capacity = CAPACITY) {
    this.capacity = capacity;
    const size = capacity;
    /** Points held, steps ascending: index 0 … length − 1. */
    this.length = 0;
    /** Points left out to keep memory bounded (older than the oldest held). */
    this.dropped = 0;
    this.steps = new Float64Array(size);
    /** The total ‖g‖ over all parameters. */
    this.totalGradNorm = new Float64Array(size).fill(NOT_MEASURED);
    /** @type {Map<string, LayerSeries>} by tensor name, in the order the points list them */
    this.layers = new Map();
    /** @type {Map<string, Map<string, DistributionSeries>>} tensor → field → series */
    this.distributions = new Map();
    /** @type {Map<string, {units: number, dead: Float64Array}>} ReLU module → dead units per point */
    this.units = new Map();
    /** @type {HealthPoint | null} the newest point as it came */
    this.latest = null;
  }

  /** Forget every point (a reset, a new connection). */
  clear() {
    this.length = 0;
    this.dropped = 0;
    this.totalGradNorm.fill(NOT_MEASURED);
    this.layers.clear();
    this.distributions.clear();
    this.units.clear();
    this.latest = null;
  }

  /** Tensor names, in the model's order. */
  get tensors() {
    return [...this.layers.keys()];
  }

  /** The fields a tensor has distributions of, in the order they came ("value", "grad", …). @param {string} tensor */
  fieldsOf(tensor) {
    return [...(this.distributions.get(tensor)?.keys() ?? [])];
  }

  /** @param {string} tensor @param {string} field */
  distribution(tensor, field) {
    return this.distributions.get(tensor)?.get(field) ?? null;
  }

  /** The index of the point at exactly `step`, or −1. @param {number} step */
  indexOf(step) {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.steps[mid] < step) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.length && this.steps[lo] === step ? lo : -1;
  }

  /**
   * Points in step order. A point at the last step held replaces it (a phase command's point
   * comes after the step's earlier ones, and says more: the gradient after backward); a point
   * before the last step held is left out (a live point the history already gave).
   * @param {HealthPoint[]} points @returns {number} how many were added or replaced
   */
  add(points) {
    // Of a history longer than the capacity only the latest points are read at all.
    const from = Math.max(0, points.length - this.capacity);
    this.dropped += from;
    // Room for the batch's new steps first, with one move of what is held.
    let fresh = 0;
    for (let k = from, last = this.length ? this.steps[this.length - 1] : -Infinity; k < points.length; k++) {
      if (points[k].step > last) (fresh++, (last = points[k].step));
    }
    const over = this.length + fresh - this.capacity;
    if (over > 0) this.shift(Math.min(over, this.length));
    let changed = 0;
    for (let k = from; k < points.length; k++) {
      const p = points[k];
      const last = this.length ? this.steps[this.length - 1] : -Infinity;
      if (p.step < last) continue;
      if (p.step > last) this.append();
      this.write(this.length - 1, p);
      this.latest = p;
      changed++;
    }
    return changed;
  }

  /** Make room for one more point at the end, filled with "not measured". */
  append() {
    if (this.length === this.capacity) this.shift(1);
    const i = this.length++;
    this.totalGradNorm[i] = NOT_MEASURED;
    for (const s of this.layers.values()) {
      s.valueNorm[i] = s.gradNorm[i] = s.updateNorm[i] = s.updateRatio[i] = NOT_MEASURED;
    }
    for (const fields of this.distributions.values()) {
      for (const d of fields.values()) {
        d.low[i] = d.high[i] = NaN;
        d.nonfinite[i] = 0;
        d.present[i] = 0;
        d.counts.fill(0, i * BINS, (i + 1) * BINS);
      }
    }
    for (const u of this.units.values()) u.dead[i] = NaN;
  }

  /** Forget the oldest `n` points: every series moves to the front. @param {number} n */
  shift(n) {
    const keep = /** @type {number} */ (this.length - n);
    /** @param {Float64Array | Uint32Array | Uint8Array} a @param {number} [width] */
    const move = (a, width = 1) => a.copyWithin(0, n * width, this.length * width);
    move(this.steps);
    move(this.totalGradNorm);
    for (const s of this.layers.values()) [s.valueNorm, s.gradNorm, s.updateNorm, s.updateRatio].forEach((a) => move(a));
    for (const fields of this.distributions.values()) {
      for (const d of fields.values()) {
        move(d.low);
        move(d.high);
        move(d.nonfinite);
        move(d.present);
        move(d.counts, BINS);
      }
    }
    for (const u of this.units.values()) move(u.dead);
    this.length = keep;
    this.dropped += n;
  }

  /** @param {number} i @param {HealthPoint} p */
  write(i, p) {
    const size = this.capacity;
    this.steps[i] = p.step;
    this.totalGradNorm[i] = measured(p.grad_norm);
    for (const layer of p.layers) {
      let s = this.layers.get(layer.tensor);
      if (!s) this.layers.set(layer.tensor, (s = new LayerSeries(size)));
      s.valueNorm[i] = measured(layer.value_norm);
      s.gradNorm[i] = measured(layer.grad_norm);
      s.updateNorm[i] = measured(layer.update_norm);
      s.updateRatio[i] = measured(layer.update_ratio);
      let fields = this.distributions.get(layer.tensor);
      if (!fields) this.distributions.set(layer.tensor, (fields = new Map()));
      // A replaced point may have had fields this one lacks (a gradient cleared by zero_grad).
      for (const d of fields.values()) (d.low[i] = d.high[i] = NaN), (d.present[i] = 0), d.counts.fill(0, i * BINS, (i + 1) * BINS);
      for (const dist of layer.distributions) {
        let d = fields.get(dist.field);
        if (!d) fields.set(dist.field, (d = new DistributionSeries(size)));
        d.low[i] = num(dist.low);
        d.high[i] = num(dist.high);
        d.present[i] = 1;
        d.nonfinite[i] = dist.nonfinite;
        d.counts.set(dist.counts.slice(0, BINS), i * BINS);
      }
    }
    for (const unit of p.units) {
      let u = this.units.get(unit.layer);
      if (!u) this.units.set(unit.layer, (u = { units: unit.units, dead: new Float64Array(size).fill(NaN) }));
      u.units = unit.units;
      u.dead[i] = unit.dead;
    }
  }
}
