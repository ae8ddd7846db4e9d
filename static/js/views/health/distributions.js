// @ts-check
/**
 * Distributions over time (issue 10), TensorBoard's "distributions" drawn live as a heatmap: for
 * the chosen tensor and field (value, gradient, update, optimizer state), x the step, y the
 * element's value, each bin's shade its count of elements. One ImageData write per redraw, at most
 * one point per pixel column (distributionGrid.js), so thousands of points stay readable and cheap.
 *
 * Hover (or focus and arrow keys) reads one bin: the step, the bin's range and its count. The
 * readout carries the whole column as data attributes (`data-step`, `data-low`, `data-high`,
 * `data-counts`), so a test can compare what is drawn with what the server sent.
 */
import { fieldLabel, formatCompact, formatNumber, NAN_COLOR } from "../../format.js";
import { drawAxes, fitCanvas, FONT, INK } from "../model/canvas.js";
import { binOf, binRange, columnPoints, shade, stepRange, valueRange } from "./distributionGrid.js";
import { BINS, CAPACITY } from "./history.js";

/** @typedef {import("./history.js").HealthHistory} HealthHistory */

const MARGIN = { left: 58, right: 10, top: 8, bottom: 38 };
const EMPTY = [255, 255, 255];
/** The fullest bin's colour: the page's "positive" blue, darkened. */
const FULL = [8, 48, 107];

export class DistributionsView {
  /**
   * @param {HTMLElement} stage the plot's box @param {HTMLSelectElement} tensorSelect
   * @param {HTMLSelectElement} fieldSelect @param {HTMLElement} readout @param {HTMLElement} caption
   */
  constructor(stage, tensorSelect, fieldSelect, readout, caption) {
    this.stage = stage;
    this.tensorSelect = tensorSelect;
    this.fieldSelect = fieldSelect;
    this.readout = readout;
    this.caption = caption;
    this.canvas = document.createElement("canvas");
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "Distributions over time: waiting for the first health point.");
    stage.append(this.canvas);
    /** @type {HealthHistory | null} */
    this.history = null;
    /** What was drawn: the point of each pixel column, the axes, the plot's box (CSS px). */
    /** @type {Int32Array} */
    this.columns = new Int32Array(0);
    /** @type {{x: number, y: number, w: number, h: number}} */
    this.rect = { x: 0, y: 0, w: 0, h: 0 };
    /** @type {[number, number]} */
    this.xRange = [0, 1];
    /** @type {[number, number] | null} */
    this.yRange = null;
    /** The hovered pixel (column, row) in the plot, or null. @type {{c: number, r: number} | null} */
    this.hover = null;
    tensorSelect.addEventListener("change", () => {
      this.fillFields();
      this.draw();
    });
    fieldSelect.addEventListener("change", () => this.draw());
    this.canvas.addEventListener("pointermove", (event) => this.pointAt(event.offsetX, event.offsetY));
    this.canvas.addEventListener("pointerleave", () => this.setHover(null));
    this.canvas.addEventListener("keydown", (event) => this.onKey(event));
    new ResizeObserver(() => this.draw()).observe(stage);
  }

  /** @param {HealthHistory} history */
  render(history) {
    this.history = history;
    this.fillTensors();
    this.draw();
  }

  /** The tensor choices: every tensor with distributions, the chosen one kept while it exists. */
  fillTensors() {
    const history = /** @type {HealthHistory} */ (this.history);
    const names = history.tensors.filter((t) => history.fieldsOf(t).length);
    fillSelect(this.tensorSelect, names.map((n) => [n, n]));
    this.fillFields();
  }

  fillFields() {
    const fields = this.history?.fieldsOf(this.tensorSelect.value) ?? [];
    fillSelect(this.fieldSelect, fields.map((f) => [f, fieldLabel(f)]));
  }

  /** The series drawn: the chosen tensor's chosen field. */
  series() {
    return this.history?.distribution(this.tensorSelect.value, this.fieldSelect.value) ?? null;
  }

  draw() {
    const width = this.stage.clientWidth;
    const height = this.stage.clientHeight;
    if (width < 40 || height < 40) return;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const ctx = fitCanvas(this.canvas, width, height);
    const history = this.history;
    const series = this.series();
    const rect = {
      x: MARGIN.left,
      y: MARGIN.top,
      w: Math.max(1, Math.floor(width - MARGIN.left - MARGIN.right)),
      h: Math.max(1, Math.floor(height - MARGIN.top - MARGIN.bottom)),
    };
    this.rect = rect;
    const length = history?.length ?? 0;
    this.xRange = stepRange(history?.steps ?? [], length);
    this.columns = columnPoints(history?.steps ?? [], length, rect.w, this.xRange);
    this.yRange = series ? valueRange(series.low, series.high, this.columns) : null;
    const field = this.fieldSelect.value;
    if (!history || !series || !this.yRange) {
      ctx.font = FONT;
      ctx.fillStyle = INK;
      ctx.fillText(length ? "No distribution of this field yet." : "Waiting for the first health point.", rect.x, rect.y + 16);
      this.caption.textContent = "";
      this.setHover(this.hover);
      return;
    }
    const [yLo, yHi] = this.yRange;
    const image = new ImageData(rect.w, rect.h);
    const pixels = image.data;
    for (let c = 0; c < rect.w; c++) {
      const p = this.columns[c];
      const has = p >= 0 && series.has(p);
      const [lo, hi] = has ? binRange(series.low[p], series.high[p]) : [NaN, NaN];
      const counts = has ? series.countsAt(p) : null;
      let fullest = 0;
      if (counts) for (let k = 0; k < BINS; k++) fullest = Math.max(fullest, counts[k]);
      for (let r = 0; r < rect.h; r++) {
        const value = yHi - ((r + 0.5) / rect.h) * (yHi - yLo);
        const bin = counts ? binOf(value, lo, hi) : -1;
        const t = bin >= 0 && counts ? shade(counts[bin], fullest) : 0;
        const at = (r * rect.w + c) * 4;
        for (let k = 0; k < 3; k++) pixels[at + k] = Math.round(EMPTY[k] + (FULL[k] - EMPTY[k]) * t);
        pixels[at + 3] = 255;
      }
      // NaN and Inf elements are not in the bins: a magenta tick along the top says they exist.
      if (has && series.nonfinite[p] > 0) {
        for (let r = 0; r < Math.min(3, rect.h); r++) pixels.set([...NAN_COLOR, 255], (r * rect.w + c) * 4);
      }
    }
    const cells = new OffscreenCanvas(rect.w, rect.h);
    /** @type {OffscreenCanvasRenderingContext2D} */ (cells.getContext("2d")).putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(cells, rect.x, rect.y, rect.w, rect.h);
    drawAxes(ctx, rect, this.xRange, this.yRange, "optimizer step", `${fieldLabel(field)} (element value)`);
    const drawn = new Set(this.columns).size - (this.columns[0] === -1 ? 1 : 0);
    // Memory is bounded: say so always, and what was left out once anything was.
    const kept = history.dropped
      ? ` The page keeps the latest ${CAPACITY.toLocaleString("en")} points (${history.dropped.toLocaleString("en")} older left out).`
      : ` The page keeps the latest ${CAPACITY.toLocaleString("en")}.`;
    this.caption.textContent =
      `${history.length.toLocaleString("en")} point${history.length === 1 ? "" : "s"}, steps ${history.steps[0]}–${history.steps[history.length - 1]}` +
      `${drawn < history.length ? `, ${drawn} drawn (one per pixel column)` : ""}.${kept}`;
    this.canvas.setAttribute(
      "aria-label",
      `Distribution of ${this.tensorSelect.value} ${fieldLabel(field)} over steps ${history.steps[0]} to ${history.steps[history.length - 1]}, values ${formatCompact(yLo)} to ${formatCompact(yHi)}.`,
    );
    // What the axes are, for a reader of the page's data (the browser tests).
    Object.assign(this.canvas.dataset, {
      points: String(history.length),
      lastStep: String(history.steps[history.length - 1]),
      plot: `${rect.x} ${rect.y} ${rect.w} ${rect.h}`,
      x: `${this.xRange[0]} ${this.xRange[1]}`,
      y: `${yLo} ${yHi}`,
    });
    this.setHover(this.hover);
  }

  /** @param {number} x @param {number} y CSS px in the canvas */
  pointAt(x, y) {
    const { rect } = this;
    const c = Math.floor(x - rect.x);
    const r = Math.floor(y - rect.y);
    this.setHover(c >= 0 && c < rect.w && r >= 0 && r < rect.h ? { c, r } : null);
  }

  /** Arrow keys move the read bin: left/right a point, up/down a pixel row. @param {KeyboardEvent} event */
  onKey(event) {
    const { rect } = this;
    const at = this.hover ?? { c: rect.w - 1, r: Math.floor(rect.h / 2) };
    const moves = /** @type {Record<string, [number, number]>} */ ({ ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] });
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    let c = at.c;
    const p = this.columns[c];
    // left/right go to the next point's columns, not the next pixel
    if (move[0]) while (c + move[0] >= 0 && c + move[0] < rect.w && (c === at.c || this.columns[c] === p)) c += move[0];
    const r = Math.max(0, Math.min(rect.h - 1, at.r + move[1] * 4));
    this.setHover({ c: Math.max(0, Math.min(rect.w - 1, c)), r });
  }

  /** Say what the hovered bin holds, and carry its whole column as data. @param {{c: number, r: number} | null} hover */
  setHover(hover) {
    this.hover = hover;
    const series = this.series();
    const history = this.history;
    const p = hover ? this.columns[hover.c] ?? -1 : -1;
    const out = this.readout;
    if (!hover || !history || !series || !this.yRange || p < 0) {
      out.textContent = "Hover the heatmap (or focus it and use the arrow keys) to read a bin.";
      for (const key of ["step", "low", "high", "counts", "nonfinite"]) delete out.dataset[key];
      return;
    }
    const step = history.steps[p];
    Object.assign(out.dataset, {
      step: String(step),
      low: String(series.low[p]),
      high: String(series.high[p]),
      counts: Array.from(series.countsAt(p)).join(","),
      nonfinite: String(series.nonfinite[p]),
    });
    if (!series.has(p)) {
      out.textContent = `Step ${step}: no ${fieldLabel(this.fieldSelect.value)} at this point.`;
      return;
    }
    if (!Number.isFinite(series.low[p])) {
      out.textContent = `Step ${step}: all ${series.nonfinite[p].toLocaleString("en")} elements are NaN or Inf: nothing to bin.`;
      return;
    }
    const [yLo, yHi] = this.yRange;
    const value = yHi - ((hover.r + 0.5) / this.rect.h) * (yHi - yLo);
    const [lo, hi] = binRange(series.low[p], series.high[p]);
    const bin = binOf(value, lo, hi);
    const bad = series.nonfinite[p] ? ` · ${series.nonfinite[p]} NaN/Inf not binned` : "";
    if (bin < 0) {
      out.textContent = `Step ${step} · ${formatNumber(value)} is outside this step's range [${formatNumber(series.low[p])}, ${formatNumber(series.high[p])}]${bad}`;
      return;
    }
    const width = (hi - lo) / BINS;
    const count = series.countsAt(p)[bin];
    out.textContent = `Step ${step} · bin [${formatNumber(lo + bin * width)}, ${formatNumber(lo + (bin + 1) * width)}) · ${count.toLocaleString("en")} element${count === 1 ? "" : "s"}${bad}`;
  }
}

/**
 * Options of a select, replaced only when they changed; the chosen value kept while it is offered.
 * @param {HTMLSelectElement} select @param {[string, string][]} options value, text
 */
function fillSelect(select, options) {
  const now = [...select.options].map((o) => `${o.value}\u0000${o.text}`).join("\u0001");
  const wanted = options.map(([v, t]) => `${v}\u0000${t}`).join("\u0001");
  if (now === wanted) return;
  const chosen = select.value;
  select.replaceChildren(...options.map(([value, text]) => new Option(text, value)));
  if (options.some(([v]) => v === chosen)) select.value = chosen;
}
