// @ts-check
/**
 * One scalar per parameter tensor over the steps, on a log scale (uPlot): the gradient norm ‖g‖ or
 * the update-to-parameter ratio ‖Δθ‖/‖θ‖. One line per tensor, named in the legend. With
 * smoothing on (TensorBoard's debiased exponential moving average, lib/smoothing.js, taken of
 * log10 of the values, since the axis is logarithmic: logScale.js), the lines
 * are the smoothed series and the raw values stay drawn under them, faint; the legend reads the
 * raw value at the hovered step. A horizontal guide (the customary 1e-3 of an update ratio) is
 * drawn where asked, and the y range always includes it.
 *
 * A value that is zero, negative or not finite has no place on a log axis: it is a gap in its
 * line (the legend still says it).
 */
import uPlot from "../../../vendor/uPlot.esm.js";
import { formatCompact, formatDecade, formatNumber } from "../../format.js";
import { alertKind, alertLabel } from "../../lib/marks.js";
import { CLASS_COLORS, css } from "../../lib/colors.js";
import { NOT_MEASURED } from "./history.js";
import { smoothLog } from "./logScale.js";

/**
 * @typedef {import("./history.js").HealthHistory} HealthHistory
 * @typedef {"gradNorm" | "updateRatio"} Key
 * @typedef {import("../../lib/marks.js").AlertMark} AlertMark
 * @typedef {import("../../lib/marks.js").AlertKind} AlertKind
 * @typedef {{key: Key, yLabel: string, guide?: {value: number, text: string}, alertKinds?: AlertKind[],
 *            total?: boolean}} ChartSpec
 *   alertKinds: the alerts marked on this chart, at their steps; total: one more line, the norm over
 *   all parameters (the one an exploding-gradient alert watches), dashed in ink
 */

const FONT_PX = 11;
const TOTAL_INK = "#111827";
/** The total's line in the legend. */
export const TOTAL_LABEL = "all parameters";
/** Whole steps only on the x axis: there is no step 1.5. */
const STEP_INCREMENTS = [1, 2, 5]
  .flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8].map((p) => m * p))
  .sort((a, b) => a - b);
const GUIDE_INK = "#b45309";

/** The colour of the i-th tensor's line. @param {number} i */
export function tensorColor(i) {
  return css(CLASS_COLORS[i % CLASS_COLORS.length]);
}

/** The plot's own height (CSS px); the legend goes under it, as tall as its rows need. */
const PLOT_HEIGHT = 200;

/** @param {number | null} t */
function isDecade(t) {
  if (t == null || !(t > 0)) return false;
  const k = Math.log10(t);
  return Math.abs(k - Math.round(k)) < 1e-9;
}

/** @param {uPlot} _u @param {number[]} splits */
const decadesOnly = (_u, splits) => splits.map((t) => (isDecade(t) ? t : null));

export class LayerChart {
  /** @param {HTMLElement} element @param {ChartSpec} spec */
  constructor(element, spec) {
    this.element = element;
    this.spec = spec;
    /** @type {HealthHistory | null} */
    this.history = null;
    this.weight = 0;
    /** @type {string[]} the tensors the plot has lines for */
    this.tensors = [];
    /** @type {Float64Array[]} each tensor's raw values, index-aligned with the steps */
    this.raw = [];
    /** @type {[number, number]} the y range: whole decades around every value shown (and the guide) */
    this.yRange = [1e-4, 1];
    /** @type {AlertMark[]} the alerts of the kinds this chart marks */
    this.alerts = [];
    /** @type {uPlot | null} */
    this.plot = null;
    this.key = "";
    new ResizeObserver(() => this.resize()).observe(element);
  }

  /** @param {HealthHistory} history */
  render(history) {
    this.history = history;
    const key = history.tensors.join("\u0000");
    if (key !== this.key || !this.plot) this.create(history.tensors);
    else this.plot.setData(this.data());
  }

  /** The smoothing weight in [0, 1): 0 draws the raw series alone. @param {number} weight */
  setSmoothing(weight) {
    if (weight === this.weight) return;
    this.weight = weight;
    this.element.dataset.smoothing = String(weight);
    if (this.plot) this.plot.setData(this.data());
  }

  /** The run's alerts; those of this chart's kinds are marked at their steps. @param {AlertMark[]} alerts */
  setAlerts(alerts) {
    const kinds = this.spec.alertKinds ?? [];
    this.alerts = alerts.filter((a) => kinds.includes(a.kind ?? "nonfinite"));
    if (this.alerts.length) this.element.dataset.alerts = this.alerts.map((a) => `step ${a.step}: ${alertLabel(a)}`).join("; ");
    else delete this.element.dataset.alerts;
    this.plot?.redraw(false, false);
  }

  /** @param {string[]} tensors */
  create(tensors) {
    this.plot?.destroy();
    this.tensors = tensors;
    this.key = tensors.join("\u0000");
    const { width, height } = this.size();
    /** @type {uPlot.Series[]} */
    const series = [
      {
        label: "step",
        value: (_u, v) => (v != null ? String(v) : this.latestStep()),
      },
      ...tensors.map((name, i) => ({
        label: name,
        stroke: tensorColor(i),
        width: 1.6,
        spanGaps: true, // a point without a value (no gradient yet) is skipped, not a break
        // uPlot's default: dots where the points are few and far apart (a run's first points, or
        // a diverged one's only finite point, which a line alone does not draw), none when dense
        points: { size: 4 },
        /** The raw value at the hovered step (the latest away from the chart). @type {uPlot.Series.Value} */
        value: (/** @type {uPlot} */ _u, /** @type {unknown} */ _v, /** @type {number} */ s, /** @type {number | null} */ idx) => this.rawAt(s - 1, idx),
      })),
      ...(this.spec.total
        ? [{
            label: TOTAL_LABEL,
            stroke: TOTAL_INK,
            width: 1.8,
            dash: [6, 3],
            spanGaps: true,
            points: { size: 4 },
            /** @type {uPlot.Series.Value} */
            value: (/** @type {uPlot} */ _u, /** @type {unknown} */ _v, /** @type {number} */ s, /** @type {number | null} */ idx) => this.rawAt(s - 1, idx),
          }]
        : []),
    ];
    /** @type {uPlot.Options} */
    const options = {
      width,
      height,
      legend: { show: true, live: true },
      // no drag zoom: a live chart would lose it to the next point's redraw
      cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 5 } },
      scales: {
        x: { time: false },
        y: { distr: 3, log: 10, range: () => this.yRange },
      },
      axes: [
        {
          label: "optimizer step",
          labelSize: 16,
          stroke: "#475467",
          incrs: STEP_INCREMENTS,
          values: (_u, ticks) => ticks.map((t) => (t == null ? "" : formatCompact(t, 4))),
        },
        {
          label: this.spec.yLabel,
          labelSize: 16,
          labelGap: 2,
          stroke: "#475467",
          size: 50,
          space: 14,
          values: (u, ticks) => this.decadeLabels(u, ticks),
          // ticks and grid lines at whole decades only: the minor ones crowd a short chart
          filter: decadesOnly,
          grid: { filter: decadesOnly, stroke: "rgba(0, 0, 0, 0.07)", width: 1 },
          ticks: { filter: decadesOnly },
        },
      ],
      series,
      hooks: {
        drawAxes: [(u) => this.drawRaw(u)],
        draw: [(u) => this.drawGuide(u), (u) => this.drawAlerts(u)],
      },
    };
    this.plot = new uPlot(options, this.data(), this.element);
    this.element.dataset.series = String(tensors.length);
  }

  /** @returns {uPlot.AlignedData} */
  data() {
    const history = this.history;
    const n = history?.length ?? 0;
    const x = Array.from(history?.steps.subarray(0, n) ?? []);
    this.raw = this.tensors.map((t) => {
      const s = history?.layers.get(t);
      return s ? s[this.spec.key].subarray(0, n) : new Float64Array(n).fill(NOT_MEASURED);
    });
    if (this.spec.total) this.raw.push(history ? history.totalGradNorm.subarray(0, n) : new Float64Array(0));
    const lines = this.raw.map((values) => (this.weight > 0 ? smoothLog(values, this.weight) : values));
    let lo = Infinity;
    let hi = -Infinity;
    for (const values of [...this.raw, ...lines]) {
      for (const v of values) {
        if (v > 0 && Number.isFinite(v)) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    // The guide a decade inside the range, never on its edge where the frame hides it.
    const guide = this.spec.guide?.value;
    if (guide) (lo = Math.min(lo, guide / 10)), (hi = Math.max(hi, guide * 10));
    this.yRange = lo <= hi ? [10 ** Math.floor(Math.log10(lo)), 10 ** Math.max(Math.ceil(Math.log10(hi)), Math.floor(Math.log10(lo)) + 1)] : [1e-4, 1];
    const onAxis = (/** @type {ArrayLike<number>} */ values) => Array.from(values, (v) => (v > 0 && Number.isFinite(v) ? v : null));
    return /** @type {uPlot.AlignedData} */ ([x, ...lines.map(onAxis)]);
  }

  latestStep() {
    const n = this.history?.length ?? 0;
    return n ? String(this.history?.steps[n - 1]) : "—";
  }

  /**
   * A tensor's raw value at the hovered point; away from the chart its latest measured one, with
   * its step where the newest point measured none (a point before any gradient or update).
   * @param {number} line @param {number | null} idx
   */
  rawAt(line, idx) {
    const values = this.raw[line];
    if (!values?.length) return "—";
    if (idx != null) return idx < values.length && values[idx] !== NOT_MEASURED ? formatNumber(values[idx], 4) : "—";
    let i = values.length - 1;
    while (i >= 0 && values[i] === NOT_MEASURED) i--;
    if (i < 0) return "—";
    const text = formatNumber(values[i], 4);
    return i === values.length - 1 ? text : `${text} (step ${this.history?.steps[i]})`;
  }

  /** Decades only (1e−3, 0.01, …), thinned where they would crowd. @param {uPlot} u @param {number[]} ticks */
  decadeLabels(u, ticks) {
    const [lo, hi] = this.yRange;
    const decades = Math.max(1, Math.round(Math.log10(hi / lo)));
    const every = Math.max(1, Math.ceil(decades / Math.max(1, Math.floor(u.bbox.height / devicePixelRatio / 18))));
    return ticks.map((t) => {
      const whole = Math.round(Math.log10(t));
      return t != null && isDecade(t) && whole % every === 0 ? formatDecade(whole) : "";
    });
  }

  /** The raw series, faint, under the smoothed lines (only while smoothing is on). @param {uPlot} u */
  drawRaw(u) {
    if (!(this.weight > 0)) return;
    const ctx = u.ctx;
    const x = u.data[0];
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.globalAlpha = 0.28;
    ctx.lineWidth = devicePixelRatio;
    this.raw.forEach((values, line) => {
      if (u.series[line + 1]?.show === false) return;
      ctx.strokeStyle = line < this.tensors.length ? tensorColor(line) : TOTAL_INK;
      ctx.beginPath();
      let pen = false;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!(v > 0 && Number.isFinite(v))) continue; // a gap on a log axis: joined like the line
        const px = u.valToPos(x[i], "x", true);
        const py = u.valToPos(v, "y", true);
        if (pen) ctx.lineTo(px, py);
        else ctx.moveTo(px, py), (pen = true);
      }
      ctx.stroke();
    });
    ctx.restore();
  }

  /** The guide line, labelled at its right end. @param {uPlot} u */
  drawGuide(u) {
    const guide = this.spec.guide;
    if (!guide) return;
    const ratio = devicePixelRatio;
    const { left, top, width, height } = u.bbox;
    const y = Math.round(u.valToPos(guide.value, "y", true)) + 0.5;
    this.element.dataset.guide = String(guide.value);
    this.element.dataset.guideY = String((y - top) / ratio);
    if (!(y >= top && y <= top + height)) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = GUIDE_INK;
    ctx.lineWidth = ratio;
    ctx.setLineDash([6 * ratio, 4 * ratio]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    ctx.font = `600 ${FONT_PX * ratio}px system-ui, sans-serif`;
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    const textWidth = ctx.measureText(guide.text).width;
    ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
    ctx.fillRect(left + width - textWidth - 6 * ratio, y - (FONT_PX + 4) * ratio, textWidth + 4 * ratio, (FONT_PX + 3) * ratio);
    ctx.fillStyle = GUIDE_INK;
    ctx.fillText(guide.text, left + width - 4 * ratio, y - 2 * ratio);
    ctx.restore();
  }

  /**
   * A solid line in the alert's colour at its step, labelled at the top of the plot ("Exploding
   * gradient: all parameters"); labels that would overlap the previous one drop a row.
   * @param {uPlot} u
   */
  drawAlerts(u) {
    if (!this.alerts.length) return;
    const ratio = devicePixelRatio;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.font = `600 ${FONT_PX * ratio}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    ctx.lineWidth = 2 * ratio;
    let row = 0;
    let lastEnd = -Infinity;
    for (const alert of this.alerts) {
      const px = Math.round(u.valToPos(alert.step, "x", true)) + 0.5;
      if (!(px >= left && px <= left + width)) continue;
      const { color } = alertKind(alert);
      ctx.strokeStyle = color;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
      const text = alertLabel(alert);
      const textWidth = ctx.measureText(text).width;
      const x = px + 4 * ratio + textWidth <= left + width ? px + 4 * ratio : px - 4 * ratio - textWidth;
      row = x < lastEnd ? (row + 1) % 3 : 0;
      lastEnd = x + textWidth + 4 * ratio;
      const y = top + (2 + row * (FONT_PX + 4)) * ratio;
      ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
      ctx.fillRect(x - 2 * ratio, y - ratio, textWidth + 4 * ratio, (FONT_PX + 3) * ratio);
      ctx.fillStyle = color;
      ctx.fillText(text, x, y);
    }
    ctx.restore();
  }

  size() {
    return { width: Math.max(160, Math.floor(this.element.clientWidth)), height: PLOT_HEIGHT };
  }

  resize() {
    if (!this.plot) return;
    const { width, height } = this.size();
    if (this.plot.width !== width || this.plot.height !== height) this.plot.setSize({ width, height });
  }
}
