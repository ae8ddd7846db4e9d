// @ts-check
/**
 * The Compare panel: the loss curves of the runs chosen in the runs list on one chart, each run in
 * its own colour (its validation loss dashed in the same colour), named in uPlot's legend. Its own
 * view, apart from the followed run's loss chart: it draws runs that are not live, read once from
 * their JSON export. Hover reads every curve at a step; a NaN or Inf is not drawn (the line is
 * joined across it and across steps a curve has no value at).
 */
import uPlot from "../../vendor/uPlot.esm.js";
import { formatCompact, formatNumber, SERIES_COLORS } from "../format.js";
import { curvesOf, joined } from "../lib/compare.js";

/** @typedef {import("../lib/compare.js").RunExport} RunExport */

const HEIGHT = 280;

export class CompareChart {
  /** @param {HTMLElement} panel @param {HTMLElement} element the chart's box */
  constructor(panel, element) {
    this.panel = panel;
    this.element = element;
    /** @type {uPlot | null} */
    this.plot = null;
    new ResizeObserver(() => this.fit()).observe(element);
  }

  /**
   * Draw these runs (none: the panel hides).
   * @param {{id: string, label: string, exported: RunExport}[]} runs in the order they were chosen
   */
  render(runs) {
    this.panel.hidden = runs.length === 0;
    this.plot?.destroy();
    this.plot = null;
    this.element.dataset.runs = runs.map((r) => r.id).join(" ");
    if (runs.length === 0) return;
    const width = Math.max(200, this.element.clientWidth);
    const curves = curvesOf(runs, Math.max(100, width));
    const colorOf = (/** @type {number} */ run) => SERIES_COLORS[run % SERIES_COLORS.length];
    /** @type {uPlot.Series[]} */
    const series = [
      { label: "step", value: (_u, v) => (v === null ? "—" : String(v)) },
      ...curves.map((curve) => ({
        label: curve.label,
        stroke: colorOf(curve.run),
        width: curve.validation ? 2 : 1.5,
        dash: curve.validation ? [6, 4] : undefined,
        spanGaps: true,
        points: { show: false },
        value: (/** @type {uPlot} */ _u, /** @type {number | null} */ v) => formatNumber(v),
      })),
    ];
    this.element.dataset.curves = curves.map((c) => c.label).join(" | ");
    this.plot = new uPlot(
      {
        width,
        height: HEIGHT,
        series,
        scales: { x: { time: false } },
        axes: [
          { label: "optimizer step", values: (_u, ticks) => ticks.map((t) => formatCompact(t)) },
          { label: "loss", size: 60, values: (_u, ticks) => ticks.map((t) => formatCompact(t)) },
        ],
        legend: { live: true },
      },
      /** @type {uPlot.AlignedData} */ (/** @type {unknown} */ (joined(curves))),
      this.element,
    );
  }

  fit() {
    if (!this.plot) return;
    const width = Math.max(200, this.element.clientWidth);
    if (Math.abs(width - this.plot.width) > 1) this.plot.setSize({ width, height: HEIGHT });
  }
}
