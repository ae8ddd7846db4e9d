// @ts-check
/**
 * What the model outputs over its input (issue 9): for 2-D inputs, the output over the plane as a
 * heatmap (P(class 1) on the two classes' orange/blue, a value on the diverging scale, or the
 * predicted class) under the training points (filled) and the validation points (hollow); for a
 * 1-D regression, the fitted curve over the points. Redrawn with each snapshot the page draws.
 */
import { formatNumber, maxAbs } from "../../format.js";
import { css, outputColor, targetColor, tint } from "../../lib/colors.js";
import { bilinear } from "../../lib/grid.js";
import { cellImage, drawAxes, fitCanvas } from "./canvas.js";

/**
 * @typedef {import("../../protocol.js").Plane} Plane
 * @typedef {import("../../api.js").DataPoints} DataPoints
 * @typedef {{x: number[], y: number[]}} Curve
 */

const MARGIN = { left: 46, right: 10, top: 8, bottom: 38 };
const TRAIN_COLOR = "#0877bd";
const VALIDATION_COLOR = "#c2410c"; // the loss chart's validation line
const RADIUS = 3.2;

const TITLES = {
  probability: ["Decision boundary", "(P(class 1) over the input plane)"],
  value: ["Model output", "(its value over the input plane)"],
  class: ["Decision regions", "(predicted class over the input plane)"],
  curve: ["Fitted curve", "(the model's output over its input)"],
};

export class ModelOutput {
  /** @param {HTMLElement} stage @param {HTMLElement} title @param {HTMLElement} legend */
  constructor(stage, title, legend) {
    this.stage = stage;
    this.title = title;
    this.legend = legend;
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "The model's output: waiting for the first snapshot.");
    stage.append(this.canvas);
    /** @type {Plane | null} */
    this.plane = null;
    /** @type {Curve | null} */
    this.curve = null;
    /** @type {DataPoints | null} */
    this.points = null;
    this.legendKey = "";
    new ResizeObserver(() => this.draw()).observe(stage);
  }

  /** The run's samples (fetched once per run), or null while they are on their way. @param {DataPoints | null} points */
  setPoints(points) {
    this.points = points;
    this.draw();
  }

  /** @param {Plane | null} plane @param {Curve | null} curve */
  render(plane, curve) {
    this.plane = plane;
    this.curve = curve;
    this.draw();
  }

  draw() {
    const width = Math.floor(this.stage.clientWidth);
    const height = Math.floor(this.stage.clientHeight);
    if (width < 40 || height < 40) return;
    const ctx = fitCanvas(this.canvas, width, height);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    // A square plot as large as fits, centred: x₁ and x₂ on the same footing.
    const side = Math.max(40, Math.min(width - MARGIN.left - MARGIN.right, height - MARGIN.top - MARGIN.bottom));
    const rect = { x: MARGIN.left + Math.max(0, (width - MARGIN.left - MARGIN.right - side) / 2), y: MARGIN.top, w: side, h: side };
    if (this.plane) this.drawPlane(ctx, this.plane, rect);
    else if (this.curve) this.drawCurve(ctx, this.curve, { ...rect, w: Math.max(40, width - rect.x - MARGIN.right) });
  }

  /** @param {CanvasRenderingContext2D} ctx @param {Plane} plane @param {{x: number, y: number, w: number, h: number}} rect */
  drawPlane(ctx, plane, rect) {
    const kind = plane.outputKind;
    const points = this.points?.dims === 2 ? this.points : null;
    const scale = Math.max(maxAbs(plane.output), points ? maxAbs(points.train.targets) : 0);
    // Lighter than the points, so that a point on its own class's side still stands out.
    // Classes are not interpolated: a cell between class 2 and class 4 is not class 3.
    const size = kind === "class" ? plane.n : Math.min(256, (plane.n - 1) * 4 + 1);
    const values = kind === "class" ? plane.output : kind === "probability" ? smoothProbability(plane.output, plane.n, size) : bilinear(plane.output, plane.n, size);
    const cells = cellImage(values, size, size, (v) => tint(outputColor(kind, v, scale), 0.25), true);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(cells, rect.x, rect.y, rect.w, rect.h);
    const { px, py } = drawAxes(ctx, rect, plane.x1, plane.x2, "x₁", "x₂");
    let train = 0;
    let validation = 0;
    if (points) {
      const task = points.task;
      ctx.save();
      ctx.beginPath();
      ctx.rect(rect.x, rect.y, rect.w, rect.h);
      ctx.clip();
      ctx.lineWidth = 1;
      for (let i = 0; i < points.train.inputs.length; i++) {
        const [a, b] = points.train.inputs[i];
        ctx.beginPath();
        ctx.arc(px(a), py(b), RADIUS, 0, 2 * Math.PI);
        ctx.fillStyle = css(targetColor(task, points.train.targets[i], scale));
        ctx.fill();
        ctx.strokeStyle = "#ffffff";
        ctx.stroke();
        train++;
      }
      const held = points.validation;
      if (held) {
        for (let i = 0; i < held.inputs.length; i++) {
          const [a, b] = held.inputs[i];
          ctx.beginPath();
          ctx.arc(px(a), py(b), RADIUS + 0.4, 0, 2 * Math.PI);
          ctx.fillStyle = "#ffffff";
          ctx.fill();
          ctx.lineWidth = 2;
          ctx.strokeStyle = css(targetColor(task, held.targets[i], scale));
          ctx.stroke();
          validation++;
        }
      }
      ctx.restore();
    }
    this.report(kind, train, validation, scale);
    const f = (/** @type {number} */ x) => formatNumber(x, 3);
    const what = { probability: "P(class 1)", value: "the model's value", class: "the predicted class" }[kind];
    this.describe(
      `${TITLES[kind][0]}: ${what} over x₁ from ${f(plane.x1[0])} to ${f(plane.x1[1])} and x₂ from ` +
        `${f(plane.x2[0])} to ${f(plane.x2[1])}, with ${train} training points (filled) and ${validation} validation points (hollow).`,
    );
  }

  /** @param {CanvasRenderingContext2D} ctx @param {Curve} curve @param {{x: number, y: number, w: number, h: number}} rect */
  drawCurve(ctx, curve, rect) {
    const points = this.points?.dims === 1 ? this.points : null;
    const xs = [...curve.x, ...(points ? points.train.inputs.map((p) => p[0]) : [])].filter(Number.isFinite);
    const ys = [
      ...curve.y,
      ...(points ? points.train.targets : []),
      ...(points?.validation ? points.validation.targets : []),
    ].filter(Number.isFinite);
    const xRange = /** @type {[number, number]} */ ([Math.min(...xs), Math.max(...xs)]);
    const lo = Math.min(...ys);
    const hi = Math.max(...ys);
    const pad = 0.08 * (hi - lo || 1);
    const yRange = /** @type {[number, number]} */ ([lo - pad, hi + pad]);
    if (!(xRange[1] > xRange[0]) || !(yRange[1] > yRange[0])) return;
    const { px, py } = drawAxes(ctx, rect, xRange, yRange, "x₁", "y");
    ctx.save();
    ctx.beginPath();
    ctx.rect(rect.x, rect.y, rect.w, rect.h);
    ctx.clip();
    let train = 0;
    let validation = 0;
    if (points) {
      ctx.fillStyle = TRAIN_COLOR;
      ctx.globalAlpha = 0.75;
      points.train.inputs.forEach(([a], i) => {
        ctx.beginPath();
        ctx.arc(px(a), py(points.train.targets[i]), 2.6, 0, 2 * Math.PI);
        ctx.fill();
        train++;
      });
      ctx.globalAlpha = 1;
      ctx.strokeStyle = VALIDATION_COLOR;
      ctx.lineWidth = 1.5;
      const held = points.validation;
      held?.inputs.forEach(([a], i) => {
        ctx.beginPath();
        ctx.arc(px(a), py(held.targets[i]), 3, 0, 2 * Math.PI);
        ctx.stroke();
        validation++;
      });
    }
    // The fit, broken where the model gives NaN or ±Inf.
    ctx.strokeStyle = "#111827";
    ctx.lineWidth = 2.2;
    ctx.beginPath();
    let pen = false;
    curve.x.forEach((x, i) => {
      const y = curve.y[i];
      if (!Number.isFinite(y)) return void (pen = false);
      if (pen) ctx.lineTo(px(x), py(y));
      else ctx.moveTo(px(x), py(y));
      pen = true;
    });
    ctx.stroke();
    ctx.restore();
    this.report("curve", train, validation, 0);
    const f = (/** @type {number} */ x) => formatNumber(x, 3);
    this.describe(
      `Fitted curve: the model's output y over x₁ from ${f(xRange[0])} to ${f(xRange[1])}, drawn over ` +
        `${train} training points (filled) and ${validation} validation points (hollow).`,
    );
  }

  /**
   * What is drawn, on the element (the browser tests read it), and the title and key for it.
   * @param {"probability" | "value" | "class" | "curve"} kind @param {number} train @param {number} validation @param {number} scale
   */
  report(kind, train, validation, scale) {
    this.canvas.dataset.kind = kind;
    this.canvas.dataset.train = String(train);
    this.canvas.dataset.validation = String(validation);
    const [title, unit] = TITLES[kind];
    const key = JSON.stringify([kind, kind === "value" ? formatNumber(scale, 2) : ""]);
    if (key === this.legendKey) return;
    this.legendKey = key;
    const heading = document.createElement("span");
    heading.textContent = `${title} `;
    const units = document.createElement("span");
    units.className = "unit";
    units.textContent = unit;
    this.title.replaceChildren(heading, units, ...this.title.querySelectorAll(".as-of")); // the step stays
    this.legend.replaceChildren(...legendItems(kind, scale));
  }

  /** @param {string} label */
  describe(label) {
    if (this.canvas.getAttribute("aria-label") !== label) this.canvas.setAttribute("aria-label", label);
  }
}

/**
 * The key under the plot: the colour scale's ends and the two kinds of point.
 * @param {"probability" | "value" | "class" | "curve"} kind @param {number} scale
 */
function legendItems(kind, scale) {
  /** @param {string} text @param {string} [className] */
  const span = (text, className) => {
    const s = document.createElement("span");
    s.textContent = text;
    if (className) s.className = className;
    return s;
  };
  const items = [];
  if (kind === "probability") {
    items.push(span("P(class 1):"), span("0 ", "neg"), span("class 0 · ½ · class 1", ""), span(" 1", "pos"));
  } else if (kind === "value") {
    items.push(span("output and targets:"), span(`−${formatNumber(scale, 2)}`, "neg"), span("0"), span(`+${formatNumber(scale, 2)}`, "pos"));
  } else if (kind === "class") {
    items.push(span("colour: the predicted class; points: their true class"));
  }
  if (kind === "curve") {
    items.push(span("— the model's fit", "fit"), span("● training", "train-point"), span("○ validation", "validation-point"));
  } else {
    items.push(span("● training (filled)"), span("○ validation (hollow)"));
  }
  return items;
}

/**
 * Probabilities resampled through their logits: a trained model's P(class 1) is 0 or 1 a cell
 * away from the boundary, and interpolating those gives a staircase; interpolating the logit
 * draws the boundary (logit 0) as the smooth line it is.
 * @param {Float32Array} p @param {number} n @param {number} size
 */
function smoothProbability(p, n, size) {
  const logits = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(1 - 1e-6, Math.max(1e-6, p[i])); // NaN stays NaN
    logits[i] = Math.log(q / (1 - q));
  }
  const fine = bilinear(logits, n, size);
  for (let i = 0; i < fine.length; i++) fine[i] = 1 / (1 + Math.exp(-fine[i]));
  return fine;
}
