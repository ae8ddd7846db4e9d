// @ts-check
/**
 * A configuration's settings in words: the titles the page shows (torch's class names, Playground's
 * feature names) and what changed between two configurations, for the notice that says why a new
 * run started. Pure functions: node's test runner checks them.
 */

/** @typedef {import("../contract/contract").Architecture} Architecture */

/** Each activation as torch names its module. @type {Record<string, string>} */
export const ACTIVATION_TITLES = {
  relu: "ReLU",
  tanh: "Tanh",
  sigmoid: "Sigmoid",
  gelu: "GELU",
  identity: "identity",
};

/** Playground's input features, as they are written in mathematics. @type {Record<string, string>} */
export const FEATURE_TITLES = {
  x1: "x₁",
  x2: "x₂",
  "x1^2": "x₁²",
  "x2^2": "x₂²",
  "x1*x2": "x₁x₂",
  "sin x1": "sin x₁",
  "sin x2": "sin x₂",
};

/** The data's settings, in the order and the words the page uses. */
export const DATA_TITLES = /** @type {const} */ ({
  seed: "seed",
  n_samples: "samples",
  noise: "noise",
  validation_fraction: "validation share",
  batch_size: "batch size",
});

const KIND_TITLES = /** @type {Record<string, string>} */ ({ mlp: "MLP", cnn: "CNN" });

/** @param {string} name */
export const activationTitle = (name) => ACTIVATION_TITLES[name] ?? name;
/** @param {string} name */
export const featureTitle = (name) => FEATURE_TITLES[name] ?? name;

/** @param {number} n */
export function hiddenLayers(n) {
  return n === 1 ? "1 hidden layer" : `${n} hidden layers`;
}

/** Hidden widths as a network's shape is written: 16-16-8, or "none". @param {number[]} hidden */
export function widths(hidden) {
  return hidden.length ? hidden.join("-") : "none";
}

/**
 * What changed in the model, each difference as a phrase ("2 hidden layers → 3: 16-16 → 16-16-8").
 * @param {Architecture | null} before @param {Architecture | null} after
 * @returns {string[]}
 */
export function architectureChanges(before, after) {
  if (!before || !after) return before === after ? [] : ["the experiment's own model ↔ the builder's"];
  /** @type {string[]} */
  const parts = [];
  if (before.kind !== after.kind) parts.push(`${KIND_TITLES[before.kind] ?? before.kind} → ${KIND_TITLES[after.kind] ?? after.kind}`);
  // A CNN's layers are its own: its hidden widths and activation are not what runs.
  const mlp = after.kind === "mlp" && before.kind === "mlp";
  if (mlp && before.hidden.length !== after.hidden.length) {
    parts.push(`${hiddenLayers(before.hidden.length)} → ${after.hidden.length}: ${widths(before.hidden)} → ${widths(after.hidden)}`);
  } else if (mlp && widths(before.hidden) !== widths(after.hidden)) {
    parts.push(`hidden units ${widths(before.hidden)} → ${widths(after.hidden)}`);
  }
  if (mlp && before.activation !== after.activation) {
    parts.push(`activation ${activationTitle(before.activation)} → ${activationTitle(after.activation)}`);
  }
  const inputs = (/** @type {string[]} */ names) => names.map(featureTitle).join(", ");
  if (inputs(before.features) !== inputs(after.features)) {
    parts.push(`inputs ${inputs(before.features)} → ${inputs(after.features)}`);
  }
  return parts;
}

/**
 * What changed between two configurations that makes a new run, in words, in the page's order:
 * the data ("batch size 1 (was 32)"), then the model, then the loss.
 * @param {Record<string, any>} before @param {Record<string, any>} after
 * @param {Record<string, string>} [lossTitles] torch's class name of each loss
 * @returns {string[]}
 */
export function describeChange(before, after, lossTitles = {}) {
  /** @type {string[]} */
  const parts = [];
  for (const [key, title] of Object.entries(DATA_TITLES)) {
    if (after[key] !== undefined && before[key] !== after[key]) parts.push(`${title} ${after[key]} (was ${before[key]})`);
  }
  const model = architectureChanges(before.architecture ?? null, after.architecture ?? null);
  if (model.length) parts.push(`the architecture changed (${model.join("; ")})`);
  if ((before.loss ?? null) !== (after.loss ?? null)) {
    const title = (/** @type {string | null} */ name) => (name == null ? "the experiment's own" : lossTitles[name] ?? name);
    parts.push(`the loss changed (${title(before.loss ?? null)} → ${title(after.loss ?? null)})`);
  }
  return parts;
}

/**
 * The optimizer a new run keeps, in words: "the optimizer is the same (Adam, lr 0.03)".
 * @param {{name: string, lr?: number}} optimizer @param {string} [title]
 */
export function sameOptimizer(optimizer, title) {
  const lr = optimizer.lr === undefined ? "" : `, lr ${optimizer.lr}`;
  return `the optimizer is the same (${title ?? optimizer.name}${lr})`;
}
