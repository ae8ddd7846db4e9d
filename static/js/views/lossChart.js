// @ts-check
/**
 * The loss over steps, drawn by uPlot. A long series is decimated per pixel column to its minimum
 * and maximum, so that a spike survives; non-finite losses are counted and named above the chart,
 * never silently dropped.
 */
import uPlot from "../../vendor/uPlot.esm.js";
import { formatNumber } from "../format.js";

/**
 * Per-bucket min and max, in the order they occur, so the drawn line keeps every extreme.
 * @param {Float64Array} values loss of step k at k-1 @param {number} count @param {number} buckets
 * @returns {{x: number[], y: (number | null)[], nonFinite: number, firstNonFinite: number}}
 */
export function decimate(values, count, buckets) {
  const x = [];
  const y = [];
  let nonFinite = 0;
  let firstNonFinite = 0;
  const width = count <= 2 * buckets ? 1 : count / buckets;
  for (let start = 0; start < count; start += width) {
    const from = Math.floor(start);
    const to = Math.min(count, Math.floor(start + width));
    let lo = Infinity;
    let hi = -Infinity;
    let loAt = -1;
    let hiAt = -1;
    for (let i = from; i < to; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        nonFinite++;
        if (!firstNonFinite) firstNonFinite = i + 1;
        continue;
      }
      if (v < lo) (lo = v), (loAt = i);
      if (v > hi) (hi = v), (hiAt = i);
    }
    if (loAt < 0) {
      x.push(from + 1);
      y.push(null); // a gap where the loss was NaN or infinite
    } else if (loAt === hiAt) {
      x.push(loAt + 1);
      y.push(lo);
    } else {
      const [a, b] = loAt < hiAt ? [loAt, hiAt] : [hiAt, loAt];
      x.push(a + 1, b + 1);
      y.push(values[a], values[b]);
    }
  }
  return { x, y, nonFinite, firstNonFinite };
}

const STEP_INCREMENTS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].map((p) => m * p))
  .sort((a, b) => a - b);

export class LossChart {
  /** @param {HTMLElement} element @param {HTMLElement} nonFiniteBadge */
  constructor(element, nonFiniteBadge) {
    this.element = element;
    this.badge = nonFiniteBadge;
    this.log = false;
    /** @type {{step: number, label: string}[]} */
    this.marks = [];
    /** @type {[number[], (number | null)[]]} */
    this.data = [[], []];
    /** @type {uPlot | null} */
    this.plot = null;
    this.create();
    new ResizeObserver(() => this.resize()).observe(element);
  }

  create() {
    this.plot?.destroy();
    const { width, height } = this.size();
    /** @type {uPlot.Options} */
    const options = {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: this.log ? { distr: 3 } : {} },
      axes: [
        {
          label: "optimizer step",
          labelSize: 18,
          size: 36,
          stroke: "#475467",
          incrs: STEP_INCREMENTS, // whole steps only: there is no step 1.5
        },
        {
          label: this.log ? "loss (log scale)" : "loss",
          labelSize: 18,
          size: 64,
          stroke: "#475467",
          values: (_u, ticks) => ticks.map((t) => formatNumber(t, 3)),
        },
      ],
      series: [{}, { label: "train loss", stroke: "#1d4ed8", width: 1.5, spanGaps: false }],
      hooks: { draw: [(u) => this.drawMarks(u)] },
    };
    this.plot = new uPlot(options, this.data, this.element);
  }

  size() {
    return {
      width: Math.max(200, this.element.clientWidth),
      height: Math.max(120, this.element.clientHeight),
    };
  }

  resize() {
    this.plot?.setSize(this.size());
  }

  /** @param {boolean} log */
  setLog(log) {
    this.log = log;
    this.create();
  }

  /** @param {{step: number, label: string}[]} marks */
  setMarks(marks) {
    this.marks = marks;
    this.plot?.redraw(false, false);
  }

  /** @param {Float64Array} values @param {number} count */
  setLosses(values, count) {
    const buckets = Math.max(100, Math.floor(this.element.clientWidth));
    const { x, y, nonFinite, firstNonFinite } = decimate(values, count, buckets);
    if (this.log) for (let i = 0; i < y.length; i++) { const v = y[i]; if (v !== null && v <= 0) y[i] = null; }
    this.data = [x, y];
    this.plot?.setData(this.data);
    this.badge.hidden = nonFinite === 0;
    this.badge.textContent = nonFinite
      ? `${nonFinite} non-finite loss${nonFinite > 1 ? "es" : ""} (first at step ${firstNonFinite})`
      : "";
  }

  /** @param {uPlot} u */
  drawMarks(u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "#6b7280";
    ctx.fillStyle = "#374151";
    ctx.setLineDash([4, 4]);
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    for (const mark of this.marks) {
      const px = u.valToPos(mark.step, "x", true);
      if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
      ctx.beginPath();
      ctx.moveTo(px, u.bbox.top);
      ctx.lineTo(px, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillText(mark.label, px + 4, u.bbox.top + 12 * devicePixelRatio);
    }
    ctx.restore();
  }
}
