// @ts-check
/**
 * The Selected element panel: one element's value, gradient, update and optimizer state, and the
 * update ledger (the optimizer's rule written out with this element's numbers, the value it
 * predicts and the value step() gave).
 */
import { fieldAccent, fieldLabel, formatNumber } from "../format.js";
import { fieldView, num } from "../protocol.js";

/**
 * @typedef {import("../protocol.js").Snapshot} Snapshot
 * @typedef {import("../protocol.js").TensorRecord} TensorRecord
 * @typedef {{title: string, ledger: boolean, phases?: boolean}} LedgerInfo what the page knows of an
 *   optimizer; `phases: false` where the loop cannot be run a phase at a time (an attached script's)
 */

/** Predictions and results agree to float32 precision, or the difference is shown in red. */
const AGREEMENT = 1e-6;

/**
 * Whether the update and the ledger belong to the snapshot's own step: after `step()` they do;
 * after zero_grad, forward, loss or backward of the next step they are the previous step's.
 * @param {Snapshot} snapshot
 */
export function updateIsPrevious(snapshot) {
  const phase = snapshot.header.phase;
  return phase !== null && phase !== "step";
}

/**
 * Why a snapshot has no update (`update: null`): no step() yet, or a step at full speed whose
 * parameters were not copied before it (the copy would cost over 1% of the step, so the recorder
 * drops it: docs/protocol.md; an attached script's running steps are never copied), such as the
 * step before a pause.
 * @param {number} step the snapshot's step
 */
export function missingUpdateReason(step) {
  return step === 0
    ? "no step() has run yet"
    : "not recorded: at full speed the parameters are not copied before each step (on this model the copy would cost over 1% of a step; an attached script's loop is held before its step(), and its running steps are never copied), so the step before this pause has no update; Step records one";
}

/**
 * @param {HTMLElement} detail the panel's body
 * @param {Snapshot | null} snapshot
 * @param {{tensor: number, index: number} | null} selected
 * @param {(optimizer: string) => LedgerInfo | undefined} optimizerInfo
 */
export function renderDetail(detail, snapshot, selected, optimizerInfo) {
  if (!snapshot || !selected) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = snapshot
      ? "Hover or focus a cell to read its value, gradient, update and optimizer state."
      : "No snapshot yet.";
    detail.replaceChildren(p);
    return;
  }
  const header = snapshot.header;
  const tensor = header.tensors[selected.tensor];
  const index = selected.index;
  const previous = updateIsPrevious(snapshot);
  const heading = document.createElement("h3");
  heading.className = "element-name";
  heading.textContent = elementName(tensor, index);
  const table = document.createElement("table");
  table.className = "ledger";
  /** @param {string} label @param {number | null} value @param {string} accent @param {string} [missing] */
  const addRow = (label, value, accent, missing = "None") => {
    const tr = table.insertRow();
    tr.dataset.accent = accent;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = label;
    const td = tr.insertCell();
    td.className = "num";
    td.textContent = value === null ? missing : formatNumber(value, 6);
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
  // Mid-step the update shown is the last step()'s: say so beside it, since the gradient next to
  // it may already be None (zero_grad) or the next step's (backward).
  const ofStep = previous ? ` (step ${header.step}, previous)` : "";
  if (value !== null && update !== null) addRow(`before step ${header.step}: θ − Δθ`, value - update, "value");
  for (const field of Object.keys(tensor.fields)) {
    if (field === "predicted") continue;
    const label = field === "update" ? `${fieldLabel(field)}${ofStep}` : fieldLabel(field);
    // A missing gradient is PyTorch's None; a missing update was not recorded, and the caption says why.
    addRow(label, valueOf(field), fieldAccent(field), field === "update" ? (header.step ? "not recorded" : "none yet") : "None");
  }
  for (const [key, scalar] of Object.entries(tensor.state_scalars)) addRow(`state: ${key}`, num(scalar), "state");
  const caption = document.createElement("p");
  caption.className = "caption";
  caption.textContent = `At step ${header.step}${header.phase ? `, after ${header.phase}` : ""}.`;
  if ("update" in tensor.fields && !tensor.fields.update) caption.textContent += ` Update Δθ: ${missingUpdateReason(header.step)}.`;
  const optimizer = String(header.optimizer?.name ?? "");
  const info = optimizerInfo(optimizer);
  /** @type {HTMLElement[]} */
  let ledger;
  if (info && !info.ledger) {
    ledger = [paragraph("caption no-ledger", `No ledger rule is written for ${info.title}: this panel shows what step() did, not a prediction of it.`)];
  } else {
    const press = info?.phases === false ? "Press Step" : "Press Step or Next phase";
    ledger = ledgerOf(tensor, index, value, valueOf("predicted"), previous ? header.step : null, press);
  }
  detail.replaceChildren(heading, table, ...ledger, caption);
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

/** @param {string} className @param {string} text */
function paragraph(className, text) {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = text;
  return p;
}

/**
 * What step() gave against what the rule predicts: agreement, a difference, or (NaN and ±Inf)
 * no comparison at all — "they differ by NaN" says nothing true.
 * @param {number} predicted @param {number} actual
 */
export function verdictOf(predicted, actual) {
  const shown = `predicted ${formatNumber(predicted, 7)} · step() gave ${formatNumber(actual, 7)}`;
  if (!Number.isFinite(predicted) || !Number.isFinite(actual)) {
    if (predicted === actual) return { kind: "agrees", text: `${shown} · the same non-finite value` };
    const what = Number.isNaN(predicted) || Number.isNaN(actual) ? "NaN" : "Inf";
    return { kind: "nonfinite", text: `${shown} · ${what}: not comparable` };
  }
  const difference = actual - predicted;
  if (Math.abs(difference) <= AGREEMENT * Math.max(1, Math.abs(actual))) {
    return { kind: "agrees", text: `${shown} · they agree` };
  }
  return { kind: "mismatch", text: `${shown} · they differ by ${formatNumber(difference, 3)}` };
}

/**
 * The update ledger of one element.
 * @param {TensorRecord} tensor @param {number} index @param {number | null} actual
 * @param {number | null} predicted @param {number | null} previousStep the step the ledger is of,
 *   when that is not the snapshot's current phase
 * @param {string} press which controls show the rule written out ("Press Step or Next phase")
 * @returns {HTMLElement[]}
 */
function ledgerOf(tensor, index, actual, predicted, previousStep, press) {
  if (predicted === null || actual === null) return [];
  const nodes = [];
  const title = document.createElement("h4");
  title.className = "ledger-title";
  title.textContent = previousStep === null
    ? "Update ledger: the rule of this step"
    : `Update ledger: the rule of step ${previousStep}, the previous step()`;
  nodes.push(title);
  const lines = tensor.ledger?.[index];
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
    nodes.push(paragraph("caption", `${press} to see the rule written out with this element's numbers.`));
  }
  const verdict = verdictOf(predicted, actual);
  const p = paragraph(`verdict ${verdict.kind}`, verdict.text);
  p.dataset.testid = "ledger-verdict";
  nodes.push(p);
  return nodes;
}
