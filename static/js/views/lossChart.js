// @ts-check
/**
 * The loss over steps, drawn by uPlot, with the racers' losses beside the run's own.
 *
 * - A long series is decimated per pixel column (lib/decimate.js): each column keeps its lowest and
 *   highest loss and its first non-finite one, so a spike survives and a NaN stays a gap, marked by
 *   a magenta tick on the bottom edge. Non-finite losses are also counted above the chart.
 * - A redraw costs O(pixels), not O(steps): per line a min/max pyramid (MinMaxPyramid) and the
 *   smoothed values (Smoother) are kept up to date as steps append, and the non-finite count with
 *   them; only a new array (lib/series.js: held values changed) or a new smoothing weight starts
 *   them over. The log scale is a switch of what uPlot is given, not a new plot.
 * - Smoothing (lib/smoothing.js, TensorBoard's debiased exponential moving average, weight set by
 *   `setSmoothing`, shared with the page's other charts): each line, the racers' and the evaluated
 *   losses too, is drawn strong smoothed over its raw series drawn faint; the legend reads both
 *   ("smoothed" after each line). Weight 0 draws the raw lines alone, as before.
 * - Hover shows the step and every series' loss (uPlot's live legend; NaN and ±Inf spelled out);
 *   a drag across the chart zooms into those steps, redrawn at full resolution; a double-click
 *   shows the whole run again.
 * - uPlot finds no ticks once a value has more than 17 integer digits (a loss past ~1e17), so the y
 *   values it sees are scaled by a power of ten and the labels say the true values; the log scale
 *   plots log10(loss) on a linear scale and labels decades. Either way the axis is as wide as its
 *   widest label, so the title never overlaps the numbers.
 * - Optimizer marks say what changed ("lr 0.01→0.1"), staggered in rows, folded into "+n" where
 *   they would overlap (lib/marks.js). Alerts are solid lines in their kind's colour, labelled
 *   with the kind in words along the foot of the plot, laid out the same way.
 * - Where the server evaluates the model (issue 9), the loss over the training set and over the
 *   validation set join the per-batch loss: sparse points at the evaluated steps, merged into the
 *   same step column (null elsewhere, joined across the gaps) and decimated in their own index
 *   space, so a long run still draws about two points per pixel column per line.
 * - An attached script's other logged scalars (`watch.log(accuracy=…)`) are more lines on the same
 *   axes, named in the legend; a step where the script logged no value of a name is a gap, joined
 *   across (a scalar logged every tenth step is still a line).
 */
import uPlot from "../../vendor/uPlot.esm.js";
import { formatCompact, formatNumber, NAN_COLOR, SERIES_COLORS } from "../format.js";
import { MinMaxPyramid, mergeIndices } from "../lib/decimate.js";
import { alignAt, lowerBound, pickEvaluations } from "../lib/evaluations.js";
import { lossTickLabels, toAxis, yFactor } from "../lib/lossAxis.js";
import { alertKind, alertLabel, layoutLabels, markLabels, noteConfig } from "../lib/marks.js";
import { Smoother } from "../lib/smoothing.js";
import { optimizerOf } from "../lib/attached.js";

/**
 * @typedef {import("../lib/marks.js").Mark} Mark
 * @typedef {import("../lib/marks.js").AlertMark} AlertMark
 * @typedef {import("../lib/marks.js").OptimizerConfig} OptimizerConfig
 * @typedef {import("../lib/series.js").RacerSeries} RacerSeries
 * @typedef {import("./branch.js").ForkMark} ForkMark
 * @typedef {{name: string, values: ArrayLike<number>, count: number, color: string, logged?: boolean}} Line
 *   a per-step line: the run's loss, a racer's, or (logged) a scalar an attached script logged
 * @typedef {{name: string, values: ArrayLike<number>, count: number}} LoggedSeries
 * @typedef {import("../lib/evaluations.js").EvaluationSeries} EvaluationSeries
 * @typedef {{name: string, key: "trainLoss" | "validationLoss", color: string, dash?: number[]}} EvaluatedLine
 * @typedef {{source: ArrayLike<number> | null, smoother: Smoother}} Smoothed what a line's smoothed
 *   values were computed from (a new array starts them over)
 * @typedef {{line?: number, evaluated?: number, smoothed: boolean}} SeriesRole what a uPlot series
 *   (index 1 on) draws: a per-step line or an evaluated one, raw or smoothed
 */

/** The evaluated losses' lines: the training set's dashed in the batch loss's blue, validation in orange. */
export const TRAINING_SET_COLOR = "#1e3a8a";
export const VALIDATION_COLOR = "#c2410c";

const MARK_INK = "#374151";
/** Forks (rewind and branch): pink, a colour no series, mark or alert uses. */
const FORK_COLOR = "#be185d";
const NON_FINITE = `rgb(${NAN_COLOR.join(", ")})`;
const FONT_PX = 11;
/** Rows of mark labels at the top of the plot, at most; of alert labels at its foot. */
const MARK_ROWS = 3;
const ALERT_ROWS = 2;
/** The smoothing weight until the page sets one (TensorBoard's default). */
export const DEFAULT_SMOOTHING = 0.6;
/** How strong a raw line is drawn under its smoothed one. */
const RAW_ALPHA = 0.4;

const STEP_INCREMENTS = [1, 2, 5]
  .flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9].map((p) => m * p))
  .sort((a, b) => a - b);
/** log10(loss) ticks: decades, or fractions of one when the loss spans less than a decade. */
const LOG_INCREMENTS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 3, 4, 5, 10, 15, 20, 25, 30, 40, 50, 100];
/** loss / factor ticks: uPlot's own default (1, 2, 2.5, 5 × 10^k), spelled as it spells them. */
const LINEAR_INCREMENTS = Array.from({ length: 64 }, (_, i) => i - 32).flatMap((exp) =>
  [1, 2, 2.5, 5].map((m) => Number(`${m}e${exp}`)),
);

/**
 * The latest step at or before `step` where a logged scalar has a value; 0 where none does
 * within the last 100,000 steps (a bound: the legend is redrawn on every hover).
 * @param {ArrayLike<number>} values @param {number} step
 */
function lastLogged(values, step) {
  for (let s = step; s >= 1 && s > step - 100_000; s--) if (Number.isFinite(values[s - 1])) return s;
  return 0;
}

/** A colour, see-through: a raw line under its smoothed one. @param {string} hex "#rrggbb" */
function faint(hex) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${RAW_ALPHA})`;
}

export class LossChart {
  /** @param {HTMLElement} element @param {HTMLElement} nonFiniteBadge */
  constructor(element, nonFiniteBadge) {
    this.element = element;
    this.badge = nonFiniteBadge;
    this.log = false;
    /** @type {Mark[]} */
    this.marks = [];
    /** @type {AlertMark[]} alerts, drawn as solid lines at their steps */
    this.alerts = [];
    /** @type {ForkMark[]} where this run branched from its parent, and where branches left it */
    this.forks = [];
    /** Told the step of a click on the plot (the rewind form takes it). @type {((step: number) => void) | null} */
    this.onPick = null;
    /** @type {Line[]} */
    this.lines = [];
    /** @type {EvaluationSeries | null} the run's evaluations, sparse in steps */
    this.evaluations = null;
    /** @type {EvaluatedLine[]} the evaluated losses drawn after the per-step lines */
    this.evaluated = [];
    /** Steps of the drawn points whose own loss is not finite. @type {number[]} */
    this.nonFiniteSteps = [];
    /** What y values uPlot is given: loss / factor, or log10(loss). */
    this.factor = 1;
    /** The zoomed range of steps, or null for the whole run. @type {{min: number, max: number} | null} */
    this.zoom = null;
    /** Titles of optimizers by name, for the mark labels and the legend. @type {Map<string, string>} */
    this.titles = new Map();
    /** The run's own optimizer, named in the legend when others race it. */
    this.ownName = "";
    /** The run shown, and its optimizer configs in the order the page saw them in force. */
    /** @type {string | undefined} */
    this.runId = undefined;
    /** @type {OptimizerConfig[]} */
    this.seen = [];
    /** True while the chart itself sets the x scale, so the hook does not take it for a zoom. */
    this.settingScale = false;
    /** @type {uPlot | null} */
    this.plot = null;
    /** The series the plot was made with (seriesKey): a new racer needs a new plot. */
    this.key = "";
    /** The smoothing weight (0: raw lines only). */
    this.weight = DEFAULT_SMOOTHING;
    /** Per line (by index), its min/max pyramid and its smoothed values, kept as steps append. */
    /** @type {MinMaxPyramid[]} */
    this.pyramids = [];
    /** @type {Smoothed[]} */
    this.smoothedLines = [];
    /** @type {Map<string, Smoothed>} the evaluated losses' smoothed values, by key */
    this.smoothedEvaluations = new Map();
    /** @type {SeriesRole[]} what each uPlot series from index 1 draws */
    this.roles = [];
    /** The lines' arrays and counts last drawn: a setLosses that changes nothing draws nothing. */
    this.drawn = "";
    /** @type {(ArrayLike<number>)[]} */
    this.drawnArrays = [];
    this.smoothingFrame = 0;
    this.create();
    new ResizeObserver(() => this.resize()).observe(element);
    /** Watches the legend's height (watchLegend). @type {ResizeObserver | null} */
    this.legendWatch = null;
  }

  /** @param {{name: string, title: string}[]} optimizers */
  setOptimizerTitles(optimizers) {
    this.titles = new Map(optimizers.map((o) => [o.name, o.title]));
  }

  /**
   * The run's own optimizer names its line when others race it; every config seen in force is
   * kept, so a live change is labelled against the one before it.
   * @param {import("../contract/contract").RunInfo | null} run
   */
  setRun(run) {
    // An attached script's optimizer is in `attached`, its configuration read from param_groups.
    const current = optimizerOf(run);
    if (run?.id !== this.runId) (this.runId = run?.id), (this.seen = []);
    // The contract's configs are closed interfaces; the labels read them by key.
    const seen = this.seen;
    if (current) this.seen = noteConfig(seen, /** @type {OptimizerConfig} */ (/** @type {unknown} */ (current)));
    // A change is announced before the status that carries it: relabel the marks once it lands.
    if (this.seen !== seen && this.marks.length) this.plot?.redraw(false, false);
    const name = current ? this.title(current.name) : "";
    if (name !== this.ownName) {
      this.ownName = name;
      if (this.racing()) this.create();
    }
  }

  /** @param {string} name */
  title(name) {
    return this.titles.get(name) ?? name;
  }

  /** Other optimizers race the run's own (surface-2d): its line is named by its optimizer. */
  racing() {
    return this.lines.filter((line) => !line.logged).length > 1;
  }

  /** The uPlot series, one per line: changes only when the racers or the logged names do. */
  seriesKey() {
    const racing = this.racing();
    const evaluated = this.evaluated.map((l) => l.name);
    const logged = this.lines.filter((l) => l.logged).map((l) => l.name);
    // The log scale is not in it: switching it changes what uPlot is given, not the plot.
    return JSON.stringify([this.weight > 0, racing ? this.lines.map((l) => l.name) : [], racing ? this.ownName : "", evaluated, logged]);
  }

  create() {
    this.plot?.destroy();
    this.key = this.seriesKey();
    const { width, height } = this.size();
    const racing = this.racing();
    const smoothing = this.weight > 0;
    /** @type {SeriesRole[]} */
    const roles = [];
    /** @type {uPlot.Series[]} */
    const series = [
      {
        label: "step",
        // Away from the chart the legend reads the latest step; over it, the hovered one.
        value: (_u, v) => (v != null ? String(v) : this.lines[0]?.count ? String(this.lines[0].count) : "—"),
      },
    ];
    /** @type {Line[]} */
    const lines = this.lines.length ? this.lines : [{ name: "", values: [], count: 0, color: SERIES_COLORS[0] }];
    lines.forEach((line, i) => {
      const width = i === 0 ? 1.6 : 1.3;
      roles.push({ line: i, smoothed: false });
      series.push({
        label: i === 0 ? (racing && this.ownName ? `${this.ownName} (this run)` : this.evaluated.length ? "batch" : "loss") : line.name,
        stroke: smoothing ? faint(line.color) : line.color,
        width: smoothing ? 1 : width,
        // A logged scalar need not come every step: its line joins the steps that have it.
        spanGaps: Boolean(line.logged),
        points: { show: false },
        /** The true loss at the hovered step, NaN and ±Inf included. @type {uPlot.Series.Value} */
        value: (u, _v, seriesIdx, idx) => this.hoverValue(u, seriesIdx, idx),
      });
      if (!smoothing) return;
      roles.push({ line: i, smoothed: true });
      series.push({
        label: "smoothed",
        stroke: line.color,
        width,
        spanGaps: Boolean(line.logged),
        points: { show: false },
        /** @type {uPlot.Series.Value} */
        value: (u, _v, seriesIdx, idx) => this.hoverValue(u, seriesIdx, idx),
      });
    });
    this.evaluated.forEach((line, j) => {
      for (const smoothed of smoothing ? [false, true] : [false]) {
        roles.push({ evaluated: j, smoothed });
        const faded = smoothing && !smoothed;
        series.push({
          label: smoothed ? "smoothed" : line.name,
          stroke: faded ? faint(line.color) : line.color,
          width: faded ? 1.2 : 1.8,
          dash: line.dash,
          spanGaps: true, // sparse: joined across the steps with no evaluation
          // Dots while the evaluations are few enough to tell apart; a line alone once they crowd.
          points: {
            size: 5,
            fill: faded ? faint(line.color) : line.color,
            show: (/** @type {uPlot} */ u) => !smoothed && (this.evaluations?.count ?? 0) * 6 < u.bbox.width / devicePixelRatio,
          },
          /** @type {uPlot.Series.Value} */
          value: (/** @type {uPlot} */ u, /** @type {unknown} */ _v, /** @type {number} */ i, /** @type {number | null} */ idx) =>
            this.evaluatedValue(u, i, idx),
        });
      }
    });
    this.roles = roles;
    /** @type {uPlot.Options} */
    const options = {
      width,
      height,
      legend: { show: true, live: true },
      cursor: {
        drag: { x: true, y: false, setScale: true },
        points: { size: 6 },
      },
      scales: { x: { time: false }, y: {} },
      axes: [
        {
          label: "optimizer step",
          labelSize: 16,
          stroke: "#475467",
          incrs: STEP_INCREMENTS, // whole steps only: there is no step 1.5
          values: (_u, ticks) => ticks.map((t) => (t == null ? "" : formatCompact(t, 4))),
          size: (u, values, axisIdx, cycle) => this.axisSize(u, values, axisIdx, cycle, "x"),
        },
        {
          // Functions, read at each redraw: the log switch redraws the same plot.
          // With an attached script's logged scalars beside the loss, the legend names each line.
          label: () => `${this.lines.some((l) => l.logged) ? "value" : "loss"}${this.log ? " (log scale)" : ""}`,
          labelSize: 16,
          labelGap: 2,
          stroke: "#475467",
          space: 24, // px between ticks: three labels fit even on a short chart
          incrs: () => (this.log ? LOG_INCREMENTS : LINEAR_INCREMENTS),
          values: (_u, ticks, _axis, _space, incr) => this.yLabels(ticks, incr),
          size: (u, values, axisIdx, cycle) => this.axisSize(u, values, axisIdx, cycle, "y"),
        },
      ],
      series,
      hooks: {
        draw: [(u) => this.drawNonFinite(u), (u) => this.drawMarks(u), (u) => this.drawAlerts(u), (u) => this.drawForks(u), () => this.describe()],
        setScale: [(u, key) => this.onScale(u, key)],
        // The legend's height is known once it is drawn; resizing sooner trips uPlot's first layout.
        ready: [() => requestAnimationFrame(() => this.watchLegend())],
      },
    };
    this.plot = new uPlot(options, this.data(), this.element);
    const plot = this.plot;
    // the step under the pointer, read from the click itself (the cursor's index may lag a frame)
    plot.over.addEventListener("click", (event) => {
      const step = Math.round(plot.posToVal(event.offsetX, "x"));
      if (this.onPick && Number.isFinite(step)) this.onPick(step);
    });
    this.drawn = this.drawnKey();
  }

  /** The y tick labels in true loss values. @param {(number | null)[]} ticks @param {number} incr */
  yLabels(ticks, incr) {
    return lossTickLabels(ticks, incr, this.factor, this.log);
  }

  /**
   * An axis as wide (or tall) as its widest label, plus ticks and gap.
   * @param {uPlot} u @param {string[] | null} values @param {number} axisIdx @param {number} cycle
   * @param {"x" | "y"} which
   */
  axisSize(u, values, axisIdx, cycle, which) {
    // uPlot keeps the size it settled on in `_size` (not in its types) and asks again while it
    // converges; answering the same stops labels that change width from flickering the layout.
    const axis = /** @type {uPlot.Axis & {_size?: number}} */ (u.axes[axisIdx]);
    if (cycle > 1 && axis._size) return axis._size;
    const ticks = (axis.ticks?.size ?? 10) + (axis.gap ?? 5);
    if (which === "x") return ticks + FONT_PX + 6;
    let widest = 0;
    u.ctx.save();
    u.ctx.font = axis.font?.[0] ?? `${FONT_PX * devicePixelRatio}px system-ui, sans-serif`;
    for (const text of values ?? []) widest = Math.max(widest, u.ctx.measureText(text).width / devicePixelRatio);
    u.ctx.restore();
    const size = Math.ceil(ticks + widest + 4);
    // What the axis says, on the element: for screen-reader-free checks and the browser tests.
    this.element.dataset.yTicks = (values ?? []).filter(Boolean).join(" | ");
    this.element.dataset.yAxisSize = String(size);
    return size;
  }

  /** The hovered step's true value of one line. @param {uPlot} u @param {number} seriesIdx @param {number | null} idx */
  hoverValue(u, seriesIdx, idx) {
    const role = this.roles[seriesIdx - 1];
    const line = role?.line == null ? undefined : this.lines[role.line];
    let step = idx == null ? line?.count : u.data[0][idx];
    if (!line || step == null || step < 1 || step > line.count) return "—";
    // Away from the chart a logged scalar reads its latest value, not the last step's gap.
    if (line.logged && idx == null) step = lastLogged(line.values, step);
    if (line.logged && !(step >= 1 && Number.isFinite(line.values[step - 1]))) return "—";
    const values = role.smoothed ? this.smoothedLines[/** @type {number} */ (role.line)]?.smoother.values : line.values;
    return values ? formatNumber(values[step - 1], 5) : "—";
  }

  /**
   * An evaluated loss in the legend: at the hovered step, or the latest one before it (named by its
   * step); away from the chart, the latest.
   * @param {uPlot} u @param {number} seriesIdx @param {number | null} idx
   */
  evaluatedValue(u, seriesIdx, idx) {
    const ev = this.evaluations;
    const role = this.roles[seriesIdx - 1];
    const line = role?.evaluated == null ? undefined : this.evaluated[role.evaluated];
    if (!ev || !ev.count || !line) return "—";
    const values = role.smoothed ? this.smoothedEvaluation(line.key) : ev[line.key];
    const step = idx == null ? Infinity : u.data[0][idx];
    const at = lowerBound(ev.steps, step + 1) - 1; // the last evaluation at or before the step
    if (at < 0) return "—";
    const text = formatNumber(values[at], 5);
    return ev.steps[at] === step || idx == null ? text : `${text} (step ${ev.steps[at]})`;
  }

  size() {
    return {
      width: Math.max(200, Math.floor(this.element.clientWidth)),
      height: Math.max(120, Math.floor(this.element.clientHeight - this.legendHeight())),
    };
  }

  legendHeight() {
    const legend = /** @type {HTMLElement | null} */ (this.plot?.root.querySelector(".u-legend"));
    return legend ? legend.offsetHeight : 24;
  }

  /** Fit the plot to its legend now, and again whenever the legend's height changes: values
   * that grow (a loss of 8e34 beside "smoothed") wrap it to another line, which the plot gives up
   * rather than pushing the legend out of the panel. */
  watchLegend() {
    this.fitLegend();
    const legend = this.plot?.root.querySelector(".u-legend");
    if (!legend) return;
    this.legendWatch?.disconnect();
    this.legendWatch = new ResizeObserver(() => this.fitLegend());
    this.legendWatch.observe(legend);
  }

  /** The legend sits under the plot inside the same box: the plot gives up its height. */
  fitLegend() {
    const { width, height } = this.size();
    if (this.plot && (this.plot.width !== width || this.plot.height !== height)) this.plot.setSize({ width, height });
  }

  resize() {
    if (!this.plot) return;
    const { width, height } = this.size();
    if (this.plot.width === width && this.plot.height === height) return;
    this.plot.setSize({ width, height });
    this.refresh(); // a wider chart has more columns to fill
  }

  /** @param {boolean} log */
  setLog(log) {
    if (log === this.log) return;
    this.log = log;
    this.refresh(); // the y values and the axis's ticks and title change; the plot stays
  }

  /**
   * The smoothing weight, shared by the page's charts: 0 draws the raw lines alone. Smoothing a
   * whole history again is O(steps), so a slider's many changes are drawn once a frame.
   * @param {number} weight in [0, 1)
   */
  setSmoothing(weight) {
    if (!(weight >= 0 && weight < 1) || weight === this.weight) return;
    const wasOn = this.weight > 0;
    this.weight = weight;
    if (wasOn !== weight > 0) {
      this.create();
      return;
    }
    if (this.smoothingFrame) return;
    this.smoothingFrame = requestAnimationFrame(() => {
      this.smoothingFrame = 0;
      this.refresh();
    });
  }

  /** @param {Mark[]} marks */
  setMarks(marks) {
    this.marks = marks;
    this.plot?.redraw(false, false);
  }

  /** @param {ForkMark[]} forks */
  setForks(forks) {
    if (JSON.stringify(forks) === JSON.stringify(this.forks)) return;
    this.forks = forks;
    this.plot?.redraw(false, false);
  }

  /** @param {(step: number) => void} handler */
  bindPick(handler) {
    this.onPick = handler;
  }

  /**
   * A fork: a dashed pink line at the step two runs share last, labelled across the middle of
   * the plot ("branched from 1a2b3c" on a branch, "branch 4d5e6f" on its parent). A label that
   * would leave the plot on the right is drawn to the left of its line.
   * @param {uPlot} u
   */
  drawForks(u) {
    if (!this.forks.length) {
      delete this.element.dataset.forks;
      return;
    }
    const ratio = devicePixelRatio;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const rowHeight = (FONT_PX + 5) * ratio;
    ctx.save();
    ctx.font = `600 ${FONT_PX * ratio}px system-ui, sans-serif`;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    this.forks.forEach((fork, i) => {
      let px = u.valToPos(fork.step, "x", true);
      if (!(px >= left - 1 && px <= left + width + 1)) return;
      px = Math.round(px) + 0.5;
      ctx.strokeStyle = FORK_COLOR;
      ctx.lineWidth = 2 * ratio;
      ctx.setLineDash([6 * ratio, 3 * ratio]);
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
      ctx.setLineDash([]);
      const text = `${fork.text} (step ${fork.step})`;
      const textWidth = ctx.measureText(text).width;
      const x = px + 4 * ratio + textWidth > left + width ? px - 4 * ratio - textWidth : px + 4 * ratio;
      const y = top + height / 2 + (i % 3) * rowHeight;
      ctx.fillStyle = "rgba(255, 255, 255, 0.9)";
      ctx.fillRect(x - 2 * ratio, y - rowHeight / 2, textWidth + 4 * ratio, rowHeight);
      ctx.fillStyle = FORK_COLOR;
      ctx.fillText(text, x, y);
    });
    ctx.restore();
    this.element.dataset.forks = this.forks.map((f) => `step ${f.step}: ${f.text}`).join("; ");
  }

  /** @param {AlertMark[]} alerts */
  setAlerts(alerts) {
    this.alerts = alerts;
    this.plot?.redraw(false, false);
  }

  /**
   * The run's losses (step k at index k − 1), and the racers', each aligned with steps.
   * @param {ArrayLike<number>} values @param {number} count @param {RacerSeries[]} [racers]
   * @param {LoggedSeries[]} [logged] an attached script's other scalars, by step like the loss
   */
  setLosses(values, count, racers = [], logged = []) {
    this.lines = [
      { name: "loss", values, count, color: SERIES_COLORS[0] },
      ...racers.map((r, i) => ({
        name: r.name,
        values: r.loss.values,
        count: Math.min(r.loss.count, count),
        color: SERIES_COLORS[(i + 1) % SERIES_COLORS.length],
      })),
      ...logged.map((l, i) => ({
        name: l.name,
        values: l.values,
        count: l.count,
        color: SERIES_COLORS[(racers.length + i + 1) % SERIES_COLORS.length],
        logged: true,
      })),
    ];
    // Counted as the steps arrive (the pyramid's own pass over the new values).
    const own = this.pyramidOf(0);
    own.update(values, count);
    const bad = own.nonFinite;
    this.badge.hidden = bad === 0;
    this.badge.textContent = bad ? `${bad} non-finite loss${bad > 1 ? "es" : ""} (first at step ${own.firstNonFinite + 1})` : "";
    if (this.seriesKey() !== this.key) this.create();
    else if (this.drawnKey() !== this.drawn) this.refresh();
  }

  /** Which arrays, how many steps of each: what a refresh drew. */
  drawnKey() {
    // Arrays are told apart by identity (lib/series.js gives a new one when held values change).
    const ids = this.lines.map((line) => {
      let id = this.drawnArrays.indexOf(line.values);
      if (id < 0) id = this.drawnArrays.push(line.values) - 1;
      return `${id}:${line.count}`;
    });
    if (this.drawnArrays.length > 64) this.drawnArrays = this.lines.map((line) => line.values);
    return ids.join(" ");
  }

  /** Line i's min/max pyramid. @param {number} i */
  pyramidOf(i) {
    return (this.pyramids[i] ??= new MinMaxPyramid());
  }

  /**
   * A line's smoothed values, brought up to date: only the appended steps are smoothed, unless the
   * array or the weight changed. @param {Smoothed | undefined} state
   * @param {ArrayLike<number>} values @param {number} count @returns {Smoothed}
   */
  smoothedUpTo(state, values, count) {
    state ??= { source: null, smoother: new Smoother(this.weight) };
    const smoother = state.smoother;
    if (state.source !== values || count < smoother.count || smoother.weight !== this.weight) {
      smoother.reset(this.weight);
      state.source = values;
    }
    smoother.extend(values, count);
    return state;
  }

  /** An evaluated loss smoothed over its own points. @param {"trainLoss" | "validationLoss"} key */
  smoothedEvaluation(key) {
    const values = this.evaluations?.[key] ?? [];
    const state = this.smoothedUpTo(this.smoothedEvaluations.get(key), values, values.length);
    this.smoothedEvaluations.set(key, state);
    return state.smoother.values;
  }

  /**
   * The run's evaluations: the training set's and the validation set's loss as two more lines.
   * @param {EvaluationSeries} evaluations
   */
  setEvaluations(evaluations) {
    this.evaluations = evaluations;
    /** @type {EvaluatedLine[]} */
    const lines = [];
    if (evaluations.count) lines.push({ name: "training set", key: "trainLoss", color: TRAINING_SET_COLOR, dash: [5, 3] });
    if (evaluations.hasValidation) lines.push({ name: "validation", key: "validationLoss", color: VALIDATION_COLOR });
    this.evaluated = lines;
    if (this.seriesKey() !== this.key) this.create();
    else this.refresh();
  }

  /** Decimate for the current width and zoom, and hand uPlot the columns. */
  refresh() {
    const plot = this.plot;
    if (!plot) return;
    const data = this.data();
    this.drawn = this.drawnKey();
    if (this.zoom) {
      // Keep the zoomed window while steps arrive; setScale again re-fits y to what is shown.
      plot.setData(data, false);
      this.settingScale = true;
      plot.setScale("x", this.zoom);
      this.settingScale = false;
    } else {
      plot.setData(data);
    }
  }

  /**
   * The columns uPlot draws, O(pixels): per line, the steps its pyramid picks for each pixel
   * column (and coarsely outside a zoom), merged; each line's raw and smoothed values there.
   * @returns {uPlot.AlignedData}
   */
  data() {
    const count = this.lines[0]?.count ?? 0;
    const smoothing = this.weight > 0;
    const columns = Math.max(100, Math.floor(this.plot?.bbox.width ? this.plot.bbox.width / devicePixelRatio : this.element.clientWidth));
    /** @param {MinMaxPyramid} pyramid @param {number} n */
    const indicesOf = (pyramid, n) => {
      if (!this.zoom) return pyramid.select(0, n, columns);
      // The window at full resolution; outside it, coarse, so a double-click can show everything.
      const from = Math.max(0, Math.floor(this.zoom.min) - 2);
      const to = Math.min(n, Math.ceil(this.zoom.max) + 1);
      return [...pyramid.select(0, from, 50), ...pyramid.select(from, to, columns), ...pyramid.select(to, n, 50)];
    };
    this.pyramids.length = this.lines.length;
    this.smoothedLines.length = this.lines.length;
    const perLine = this.lines.map((line, i) => {
      const pyramid = this.pyramidOf(i);
      pyramid.update(line.values, line.count);
      if (smoothing) this.smoothedLines[i] = this.smoothedUpTo(this.smoothedLines[i], line.values, line.count);
      return indicesOf(pyramid, line.count);
    });
    // The evaluated points, decimated in their own index space (all of them while they are few).
    const ev = this.evaluations;
    const picked = ev && this.evaluated.length
      ? pickEvaluations(ev.steps, this.evaluated.map((line) => ev[line.key]), columns, this.zoom)
      : [];
    const evalSteps = picked.map((i) => /** @type {EvaluationSeries} */ (ev).steps[i]);
    const indices = mergeIndices([...perLine, evalSteps.map((step) => step - 1)]);
    const own = this.lines[0]?.values ?? [];
    this.nonFiniteSteps = indices.filter((i) => i < count && !Number.isFinite(own[i])).map((i) => i + 1);
    const x = indices.map((i) => i + 1);
    /** @param {ArrayLike<number>} values @param {number} n held */
    const at = (values, n) => indices.map((i) => (i < n && Number.isFinite(values[i]) ? values[i] : null));
    /** @type {(number | null)[][]} */
    const columnsY = [];
    for (const role of this.roles) {
      if (role.line != null) {
        const line = this.lines[role.line];
        if (!line) columnsY.push(indices.map(() => null));
        else if (!role.smoothed) columnsY.push(at(line.values, line.count));
        else columnsY.push(at(this.smoothedLines[role.line].smoother.values, line.count));
      } else if (role.evaluated != null && ev) {
        const line = this.evaluated[role.evaluated];
        const source = role.smoothed ? this.smoothedEvaluation(line.key) : ev[line.key];
        columnsY.push(alignAt(evalSteps, picked.map((i) => source[i]), x));
      } else {
        columnsY.push(indices.map(() => null));
      }
    }
    let largest = 0;
    for (const column of columnsY) for (const v of column) if (v !== null && Math.abs(v) > largest) largest = Math.abs(v);
    this.factor = this.log ? 1 : yFactor(largest);
    const y = columnsY.map((column) => column.map((v) => toAxis(v, this.factor, this.log)));
    return /** @type {uPlot.AlignedData} */ ([x, ...(y.length ? y : [[]])]);
  }

  /** A drag sets a zoom; a double-click (the whole range again) clears it. @param {uPlot} u @param {string} key */
  onScale(u, key) {
    if (key !== "x" || this.settingScale) return;
    const { min, max } = u.scales.x;
    const xs = u.data[0];
    if (min == null || max == null || !xs.length) return;
    const whole = min <= xs[0] && max >= xs[xs.length - 1];
    const zoom = whole ? null : { min, max };
    if (JSON.stringify(zoom) === JSON.stringify(this.zoom)) return;
    this.zoom = zoom;
    this.element.dataset.zoom = zoom ? `${Math.round(zoom.min)}–${Math.round(zoom.max)}` : "";
    queueMicrotask(() => this.refresh()); // not from inside uPlot's own setScale
  }

  /** A magenta tick on the bottom edge where the run's own loss is NaN or infinite. @param {uPlot} u */
  drawNonFinite(u) {
    if (!this.nonFiniteSteps.length) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = NON_FINITE;
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.beginPath();
    for (const step of this.nonFiniteSteps) {
      const px = u.valToPos(step, "x", true);
      if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
      ctx.moveTo(px, u.bbox.top + u.bbox.height);
      ctx.lineTo(px, u.bbox.top + u.bbox.height - 4 * devicePixelRatio);
    }
    ctx.stroke();
    ctx.restore();
  }

  /** Dashed lines at each optimizer change; labels staggered, never overlapping. @param {uPlot} u */
  drawMarks(u) {
    if (!this.marks.length) {
      delete this.element.dataset.marks;
      return;
    }
    const ratio = devicePixelRatio;
    const ctx = u.ctx;
    const texts = markLabels(this.marks, (name) => this.title(name), this.seen);
    ctx.save();
    ctx.font = `${FONT_PX * ratio}px system-ui, sans-serif`;
    const left = u.bbox.left / ratio;
    const inPlot = this.marks
      .map((mark, i) => ({ x: u.valToPos(mark.step, "x", true) / ratio - left, text: texts[i] }))
      .filter((m) => m.x >= 0 && m.x <= u.bbox.width / ratio);
    ctx.strokeStyle = "#6b7280";
    ctx.setLineDash([4 * ratio, 4 * ratio]);
    ctx.lineWidth = ratio;
    ctx.beginPath();
    for (const m of inPlot) {
      const px = Math.round((m.x + left) * ratio) + 0.5;
      ctx.moveTo(px, u.bbox.top);
      ctx.lineTo(px, u.bbox.top + u.bbox.height);
    }
    ctx.stroke();
    ctx.setLineDash([]);
    const rowHeight = FONT_PX + 4;
    const rows = Math.max(1, Math.min(MARK_ROWS, Math.floor(u.bbox.height / ratio / (rowHeight * 3))));
    const placed = layoutLabels(inPlot, {
      rows,
      gap: 6,
      pad: 4,
      right: u.bbox.width / ratio,
      measure: (text) => ctx.measureText(text).width / ratio + 4,
    });
    ctx.textBaseline = "top";
    ctx.textAlign = "left"; // uPlot leaves the y axis's "right" behind
    for (const label of placed) {
      const x = (label.x + left) * ratio;
      const y = u.bbox.top + (2 + label.row * rowHeight) * ratio;
      const width = ctx.measureText(label.text).width;
      ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
      ctx.fillRect(x - 2 * ratio, y - 1 * ratio, width + 4 * ratio, rowHeight * ratio);
      ctx.fillStyle = MARK_INK;
      ctx.fillText(label.text, x, y + ratio);
    }
    this.element.dataset.marks = this.marks.map((m, i) => `step ${m.step}: ${texts[i]}`).join("; ");
    this.element.dataset.markLabels = JSON.stringify(
      placed.map((p) => ({ x: p.x, row: p.row, text: p.text, width: ctx.measureText(p.text).width / ratio })),
    );
    ctx.restore();
  }

  /** Every optimizer change and alert in words, folded labels included, for screen readers. */
  describe() {
    const { marks, alerts, forks } = this.element.dataset;
    let described = "Training loss by optimizer step";
    const logged = this.lines.filter((l) => l.logged).map((l) => l.name);
    if (logged.length) described += `, with the script's logged ${logged.join(", ")}`;
    if (marks) described += `. Optimizer changes: ${marks}`;
    if (alerts) described += `. Alerts: ${alerts}`;
    if (forks) described += `. Forks: ${forks}`;
    if (this.weight > 0) described += `. Smoothed (weight ${this.weight}) over the raw losses`;
    if (this.element.getAttribute("aria-label") !== described) this.element.setAttribute("aria-label", described);
    this.element.dataset.smoothing = String(this.weight);
  }

  /**
   * A solid line at each alert's step in its kind's colour, labelled along the foot of the plot
   * with the kind and the tensor ("NaN/Inf: loss", "Exploding gradient: all parameters"), in up to
   * two rows, folded into "+n" where labels would overlap. A run an alert paused in the middle of
   * a step has no loss for that step yet: a mark one step past the last point is drawn at the
   * right edge, where that step will be.
   * @param {uPlot} u
   */
  drawAlerts(u) {
    if (!this.alerts.length) {
      delete this.element.dataset.alerts;
      return;
    }
    const ratio = devicePixelRatio;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const max = u.scales.x.max ?? 0;
    ctx.save();
    ctx.font = `600 ${FONT_PX * ratio}px system-ui, sans-serif`;
    ctx.lineWidth = 2 * ratio;
    /** @type {{x: number, text: string, color: string}[]} x in CSS pixels from the plot's left */
    const shown = [];
    for (const alert of this.alerts) {
      let px = u.valToPos(alert.step, "x", true);
      if (alert.step > max && alert.step <= max + 1) px = left + width;
      if (!(px >= left && px <= left + width)) continue;
      px = Math.round(px) + 0.5;
      const { color } = alertKind(alert);
      ctx.strokeStyle = color;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
      shown.push({ x: (px - left) / ratio, text: alertLabel(alert), color });
    }
    shown.sort((a, b) => a.x - b.x);
    const rowHeight = FONT_PX + 4;
    const placed = layoutLabels(shown, {
      // two rows once the plot is 60 px tall: a label folded into "+n" hides its kind
      rows: Math.max(1, Math.min(ALERT_ROWS, Math.floor(height / ratio / (rowHeight * 2)))),
      gap: 6,
      pad: 4,
      right: width / ratio,
      measure: (text) => ctx.measureText(text).width / ratio + 4,
    });
    ctx.textBaseline = "bottom";
    ctx.textAlign = "left";
    for (const label of placed) {
      const x = left + label.x * ratio;
      const y = top + height - (6 + label.row * rowHeight) * ratio;
      const textWidth = ctx.measureText(label.text).width;
      ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
      ctx.fillRect(x - 2 * ratio, y - (FONT_PX + 3) * ratio, textWidth + 4 * ratio, (FONT_PX + 4) * ratio);
      ctx.fillStyle = shown[label.index].color;
      ctx.fillText(label.text, x, y);
    }
    ctx.restore();
    // "step 15: loss" for a NaN/Inf (as before the other kinds); the others name their kind
    this.element.dataset.alerts = this.alerts
      .map((a) => `step ${a.step}: ${(a.kind ?? "nonfinite") === "nonfinite" ? "" : `${alertKind(a).words}, `}${a.tensor}`)
      .join("; ");
    this.element.dataset.alertLabels = JSON.stringify(placed.map((p) => ({ x: p.x, row: p.row, text: p.text })));
  }
}
