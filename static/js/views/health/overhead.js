// @ts-check
/**
 * What watching the run costs right now (issue 10): the share of training time the instrumentation
 * took lately against its budget, the latest snapshot's cost and the governor's spacing (from the
 * newest health point), and how often snapshots really arrive here (measured in the page, from
 * their arrival times). The budget is a field: a percentage, sent as a share
 * (PUT /api/runs/{id}/instrumentation {"budget": 0.05}). Text that is no number is refused beside
 * the field and not sent; a number the server refuses (422) shows the server's sentence, and the
 * field goes back to the budget in force.
 */
import { formatNumber } from "../../format.js";
import { fieldText, fitWidth, readNumber, settle, showError } from "../fields.js";
import { num } from "../../protocol.js";

/**
 * @typedef {import("./history.js").HealthHistory} HealthHistory
 * @typedef {import("../../contract/contract").RunInfo} RunInfo
 */

/** Arrivals older than this (ms) do not count towards the rate. */
export const RATE_WINDOW_MS = 10_000;

/**
 * Snapshots per second from arrival times (ms, ascending): those within the window before `now`,
 * over the window; while the page has received for less than the window (its first arrival kept
 * is within it), over the time since that first arrival. A paused run's rate falls to 0 as its
 * last arrivals age out of the window.
 * @param {ArrayLike<number>} times @param {number} now @param {number} [window]
 * @returns {{rate: number | null, count: number}} rate null with nothing to measure yet
 */
export function arrivalRate(times, now, window = RATE_WINDOW_MS) {
  let first = times.length;
  for (let i = 0; i < times.length; i++) {
    if (now - times[i] <= window) {
      first = i;
      break;
    }
  }
  const count = times.length - first;
  if (!times.length) return { rate: null, count };
  if (first > 0) return { rate: (count * 1000) / window, count }; // older arrivals were seen: a whole window
  const span = now - times[0];
  return { rate: count >= 2 && span > 0 ? ((count - 1) * 1000) / span : null, count };
}

/** A share as a percentage, to two significant digits below 10% ("0.84%", "3.1%", "12%"). @param {number} share */
export function percentText(share) {
  if (!Number.isFinite(share)) return formatNumber(share);
  const p = share * 100;
  return `${p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(1) : p.toPrecision(2)}%`;
}

export class OverheadView {
  /**
   * @param {HTMLElement} panel @param {HTMLInputElement} budget the field, in per cent
   * @param {() => ArrayLike<number>} arrivals the snapshots' arrival times (performance.now())
   */
  constructor(panel, budget, arrivals) {
    this.panel = panel;
    this.budget = budget;
    this.arrivals = arrivals;
    this.share = /** @type {HTMLElement} */ (panel.querySelector("[data-testid=overhead-share]"));
    this.snapshot = /** @type {HTMLElement} */ (panel.querySelector("[data-testid=snapshot-cost]"));
    this.rate = /** @type {HTMLElement} */ (panel.querySelector("[data-testid=snapshot-rate]"));
    /** @type {HealthHistory | null} */
    this.history = null;
    /** The budget in force (a share), as the run says. */
    this.inForce = 0.05;
    this.editing = false;
    // The rate falls while nothing arrives (a paused run): it is read again every second.
    setInterval(() => this.renderRate(), 1000);
  }

  /** @param {(budget: number) => Promise<unknown>} change called with a share (0.05 for 5%) */
  bindBudget(change) {
    const send = () => {
      const current = `${fieldText(this.inForce * 100)}%`;
      const percent = readNumber(this.budget, current);
      if (percent === null) return;
      this.editing = true;
      settle(
        this.budget,
        change(percent / 100).finally(() => (this.editing = false)),
        () => this.showBudget(this.inForce),
        current,
      );
    };
    this.budget.addEventListener("change", send);
    this.budget.addEventListener("input", () => fitWidth(this.budget));
  }

  /** The budget in force, from the run. @param {RunInfo | null} run */
  renderRun(run) {
    const budget = run?.instrumentation?.budget;
    if (budget === undefined) return;
    this.inForce = num(budget);
    if (!this.editing && document.activeElement !== this.budget) this.showBudget(this.inForce);
  }

  /** @param {number} share */
  showBudget(share) {
    this.budget.value = fieldText(Number((share * 100).toPrecision(6)));
    fitWidth(this.budget);
  }

  /** @param {HealthHistory} history */
  render(history) {
    this.history = history;
    const overhead = history.latest?.overhead;
    if (!overhead) {
      this.share.textContent = "—";
      this.snapshot.textContent = "—";
    } else {
      const share = num(overhead.share);
      const budget = num(overhead.budget);
      // the share of running time: 0 until the run has run
      this.share.textContent = `${percentText(share)} of training time (budget ${percentText(budget)})`;
      this.share.dataset.share = String(share);
      this.share.classList.toggle("over-budget", share > budget * 1.2);
      const interval = num(overhead.interval_s);
      const spacing = `the governor spaces them ${formatNumber(interval, 2)} s apart`;
      // null: no snapshot was timed yet (a point reports the one before it)
      const cost = overhead.snapshot_ms === null ? "not timed yet" : `${formatNumber(num(overhead.snapshot_ms), 3)} ms`;
      this.snapshot.textContent = `${cost}; ${spacing}`;
      this.snapshot.dataset.ms = overhead.snapshot_ms === null ? "" : String(num(overhead.snapshot_ms));
    }
    this.renderRate();
  }

  renderRate() {
    const { rate, count } = arrivalRate(this.arrivals(), performance.now());
    const seconds = RATE_WINDOW_MS / 1000;
    const text = rate === null
      ? count === 1 ? "1 so far" : "none yet"
      : count === 0
        ? `none in the last ${seconds} s`
        : `${formatNumber(rate, 2)} a second (${count} in the last ${seconds} s)`;
    if (this.rate.textContent !== text) this.rate.textContent = text;
    this.rate.dataset.rate = rate === null ? "" : String(rate);
  }

  /** Forget a refusal shown for another run's budget. */
  clearError() {
    showError(this.budget, null);
  }
}
