// @ts-check
/** One visual language: number formatting and the colour scales shared by every panel. */

export const NAN_COLOR = [214, 0, 214]; // magenta: never mistaken for a value on the scale
export const POS_INF_COLOR = [40, 40, 40];
export const NEG_INF_COLOR = [40, 40, 40];

/** Fixed significant digits in a monospace face; NaN and Inf spelled out. @param {number} x */
export function formatNumber(x, digits = 4) {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "−Inf";
  if (x === 0) return "0";
  const magnitude = Math.abs(x);
  if (magnitude >= 1e5 || magnitude < 1e-3) return x.toExponential(digits - 1).replace("-", "−");
  return x.toPrecision(digits).replace("-", "−");
}

/**
 * Diverging scale (TensorFlow Playground's): orange for negative, blue for positive, grey at zero.
 * @param {number} x value
 * @param {number} scale the magnitude that reaches full colour
 * @returns {number[]} rgb
 */
export function divergingColor(x, scale) {
  if (Number.isNaN(x)) return NAN_COLOR;
  if (x === Infinity) return POS_INF_COLOR;
  if (x === -Infinity) return NEG_INF_COLOR;
  const t = scale > 0 ? Math.max(-1, Math.min(1, x / scale)) : 0;
  const zero = [236, 238, 240];
  const end = t < 0 ? [245, 147, 34] : [8, 119, 189];
  const a = Math.abs(t);
  return zero.map((z, i) => Math.round(z + (end[i] - z) * a));
}

/** Largest finite magnitude in an array (0 when none). @param {ArrayLike<number>} values */
export function maxAbs(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i]);
    if (Number.isFinite(v) && v > m) m = v;
  }
  return m;
}

/** What each field of a tensor is called on the page, and its accent colour class. */
export const FIELD_LABELS = /** @type {Record<string, string>} */ ({
  value: "value θ",
  grad: "gradient g",
  update: "update Δθ",
});

/** @param {string} field */
export function fieldLabel(field) {
  return FIELD_LABELS[field] ?? field.replace(/^state\./, "state: ");
}

/** @param {string} field */
export function fieldAccent(field) {
  if (field === "value" || field === "grad" || field === "update") return field;
  return "state";
}
