// @ts-check
/**
 * The training-health panels (issue 10), under the board: distributions over time, gradient norm
 * and update ratio per tensor, dead ReLU units, and what the instrumentation costs. Shown once the
 * run has a health point. The entry module hands them the store's health history, the run and the
 * smoothing weight; they never read the store.
 */
import { DeadUnitsView } from "./deadUnits.js";
import { DistributionsView } from "./distributions.js";
import { LayerChart } from "./layerChart.js";
import { OverheadView } from "./overhead.js";

/**
 * @typedef {import("./history.js").HealthHistory} HealthHistory
 * @typedef {import("../../contract/contract").RunInfo} RunInfo
 */

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** The update ratio's customary guide: an update about a thousandth of the parameter's size. */
export const RATIO_GUIDE = 1e-3;

export class HealthPanels {
  /** @param {() => ArrayLike<number>} arrivals the snapshots' arrival times (performance.now()) */
  constructor(arrivals) {
    this.board = byId("health");
    this.distributions = new DistributionsView(
      byId("dist-plot"),
      /** @type {HTMLSelectElement} */ (byId("dist-tensor")),
      /** @type {HTMLSelectElement} */ (byId("dist-field")),
      byId("dist-readout"),
      byId("dist-caption"),
    );
    this.norms = new LayerChart(byId("norm-chart"), {
      key: "gradNorm",
      yLabel: "‖g‖ (log scale)",
      alertKinds: ["exploding", "vanishing", "nonfinite"],
      total: true,
    });
    this.ratios = new LayerChart(byId("ratio-chart"), {
      key: "updateRatio",
      yLabel: "‖Δθ‖ / ‖θ‖ (log scale)",
      guide: { value: RATIO_GUIDE, text: "1e−3 guide" },
    });
    this.dead = new DeadUnitsView(byId("dead-units"), byId("dead-as-of"));
    this.overhead = new OverheadView(byId("overhead"), /** @type {HTMLInputElement} */ (byId("budget")), arrivals);
  }

  /** @param {(budget: number) => Promise<unknown>} change */
  bindBudget(change) {
    this.overhead.bindBudget(change);
  }

  /** @param {HealthHistory} history */
  render(history) {
    const shown = history.length > 0;
    // Hidden until the run has a health point; kept (not flickered away) across a reset's gap.
    if (shown && this.board.hidden) this.board.hidden = false;
    if (this.board.hidden) return;
    this.distributions.render(history);
    this.norms.render(history);
    this.ratios.render(history);
    this.dead.render(history);
    this.overhead.render(history);
  }

  /** @param {RunInfo | null} run */
  renderRun(run) {
    this.overhead.renderRun(run);
  }

  /** The run's alerts: the gradient ones are marked on the norm chart. @param {import("../../lib/marks.js").AlertMark[]} alerts */
  setAlerts(alerts) {
    this.norms.setAlerts(alerts);
  }

  /** @param {number} weight */
  setSmoothing(weight) {
    this.norms.setSmoothing(weight);
    this.ratios.setSmoothing(weight);
  }
}
