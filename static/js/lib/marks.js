// @ts-check
/**
 * The loss chart's optimizer marks: what each change did, in a few words ("lr 0.01→0.1",
 * "SGD→Adam"), and where each label goes so that none overlaps another. Pure: node --test checks
 * it (tests/js/marks.test.js).
 */
import { formatCompact } from "../format.js";

/**
 * @typedef {Record<string, unknown> & {name: string}} OptimizerConfig
 * @typedef {{step: number, optimizer: OptimizerConfig, previous?: OptimizerConfig | null,
 *            fresh?: boolean}} Mark
 *   `previous` is the config this change replaced, where the server sends it; else the chart diffs
 *   consecutive marks.
 */

/**
 * @typedef {"nonfinite" | "exploding" | "vanishing" | "dead_units"} AlertKind
 * @typedef {{step: number, phase: string | null, tensor: string, detail: string, paused: boolean,
 *            kind?: AlertKind}} AlertMark
 *   an `alert` event (docs/protocol.md, "Alerts"), marked on the loss chart at its step; an alert
 *   without a kind (an older server) is a non-finite one
 */

/** What each kind of alert is called, on the chart and in the alerts panel, and its colour. */
export const ALERT_KINDS = /** @type {Record<AlertKind, {words: string, color: string}>} */ ({
  nonfinite: { words: "NaN/Inf", color: "rgb(214, 0, 214)" }, // format.js NAN_COLOR: as the NaN ticks
  exploding: { words: "Exploding gradient", color: "#b91c1c" },
  vanishing: { words: "Vanishing gradient", color: "#0e7490" },
  dead_units: { words: "Dead ReLU units", color: "#a16207" },
});

/** @param {AlertMark} alert */
export function alertKind(alert) {
  return ALERT_KINDS[alert.kind ?? "nonfinite"] ?? { words: String(alert.kind), color: "#374151" };
}

/**
 * An alert's label on the chart: its kind, then where, in a few words ("NaN/Inf: 1.weight.grad",
 * "Exploding gradient: all parameters").
 * @param {AlertMark} alert
 */
export function alertLabel(alert) {
  return `${alertKind(alert).words}: ${alert.tensor}`;
}

/**
 * An alert in words for the alerts panel: where (step and phase), then what.
 * @param {AlertMark} alert
 */
export function alertWhere(alert) {
  // "the loss phase of step 15": while the readout still counts 14 steps taken, the words say
  // which step was under way, as the run's reason does
  return alert.phase ? `The ${alert.phase} phase of step ${alert.step}` : "At initialisation";
}

/** Short names for hyperparameters in a label; others keep their config key. */
const SHORT = /** @type {Record<string, string>} */ ({
  lr: "lr",
  beta1: "β₁",
  beta2: "β₂",
  eps: "ε",
  weight_decay: "wd",
  momentum: "momentum",
  dampening: "dampening",
  nesterov: "Nesterov",
  amsgrad: "AMSGrad",
  alpha: "α",
  rho: "ρ",
});

/** @param {unknown} v */
function show(v) {
  if (typeof v === "number") return formatCompact(v, 4);
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "string") return formatCompact(Number(v), 4) === "NaN" ? v : formatCompact(Number(v), 4);
  return String(v);
}

/**
 * What changed from `before` to `after`, e.g. "lr 0.01→0.1", "SGD→Adam, lr 0.01→0.001".
 * A new optimizer with no known predecessor reads as its title and learning rate.
 * @param {OptimizerConfig | null | undefined} before @param {OptimizerConfig} after
 * @param {(name: string) => string} [title] an optimizer's display title
 */
export function describeChange(before, after, title = (name) => name) {
  if (!before) return `${title(after.name)}, lr ${show(after.lr)}`;
  /** @type {string[]} */
  const parts = [];
  const switched = before.name !== after.name;
  if (switched) parts.push(`${title(before.name)}→${title(after.name)}`);
  for (const key of Object.keys(after)) {
    if (key === "name") continue;
    // After a switch, only what the two optimizers share and the learning rate are compared:
    // Adam's betas did not "change" from SGD's absent ones.
    if (switched && key !== "lr") continue;
    if (!(key in before) || Object.is(before[key], after[key])) continue;
    parts.push(`${SHORT[key] ?? key} ${show(before[key])}→${show(after[key])}`);
  }
  return parts.length ? parts.join(", ") : "no change";
}

/**
 * One label per mark, each diffed against what it replaced: its `previous` where the server sends
 * it, else the mark before it, else the config the page saw in force just before this one
 * (`seen`: the run's configs in the order the page saw them, live).
 * @param {Mark[]} marks @param {(name: string) => string} [title]
 * @param {OptimizerConfig[]} [seen]
 * @returns {string[]}
 */
export function markLabels(marks, title, seen = []) {
  return marks.map((mark, i) =>
    describeChange(mark.previous ?? marks[i - 1]?.optimizer ?? seenBefore(seen, mark.optimizer), mark.optimizer, title),
  );
}

/**
 * The config seen just before `config`, or null when it was the first seen (or never seen).
 * @param {OptimizerConfig[]} seen @param {OptimizerConfig} config
 */
function seenBefore(seen, config) {
  const key = JSON.stringify(config);
  const at = seen.map((c) => JSON.stringify(c)).lastIndexOf(key);
  return at > 0 ? seen[at - 1] : null;
}

/**
 * The configs a page saw, in order, without repeats in a row: what `markLabels` diffs a mark
 * against when nothing else says what it replaced.
 * @param {OptimizerConfig[]} seen @param {OptimizerConfig} config @returns {OptimizerConfig[]}
 */
export function noteConfig(seen, config) {
  const last = seen[seen.length - 1];
  return last && JSON.stringify(last) === JSON.stringify(config) ? seen : [...seen, config];
}

/**
 * @typedef {{x: number, text: string}} LabelInput x in pixels, where the mark's line is
 * @typedef {{index: number, x: number, row: number, text: string, hidden: number[]}} PlacedLabel
 *   `hidden` are the indices of marks whose labels did not fit and are counted in this one
 */

/**
 * Place labels left to right in up to `rows` rows, each just right of its mark's line, never
 * overlapping; a label with no room in any row is folded into the nearest label placed before
 * it, which then reads "… +n". Labels past the right edge are pulled back left of their line.
 * @param {LabelInput[]} labels sorted by x
 * @param {{rows: number, gap: number, pad: number, right: number, measure: (text: string) => number}} options
 * @returns {PlacedLabel[]}
 */
export function layoutLabels(labels, { rows, gap, pad, right, measure }) {
  /** @type {PlacedLabel[]} */
  const placed = [];
  /** Right edge of the last label in each row. */
  const ends = Array(Math.max(1, rows)).fill(-Infinity);
  /** @type {PlacedLabel | null} */
  let last = null;
  /** @param {PlacedLabel} label */
  const textOf = (label) => (label.hidden.length ? `${label.text} +${label.hidden.length}` : label.text);
  /** Left edge of a label of this width at this line: right of it, or left of it at the edge. */
  const leftOf = (/** @type {number} */ x, /** @type {number} */ width) =>
    x + pad + width <= right ? x + pad : Math.max(0, x - pad - width);
  labels.forEach((label, index) => {
    const width = measure(label.text);
    const left = leftOf(label.x, width);
    const row = ends.findIndex((end) => end + gap <= left);
    if (row >= 0) {
      last = { index, x: left, row, text: label.text, hidden: [] };
      placed.push(last);
      ends[row] = left + width;
      return;
    }
    if (last) {
      last.hidden.push(index);
      ends[last.row] = Math.max(ends[last.row], last.x + measure(textOf(last)));
    }
  });
  return placed.map((label) => ({ ...label, text: textOf(label) }));
}
