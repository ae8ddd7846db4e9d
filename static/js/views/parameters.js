// @ts-check
/**
 * The parameters panel: for each parameter tensor, one heatmap row per field (value, gradient,
 * update and each optimizer state tensor), all on the diverging scale, and the selected element's
 * numbers in the detail panel.
 */
import { fieldAccent, fieldLabel, formatNumber, maxAbs } from "../format.js";
import { fieldView, num } from "../protocol.js";
import { elementName, missingUpdateReason, renderDetail, updateIsPrevious } from "./detail.js";
import { drawHeatmap, gridOf } from "./heatmap.js";

const MAX_CELL = 22;

/**
 * @typedef {import("../protocol.js").Snapshot} Snapshot
 * @typedef {import("../protocol.js").TensorRecord} TensorRecord
 * @typedef {import("../protocol.js").FieldRecord} FieldRecord
 * @typedef {import("./detail.js").LedgerInfo} LedgerInfo
 * @typedef {{tensor: TensorRecord, rows: number, cols: number,
 *            canvases: Map<string, HTMLCanvasElement>, scales: Map<string, HTMLElement>}} Block
 */

export { elementName, gridOf };

/**
 * A row's scale: the largest finite magnitude, and how many elements are NaN or ±Inf (the stats
 * count the whole tensor, `numel` elements). When every element is NaN there is no scale at all,
 * and "±0" would be a lie.
 * @param {Float32Array} values @param {FieldRecord} record @param {number} numel
 */
export function scaleText(values, record, numel) {
  const nan = num(record.stats.nan);
  const inf = num(record.stats.inf);
  const parts = [];
  if (nan + inf < numel || numel === 0) parts.push(`±${formatNumber(maxAbs(values), 3)}`);
  if (nan) parts.push(nan === numel ? "all NaN" : `${nan} NaN`);
  if (inf) parts.push(inf === numel ? "all Inf" : `${inf} Inf`);
  return { text: parts.join(" · "), nonfinite: nan + inf > 0 };
}

export class ParametersView {
  /**
   * @param {HTMLElement} body @param {HTMLElement} detail
   * @param {(optimizer: string) => LedgerInfo | undefined} optimizerInfo
   */
  constructor(body, detail, optimizerInfo) {
    this.body = body;
    this.detail = detail;
    this.optimizerInfo = optimizerInfo;
    /** @type {Snapshot | null} */
    this.snapshot = null;
    /** @type {Block[]} */
    this.blocks = [];
    this.layoutKey = "";
    /** @type {{tensor: number, index: number} | null} */
    this.selected = null;
    // Cells are sized to the panel: a window resized (or a phone turned) lays the rows out again.
    new ResizeObserver(() => {
      if (this.snapshot && this.keyOf(this.snapshot) !== this.layoutKey) this.render(this.snapshot);
    }).observe(body);
  }

  /** @param {Snapshot} snapshot */
  keyOf(snapshot) {
    const fields = snapshot.header.tensors.map((t) => `${t.name}:${t.numel}:${shownFields(t).join(",")}`);
    return `${fields.join("|")}@${this.heatmapWidth()}`;
  }

  /** The width a heatmap may take beside its row's name and scale. */
  heatmapWidth() {
    const width = this.body.clientWidth;
    const beside = width < 480 ? 190 : 250;
    return Math.max(80, Math.min(width - beside, 520));
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
    if (this.keyOf(snapshot) !== this.layoutKey) this.build(snapshot);
    this.draw();
    this.renderDetail();
  }

  renderDetail() {
    renderDetail(this.detail, this.snapshot, this.selected, this.optimizerInfo);
  }

  /** @param {Snapshot} snapshot */
  build(snapshot) {
    const tensorTemplate = /** @type {HTMLTemplateElement} */ (document.getElementById("tensor-template"));
    const fieldTemplate = /** @type {HTMLTemplateElement} */ (document.getElementById("field-template"));
    this.blocks = [];
    /** @type {HTMLElement[]} */
    const nodes = [];
    const width = this.heatmapWidth();
    snapshot.header.tensors.forEach((tensor, t) => {
      const node = /** @type {HTMLElement} */ (tensorTemplate.content.firstElementChild?.cloneNode(true));
      const view = /** @type {[number, number] | undefined} */ (tensor.fields.value?.view);
      const length = tensor.sampled ? (view?.[1] ?? 0) : tensor.numel;
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
        row.dataset.field = field;
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
    this.layoutKey = this.keyOf(snapshot);
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
    const previous = updateIsPrevious(snapshot);
    this.blocks.forEach((block, t) => {
      const tensor = snapshot.header.tensors[t];
      for (const [field, canvas] of block.canvases) {
        const record = tensor.fields[field];
        const values = record ? fieldView(snapshot, record) : null;
        // A missing gradient is None in PyTorch; a missing update was not recorded at this step.
        const missing = field === "update" ? "not recorded" : "None";
        const label = block.scales.get(field);
        if (label) {
          const scale = values && record ? scaleText(values, record, tensor.numel) : { text: missing, nonfinite: false };
          label.textContent = scale.text;
          label.classList.toggle("nonfinite", scale.nonfinite);
          label.title = field === "update" && previous && values ? `the update of step ${snapshot.header.step}, the last step()` : "";
          if (field === "update" && !values) label.title = `Update Δθ: ${missingUpdateReason(snapshot.header.step)}`;
        }
        drawHeatmap(canvas, values, block.cols, block.rows, values ? maxAbs(values) : 0,
          this.selected?.tensor === t ? this.selected.index : -1, missing);
      }
    });
  }
}

/** The fields drawn as heatmap rows: all but the ledger's prediction, shown beside the rule. @param {TensorRecord} tensor */
function shownFields(tensor) {
  return Object.keys(tensor.fields).filter((field) => field !== "predicted");
}
