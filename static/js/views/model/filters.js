// @ts-check
/**
 * The first layer's weights as images (issue 9): for the digits' MLP each hidden unit's 64 input
 * weights as the 8×8 picture they read, for the CNN each 3×3 kernel. One diverging scale for all
 * Each image on its own diverging scale (its largest |weight| at full colour): early in training
 * most weights are a small fraction of the largest anywhere, and a shared scale shows them as
 * blank squares. The title says the range of those scales.
 */
import { divergingColor, formatNumber, maxAbs } from "../../format.js";

/** @typedef {import("../../protocol.js").Filters} Filters */

export class FilterImages {
  /** @param {HTMLElement} grid @param {HTMLElement} unit the title's unit text */
  constructor(grid, unit) {
    this.grid = grid;
    this.unit = unit;
    this.key = "";
    /** @type {HTMLCanvasElement[]} */
    this.canvases = [];
  }

  /** @param {Filters} filters */
  render(filters) {
    const { count, height, width, values, parameter } = filters;
    const key = JSON.stringify([count, height, width, parameter]);
    if (key !== this.key) {
      this.key = key;
      this.canvases = Array.from({ length: count }, (_, k) => {
        const canvas = document.createElement("canvas");
        canvas.width = width;
        canvas.height = height;
        canvas.className = "filter";
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", `${parameter}[${k}] as a ${height}×${width} image`);
        canvas.title = `${parameter}[${k}]`;
        return canvas;
      });
      this.grid.replaceChildren(...this.canvases);
    }
    const size = height * width;
    let smallest = Infinity;
    let largest = 0;
    this.canvases.forEach((canvas, k) => {
      const image = new ImageData(width, height);
      const scale = maxAbs(values.subarray(k * size, (k + 1) * size));
      smallest = Math.min(smallest, scale);
      largest = Math.max(largest, scale);
      canvas.dataset.scale = String(scale);
      for (let i = 0; i < size; i++) {
        const [r, g, b] = divergingColor(values[k * size + i], scale);
        image.data.set([r, g, b, 255], i * 4);
      }
      /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d")).putImageData(image, 0, 0);
    });
    const range = count ? `each to its own ±max, ${formatNumber(smallest, 2)} to ${formatNumber(largest, 2)}` : "";
    this.unit.textContent = `(${parameter}: ${count} of ${height}×${width}; ${range})`;
  }
}
