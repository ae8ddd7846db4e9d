// @ts-check
/**
 * The loss surface of y = w·x + b over a (w, b) grid, with optimizers racing across it: the DOM
 * side. The geometry is in surface/geometry.js (pure, node-tested), the Canvas 2D drawing in
 * surface/draw.js.
 *
 * The surface is a filled contour map coloured by log(loss), drawn once per setSurface and once per
 * resize into an offscreen background that every redraw blits. On top, each racer's trail, its
 * current point, the dashed −lr·gradient that backward found (stretched to a readable length near
 * the minimum, with its true length written beside it) and the solid step the optimizer took.
 * Points outside the map are clamped to its edge with a marker; non-finite points are left out and
 * named "(diverged)". Any number of setRacers calls fold into one redraw per animation frame.
 */
import { formatNumber } from "../format.js";
import { DIVERGED, drawBackground, drawRacers, drawWaiting, renderFill } from "../surface/draw.js";
import { contourLevels, finitePoint, inside, logGrid, marchingSquares, plotRect, surfaceRange } from "../surface/geometry.js";

/**
 * @typedef {import("../surface/geometry.js").Surface} Surface
 * @typedef {import("../surface/geometry.js").Segment} Segment
 * @typedef {import("../surface/draw.js").Racer} Racer
 */

/** Contour levels drawn (and colour bands filled) across the surface. */
const LEVELS = 10;

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
    this.range = surfaceRange(surface);
    this.levels = contourLevels(this.range.floor, this.range.max, LEVELS);
    // Contours and bands both follow log(loss), so the lines sit on the band edges.
    const grid = logGrid(loss, this.range.floor);
    const logLevels = this.levels.map(Math.log);
    this.contours = logLevels.map((level) => marchingSquares(grid, n, level));
    this.fill = renderFill(grid, n, logLevels, loss);
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

  /** The canvas follows its box (a narrow window reflows the page): new size, new background. */
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
   * Every racer starts where the surface says (`start`, where the server sends it): a trail
   * rebuilt from the history begins after step 1, so the start goes in front.
   * @param {Racer[]} racers
   */
  withStart(racers) {
    const start = this.surface?.start;
    if (!start || !finitePoint(start)) return racers;
    return racers.map((r) => {
      const first = r.trail[0];
      if (first && first[0] === start[0] && first[1] === start[1]) return r;
      return { ...r, trail: [start, ...r.trail] };
    });
  }

  draw() {
    const ratio = this.canvas.width / Math.max(1, this.width);
    const rect = plotRect(this.width, this.height);
    if (this.backgroundDirty) {
      this.backgroundDirty = false;
      this.background.width = this.canvas.width;
      this.background.height = this.canvas.height;
      const bg = /** @type {CanvasRenderingContext2D} */ (this.background.getContext("2d"));
      bg.setTransform(ratio, 0, 0, ratio, 0, 0);
      if (this.surface && this.fill) {
        const map = { surface: this.surface, range: this.range, levels: this.levels, contours: this.contours,
          fill: this.fill, width: this.width, height: this.height };
        drawBackground(bg, map, rect);
      } else {
        drawWaiting(bg, rect);
      }
    }
    const ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext("2d"));
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.background, 0, 0);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const racers = this.withStart(this.racers);
    const arrows = this.surface ? drawRacers(ctx, this.surface, rect, racers) : [];
    // What is drawn, on the element: the browser tests read it.
    this.canvas.dataset.arrows = JSON.stringify(arrows);
    // (no surface yet: nothing is drawn, so no trail is reported either)
    const drawn = this.surface ? racers : [];
    this.canvas.dataset.trails = JSON.stringify(drawn.map((r) => ({ name: r.name, points: r.trail.length })));
    this.renderLegend();
    this.describe();
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
