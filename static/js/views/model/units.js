// @ts-check
/**
 * Each hidden unit's output over the input plane, as Playground draws it in its nodes: a small
 * heatmap per unit (the server sends the first 8 of each layer), a row per hidden layer, on the
 * diverging scale with the layer's largest |output| at full colour.
 */
import { divergingColor, formatNumber, maxAbs } from "../../format.js";

/**
 * @typedef {import("../../protocol.js").Plane} Plane
 * @typedef {import("../../contract/contract").NetworkLayer} NetworkLayer
 */

export class UnitMaps {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    this.key = "";
    /** @type {{canvas: HTMLCanvasElement, layer: number, unit: number}[]} */
    this.cells = [];
    /** @type {Map<number, HTMLElement>} each layer's scale label */
    this.scales = new Map();
  }

  /**
   * @param {Plane} plane @param {NetworkLayer[]} layers the network's layers, for each one's size
   */
  render(plane, layers) {
    const byLayer = new Map();
    for (const map of plane.units) {
      if (!byLayer.has(map.layer)) byLayer.set(map.layer, []);
      byLayer.get(map.layer).push(map);
    }
    const key = JSON.stringify([plane.unitN, plane.units.map((u) => [u.layer, u.unit]), layers.map((l) => l.units)]);
    if (key !== this.key) this.build(plane, byLayer, layers, key);
    for (const [layer, maps] of byLayer) {
      const scale = Math.max(...maps.map((/** @type {{values: Float32Array}} */ m) => maxAbs(m.values)));
      const label = this.scales.get(layer);
      // A layer with no finite output (a diverged run) is magenta throughout: say so, not "±0".
      const finite = maps.some((/** @type {{values: Float32Array}} */ m) => m.values.some(Number.isFinite));
      if (label) label.textContent = finite ? `±${formatNumber(scale, 2)}` : "no finite output";
      for (const map of maps) {
        const cell = this.cells.find((c) => c.layer === layer && c.unit === map.unit);
        if (cell) drawMap(cell.canvas, map.values, plane.unitN, scale);
      }
    }
  }

  /**
   * @param {Plane} plane @param {Map<number, {layer: number, unit: number}[]>} byLayer
   * @param {NetworkLayer[]} layers @param {string} key
   */
  build(plane, byLayer, layers, key) {
    this.key = key;
    this.cells = [];
    this.scales.clear();
    const rows = [];
    for (const [layer, maps] of byLayer) {
      const row = document.createElement("div");
      row.className = "unit-row";
      const head = document.createElement("div");
      head.className = "unit-row-head";
      const name = document.createElement("span");
      name.className = "unit-layer";
      const size = layers[layer]?.units ?? maps.length; // layers[0] is the input
      name.textContent = `hidden ${layer}`;
      const count = document.createElement("span");
      count.className = "unit";
      count.textContent = size > maps.length ? `first ${maps.length} of ${size} units` : `${size} unit${size > 1 ? "s" : ""}`;
      const scale = document.createElement("span");
      scale.className = "unit num";
      this.scales.set(layer, scale);
      head.append(name, count, scale);
      const grid = document.createElement("div");
      grid.className = "unit-maps";
      for (const map of maps) {
        const canvas = document.createElement("canvas");
        canvas.width = plane.unitN;
        canvas.height = plane.unitN;
        canvas.className = "unit-map";
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", `hidden layer ${layer}, unit ${map.unit + 1}: its output over the input plane`);
        canvas.title = `hidden ${layer}, unit ${map.unit + 1}`;
        canvas.dataset.layer = String(layer);
        canvas.dataset.unit = String(map.unit);
        grid.append(canvas);
        this.cells.push({ canvas, layer, unit: map.unit });
      }
      row.append(head, grid);
      rows.push(row);
    }
    this.container.replaceChildren(...rows);
  }
}

/**
 * One unit's map, one pixel a grid point, rows flipped so that x₂ goes up.
 * @param {HTMLCanvasElement} canvas @param {Float32Array} values @param {number} n @param {number} scale
 */
function drawMap(canvas, values, n, scale) {
  const image = new ImageData(n, n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const [red, green, blue] = divergingColor(values[(n - 1 - r) * n + c], scale);
      image.data.set([red, green, blue, 255], (r * n + c) * 4);
    }
  }
  /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d")).putImageData(image, 0, 0);
}
