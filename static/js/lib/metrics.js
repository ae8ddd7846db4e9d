// @ts-check
/**
 * How the page names a run's loss and writes an accuracy. Pure: node --test checks it
 * (tests/js/metrics.test.js).
 */

/** The losses the builder offers (GET /api/builder's `losses`), as a chart's unit says them. */
export const LOSS_TITLES = /** @type {Record<string, string>} */ ({
  mse: "MSE",
  bce: "BCE with logits",
  cross_entropy: "cross-entropy",
});

/**
 * The run's loss in words: the one its config chose, else the experiment's own, else MSE (the
 * classic two, whose config and defaults leave it null, train on the mean squared error).
 * @param {string | null | undefined} chosen the run config's `loss`
 * @param {string | null | undefined} experimentDefault the experiment's default_config `loss`
 */
export function lossTitle(chosen, experimentDefault) {
  const name = chosen ?? experimentDefault ?? "mse";
  return LOSS_TITLES[name] ?? name;
}

/**
 * An accuracy in 0…1 as a percentage to one decimal ("97.3%"); "—" where none was measured.
 * @param {number | null | undefined} fraction
 */
export function formatPercent(fraction) {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "—";
  return `${(fraction * 100).toFixed(1)}%`;
}
