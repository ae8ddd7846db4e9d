// @ts-check
/**
 * The network as a diagram (issue 9): its layers as columns of units, every drawn weight as an
 * edge coloured by sign (blue +, orange −) and sized by its magnitude against the largest of its
 * layer, switchable between the weights, their gradients and the last step's updates: the dance
 * of the Parameters panel drawn on the network itself. The geometry is in lib/networkLayout.js.
 */
import { formatNumber } from "../../format.js";
import { CLASS0, CLASS1, css } from "../../lib/colors.js";
import { edgeStyle, edgesOf, largestPerLink, layoutNetwork } from "../../lib/networkLayout.js";
import { FONT, INK, fitCanvas } from "./canvas.js";

/**
 * @typedef {import("../../protocol.js").Network} Network
 * @typedef {"value" | "grad" | "update"} EdgeMode
 * @typedef {import("../../lib/networkLayout.js").Layout} Layout
 * @typedef {import("../../lib/networkLayout.js").Edge} Edge
 */

const MODE_WORDS = { value: "weights", grad: "gradients", update: "updates" };
const SIGN_COLORS = { positive: css(CLASS1), negative: css(CLASS0), zero: "#98a2b3", nonfinite: "rgb(214, 0, 214)" };

export class NetworkDiagram {
  /**
   * @param {HTMLElement} stage where the canvas goes
   * @param {HTMLElement} modes the radio group "Edges show" (inputs valued value, grad, update)
   * @param {HTMLElement} caption what the edges say now
   */
  constructor(stage, modes, caption) {
    this.stage = stage;
    this.modes = modes;
    this.caption = caption;
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "Network diagram: waiting for the first snapshot.");
    stage.append(this.canvas);
    /** @type {Network | null} */
    this.network = null;
    modes.addEventListener("change", () => this.draw());
    /** What the last drawing put where, for the pointer. @type {{layout: Layout, edges: Edge[], mode: EdgeMode} | null} */
    this.drawn = null;
    this.tip = document.createElement("div");
    this.tip.className = "plot-tip";
    this.tip.hidden = true;
    stage.append(this.tip);
    this.canvas.addEventListener("pointermove", (event) => this.point(event.offsetX, event.offsetY));
    this.canvas.addEventListener("pointerleave", () => (this.tip.hidden = true));
    /** @type {[number, number] | null} the unit the keyboard is on: [column, unit] */
    this.focused = null;
    this.canvas.tabIndex = 0;
    this.tip.setAttribute("role", "status");
    this.canvas.addEventListener("focus", () => this.focusNode(this.focused ?? [0, 0]));
    this.canvas.addEventListener("blur", () => {
      this.tip.hidden = true;
      this.draw(); // the focus ring goes
    });
    this.canvas.addEventListener("keydown", (event) => {
      const moves = /** @type {Record<string, [number, number]>} */ ({ ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] });
      const move = moves[event.key];
      if (!move || !this.focused) return;
      event.preventDefault();
      this.focusNode([this.focused[0] + move[0], this.focused[1] + move[1]]);
    });
    new ResizeObserver(() => this.draw()).observe(stage);
  }

  /** @returns {EdgeMode} */
  get mode() {
    const checked = /** @type {HTMLInputElement | null} */ (this.modes.querySelector("input:checked"));
    const value = checked?.value;
    return value === "grad" || value === "update" ? value : "value";
  }

  /** @param {Network} network */
  render(network) {
    this.network = network;
    this.draw();
  }

  draw() {
    const network = this.network;
    const width = Math.floor(this.stage.clientWidth);
    const height = Math.floor(this.stage.clientHeight);
    if (!network || width < 60 || height < 60) return;
    const ctx = fitCanvas(this.canvas, width, height);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    ctx.font = FONT;
    const labels = network.layers[0]?.labels ?? [];
    const labelRoom = labels.length ? Math.max(...labels.map((l) => ctx.measureText(l).width)) + 14 : 0;
    const box = { x: 22 + labelRoom, y: 38, w: Math.max(10, width - 44 - labelRoom), h: Math.max(10, height - 52) };
    const layout = layoutNetwork(network.layers, network.shown, box);
    const mode = this.mode;
    const values = network.links.map((link) => link[mode]);
    const largest = largestPerLink(values);
    // A dense link (16 × 16 edges) is drawn with thinner lines than a sparse one, so it stays legible.
    const widest = network.links.map((link) => Math.max(1.2, Math.min(3.6, 40 / Math.sqrt(Math.max(1, link.rows * link.cols)))));
    const edges = edgesOf(layout, network.links.map((link, i) => ({ rows: link.rows, cols: link.cols, values: values[i] })));
    // Faint edges first, so the strong ones are drawn on top.
    const styled = edges
      .map((edge) => ({ edge, style: edgeStyle(edge.value, largest[edge.layer], widest[edge.layer]) }))
      .sort((a, b) => a.style.alpha - b.style.alpha);
    const counts = { positive: 0, negative: 0, zero: 0, nonfinite: 0 };
    ctx.lineCap = "round";
    for (const { edge, style } of styled) {
      counts[style.sign]++;
      ctx.strokeStyle = SIGN_COLORS[style.sign];
      ctx.globalAlpha = style.alpha;
      ctx.lineWidth = style.width;
      ctx.beginPath();
      ctx.moveTo(edge.from[0], edge.from[1]);
      ctx.lineTo(edge.to[0], edge.to[1]);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    // Missing values (no gradient before the first backward, no update recorded): grey hairlines.
    const missing = network.links.filter((link) => !link[mode]).length;
    if (missing) {
      const skeleton = edgesOf(layout, network.links.map((link) => ({ ...link, values: link[mode] ? null : link.value })));
      ctx.strokeStyle = "#d0d5dd";
      ctx.lineWidth = 0.5;
      ctx.beginPath();
      for (const edge of skeleton) {
        ctx.moveTo(edge.from[0], edge.from[1]);
        ctx.lineTo(edge.to[0], edge.to[1]);
      }
      ctx.stroke();
    }
    // Units, column headings, input names and what is not drawn. Headings shorten ("h1", "16")
    // where the columns are too close for "hidden 1" and "16 units".
    const pitch = layout.columns.length > 1 ? layout.columns[1].x - layout.columns[0].x : width;
    const heads = layout.columns.map((c) => [c.name, `${c.units} unit${c.units === 1 ? "" : "s"}`]);
    ctx.font = `600 ${FONT}`;
    const fits = heads.every(([name, count]) => Math.max(ctx.measureText(name).width, ctx.measureText(count).width) <= pitch - 12);
    ctx.lineWidth = 1.2;
    layout.columns.forEach((column, i) => {
      const [name, count] = fits ? heads[i] : [shortName(column.name), String(column.units)];
      ctx.fillStyle = INK;
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.font = `600 ${FONT}`;
      // Centred on the column, but kept whole inside the canvas.
      const centre = (/** @type {string} */ text) => {
        const half = ctx.measureText(text).width / 2 + 2;
        return Math.max(half, Math.min(width - half, column.x));
      };
      ctx.fillText(name, centre(name), 13);
      ctx.font = FONT;
      ctx.fillText(count, centre(count), 26);
      for (const node of column.nodes) {
        ctx.beginPath();
        ctx.arc(column.x, node.y, layout.radius, 0, 2 * Math.PI);
        ctx.fillStyle = "#ffffff";
        ctx.fill();
        ctx.strokeStyle = "#344054";
        ctx.stroke();
        if (node.label) {
          ctx.fillStyle = "#111827";
          ctx.textAlign = "right";
          ctx.textBaseline = "middle";
          ctx.fillText(node.label, column.x - layout.radius - 5, node.y);
        }
      }
      if (column.more > 0) {
        ctx.fillStyle = INK;
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        const more = `+${column.more} more`;
        ctx.fillText(more, centre(more), Math.min(column.moreY, height - 8));
      }
    });
    const ring = this.focused && document.activeElement === this.canvas ? layout.columns[this.focused[0]]?.nodes[this.focused[1]] : null;
    if (ring && this.focused) {
      ctx.strokeStyle = "#f59e0b"; // the page's focus colour
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.arc(layout.columns[this.focused[0]].x, ring.y, layout.radius + 3, 0, 2 * Math.PI);
      ctx.stroke();
    }
    this.drawn = { layout, edges, mode };
    const words = MODE_WORDS[mode];
    this.canvas.dataset.mode = mode;
    this.canvas.dataset.edges = String(edges.length);
    this.canvas.dataset.counts = JSON.stringify(counts);
    this.canvas.dataset.largest = largest.map((m) => formatNumber(m, 3)).join(" | ");
    this.caption.textContent = missing
      ? `No ${words} yet for ${missing} of ${network.links.length} layers (grey): press Step.`
      : `Edges: ${words}. Blue +, orange −; width and strength: |value| ÷ its layer's largest (${this.canvas.dataset.largest}).` +
        (counts.nonfinite ? ` ${counts.nonfinite} not finite (magenta).` : "");
    const shapes = network.layers.map((l) => `${l.name} ${l.units}`).join(", ");
    const label =
      `Network diagram, edges show ${words}: ${shapes}; ${counts.positive} positive and ${counts.negative} negative edges drawn. ` +
      "Focus it and use the arrow keys to read each unit.";
    if (this.canvas.getAttribute("aria-label") !== label) this.canvas.setAttribute("aria-label", label);
  }

  /**
   * Under the pointer: a unit (its layer and index) or the nearest edge and its value.
   * @param {number} x @param {number} y CSS px in the canvas
   */
  point(x, y) {
    const drawn = this.drawn;
    const network = this.network;
    if (!drawn || !network) return;
    let text = "";
    const { layout, edges, mode } = drawn;
    layout.columns.forEach((column, c) => {
      for (const node of column.nodes) {
        if (Math.hypot(x - column.x, y - node.y) <= layout.radius + 3) text = this.nodeText(c, node.index);
      }
    });
    if (!text) {
      let best = 5; // px: nearer than this, or nothing
      /** @type {Edge | null} */
      let nearest = null;
      for (const edge of edges) {
        const d = segmentDistance(x, y, edge.from, edge.to);
        if (d < best) (best = d), (nearest = edge);
      }
      if (nearest) text = this.edgeText(nearest, mode);
    }
    this.showTip(text, x, y);
  }

  /** @param {Edge} edge @param {EdgeMode} mode */
  edgeText(edge, mode) {
    const link = /** @type {Network} */ (this.network).links[edge.layer];
    return `${link.parameter}[${edge.row}, ${edge.col}]: ${MODE_WORDS[mode].replace(/s$/, "")} ${formatNumber(edge.value, 4)}`;
  }

  /**
   * A unit's name, and the largest of the drawn edges into it.
   * @param {number} c column @param {number} n unit
   */
  nodeText(c, n) {
    const drawn = /** @type {{layout: Layout, edges: Edge[], mode: EdgeMode}} */ (this.drawn);
    const column = drawn.layout.columns[c];
    const node = column.nodes[n];
    let text = `${column.name}, unit ${n + 1}${node.label ? ` (${node.label})` : ""}`;
    /** @type {Edge | null} */
    let strongest = null;
    for (const edge of drawn.edges) {
      if (edge.layer === c - 1 && edge.row === n && (!strongest || Math.abs(edge.value) > Math.abs(strongest.value))) strongest = edge;
    }
    if (strongest) text += `; largest in: ${this.edgeText(strongest, drawn.mode)}`;
    return text;
  }

  /** @param {string} text @param {number} x @param {number} y */
  showTip(text, x, y) {
    this.tip.hidden = !text;
    if (!text) return;
    this.tip.textContent = text;
    const left = Math.min(x + 12, Math.max(0, this.stage.clientWidth - this.tip.offsetWidth - 4));
    this.tip.style.left = `${left}px`;
    this.tip.style.top = `${Math.max(0, y - 28)}px`;
  }

  /**
   * Keyboard: the focused unit, moved with the arrow keys, ringed and named in the tip.
   * @param {[number, number]} at [column, unit]
   */
  focusNode(at) {
    const drawn = this.drawn;
    if (!drawn) return;
    const columns = drawn.layout.columns;
    const c = Math.max(0, Math.min(columns.length - 1, at[0]));
    const n = Math.max(0, Math.min(columns[c].nodes.length - 1, at[1]));
    this.focused = [c, n];
    this.draw();
    const column = columns[c];
    this.showTip(this.nodeText(c, n), column.x, column.nodes[n].y);
  }

}

/** "hidden 2" → "h2", "input" → "in", "output" → "out": column headings where room is short. @param {string} name */
function shortName(name) {
  return name.replace(/^hidden /, "h").replace(/^input$/, "in").replace(/^output$/, "out");
}

/**
 * Distance from a point to a segment, in px.
 * @param {number} x @param {number} y @param {[number, number]} a @param {[number, number]} b
 */
function segmentDistance(x, y, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy);
}
