// @ts-check
/**
 * Drawing the loss surface with Canvas 2D: the filled contour map (one ImageData write), contour
 * lines, the lowest point, axes and colour bar into a background; on top, each racer's trail, its
 * two arrows from the point before the last step (dashed −lr·gradient, solid: the step taken) and
 * its current point. The geometry is in geometry.js; the DOM in views/lossSurface.js.
 */
import { NAN_COLOR, formatCompact, formatDecade, formatNumber, formatTicks, surfaceColor } from "../format.js";
import {
  COLORBAR,
  MARGIN,
  barBeside,
  clipSegment,
  finitePoint,
  mapper,
  niceTicks,
  readableArrow,
  stopAtRim,
  trailRuns,
} from "./geometry.js";

/**
 * @typedef {import("./geometry.js").Surface} Surface
 * @typedef {import("./geometry.js").Rect} Rect
 * @typedef {import("./geometry.js").Range} Range
 * @typedef {import("./geometry.js").Segment} Segment
 * @typedef {{name: string, color: string, point: [number, number], trail: [number, number][],
 *            gradientStep: [number, number] | null, actualStep: [number, number] | null,
 *            loss?: number | null}} Racer
 *   `gradientStep` is −lr·gradient and `actualStep` the change step() made, both as (dw, db); both
 *   arrows start at the point before the last step, point − actualStep (the point itself when
 *   actualStep is null).
 * @typedef {{surface: Surface, range: Range, levels: number[], contours: Segment[][],
 *            fill: HTMLCanvasElement, width: number, height: number}} SurfaceMap
 */

/** Diverged racers are named in the non-finite magenta, #d600d6. */
export const DIVERGED = `rgb(${NAN_COLOR.join(", ")})`;
const INK = "#475467";
export const FONT = "11px system-ui, 'DejaVu Sans', sans-serif";
/** Radius of a racer's current point, in CSS px. */
export const MARKER = 5;
/** The shortest −lr·gradient arrow drawn, in CSS px: shorter ones are stretched and labelled. */
export const MIN_ARROW = 26;

/**
 * The fill: bilinear log(loss) between grid points, banded at the contour levels, at a few pixels
 * per grid cell. One ImageData write. Row 0 of the image is the top, bMax.
 * @param {Float64Array} logGrid @param {number} n @param {number[]} logLevels
 * @param {ArrayLike<number>} loss the raw values, for NaN (magenta) and +Inf (the top colour)
 */
export function renderFill(logGrid, n, logLevels, loss) {
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

/** Before the surface arrives: an empty frame that says so. @param {CanvasRenderingContext2D} ctx @param {Rect} rect */
export function drawWaiting(ctx, rect) {
  ctx.font = FONT;
  ctx.strokeStyle = "#d0d5dd";
  ctx.strokeRect(rect.x + 0.5, rect.y + 0.5, rect.w - 1, rect.h - 1);
  ctx.fillStyle = "#6b7280";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText("Waiting for the loss surface…", rect.x + rect.w / 2, rect.y + rect.h / 2);
}

/** Fill, contours, lowest point, frame, axes and colour bar. @param {CanvasRenderingContext2D} ctx @param {SurfaceMap} map @param {Rect} rect */
export function drawBackground(ctx, map, rect) {
  const { surface, range } = map;
  const n = surface.n;
  ctx.font = FONT;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(map.fill, rect.x, rect.y, rect.w, rect.h);

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
  for (const segments of map.contours) {
    for (const [x1, y1, x2, y2] of segments) {
      ctx.moveTo(rect.x + x1 * sx, rect.y + rect.h - y1 * sy);
      ctx.lineTo(rect.x + x2 * sx, rect.y + rect.h - y2 * sy);
    }
  }
  ctx.stroke();

  // The lowest grid point, a small ×: where the racers are heading.
  if (Number.isFinite(range.argW)) {
    const [mx, my] = mapper(surface, rect)([range.argW, range.argB]);
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
  drawAxes(ctx, surface, rect, map.height);
  drawColorBar(ctx, map, rect);
}

/**
 * The colour key: one band per contour interval, the grid's lowest and highest loss at its ends,
 * the powers of ten between where they fit, and its title. Right of the plot, or under it when
 * the panel is too narrow to spare the width.
 * @param {CanvasRenderingContext2D} ctx @param {SurfaceMap} map @param {Rect} rect
 */
function drawColorBar(ctx, map, rect) {
  const { floor, max, min } = map.range;
  if (!(max > floor)) return;
  const vertical = barBeside(map.width, map.height);
  // The bar runs from `start` (the floor) to `end` (the maximum) along its length.
  const length = vertical ? rect.h : rect.w;
  const bar = vertical
    ? { x: rect.x + rect.w + COLORBAR.gap, y: rect.y, w: COLORBAR.width, h: rect.h }
    : { x: rect.x, y: rect.y + rect.h + MARGIN.bottom + 16, w: rect.w, h: COLORBAR.width };
  const lo = Math.log(floor);
  const hi = Math.log(max);
  const along = (/** @type {number} */ v) => ((Math.log(v) - lo) / (hi - lo)) * length;
  const bands = map.levels.length + 1;
  const edges = [floor, ...map.levels, max];
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
    const text = formatDecade(k);
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

/** @param {CanvasRenderingContext2D} ctx @param {Surface} surface @param {Rect} rect @param {number} height */
function drawAxes(ctx, surface, rect, height) {
  const map = mapper(surface, rect);
  ctx.fillStyle = INK;
  ctx.strokeStyle = INK;
  ctx.lineWidth = 1;
  ctx.font = FONT;
  const x = niceTicks(surface.w[0], surface.w[1], Math.max(2, Math.round(rect.w / 70)));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const xLabels = formatTicks(x.values, x.step);
  for (const [i, value] of x.values.entries()) {
    const px = Math.round(map([value, 0])[0]) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, rect.y + rect.h + 1);
    ctx.lineTo(px, rect.y + rect.h + 5);
    ctx.stroke();
    ctx.fillText(xLabels[i], px, rect.y + rect.h + 7);
  }
  const y = niceTicks(surface.b[0], surface.b[1], Math.max(2, Math.round(rect.h / 50)));
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const yLabels = formatTicks(y.values, y.step);
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
  ctx.fillText("w (weight)", rect.x + rect.w / 2, Math.min(height - 1, rect.y + rect.h + 36));
  ctx.save();
  ctx.translate(Math.max(12, rect.x - 38), rect.y + rect.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "bottom";
  ctx.fillText("b (bias)", 0, 0);
  ctx.restore();
}

/**
 * Every racer's trail, then the arrows of its last step, then its current point on top.
 * @param {CanvasRenderingContext2D} ctx @param {Surface} surface @param {Rect} rect @param {Racer[]} racers
 * @returns {{name: string, stretched: boolean, length: number, label: Rect | null}[]} the
 *   −lr·gradient arrows drawn, with the box of the length written beside each stretched one
 */
export function drawRacers(ctx, surface, rect, racers) {
  const map = mapper(surface, rect);
  // A little slack past the frame, so a marker on the edge is not cut in half.
  const clip = { x: rect.x - 1, y: rect.y - 1, w: rect.w + 2, h: rect.h + 2 };
  /** @type {{name: string, stretched: boolean, length: number, label: Rect | null}[]} */
  const arrows = [];
  /** @type {Rect[]} the length labels written so far: racers that start together must not
   * write over each other */
  const labels = [];
  ctx.save();
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  // Trails first, each over a pale halo so it reads on every band of the palette.
  for (const racer of racers) {
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
    // Dots on the points only while they are few enough to tell apart.
    const dots = (racer.trail ?? []).length <= 400 ? racer.trail ?? [] : [];
    for (const p of dots) {
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
  for (const racer of racers) {
    if (!finitePoint(racer.point)) continue;
    const step = racer.actualStep && finitePoint(racer.actualStep) ? racer.actualStep : null;
    const before = step ? [racer.point[0] - step[0], racer.point[1] - step[1]] : racer.point;
    const at = map(racer.point);
    const gradient = racer.gradientStep ? readableArrow(before, racer.gradientStep, map, MIN_ARROW) : null;
    if (gradient) {
      const tip = gradient.stretched ? gradient.tip : stopAtRim(gradient.from, gradient.tip, at, MARKER + 2);
      drawArrow(ctx, gradient.from, tip, clip, racer.color, true);
      const label = gradient.stretched
        ? drawArrowLength(ctx, gradient.from, gradient.tip, gradient.length, clip, racer.color, labels)
        : null;
      arrows.push({ name: racer.name, stretched: gradient.stretched, length: gradient.length, label });
    }
    if (step) {
      const from = map(before);
      drawArrow(ctx, from, stopAtRim(from, at, at, MARKER + 1), clip, racer.color, false);
    }
  }
  // Last the current points, on top of everything. A diverged racer is marked, ringed in
  // magenta, at its last finite point, so the place it blew up stays on the map.
  for (const racer of racers) {
    if (finitePoint(racer.point)) {
      drawMarker(ctx, rect, map(racer.point), racer.color, "#ffffff");
      continue;
    }
    const last = (racer.trail ?? []).findLast(finitePoint);
    if (last) drawMarker(ctx, rect, map(last), racer.color, DIVERGED);
  }
  ctx.restore();
  return arrows;
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

/**
 * The true length of a stretched arrow, written past its tip: "‖−lr·g‖ = 3.1e−4", on a pale
 * ground so it reads on every band.
 * @param {CanvasRenderingContext2D} ctx @param {number[]} a @param {number[]} b @param {number} length
 * @param {Rect} clip @param {string} color
 * @param {Rect[]} taken boxes of labels already written: this one moves below them, or, with no
 *   free place near its arrow, is left out (the arrow itself is still drawn)
 * @returns {Rect | null} where the label went
 */
function drawArrowLength(ctx, a, b, length, clip, color, taken) {
  const text = `‖−lr·g‖ = ${formatCompact(length, 2)}`;
  ctx.save();
  ctx.font = `600 ${FONT}`;
  const width = ctx.measureText(text).width;
  const d = [b[0] - a[0], b[1] - a[1]];
  const norm = Math.hypot(d[0], d[1]) || 1;
  // Past the tip, along the arrow, then kept inside the plot.
  let x = b[0] + (d[0] / norm) * 8 + (d[0] < 0 ? -width : 0);
  let y = b[1] + (d[1] / norm) * 8 + (d[1] < 0 ? -6 : 6);
  x = Math.max(clip.x + 2, Math.min(clip.x + clip.w - width - 2, x));
  y = Math.max(clip.y + 8, Math.min(clip.y + clip.h - 8, y));
  const overlaps = (/** @type {number} */ top) =>
    taken.some((r) => x - 2 < r.x + r.w && r.x < x + width + 2 && top - 7 < r.y + r.h && r.y < top + 7);
  let tries = 0;
  while (overlaps(y) && tries++ < 3) y = Math.min(clip.y + clip.h - 8, y + 15);
  if (overlaps(y)) {
    ctx.restore();
    return null;
  }
  const box = { x: x - 2, y: y - 7, w: width + 4, h: 14 };
  taken.push(box);
  ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
  ctx.fillRect(x - 2, y - 7, width + 4, 14);
  ctx.fillStyle = color;
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  ctx.fillText(text, x, y);
  ctx.restore();
  return box;
}
