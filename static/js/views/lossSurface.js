// @ts-check
/**
 * The loss surface of y = w·x + b over a (w, b) grid, with optimizers racing across it.
 *
 * The surface is a filled contour map coloured by log(loss) on a sequential light palette, with
 * contour lines at log-spaced levels. It is drawn once per setSurface (one ImageData write for the
 * fill) and once per resize into an offscreen background that every redraw blits. On top, each
 * racer shows its trail, its current point, the dashed −lr·gradient that backward found and the
 * solid step the optimizer took, both from the point before the last step. Points outside the map
 * are clamped to its edge with a marker; non-finite points are left out and named "(diverged)".
 * Any number of setRacers calls fold into one redraw per animation frame.
 */
import { NAN_COLOR, formatNumber } from "../format.js";

/**
 * @typedef {{w: [number, number], b: [number, number], n: number, loss: ArrayLike<number>}} Surface
 *   `loss` holds n×n values, row-major: row r is b = bMin + r·(bMax − bMin)/(n − 1), column c is
 *   w = wMin + c·(wMax − wMin)/(n − 1).
 * @typedef {{name: string, color: string, point: [number, number], trail: [number, number][],
 *            gradientStep: [number, number] | null, actualStep: [number, number] | null,
 *            loss?: number | null}} Racer
 *   `gradientStep` is −lr·gradient and `actualStep` the change step() made, both as (dw, db); both
 *   arrows start at the point before the last step, point − actualStep (the point itself when
 *   actualStep is null).
 * @typedef {[number, number, number, number]} Segment x1, y1, x2, y2 in grid coordinates
 * @typedef {{x: number, y: number, w: number, h: number}} Rect
 */

/** Contour levels drawn (and colour bands filled) across the surface. */
const LEVELS = 10;
/** The most the log scale spans, max/min: lower losses, and zero, take its lowest colour. */
const LOG_RANGE = 1e-8;
/** Diverged racers are named in the non-finite magenta, #d600d6. */
const DIVERGED = `rgb(${NAN_COLOR.join(", ")})`;
const INK = "#475467";
const FONT = "11px system-ui, 'DejaVu Sans', sans-serif";
const MARGIN = { left: 50, right: 12, top: 10, bottom: 38 };
/** Radius of a racer's current point, in CSS px. */
const MARKER = 5;
/**
 * The colour bar: its gap from the plot, its thickness, the room it takes right of the plot (bar,
 * ticks, labels, rotated title) or under the x axis (title, bar, labels).
 */
const COLORBAR = { gap: 14, width: 11, room: 92, under: 46 };

/**
 * Sequential light palette, low loss light: pale yellow through green and teal to a muted violet.
 * Lightness falls monotonically, so the order reads without a key, and racers stay visible on it.
 */
const PALETTE = [
  [254, 252, 226],
  [231, 245, 199],
  [194, 231, 194],
  [156, 212, 199],
  [134, 186, 210],
  [148, 160, 210],
  [164, 140, 196],
];

/** Colour at t ∈ [0, 1] on the palette. @param {number} t @returns {number[]} rgb */
export function surfaceColor(t) {
  const x = Math.max(0, Math.min(1, t)) * (PALETTE.length - 1);
  const i = Math.min(PALETTE.length - 2, Math.floor(x));
  const f = x - i;
  return PALETTE[i].map((a, k) => Math.round(a + (PALETTE[i + 1][k] - a) * f));
}

/**
 * `count` levels spaced evenly in log(loss), strictly between minLoss and maxLoss. A minimum at or
 * below zero starts the scale LOG_RANGE below the maximum. Empty when there is no range.
 * @param {number} minLoss @param {number} maxLoss @param {number} count
 * @returns {number[]}
 */
export function contourLevels(minLoss, maxLoss, count) {
  if (!(maxLoss > 0) || !Number.isFinite(maxLoss) || !(count >= 1)) return [];
  const lo = Math.log(minLoss > 0 ? minLoss : maxLoss * LOG_RANGE);
  const hi = Math.log(maxLoss);
  if (!(hi > lo)) return [];
  const levels = [];
  for (let i = 1; i <= count; i++) levels.push(Math.exp(lo + ((hi - lo) * i) / (count + 1)));
  return levels;
}

/**
 * Marching squares: the line segments where a grid crosses `level`, interpolated linearly along
 * the cell edges. Saddle cells are resolved by the cell's mean. Cells with a non-finite corner are
 * skipped.
 * @param {ArrayLike<number>} grid n×n values, row-major, grid[row·n + column]
 * @param {number} n @param {number} level
 * @returns {Segment[]} segments in grid coordinates: x is the column, y the row
 */
export function marchingSquares(grid, n, level) {
  /** @type {Segment[]} */
  const segments = [];
  if (grid.length < n * n) throw new RangeError(`grid has ${grid.length} values, not ${n}×${n}`);
  for (let r = 0; r + 1 < n; r++) {
    for (let c = 0; c + 1 < n; c++) {
      // Corners anticlockwise from the lower left: (c, r), (c+1, r), (c+1, r+1), (c, r+1).
      const v = [grid[r * n + c], grid[r * n + c + 1], grid[(r + 1) * n + c + 1], grid[(r + 1) * n + c]];
      if (!v.every(Number.isFinite)) continue;
      const above = v.map((x) => x >= level);
      if (above.every((a) => a === above[0])) continue;
      const corners = [[c, r], [c + 1, r], [c + 1, r + 1], [c, r + 1]];
      /** The crossing on edge e, from corner e to corner e + 1. @param {number} e */
      const cross = (e) => {
        const a = v[e];
        const b = v[(e + 1) % 4];
        const t = a === b ? 0.5 : (level - a) / (b - a);
        const [x0, y0] = corners[e];
        const [x1, y1] = corners[(e + 1) % 4];
        return [x0 + (x1 - x0) * t, y0 + (y1 - y0) * t];
      };
      const edges = [0, 1, 2, 3].filter((e) => above[e] !== above[(e + 1) % 4]);
      if (edges.length === 2) {
        const [p, q] = edges.map(cross);
        segments.push([p[0], p[1], q[0], q[1]]);
        continue;
      }
      // A saddle: cut off the two corners on the other side of the level from the cell's centre.
      const centre = (v[0] + v[1] + v[2] + v[3]) / 4 >= level;
      for (let k = 0; k < 4; k++) {
        if (above[k] === centre) continue;
        const p = cross((k + 3) % 4); // the edge arriving at corner k
        const q = cross(k); // the edge leaving it
        segments.push([p[0], p[1], q[0], q[1]]);
      }
    }
  }
  return segments;
}

/**
 * Clip the segment a→b to a rectangle (Liang–Barsky). Null when none of it is inside.
 * @param {number[]} a @param {number[]} b @param {Rect} rect @returns {number[][] | null}
 */
function clipSegment(a, b, rect) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  let t0 = 0;
  let t1 = 1;
  const checks = [
    [-dx, a[0] - rect.x],
    [dx, rect.x + rect.w - a[0]],
    [-dy, a[1] - rect.y],
    [dy, rect.y + rect.h - a[1]],
  ];
  for (const [p, q] of checks) {
    if (p === 0) {
      if (q < 0) return null;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return null;
  }
  return [
    [a[0] + dx * t0, a[1] + dy * t0],
    [a[0] + dx * t1, a[1] + dy * t1],
  ];
}

/**
 * Tick values at 1, 2 or 5 × 10^k spacing: about `target` of them, and never fewer than three.
 * @param {number} lo @param {number} hi @param {number} target
 */
function ticks(lo, hi, target) {
  const raw = (hi - lo) / Math.max(1, target);
  if (!(raw > 0) || !Number.isFinite(raw)) return { values: [lo], step: 1 };
  const nice = [1, 2, 5].flatMap((m) => [-1, 0, 1].map((e) => m * 10 ** (Math.floor(Math.log10(raw)) + e)))
    .sort((a, b) => b - a);
  const at = (/** @type {number} */ step) => {
    const values = [];
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) values.push(k * step);
    return values;
  };
  // The narrowest nice step at least `raw`, or a narrower one where that gives fewer than three.
  const first = Math.max(0, nice.findLastIndex((step) => step >= raw * 0.999));
  for (const step of nice.slice(first)) {
    const values = at(step);
    if (values.length >= 3) return { values, step };
  }
  const step = nice[nice.length - 1];
  return { values: at(step), step };
}

/**
 * Tick labels with as many digits as the spacing needs: per tick in plain notation (0.5, 1.0,
 * 1.5), and one count for the whole axis once formatNumber turns to exponents (5.0e−5, 1.0e−4).
 * @param {number[]} values @param {number} step @returns {string[]}
 */
function tickLabels(values, step) {
  /** Significant digits down to the step's place. @param {number} v */
  const significant = (v) => Math.max(1, Math.min(6, Math.floor(Math.log10(Math.abs(v))) - Math.floor(Math.log10(step)) + 1));
  // Never fewer digits than the integer part has, or toPrecision writes 1000 as 1e+3.
  const plain = (/** @type {number} */ v) => Math.max(significant(v), Math.floor(Math.log10(Math.abs(v))) + 1);
  const nonZero = values.filter((v) => Math.abs(v) >= step * 1e-6);
  const exponents = nonZero.some((v) => Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3);
  const widest = Math.max(1, ...nonZero.map(significant));
  return values.map((v) => (Math.abs(v) < step * 1e-6 ? "0" : formatNumber(v, exponents ? widest : plain(v))));
}

/** 10^k written plainly where that is short, else as 1e−k. @param {number} k */
function decade(k) {
  if (k >= -3 && k <= 4) return formatNumber(10 ** k, Math.max(1, k + 1));
  return `1e${k < 0 ? "−" : ""}${Math.abs(k)}`;
}

/** @param {number[]} p */
const finitePoint = (p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]);

export class LossSurface {
  /** @param {HTMLElement} container */
  constructor(container) {
    /** @type {Surface | null} */
    this.surface = null;
    /** @type {Racer[]} */
    this.racers = [];
    /** @type {number[]} */
    this.levels = [];
    /** Per level, its contour segments in grid coordinates. @type {Segment[][]} */
    this.contours = [];
    /** The grid's lowest and highest loss, where the log scale starts, and the lowest point. */
    this.range = { min: NaN, max: NaN, floor: NaN, argW: NaN, argB: NaN };
    /** The fill at grid-ish resolution, written by one ImageData. @type {HTMLCanvasElement | null} */
    this.fill = null;
    /** Fill, contours and axes at the canvas's size, rebuilt on setSurface and on resize. */
    this.background = document.createElement("canvas");
    this.backgroundDirty = true;
    this.frame = 0;
    this.width = 0;
    this.height = 0;
    this.legendKey = "";

    this.root = document.createElement("div");
    this.root.className = "loss-surface";
    Object.assign(this.root.style, {
      display: "flex", flexDirection: "column", gap: "4px", width: "100%", height: "100%", minHeight: "0",
    });
    this.stage = document.createElement("div");
    this.stage.className = "loss-surface-stage";
    Object.assign(this.stage.style, { position: "relative", flex: "1 1 auto", minHeight: "160px" });
    this.canvas = document.createElement("canvas");
    Object.assign(this.canvas.style, { position: "absolute", inset: "0", width: "100%", height: "100%" });
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "Loss surface: waiting for the surface.");
    this.stage.append(this.canvas);
    this.legend = document.createElement("div");
    this.legend.className = "loss-surface-legend";
    Object.assign(this.legend.style, {
      flex: "0 0 auto", display: "flex", flexDirection: "column", gap: "3px",
      fontSize: "12px", lineHeight: "1.3", color: "#374151",
    });
    this.racerList = document.createElement("div");
    Object.assign(this.racerList.style, { display: "flex", flexWrap: "wrap", columnGap: "12px", rowGap: "2px" });
    this.legend.append(this.racerList, this.buildArrowKey());
    this.root.append(this.stage, this.legend);
    container.append(this.root);

    new ResizeObserver(() => this.resize()).observe(this.stage);
    this.resize();
  }

  /** @param {Surface} surface */
  setSurface(surface) {
    const { n, loss } = surface;
    if (!(n >= 2) || loss.length < n * n) throw new RangeError(`surface needs n ≥ 2 and n×n losses, got n = ${n}`);
    this.surface = surface;
    let min = Infinity;
    let max = -Infinity;
    let minPositive = Infinity;
    let at = -1;
    for (let i = 0; i < n * n; i++) {
      const v = loss[i];
      if (!Number.isFinite(v)) continue;
      if (v < min) (min = v), (at = i);
      if (v > max) max = v;
      if (v > 0 && v < minPositive) minPositive = v;
    }
    const floor = Number.isFinite(minPositive) ? Math.max(minPositive, max * LOG_RANGE) : NaN;
    const [w0, w1] = surface.w;
    const [b0, b1] = surface.b;
    this.range = {
      min,
      max,
      floor,
      argW: at < 0 ? NaN : w0 + ((at % n) / (n - 1)) * (w1 - w0),
      argB: at < 0 ? NaN : b0 + (Math.floor(at / n) / (n - 1)) * (b1 - b0),
    };
    this.levels = contourLevels(floor, max, LEVELS);
    // Contours and bands both follow log(loss), so the lines sit on the band edges.
    const logGrid = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) {
      const v = loss[i];
      logGrid[i] = Number.isFinite(v) ? Math.log(Math.max(v, floor)) : v === Infinity ? Infinity : NaN;
    }
    const logLevels = this.levels.map(Math.log);
    this.contours = logLevels.map((level) => marchingSquares(logGrid, n, level));
    this.fill = renderFill(logGrid, n, logLevels, loss);
    this.backgroundDirty = true;
    this.schedule();
  }

  /** @param {Racer[]} racers */
  setRacers(racers) {
    this.racers = racers;
    this.schedule();
  }

  /** Redraw on the next animation frame, once however many calls come before it. */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  resize() {
    const width = Math.max(1, Math.floor(this.stage.clientWidth));
    const height = Math.max(1, Math.floor(this.stage.clientHeight));
    const ratio = window.devicePixelRatio || 1;
    if (width === this.width && height === this.height && this.canvas.width === Math.round(width * ratio)) return;
    this.width = width;
    this.height = height;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.backgroundDirty = true;
    this.schedule();
  }

  /**
   * Whether the colour bar goes right of the plot (true) or under it: beside unless that leaves a
   * clearly smaller plot, as in a narrow, tall panel.
   */
  barBeside() {
    const side = (/** @type {number} */ w, /** @type {number} */ h) => Math.min(w, h * 1.25, h);
    const w = this.width - MARGIN.left - MARGIN.right;
    const h = this.height - MARGIN.top - MARGIN.bottom;
    return side(w - COLORBAR.room, h) >= side(w, h - COLORBAR.under) - 12;
  }

  /** The plot area: square-ish, centred, with room for the axes and the colour bar. @returns {Rect} */
  plotRect() {
    const beside = this.barBeside();
    const availW = Math.max(20, this.width - MARGIN.left - MARGIN.right - (beside ? COLORBAR.room : 0));
    const availH = Math.max(20, this.height - MARGIN.top - MARGIN.bottom - (beside ? 0 : COLORBAR.under));
    const w = Math.min(availW, availH * 1.25);
    const h = Math.min(availH, w * 1.25);
    const x = MARGIN.left + Math.floor((availW - w) / 2);
    return { x, y: MARGIN.top + Math.floor((availH - h) / 2), w: Math.floor(w), h: Math.floor(h) };
  }

  /** Data (w, b) to canvas pixels (CSS px). @param {Rect} rect @returns {(p: number[]) => number[]} */
  mapper(rect) {
    const surface = /** @type {Surface} */ (this.surface);
    const [w0, w1] = surface.w;
    const [b0, b1] = surface.b;
    return (p) => [rect.x + ((p[0] - w0) / (w1 - w0)) * rect.w, rect.y + rect.h - ((p[1] - b0) / (b1 - b0)) * rect.h];
  }

  draw() {
    const ratio = this.canvas.width / Math.max(1, this.width);
    if (this.backgroundDirty) this.drawBackground(ratio);
    const ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext("2d"));
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.background, 0, 0);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (this.surface) this.drawRacers(ctx, this.plotRect());
    this.renderLegend();
    this.describe();
  }

  /** Fill, contours, minimum and axes into the offscreen background. @param {number} ratio */
  drawBackground(ratio) {
    this.backgroundDirty = false;
    this.background.width = this.canvas.width;
    this.background.height = this.canvas.height;
    const ctx = /** @type {CanvasRenderingContext2D} */ (this.background.getContext("2d"));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const rect = this.plotRect();
    ctx.font = FONT;
    if (!this.surface || !this.fill) {
      ctx.strokeStyle = "#d0d5dd";
      ctx.strokeRect(rect.x + 0.5, rect.y + 0.5, rect.w - 1, rect.h - 1);
      ctx.fillStyle = "#6b7280";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText("Waiting for the loss surface…", rect.x + rect.w / 2, rect.y + rect.h / 2);
      return;
    }
    const surface = this.surface;
    const n = surface.n;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(this.fill, rect.x, rect.y, rect.w, rect.h);

    // Contour lines, thin and grey, in grid coordinates scaled onto the plot.
    ctx.save();
    ctx.beginPath();
    ctx.rect(rect.x, rect.y, rect.w, rect.h);
    ctx.clip();
    const sx = rect.w / (n - 1);
    const sy = rect.h / (n - 1);
    ctx.strokeStyle = "rgba(55, 65, 81, 0.42)";
    ctx.lineWidth = 0.8;
    ctx.beginPath();
    for (const segments of this.contours) {
      for (const [x1, y1, x2, y2] of segments) {
        ctx.moveTo(rect.x + x1 * sx, rect.y + rect.h - y1 * sy);
        ctx.lineTo(rect.x + x2 * sx, rect.y + rect.h - y2 * sy);
      }
    }
    ctx.stroke();

    // The lowest grid point, a small ×: where the racers are heading.
    if (Number.isFinite(this.range.argW)) {
      const [mx, my] = this.mapper(rect)([this.range.argW, this.range.argB]);
      ctx.strokeStyle = "rgba(17, 24, 39, 0.7)";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(mx - 4, my - 4);
      ctx.lineTo(mx + 4, my + 4);
      ctx.moveTo(mx + 4, my - 4);
      ctx.lineTo(mx - 4, my + 4);
      ctx.stroke();
    }
    ctx.restore();

    ctx.strokeStyle = "#98a2b3";
    ctx.lineWidth = 1;
    ctx.strokeRect(rect.x - 0.5, rect.y - 0.5, rect.w + 1, rect.h + 1);
    this.drawAxes(ctx, rect, surface);
    this.drawColorBar(ctx, rect);
  }

  /**
   * The colour key: one band per contour interval, the grid's lowest and highest loss at its ends,
   * the powers of ten between where they fit, and its title. Right of the plot, or under it when
   * the panel is too narrow to spare the width.
   * @param {CanvasRenderingContext2D} ctx @param {Rect} rect
   */
  drawColorBar(ctx, rect) {
    const { floor, max, min } = this.range;
    if (!(max > floor)) return;
    const vertical = this.barBeside();
    // The bar runs from `start` (the floor) to `end` (the maximum) along its length.
    const length = vertical ? rect.h : rect.w;
    const bar = vertical
      ? { x: rect.x + rect.w + COLORBAR.gap, y: rect.y, w: COLORBAR.width, h: rect.h }
      : { x: rect.x, y: rect.y + rect.h + MARGIN.bottom + 16, w: rect.w, h: COLORBAR.width };
    const lo = Math.log(floor);
    const hi = Math.log(max);
    const along = (/** @type {number} */ v) => ((Math.log(v) - lo) / (hi - lo)) * length;
    const bands = this.levels.length + 1;
    const edges = [floor, ...this.levels, max];
    for (let k = 0; k < bands; k++) {
      ctx.fillStyle = `rgb(${surfaceColor(bands > 1 ? k / (bands - 1) : 0).join(",")})`;
      const a = along(edges[k]);
      const b = along(edges[k + 1]);
      if (vertical) ctx.fillRect(bar.x, bar.y + bar.h - b, bar.w, b - a + 0.5);
      else ctx.fillRect(bar.x + a, bar.y, b - a + 0.5, bar.h);
    }
    ctx.strokeStyle = "#98a2b3";
    ctx.lineWidth = 1;
    ctx.strokeRect(bar.x - 0.5, bar.y - 0.5, bar.w + 1, bar.h + 1);
    ctx.strokeStyle = INK;
    /**
     * A tick and its label at distance d along the bar.
     * @param {number} d @param {string} text @param {"start" | "middle" | "end"} anchor
     */
    const label = (d, text, anchor) => {
      ctx.beginPath();
      if (vertical) {
        const y = Math.round(bar.y + bar.h - d) + 0.5;
        ctx.moveTo(bar.x + bar.w, y);
        ctx.lineTo(bar.x + bar.w + 4, y);
        ctx.textAlign = "left";
        ctx.textBaseline = anchor === "start" ? "bottom" : anchor === "end" ? "top" : "middle";
        ctx.fillText(text, bar.x + bar.w + 6, bar.y + bar.h - d);
      } else {
        const x = Math.round(bar.x + d) + 0.5;
        ctx.moveTo(x, bar.y + bar.h);
        ctx.lineTo(x, bar.y + bar.h + 3);
        ctx.textAlign = anchor === "start" ? "left" : anchor === "end" ? "right" : "center";
        ctx.textBaseline = "top";
        ctx.fillText(text, bar.x + d, bar.y + bar.h + 4);
      }
      ctx.stroke();
    };
    ctx.font = `600 ${FONT}`;
    ctx.fillStyle = INK;
    const maxText = formatNumber(max, 3);
    const minText = (min < floor ? "≤ " : "") + formatNumber(floor, 3);
    label(length, maxText, "end");
    label(0, minText, "start");
    // Powers of ten in between, where they keep clear of the ends and of each other.
    ctx.font = FONT;
    ctx.fillStyle = "#667085";
    const room = (/** @type {string} */ text) => (vertical ? 14 : ctx.measureText(text).width + 8);
    let free = vertical ? 20 : ctx.measureText(minText).width + 6;
    const stop = length - (vertical ? 22 : ctx.measureText(maxText).width + 6);
    for (let k = Math.ceil(Math.log10(floor)); 10 ** k < max; k++) {
      const d = along(10 ** k);
      const text = decade(k);
      const half = vertical ? 7 : ctx.measureText(text).width / 2 + 4;
      if (d - half < free || d + half > stop) continue;
      label(d, text, "middle");
      free = d + room(text) - half;
    }
    ctx.font = `600 ${FONT}`;
    ctx.fillStyle = "#344054";
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    if (vertical) {
      ctx.save();
      ctx.translate(bar.x + COLORBAR.room - COLORBAR.gap - 2, bar.y + bar.h / 2);
      ctx.rotate(Math.PI / 2);
      ctx.fillText("loss (MSE), log scale", 0, 0);
      ctx.restore();
    } else {
      ctx.fillText("loss (MSE), log scale", bar.x + bar.w / 2, bar.y - 3);
    }
  }

  /** @param {CanvasRenderingContext2D} ctx @param {Rect} rect @param {Surface} surface */
  drawAxes(ctx, rect, surface) {
    const map = this.mapper(rect);
    ctx.fillStyle = INK;
    ctx.strokeStyle = INK;
    ctx.lineWidth = 1;
    ctx.font = FONT;
    const x = ticks(surface.w[0], surface.w[1], Math.max(2, Math.round(rect.w / 70)));
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const xLabels = tickLabels(x.values, x.step);
    for (const [i, value] of x.values.entries()) {
      const px = Math.round(map([value, 0])[0]) + 0.5;
      ctx.beginPath();
      ctx.moveTo(px, rect.y + rect.h + 1);
      ctx.lineTo(px, rect.y + rect.h + 5);
      ctx.stroke();
      ctx.fillText(xLabels[i], px, rect.y + rect.h + 7);
    }
    const y = ticks(surface.b[0], surface.b[1], Math.max(2, Math.round(rect.h / 50)));
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const yLabels = tickLabels(y.values, y.step);
    for (const [i, value] of y.values.entries()) {
      const py = Math.round(map([0, value])[1]) + 0.5;
      ctx.beginPath();
      ctx.moveTo(rect.x - 1, py);
      ctx.lineTo(rect.x - 5, py);
      ctx.stroke();
      ctx.fillText(yLabels[i], rect.x - 7, py);
    }
    ctx.font = `600 ${FONT}`;
    ctx.fillStyle = "#344054";
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText("w (weight)", rect.x + rect.w / 2, Math.min(this.height - 1, rect.y + rect.h + 36));
    ctx.save();
    ctx.translate(Math.max(12, rect.x - 38), rect.y + rect.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "bottom";
    ctx.fillText("b (bias)", 0, 0);
    ctx.restore();
  }

  /** @param {CanvasRenderingContext2D} ctx @param {Rect} rect */
  drawRacers(ctx, rect) {
    const map = this.mapper(rect);
    // A little slack past the frame, so a marker on the edge is not cut in half.
    const clip = { x: rect.x - 1, y: rect.y - 1, w: rect.w + 2, h: rect.h + 2 };
    ctx.save();
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    // Trails first, each over a pale halo so it reads on every band of the palette.
    for (const racer of this.racers) {
      const runs = trailRuns(racer.trail ?? [], map, clip);
      /** @type {[number, string][]} */
      const strokes = [[3.5, "rgba(255,255,255,0.75)"], [1.6, racer.color]];
      for (const [width, style] of strokes) {
        ctx.strokeStyle = style;
        ctx.lineWidth = width;
        ctx.beginPath();
        for (const run of runs) {
          ctx.moveTo(run[0][0], run[0][1]);
          for (let i = 1; i < run.length; i++) ctx.lineTo(run[i][0], run[i][1]);
        }
        ctx.stroke();
      }
      ctx.fillStyle = racer.color;
      for (const p of racer.trail ?? []) {
        if (!finitePoint(p)) continue;
        const [px, py] = map(p);
        if (px < clip.x || px > clip.x + clip.w || py < clip.y || py > clip.y + clip.h) continue;
        ctx.beginPath();
        ctx.arc(px, py, 1.7, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    // Then the two arrows of the last step, from the point before it. A tip that lands on the
    // current point stops at its marker's rim, so the head is not hidden under it.
    for (const racer of this.racers) {
      if (!finitePoint(racer.point)) continue;
      const step = racer.actualStep && finitePoint(racer.actualStep) ? racer.actualStep : null;
      const before = step ? [racer.point[0] - step[0], racer.point[1] - step[1]] : racer.point;
      const from = map(before);
      const at = map(racer.point);
      if (racer.gradientStep && finitePoint(racer.gradientStep)) {
        const tip = map([before[0] + racer.gradientStep[0], before[1] + racer.gradientStep[1]]);
        drawArrow(ctx, from, stopAtRim(from, tip, at, MARKER + 2), clip, racer.color, true);
      }
      if (step) drawArrow(ctx, from, stopAtRim(from, at, at, MARKER + 1), clip, racer.color, false);
    }
    // Last the current points, on top of everything. A diverged racer is marked, ringed in
    // magenta, at its last finite point, so the place it blew up stays on the map.
    for (const racer of this.racers) {
      if (finitePoint(racer.point)) {
        drawMarker(ctx, rect, map(racer.point), racer.color, "#ffffff");
        continue;
      }
      const last = (racer.trail ?? []).findLast(finitePoint);
      if (last) drawMarker(ctx, rect, map(last), racer.color, DIVERGED);
    }
    ctx.restore();
  }

  /** The arrow key, with a small drawing of each arrow. */
  buildArrowKey() {
    const row = document.createElement("div");
    Object.assign(row.style, { display: "flex", alignItems: "center", gap: "2px 16px", flexWrap: "wrap", color: "#4b5563" });
    /** @param {boolean} dashed @param {string} text */
    const item = (dashed, text) => {
      const span = document.createElement("span");
      Object.assign(span.style, { display: "inline-flex", alignItems: "center", gap: "4px" });
      const ns = "http://www.w3.org/2000/svg";
      const svg = document.createElementNS(ns, "svg");
      svg.setAttribute("width", "26");
      svg.setAttribute("height", "10");
      svg.setAttribute("aria-hidden", "true");
      const line = document.createElementNS(ns, "line");
      line.setAttribute("x1", "1");
      line.setAttribute("y1", "5");
      line.setAttribute("x2", "18");
      line.setAttribute("y2", "5");
      line.setAttribute("stroke", "#374151");
      line.setAttribute("stroke-width", dashed ? "2.2" : "1.6");
      if (dashed) line.setAttribute("stroke-dasharray", "4 3");
      if (dashed) line.setAttribute("stroke-opacity", "0.6");
      const head = document.createElementNS(ns, "path");
      head.setAttribute("d", "M25 5 L17 1.5 L17 8.5 Z");
      head.setAttribute("fill", dashed ? "#ffffff" : "#374151");
      head.setAttribute("stroke", "#374151");
      head.setAttribute("stroke-width", "1.1");
      svg.append(line, head);
      const label = document.createElement("span");
      label.textContent = text;
      span.append(svg, label);
      return span;
    };
    row.append(
      item(true, "dashed: −lr·gradient (what backward found)"),
      item(false, "solid: the step the optimizer took"),
    );
    return row;
  }

  /** The racer key, rebuilt only when a name, colour or state changes. */
  renderLegend() {
    const entries = this.racers.map((racer) => ({
      racer,
      diverged: !finitePoint(racer.point),
      off: finitePoint(racer.point) && this.surface !== null && !inside(this.surface, racer.point),
    }));
    const key = JSON.stringify(entries.map((e) => [e.racer.name, e.racer.color, e.diverged, e.off]));
    if (key === this.legendKey) return;
    this.legendKey = key;
    this.racerList.replaceChildren(
      ...entries.map(({ racer, diverged, off }) => {
        const item = document.createElement("span");
        Object.assign(item.style, { display: "inline-flex", alignItems: "center", gap: "5px" });
        const swatch = document.createElement("span");
        Object.assign(swatch.style, {
          width: "14px", height: "3px", borderRadius: "2px", background: racer.color, position: "relative",
        });
        const dot = document.createElement("span");
        Object.assign(dot.style, {
          position: "absolute", left: "3px", top: "-3px", width: "8px", height: "8px", borderRadius: "50%",
          background: racer.color, border: "1px solid #fff", boxSizing: "border-box",
        });
        swatch.append(dot);
        const name = document.createElement("span");
        name.textContent = racer.name;
        name.style.fontWeight = "600";
        item.append(swatch, name);
        if (diverged) {
          const note = document.createElement("span");
          note.textContent = "(diverged)";
          Object.assign(note.style, { color: DIVERGED, fontWeight: "600" });
          item.append(note);
        } else if (off) {
          const note = document.createElement("span");
          note.textContent = "(off the map)";
          note.style.color = "#6b7280";
          item.append(note);
        }
        return item;
      }),
    );
  }

  /** The canvas's text alternative: the surface and where each racer is now. */
  describe() {
    const surface = this.surface;
    let label;
    if (!surface) {
      label = "Loss surface: waiting for the surface.";
    } else {
      const f = (/** @type {number} */ x) => formatNumber(x, 3);
      label =
        `Loss surface of y = w·x + b: contour map of the mean squared error, log colour scale, ` +
        `w from ${f(surface.w[0])} to ${f(surface.w[1])}, b from ${f(surface.b[0])} to ${f(surface.b[1])}; ` +
        `loss from ${f(this.range.min)} to ${f(this.range.max)}, lowest near w = ${f(this.range.argW)}, ` +
        `b = ${f(this.range.argB)}.`;
      for (const racer of this.racers) {
        if (!finitePoint(racer.point)) {
          label += ` ${racer.name}: diverged.`;
          continue;
        }
        label += ` ${racer.name} at w = ${f(racer.point[0])}, b = ${f(racer.point[1])}`;
        if (typeof racer.loss === "number") label += `, loss ${f(racer.loss)}`;
        if (!inside(surface, racer.point)) label += ", off the map";
        label += ".";
      }
    }
    if (this.canvas.getAttribute("aria-label") !== label) this.canvas.setAttribute("aria-label", label);
  }
}

/** @param {Surface} surface @param {number[]} p */
function inside(surface, p) {
  const [w0, w1] = [Math.min(...surface.w), Math.max(...surface.w)];
  const [b0, b1] = [Math.min(...surface.b), Math.max(...surface.b)];
  return p[0] >= w0 && p[0] <= w1 && p[1] >= b0 && p[1] <= b1;
}

/**
 * The fill: bilinear log(loss) between grid points, banded at the contour levels, at a few pixels
 * per grid cell. One ImageData write. Row 0 of the image is the top, bMax.
 * @param {Float64Array} logGrid @param {number} n @param {number[]} logLevels
 * @param {ArrayLike<number>} loss the raw values, for NaN (magenta) and +Inf (the top colour)
 */
function renderFill(logGrid, n, logLevels, loss) {
  const size = Math.max(128, Math.min(512, (n - 1) * 8));
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  const image = new ImageData(size, size);
  const bands = logLevels.length + 1;
  const colors = Array.from({ length: bands }, (_, k) => surfaceColor(bands > 1 ? k / (bands - 1) : 0));
  for (let py = 0; py < size; py++) {
    const gy = (n - 1) * (1 - (py + 0.5) / size);
    const r = Math.min(n - 2, Math.floor(gy));
    const fy = gy - r;
    for (let px = 0; px < size; px++) {
      const gx = ((px + 0.5) / size) * (n - 1);
      const c = Math.min(n - 2, Math.floor(gx));
      const fx = gx - c;
      const v00 = logGrid[r * n + c];
      const v10 = logGrid[r * n + c + 1];
      const v01 = logGrid[(r + 1) * n + c];
      const v11 = logGrid[(r + 1) * n + c + 1];
      let value = (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy;
      let rgb;
      if (!Number.isFinite(value)) {
        // A non-finite neighbour: show the nearest grid point as it is.
        const nearest = Math.round(gy) * n + Math.round(gx);
        value = logGrid[nearest];
        const raw = loss[nearest];
        if (Number.isNaN(raw)) rgb = NAN_COLOR;
        else if (raw === Infinity) rgb = colors[bands - 1];
        else if (!Number.isFinite(value)) rgb = colors[0]; // zero loss: below the log scale's floor
      }
      if (!rgb) {
        let band = 0;
        while (band < logLevels.length && value >= logLevels[band]) band++;
        rgb = colors[band];
      }
      image.data.set([rgb[0], rgb[1], rgb[2], 255], (py * size + px) * 4);
    }
  }
  /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d")).putImageData(image, 0, 0);
  return canvas;
}

/**
 * The trail as runs of pixel points, broken at non-finite points and clipped to the rectangle.
 * @param {number[][]} trail @param {(p: number[]) => number[]} map @param {Rect} clip
 * @returns {number[][][]}
 */
function trailRuns(trail, map, clip) {
  /** @type {number[][][]} */
  const runs = [];
  /** @type {number[][] | null} */
  let run = null;
  /** @type {number[] | null} */
  let previous = null;
  for (const p of trail) {
    if (!finitePoint(p)) {
      previous = null;
      run = null;
      continue;
    }
    const q = map(p);
    if (previous) {
      const piece = clipSegment(previous, q, clip);
      if (!piece) {
        run = null;
      } else {
        const [a, b] = piece;
        const last = run?.[run.length - 1];
        if (!run || !last || last[0] !== a[0] || last[1] !== a[1]) {
          run = [a];
          runs.push(run);
        }
        run.push(b);
        if (b[0] !== q[0] || b[1] !== q[1]) run = null; // it left the rectangle
      }
    }
    previous = q;
  }
  return runs;
}

/**
 * A racer's point: a ringed dot, or where it is off the map, a triangle on the frame pointing
 * the way to it (each coordinate clamped to the frame, so one still in range reads true).
 * @param {CanvasRenderingContext2D} ctx @param {Rect} rect @param {number[]} p pixels
 * @param {string} color @param {string} ring
 */
function drawMarker(ctx, rect, p, color, ring) {
  const [px, py] = p;
  const cx = Math.max(rect.x, Math.min(rect.x + rect.w, px));
  const cy = Math.max(rect.y, Math.min(rect.y + rect.h, py));
  ctx.save();
  ctx.fillStyle = color;
  ctx.strokeStyle = ring;
  ctx.beginPath();
  if (cx === px && cy === py) {
    ctx.arc(px, py, MARKER, 0, 2 * Math.PI);
  } else {
    ctx.translate(cx, cy);
    ctx.rotate(Math.atan2(py - cy, px - cx));
    ctx.moveTo(2, 0);
    ctx.lineTo(-9, -6);
    ctx.lineTo(-9, 6);
    ctx.closePath();
  }
  ctx.fill();
  ctx.lineWidth = 1.75;
  ctx.stroke();
  ctx.restore();
}

/**
 * The tip b pulled back along a→b to where the arrow enters the circle of `radius` around `centre`,
 * when b lies inside that circle and a outside it; else b as it is.
 * @param {number[]} a @param {number[]} b @param {number[]} centre @param {number} radius
 */
function stopAtRim(a, b, centre, radius) {
  const inCircle = (/** @type {number[]} */ p) => Math.hypot(p[0] - centre[0], p[1] - centre[1]) < radius;
  if (!inCircle(b) || inCircle(a)) return b;
  // |a + t·d − centre| = radius, the smaller root: where the arrow first meets the circle.
  const d = [b[0] - a[0], b[1] - a[1]];
  const f = [a[0] - centre[0], a[1] - centre[1]];
  const qa = d[0] * d[0] + d[1] * d[1];
  const qb = 2 * (f[0] * d[0] + f[1] * d[1]);
  const qc = f[0] * f[0] + f[1] * f[1] - radius * radius;
  const t = (-qb - Math.sqrt(Math.max(0, qb * qb - 4 * qa * qc))) / (2 * qa);
  return [a[0] + d[0] * t, a[1] + d[1] * t];
}

/**
 * An arrow from a to b in pixels, clipped to the plot. Dashed and translucent with an open head
 * for −lr·gradient; solid with a filled head for the step taken, so the two stay apart where they
 * coincide.
 * @param {CanvasRenderingContext2D} ctx @param {number[]} a @param {number[]} b @param {Rect} clip
 * @param {string} color @param {boolean} dashed
 */
function drawArrow(ctx, a, b, clip, color, dashed) {
  const piece = clipSegment(a, b, clip);
  if (!piece) return;
  const [p, q] = piece;
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
  ctx.save();
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  if (dashed) {
    ctx.globalAlpha = 0.7;
    ctx.lineWidth = 2.6;
    ctx.setLineDash([5, 4]);
  } else {
    ctx.lineWidth = 1.8;
  }
  ctx.beginPath();
  ctx.moveTo(p[0], p[1]);
  ctx.lineTo(q[0], q[1]);
  ctx.stroke();
  // The head, only where the tip itself is on the map.
  if (q[0] === b[0] && q[1] === b[1] && length > 0) {
    const head = Math.min(dashed ? 10 : 8, length * 0.6);
    const angle = Math.atan2(b[1] - a[1], b[0] - a[0]);
    ctx.setLineDash([]);
    ctx.translate(b[0], b[1]);
    ctx.rotate(angle);
    ctx.beginPath();
    ctx.moveTo(0, 0);
    ctx.lineTo(-head, -head * 0.45);
    ctx.lineTo(-head, head * 0.45);
    ctx.closePath();
    if (dashed) {
      ctx.globalAlpha = 1;
      ctx.fillStyle = "#ffffff";
      ctx.fill();
      ctx.lineWidth = 1.4;
      ctx.stroke();
    } else {
      ctx.fill();
    }
  }
  ctx.restore();
}
