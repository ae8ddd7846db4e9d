// @ts-check
/** One heatmap: a tensor field drawn as a grid of cells on the diverging scale, one ImageData write. */
import { divergingColor } from "../format.js";

/**
 * How a tensor's view is laid out as a grid.
 * @param {import("../protocol.js").TensorRecord} tensor @param {number} length
 */
export function gridOf(tensor, length) {
  if (!tensor.sampled && tensor.shape.length === 2) return { rows: tensor.shape[0], cols: tensor.shape[1] };
  const cols = length <= 64 ? length : Math.ceil(Math.sqrt(length));
  return { rows: Math.ceil(length / Math.max(cols, 1)), cols: Math.max(cols, 1) };
}

/**
 * @param {HTMLCanvasElement} canvas @param {Float32Array | null} values
 * @param {number} cols @param {number} rows @param {number} scale @param {number} selected
 * @param {string} missing what to write when the tensor does not exist (only where it fits: the
 *   row's scale label says it too, so a one-cell heatmap never shows a cut word)
 */
export function drawHeatmap(canvas, values, cols, rows, scale, selected, missing) {
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  const image = new ImageData(cols, rows);
  for (let i = 0; i < cols * rows; i++) {
    const [r, g, b] = values && i < values.length ? divergingColor(values[i], scale) : [250, 250, 250];
    image.data.set([r, g, b, 255], i * 4);
  }
  // One ImageData write at cell resolution, then scaled up without smoothing: crisp cells.
  const cells = new OffscreenCanvas(cols, rows);
  /** @type {OffscreenCanvasRenderingContext2D} */ (cells.getContext("2d")).putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, 0, 0, canvas.width, canvas.height);
  const cw = canvas.width / cols;
  const ch = canvas.height / rows;
  if (cw >= 8) {
    ctx.strokeStyle = "rgba(255,255,255,0.9)";
    ctx.lineWidth = 1;
    for (let c = 1; c < cols; c++) {
      ctx.beginPath();
      ctx.moveTo(c * cw, 0);
      ctx.lineTo(c * cw, canvas.height);
      ctx.stroke();
    }
    for (let r = 1; r < rows; r++) {
      ctx.beginPath();
      ctx.moveTo(0, r * ch);
      ctx.lineTo(canvas.width, r * ch);
      ctx.stroke();
    }
  }
  if (selected >= 0) {
    ctx.strokeStyle = "#111827";
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.strokeRect((selected % cols) * cw + 1, Math.floor(selected / cols) * ch + 1, cw - 2, ch - 2);
  }
  if (!values) {
    ctx.fillStyle = "#6b7280";
    ctx.font = `${Math.min(ch * 0.6, 12 * devicePixelRatio)}px ui-monospace, monospace`;
    ctx.textBaseline = "middle";
    if (ctx.measureText(missing).width <= canvas.width - 8) ctx.fillText(missing, 4, canvas.height / 2);
  }
}
