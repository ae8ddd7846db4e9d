// @ts-check
/**
 * The parameters panel: for each parameter tensor, one heatmap row per field (value, gradient,
 * update and each optimizer state tensor), all on the diverging scale, and the selected element's
 * numbers in the detail panel. Heatmaps are canvases filled with one ImageData write each.
 */
import { divergingColor, fieldAccent, fieldLabel, formatNumber, maxAbs } from "../format.js";
import { fieldView, num } from "../protocol.js";

const MAX_CELL = 28;

/**
 * @typedef {import("../protocol.js").Snapshot} Snapshot
 * @typedef {import("../protocol.js").TensorRecord} TensorRecord
 * @typedef {{tensor: TensorRecord, rows: number, cols: number,
 *            canvases: Map<string, HTMLCanvasElement>, scales: Map<string, HTMLElement>}} Block
 */

/** How a tensor's view is laid out as a grid. @param {TensorRecord} tensor @param {number} length */
export function gridOf(tensor, length) {
  if (!tensor.sampled && tensor.shape.length === 2) return { rows: tensor.shape[0], cols: tensor.shape[1] };
  const cols = length <= 64 ? length : Math.ceil(Math.sqrt(length));
  return { rows: Math.ceil(length / Math.max(cols, 1)), cols: Math.max(cols, 1) };
}

/** "weight[0, 3]" for element `index` of a tensor's view. @param {TensorRecord} tensor @param {number} index */
export function elementName(tensor, index) {
  if (tensor.sampled) return `${tensor.name} (sample ${index + 1} of ${tensor.numel} elements)`;
  const coords = [];
  let rest = index;
  for (let d = tensor.shape.length - 1; d >= 0; d--) {
    coords.unshift(rest % tensor.shape[d]);
    rest = Math.floor(rest / tensor.shape[d]);
  }
  return `${tensor.name}[${coords.join(", ")}]`;
}

export class ParametersView {
  /** @param {HTMLElement} body @param {HTMLElement} detail */
  constructor(body, detail) {
    this.body = body;
    this.detail = detail;
    /** @type {Snapshot | null} */
    this.snapshot = null;
    /** @type {Block[]} */
    this.blocks = [];
    this.layoutKey = "";
    /** @type {{tensor: number, index: number} | null} */
    this.selected = null;
  }

  /** @param {Snapshot | null} snapshot */
  render(snapshot) {
    this.snapshot = snapshot;
    if (!snapshot) {
      this.layoutKey = "";
      this.blocks = [];
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "Waiting for the first snapshot — press Start or Step.";
      this.body.replaceChildren(empty);
      this.renderDetail();
      return;
    }
    const key = snapshot.header.tensors
      .map((t) => `${t.name}:${t.numel}:${shownFields(t).join(",")}`)
      .join("|");
    if (key !== this.layoutKey) this.build(snapshot);
    this.draw();
    this.renderDetail();
  }

  /** @param {Snapshot} snapshot */
  build(snapshot) {
    this.layoutKey = "";
    const tensorTemplate = /** @type {HTMLTemplateElement} */ (document.getElementById("tensor-template"));
    const fieldTemplate = /** @type {HTMLTemplateElement} */ (document.getElementById("field-template"));
    this.blocks = [];
    /** @type {HTMLElement[]} */
    const nodes = [];
    const width = Math.max(120, Math.min(this.body.clientWidth - 240, 520));
    snapshot.header.tensors.forEach((tensor, t) => {
      const node = /** @type {HTMLElement} */ (tensorTemplate.content.firstElementChild?.cloneNode(true));
      const length = tensor.sampled ? (tensor.fields.value?.view[1] ?? 0) : tensor.numel;
      const { rows, cols } = gridOf(tensor, length);
      const shape = tensor.shape.length ? tensor.shape.join("×") : "scalar";
      /** @type {HTMLElement} */ (node.querySelector(".tensor-name")).textContent =
        `${tensor.name} [${shape}]` + (tensor.sampled ? ` — ${length} of ${tensor.numel} elements sampled` : "");
      const fields = /** @type {HTMLElement} */ (node.querySelector(".fields"));
      const cell = Math.max(3, Math.min(MAX_CELL, Math.floor(width / cols)));
      /** @type {Block} */
      const block = { tensor, rows, cols, canvases: new Map(), scales: new Map() };
      for (const field of shownFields(tensor)) {
        const row = /** @type {HTMLElement} */ (fieldTemplate.content.firstElementChild?.cloneNode(true));
        row.dataset.accent = fieldAccent(field);
        const name = /** @type {HTMLElement} */ (row.querySelector(".field-name"));
        name.textContent = fieldLabel(field);
        const canvas = /** @type {HTMLCanvasElement} */ (row.querySelector("canvas"));
        canvas.style.width = `${cols * cell}px`;
        canvas.style.height = `${rows * cell}px`;
        canvas.width = cols * cell * devicePixelRatio;
        canvas.height = rows * cell * devicePixelRatio;
        canvas.dataset.tensor = String(t);
        canvas.dataset.field = field;
        canvas.setAttribute("role", "img");
        canvas.setAttribute(
          "aria-label",
          `${tensor.name} ${fieldLabel(field)}: ${length} elements. Arrow keys select an element; its numbers are under Selected element.`,
        );
        this.bindSelection(canvas, t, cols, rows, length);
        block.canvases.set(field, canvas);
        block.scales.set(field, /** @type {HTMLElement} */ (row.querySelector(".field-scale")));
        fields.append(row);
      }
      this.blocks.push(block);
      nodes.push(node);
    });
    this.body.replaceChildren(...nodes);
    this.layoutKey = snapshot.header.tensors
      .map((t) => `${t.name}:${t.numel}:${shownFields(t).join(",")}`)
      .join("|");
    if (this.selected && this.selected.tensor >= this.blocks.length) this.selected = null;
  }

  /**
   * @param {HTMLCanvasElement} canvas @param {number} tensor
   * @param {number} cols @param {number} rows @param {number} length
   */
  bindSelection(canvas, tensor, cols, rows, length) {
    const select = (/** @type {number} */ index) => {
      this.selected = { tensor, index: Math.max(0, Math.min(length - 1, index)) };
      this.draw();
      this.renderDetail();
    };
    canvas.addEventListener("mousemove", (event) => {
      const box = canvas.getBoundingClientRect();
      const col = Math.floor(((event.clientX - box.left) / box.width) * cols);
      const row = Math.floor(((event.clientY - box.top) / box.height) * rows);
      const index = row * cols + col;
      if (index < length && (this.selected?.tensor !== tensor || this.selected.index !== index)) select(index);
    });
    canvas.addEventListener("focus", () => {
      if (this.selected?.tensor !== tensor) select(0);
    });
    canvas.addEventListener("keydown", (event) => {
      const index = this.selected?.tensor === tensor ? this.selected.index : 0;
      const moves = /** @type {Record<string, number>} */ ({
        ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols, Home: -index, End: length - 1 - index,
      });
      if (!(event.key in moves)) return;
      event.preventDefault();
      select(index + moves[event.key]);
    });
  }

  draw() {
    const snapshot = this.snapshot;
    if (!snapshot) return;
    this.blocks.forEach((block, t) => {
      const tensor = snapshot.header.tensors[t];
      for (const [field, canvas] of block.canvases) {
        const record = tensor.fields[field];
        const values = record ? fieldView(snapshot, record) : null;
        const scale = values ? maxAbs(values) : 0;
        const label = block.scales.get(field);
        if (label) label.textContent = values ? `±${formatNumber(scale, 3)}` : "None";
        // A missing gradient is None in PyTorch; a missing update was not recorded at this step.
        const missing = field === "update" ? "not recorded at this step" : "None";
        drawHeatmap(canvas, values, block.cols, block.rows, scale,
          this.selected?.tensor === t ? this.selected.index : -1, missing);
      }
    });
  }

  renderDetail() {
    const snapshot = this.snapshot;
    if (!snapshot || !this.selected) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = snapshot
        ? "Hover or focus a cell to read its value, gradient, update and optimizer state."
        : "No snapshot yet.";
      this.detail.replaceChildren(p);
      return;
    }
    const tensor = snapshot.header.tensors[this.selected.tensor];
    const index = this.selected.index;
    const heading = document.createElement("h3");
    heading.className = "element-name";
    heading.textContent = elementName(tensor, index);
    const table = document.createElement("table");
    table.className = "ledger";
    /** @param {string} label @param {number | null} value @param {string} accent */
    const addRow = (label, value, accent) => {
      const tr = table.insertRow();
      tr.dataset.accent = accent;
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = label;
      const td = tr.insertCell();
      td.className = "num";
      td.textContent = value === null ? "None" : formatNumber(value, 6);
      if (value !== null && !Number.isFinite(value)) td.classList.add("nonfinite");
      tr.prepend(th);
    };
    /** @param {string} field */
    const valueOf = (field) => {
      const record = tensor.fields[field];
      return record ? fieldView(snapshot, record)[index] : null;
    };
    const value = valueOf("value");
    const update = valueOf("update");
    if (value !== null && update !== null) addRow("before step θ − Δθ", value - update, "value");
    for (const field of shownFields(tensor)) addRow(fieldLabel(field), valueOf(field), fieldAccent(field));
    for (const [key, scalar] of Object.entries(tensor.state_scalars)) addRow(`state: ${key}`, num(scalar), "state");
    const caption = document.createElement("p");
    caption.className = "caption";
    caption.textContent = `At step ${snapshot.header.step}${snapshot.header.phase ? `, after ${snapshot.header.phase}` : ""}.`;
    this.detail.replaceChildren(heading, table, ...ledgerOf(tensor, index, value, valueOf("predicted")), caption);
  }
}

/** The fields drawn as heatmap rows: all but the ledger's prediction, shown beside the rule. @param {TensorRecord} tensor */
function shownFields(tensor) {
  return Object.keys(tensor.fields).filter((field) => field !== "predicted");
}

/** Predictions and results agree to float32 precision, or the difference is shown in red. */
const AGREEMENT = 1e-6;

/**
 * The update ledger of one element: the optimizer's rule with its numbers, the value it predicts,
 * and the value step() produced.
 * @param {TensorRecord} tensor @param {number} index @param {number | null} actual
 * @param {number | null} predicted
 * @returns {HTMLElement[]}
 */
function ledgerOf(tensor, index, actual, predicted) {
  if (predicted === null || actual === null) return [];
  const nodes = [];
  const title = document.createElement("h4");
  title.className = "ledger-title";
  title.textContent = "Update ledger: the rule of this step";
  nodes.push(title);
  const lines = /** @type {any} */ (tensor).ledger?.[index];
  if (lines?.length) {
    const list = document.createElement("ol");
    list.className = "rule";
    for (const line of lines) {
      const item = document.createElement("li");
      const symbolic = document.createElement("div");
      symbolic.className = "symbolic";
      symbolic.textContent = line.symbolic;
      const numeric = document.createElement("div");
      numeric.className = "numeric num";
      numeric.textContent = `${line.numeric} = ${formatNumber(num(line.value), 6)}`;
      item.append(symbolic, numeric);
      list.append(item);
    }
    nodes.push(list);
  } else {
    nodes.push(Object.assign(document.createElement("p"), {
      className: "caption",
      textContent: "Press Step or Next phase to see the rule written out with this element's numbers.",
    }));
  }
  const difference = actual - predicted;
  const agrees = Math.abs(difference) <= AGREEMENT * Math.max(1, Math.abs(actual));
  const verdict = document.createElement("p");
  verdict.className = agrees ? "verdict agrees" : "verdict mismatch";
  verdict.dataset.testid = "ledger-verdict";
  verdict.textContent = `predicted ${formatNumber(predicted, 7)} · step() gave ${formatNumber(actual, 7)} · ${
    agrees ? "they agree" : `they differ by ${formatNumber(difference, 3)}`
  }`;
  nodes.push(verdict);
  return nodes;
}

/**
 * @param {HTMLCanvasElement} canvas @param {Float32Array | null} values
 * @param {number} cols @param {number} rows @param {number} scale @param {number} selected
 * @param {string} missing what to write when the tensor does not exist
 */
function drawHeatmap(canvas, values, cols, rows, scale, selected, missing) {
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
    ctx.fillText(missing, 4, canvas.height / 2);
  }
}
