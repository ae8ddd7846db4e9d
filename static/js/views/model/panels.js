// @ts-check
/**
 * The model's panels (issue 9), shown only for runs whose snapshots carry `views`: the model's
 * output over its input with the samples, each hidden unit's map, the network diagram, the
 * confusion matrix and the first layer's weights; and, on the loss panel, the run's loss named
 * and the latest accuracies. The entry module hands it the run, the views and the evaluations; it
 * never reads the store.
 */
import { formatPercent, lossTitle } from "../../lib/metrics.js";
import { ModelOutput } from "./boundary.js";
import { ConfusionMatrix } from "./confusion.js";
import { FilterImages } from "./filters.js";
import { NetworkDiagram } from "./network.js";
import { UnitMaps } from "./units.js";

/**
 * @typedef {import("../../contract/contract").RunInfo} RunInfo
 * @typedef {import("../../protocol.js").Views} Views
 * @typedef {import("../../api.js").DataPoints} DataPoints
 * @typedef {import("../../lib/evaluations.js").EvaluationSeries} EvaluationSeries
 */

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export class ModelPanels {
  /**
   * @param {{name: string, default_config?: {loss?: string | null}}[]} experiments GET /api/experiments
   * @param {(runId: string) => Promise<DataPoints>} loadPoints GET /api/runs/{id}/points
   */
  constructor(experiments, loadPoints) {
    this.experiments = experiments;
    this.loadPoints = loadPoints;
    this.board = /** @type {HTMLElement} */ (document.querySelector(".board"));
    this.output = new ModelOutput(byId("output-plot"), byId("output-title"), byId("output-key"));
    this.units = new UnitMaps(byId("unit-maps"));
    this.network = new NetworkDiagram(byId("network-plot"), byId("edge-modes"), byId("network-caption"));
    this.confusion = new ConfusionMatrix(/** @type {HTMLTableElement} */ (byId("confusion-table")), byId("confusion-summary"));
    this.filters = new FilterImages(byId("filter-grid"), byId("filters-unit"));
    /** @type {Record<string, HTMLElement>} */
    this.panels = {
      output: panelOf("output-plot"),
      units: panelOf("unit-maps"),
      network: panelOf("network-plot"),
      confusion: panelOf("confusion-table"),
      filters: panelOf("filter-grid"),
    };
    /** @type {Record<string, HTMLElement>} each panel's "step N" in its head */
    this.asOf = Object.fromEntries(
      Object.entries(this.panels).map(([name, panel]) => {
        const span = document.createElement("span");
        span.className = "as-of";
        panel.querySelector(".panel-head h2")?.append(span);
        return [name, span];
      }),
    );
    this.accuracy = byId("accuracy");
    this.validationAccuracy = byId("val-accuracy");
    this.trainAccuracy = byId("train-accuracy");
    /** @type {string | null} the run whose samples were asked for */
    this.pointsOf = null;
    /** @type {string | null} the run the panels were last drawn for */
    this.shownFor = null;
    this.evaluated = false;
  }

  /**
   * @param {RunInfo | null} run
   * @param {Views | null} views the newest snapshot's; null between a reset or reconnect and the
   *   next snapshot too, when the panels keep their last picture rather than flicker
   * @param {number | null} [step] the step the views picture, written on each panel (`data-step`)
   */
  render(run, views, step = null) {
    this.nameLoss(run);
    if (!views) {
      if (run?.id !== this.shownFor) this.show(null);
      return;
    }
    this.shownFor = run?.id ?? null;
    this.show(views);
    // Pictures come with snapshots, which a busy run sends less often than evaluations: the step
    // each panel shows is in its title (and its data-step), so a reader and a test can tell.
    if (step !== null) {
      for (const [name, panel] of Object.entries(this.panels)) {
        if (panel.dataset.step === String(step)) continue;
        panel.dataset.step = String(step);
        this.asOf[name].textContent = `step ${step}`;
      }
    }
    if (run && run.id !== this.pointsOf && (views.plane || views.curve)) {
      this.pointsOf = run.id;
      this.output.setPoints(null);
      const asked = run.id;
      // A run whose inputs are not one or two numbers has no points (404): the model is drawn
      // alone. Any other failure (the server unreachable for a moment) is asked again next snapshot.
      this.loadPoints(asked)
        .then((points) => this.pointsOf === asked && this.output.setPoints(points))
        .catch((/** @type {{status?: number}} */ error) => {
          if (error.status !== 404 && this.pointsOf === asked) this.pointsOf = null;
        });
    }
    if (views.plane || views.curve) this.output.render(views.plane, views.curve);
    if (views.plane?.units.length) this.units.render(views.plane, views.network?.layers ?? []);
    if (views.network) this.network.render(views.network);
    if (views.confusion) this.confusion.render(views.confusion, step);
    if (views.filters) this.filters.render(views.filters);
  }

  /** Each panel shown where its view exists; the board's layout follows. @param {Views | null} views */
  show(views) {
    const shown = {
      output: Boolean(views?.plane || views?.curve),
      units: Boolean(views?.plane?.units.length),
      network: Boolean(views?.network),
      confusion: Boolean(views?.confusion),
      filters: Boolean(views?.filters),
    };
    for (const [name, panel] of Object.entries(this.panels)) {
      const hide = !shown[/** @type {keyof typeof shown} */ (name)];
      if (panel.hidden !== hide) panel.hidden = hide;
    }
    this.board.classList.toggle("with-views", views !== null);
    // The board's first row has the model's output or its confusion matrix; the second row's
    // right-hand cell the unit maps or the filters, or the network reaches down into it.
    this.board.classList.toggle("with-side", shown.units || shown.filters);
    this.board.classList.toggle("with-both", shown.output && shown.confusion);
  }

  /** The loss chart's title names the run's loss. @param {RunInfo | null} run */
  nameLoss(run) {
    if (!run) return;
    const own = this.experiments.find((e) => e.name === run.experiment)?.default_config?.loss;
    // An attached script's loss is whatever it logged as `loss`: the page cannot name its function.
    const title = run.config ? lossTitle(run.config.loss, own) : "as the script logged it";
    // With evaluations the legend names the lines (per batch, training set, validation).
    const text = this.evaluated ? `(${title})` : `(${title}, per step)`;
    const name = this.evaluated ? "Loss" : "Training loss";
    const heading = byId("loss-name");
    if (heading.textContent !== name) heading.textContent = name;
    const unit = byId("loss-unit");
    if (unit.textContent !== text) unit.textContent = text;
  }

  /** The latest accuracies, for classification. @param {EvaluationSeries} evaluations @param {RunInfo | null} run */
  setEvaluations(evaluations, run) {
    this.evaluated = evaluations.count > 0;
    this.nameLoss(run);
    const shown = evaluations.hasAccuracy;
    if (this.accuracy.hidden === shown) this.accuracy.hidden = !shown;
    const last = evaluations.count - 1;
    const validation = last >= 0 ? formatPercent(evaluations.validationAccuracy[last]) : "—";
    const train = last >= 0 ? formatPercent(evaluations.trainAccuracy[last]) : "—";
    if (this.validationAccuracy.textContent !== validation) this.validationAccuracy.textContent = validation;
    if (this.trainAccuracy.textContent !== train) this.trainAccuracy.textContent = train;
    this.accuracy.dataset.step = last >= 0 ? String(evaluations.steps[last]) : "";
  }
}

/** @param {string} id an element inside the panel */
function panelOf(id) {
  return /** @type {HTMLElement} */ (byId(id).closest("section"));
}
