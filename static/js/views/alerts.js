// @ts-check
/**
 * The alerts panel: each alert the run raised (its kind in words and colour, step, phase, the
 * tensor, what was found), and the switch that makes a NaN or Inf pause the run
 * (docs/protocol.md, "Alerts"). The kinds: a NaN or Inf (pauses the run), an exploding gradient
 * norm, a vanishing gradient, dead ReLU units (listed and marked only).
 */
import { alertKind, alertWhere } from "../lib/marks.js";

/**
 * @typedef {import("../lib/marks.js").AlertMark} AlertMark
 * @typedef {import("../contract/contract").RunInfo} RunInfo
 */

export class AlertsView {
  /**
   * @param {HTMLElement} panel the panel, hidden while the run has no alert
   * @param {HTMLOListElement} list @param {HTMLInputElement} toggle "Pause on NaN/Inf"
   */
  constructor(panel, list, toggle) {
    this.panel = panel;
    this.list = list;
    this.toggle = toggle;
  }

  /** @param {(alerts: {nonfinite: boolean}) => Promise<unknown>} change */
  bindSwitch(change) {
    this.toggle.addEventListener("change", () => {
      const wanted = this.toggle.checked;
      this.toggle.disabled = true;
      change({ nonfinite: wanted })
        .catch(() => {
          this.toggle.checked = !wanted; // refused: show the setting in force
        })
        .finally(() => {
          this.toggle.disabled = false;
        });
    });
  }

  /** @param {RunInfo | null} run */
  renderRun(run) {
    if (run && !this.toggle.disabled) this.toggle.checked = run.alerts?.nonfinite ?? true;
    this.toggle.title = "A NaN or Inf in the loss, a gradient, a parameter or the optimizer state pauses the run";
  }

  /** @param {AlertMark[]} alerts */
  render(alerts) {
    this.panel.hidden = alerts.length === 0;
    this.list.replaceChildren(
      ...alerts.map((alert) => {
        const item = document.createElement("li");
        item.dataset.kind = alert.kind ?? "nonfinite";
        const { words, color } = alertKind(alert);
        item.style.color = color; // its kind's colour, as its mark on the loss chart
        const kind = document.createElement("b");
        kind.className = "alert-kind";
        kind.textContent = `${words} · `;
        const where = document.createElement("b");
        where.textContent = `${alertWhere(alert)} · `;
        const tensor = document.createElement("code");
        tensor.textContent = alert.tensor;
        const what = document.createElement("span");
        what.textContent = `: ${alert.detail}${alert.paused ? "; the run paused here" : ""}`;
        item.append(kind, where, tensor, what);
        return item;
      }),
    );
    // the newest in view from its first line: an item longer than the list's two lines is
    // read from its start (scrolling to the end cut its first line in half)
    const newest = /** @type {HTMLElement | null} */ (this.list.lastElementChild);
    this.list.scrollTop = newest ? newest.offsetTop : 0; // the list is positioned (app.css)
  }
}
