// @ts-check
/**
 * The confusion matrix of the validation samples (issue 9): a table, rows the true class and
 * columns the predicted one, each cell its count, shaded by its share of the row (the diagonal
 * blue, mistakes orange), so the numbers stay text a screen reader and a test can read.
 */
import { CLASS0, CLASS1, css, tint } from "../../lib/colors.js";

export class ConfusionMatrix {
  /** @param {HTMLTableElement} table @param {HTMLElement} summary */
  constructor(table, summary) {
    this.table = table;
    this.summary = summary;
    this.size = 0;
    /** @type {HTMLTableCellElement[][]} */
    this.cells = [];
  }

  /**
   * @param {number[][]} counts [true class][predicted class]
   * @param {number | null} step the step the counts are from: the accuracy readout beside it may
   *   be from a later evaluation, so the summary says which model it counts
   */
  render(counts, step = null) {
    const n = counts.length;
    if (n !== this.size) this.build(n);
    let total = 0;
    let right = 0;
    counts.forEach((row, t) => {
      const rowTotal = row.reduce((a, b) => a + b, 0);
      total += rowTotal;
      right += row[t] ?? 0;
      row.forEach((count, p) => {
        const cell = this.cells[t][p];
        const share = rowTotal ? count / rowTotal : 0;
        const text = String(count);
        if (cell.textContent !== text) cell.textContent = text;
        const ink = t === p ? CLASS1 : CLASS0;
        cell.style.background = count ? css(tint(ink, 1 - Math.max(0.08, share))) : "";
        cell.style.color = share > 0.6 ? "#ffffff" : "";
      });
    });
    const at = step === null ? "" : `At step ${step}: `;
    this.summary.textContent = `${at}${total} validation samples, ${right} on the diagonal (${total ? ((100 * right) / total).toFixed(1) : "—"}% right)`;
  }

  /** The table's head and body for n classes. @param {number} n */
  build(n) {
    this.size = n;
    const caption = document.createElement("caption");
    caption.textContent = "Rows: true class · columns: predicted class";
    const head = document.createElement("thead");
    const titleRow = head.insertRow();
    titleRow.append(document.createElement("td"));
    const predicted = document.createElement("th");
    predicted.colSpan = n;
    predicted.scope = "colgroup";
    predicted.className = "axis-title";
    predicted.textContent = "predicted class →";
    titleRow.append(predicted);
    const classes = head.insertRow();
    const corner = document.createElement("th");
    corner.className = "axis-title";
    corner.textContent = "true ↓";
    classes.append(corner);
    for (let p = 0; p < n; p++) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = String(p);
      classes.append(th);
    }
    const body = document.createElement("tbody");
    this.cells = [];
    for (let t = 0; t < n; t++) {
      const row = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = String(t);
      row.append(th);
      const cells = [];
      for (let p = 0; p < n; p++) {
        const td = row.insertCell();
        td.className = t === p ? "num diagonal" : "num";
        cells.push(td);
      }
      this.cells.push(cells);
    }
    this.table.replaceChildren(caption, head, body);
  }
}
