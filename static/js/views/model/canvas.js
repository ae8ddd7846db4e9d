// @ts-check
/** Canvas helpers shared by the model views: a canvas sized to its box, a grid of cells, axes. */
import { formatTicks } from "../../format.js";
import { niceTicks } from "../../surface/geometry.js";

export const FONT = "11px system-ui, 'DejaVu Sans', sans-serif";
export const INK = "#475467";

/**
 * Size a canvas's backing store to its CSS box at the device's pixel ratio; the context then
 * draws in CSS pixels.
 * @param {HTMLCanvasElement} canvas @param {number} width @param {number} height
 */
export function fitCanvas(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(width * ratio));
  const h = Math.max(1, Math.round(height * ratio));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

/**
 * A grid of values as an image one pixel a cell, in one ImageData write. Row 0 of `values` is the
 * bottom of the picture (rows go up x₂), so rows are flipped where `upward`.
 * @param {ArrayLike<number>} values @param {number} cols @param {number} rows
 * @param {(v: number) => number[]} colorOf @param {boolean} upward
 */
export function cellImage(values, cols, rows, colorOf, upward) {
  const image = new ImageData(cols, rows);
  for (let r = 0; r < rows; r++) {
    const source = upward ? rows - 1 - r : r;
    for (let c = 0; c < cols; c++) {
      const i = source * cols + c;
      const [red, green, blue] = i < values.length ? colorOf(values[i]) : [250, 250, 250];
      image.data.set([red, green, blue, 255], (r * cols + c) * 4);
    }
  }
  const cells = new OffscreenCanvas(cols, rows);
  /** @type {OffscreenCanvasRenderingContext2D} */ (cells.getContext("2d")).putImageData(image, 0, 0);
  return cells;
}

/**
 * Ticks, numbers and titles on the left and bottom of a plot.
 * @param {CanvasRenderingContext2D} ctx @param {{x: number, y: number, w: number, h: number}} rect
 * @param {[number, number]} xRange @param {[number, number]} yRange @param {string} xTitle @param {string} yTitle
 */
export function drawAxes(ctx, rect, xRange, yRange, xTitle, yTitle) {
  ctx.save();
  ctx.font = FONT;
  ctx.fillStyle = INK;
  ctx.strokeStyle = INK;
  ctx.lineWidth = 1;
  ctx.strokeRect(rect.x + 0.5, rect.y + 0.5, rect.w - 1, rect.h - 1);
  const xs = niceTicks(xRange[0], xRange[1], Math.max(2, Math.floor(rect.w / 60)));
  const ys = niceTicks(yRange[0], yRange[1], Math.max(2, Math.floor(rect.h / 40)));
  const px = (/** @type {number} */ v) => rect.x + ((v - xRange[0]) / (xRange[1] - xRange[0])) * rect.w;
  const py = (/** @type {number} */ v) => rect.y + rect.h - ((v - yRange[0]) / (yRange[1] - yRange[0])) * rect.h;
  ctx.beginPath();
  const xLabels = formatTicks(xs.values, xs.step);
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  xs.values.forEach((v, i) => {
    const x = Math.round(px(v)) + 0.5;
    ctx.moveTo(x, rect.y + rect.h);
    ctx.lineTo(x, rect.y + rect.h + 4);
    ctx.fillText(xLabels[i], x, rect.y + rect.h + 6);
  });
  const yLabels = formatTicks(ys.values, ys.step);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ys.values.forEach((v, i) => {
    const y = Math.round(py(v)) + 0.5;
    ctx.moveTo(rect.x - 4, y);
    ctx.lineTo(rect.x, y);
    ctx.fillText(yLabels[i], rect.x - 6, y);
  });
  ctx.stroke();
  ctx.font = `600 ${FONT}`;
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  ctx.fillText(xTitle, rect.x + rect.w / 2, rect.y + rect.h + 32);
  ctx.translate(12, rect.y + rect.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText(yTitle, 0, 0);
  ctx.restore();
  return { px, py, xTicks: xLabels, yTicks: yLabels };
}
