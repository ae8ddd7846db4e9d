// @ts-check
/**
 * The code of the loop that actually runs (fetched from the engine), with the current phase's
 * line marked, and what that phase just changed, in words and numbers.
 */
import { formatNumber } from "../format.js";
import { num } from "../protocol.js";

/**
 * @typedef {{file: string, first_line: number, lines: string[],
 *            phases: Record<string, number[]>, main: Record<string, number>}} LoopSource
 */

export class CodeView {
  /** @param {HTMLElement} code @param {HTMLElement} file @param {HTMLElement} result @param {LoopSource} source */
  constructor(code, file, result, source) {
    this.source = source;
    this.result = result;
    file.textContent = `${source.file}, line ${source.first_line}`;
    this.lines = source.lines.map((text) => {
      const line = document.createElement("span");
      line.className = "line";
      line.textContent = text || " ";
      return line;
    });
    code.replaceChildren(...this.lines);
    /** @type {string | null} */
    this.phase = null;
  }

  /** @param {import("../protocol.js").Snapshot | null} snapshot @param {string | null} phase */
  render(snapshot, phase) {
    if (phase !== this.phase) {
      this.phase = phase;
      const inPhase = new Set(phase ? this.source.phases[phase] ?? [] : []);
      const main = phase ? this.source.main[phase] : -1;
      this.lines.forEach((line, i) => {
        line.classList.toggle("in-phase", inPhase.has(i));
        if (i === main) line.setAttribute("aria-current", "step");
        else line.removeAttribute("aria-current");
      });
    }
    this.result.replaceChildren(...explain(snapshot, phase));
  }
}

/** @param {string} text */
function para(text) {
  const p = document.createElement("p");
  p.textContent = text;
  return p;
}

/**
 * What the phase that just ran changed.
 * @param {import("../protocol.js").Snapshot | null} snapshot @param {string | null} phase
 * @returns {HTMLElement[]}
 */
function explain(snapshot, phase) {
  if (!snapshot || !phase) return [para("Press Next phase to run the loop one phase at a time.")];
  const header = snapshot.header;
  const norms = (/** @type {string} */ field) =>
    header.tensors
      .map((t) => {
        const record = t.fields[field];
        return `${t.name} ${record ? `‖·‖ = ${formatNumber(num(record.stats.norm))}` : "None"}`;
      })
      .join(", ");
  switch (phase) {
    case "zero_grad":
      return [para("zero_grad(set_to_none=True): every .grad is None again, ready for a new backward."),
        para(`.grad: ${norms("grad")}`)];
    case "forward": {
      const batch = /** @type {any} */ (header).batch;
      if (!batch) return [para("forward: the model computed its predictions.")];
      const table = document.createElement("table");
      const head = table.createTHead().insertRow();
      for (const label of ["row", "prediction ŷ", "target y"]) {
        const th = document.createElement("th");
        th.textContent = label;
        head.append(th);
      }
      const body = table.createTBody();
      batch.predictions.forEach((/** @type {number} */ p, /** @type {number} */ i) => {
        const row = body.insertRow();
        for (const value of [String(i), formatNumber(num(p)), formatNumber(num(batch.targets[i]))]) {
          row.insertCell().textContent = value;
        }
      });
      return [para(`forward: predictions for a batch of ${batch.size} (the first ${batch.predictions.length} shown):`), table];
    }
    case "loss":
      return [para(`loss = MSELoss(ŷ, y) = ${formatNumber(num(/** @type {any} */ (header).loss), 6)}`),
        para("Nothing has a gradient yet: backward comes next.")];
    case "backward":
      return [para("backward(): every parameter's .grad is filled with ∂loss/∂θ."), para(`.grad: ${norms("grad")}`)];
    case "step":
      return [para(`step(): the optimizer moved every parameter (step ${header.step}).`),
        para(`update Δθ: ${norms("update")}`)];
    default:
      return [];
  }
}
