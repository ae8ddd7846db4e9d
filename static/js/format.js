// @ts-check
/**
 * One visual language: number formatting and the colour scales shared by every panel. Pure: no
 * DOM, so node --test checks it (tests/js/format.test.js).
 *
 * Every number on the page goes through here, so it reads the same everywhere: "−" (U+2212) for
 * every minus sign, mantissa and exponent alike; "NaN", "+Inf" and "−Inf" spelled out; an
 * exponent written "1.000e−6" (no "+" and no leading zeros), never rounded away to "0.00000".
 */

/** One colour per line and trail: the run's own first, then each racer, on every chart and map. */
export const SERIES_COLORS = ["#1d4ed8", "#dc2626", "#059669", "#7c3aed", "#b45309"];

export const NAN_COLOR = [214, 0, 214]; // magenta: never mistaken for a value on the scale
export const POS_INF_COLOR = [40, 40, 40];
export const NEG_INF_COLOR = [40, 40, 40];

export const MINUS = "\u2212";

/**
 * JavaScript's number text with the page's signs: "-" becomes "−" everywhere, "e+" becomes "e".
 * @param {string} text
 */
function typeset(text) {
  return text.replace("e+", "e").replaceAll("-", MINUS);
}

/** NaN and ±Inf as the page spells them, or null for a finite number. @param {number} x */
function nonFinite(x) {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return `${MINUS}Inf`;
  return null;
}

/**
 * Fixed significant digits (for a monospace face), in plain notation from 0.001 to 99999 and in
 * exponent notation outside it, so 1e-6 reads "1.000e−6" and never "0.00000". An integer part
 * longer than `digits` is written in full (12345, not 1.235e4). null and undefined read "—".
 * @param {number | null | undefined} x @param {number} [digits] significant digits, 1 to 17
 */
export function formatNumber(x, digits = 4) {
  if (x === null || x === undefined) return "—";
  const special = nonFinite(x);
  if (special) return special;
  if (x === 0) return "0";
  const magnitude = Math.abs(x);
  if (magnitude >= 1e5 || magnitude < 1e-3) return typeset(x.toExponential(digits - 1));
  const integerDigits = Math.max(1, Math.floor(Math.log10(magnitude)) + 1);
  return typeset(x.toPrecision(Math.min(17, Math.max(digits, integerDigits))));
}

/**
 * As few characters as say the value to `digits` significant digits: trailing zeros dropped
 * ("1e−6", "2.5e38", "0.01", "100"). For labels where width matters more than alignment.
 * @param {number | null | undefined} x @param {number} [digits]
 */
export function formatCompact(x, digits = 3) {
  if (x === null || x === undefined) return "—";
  const special = nonFinite(x);
  if (special) return special;
  if (x === 0) return "0";
  const magnitude = Math.abs(x);
  if (magnitude >= 1e5 || magnitude < 1e-3) {
    const [mantissa, exponent] = x.toExponential(digits - 1).split("e");
    return typeset(`${trimZeros(mantissa)}e${exponent}`);
  }
  // Number() drops the trailing zeros that toPrecision keeps; inside [1e-3, 1e5) it stays plain.
  return typeset(String(Number(x.toPrecision(digits))));
}

/** "1.500" → "1.5", "2.000" → "2". @param {string} mantissa */
function trimZeros(mantissa) {
  return mantissa.includes(".") ? mantissa.replace(/0+$/, "").replace(/\.$/, "") : mantissa;
}

/**
 * Labels for axis ticks evenly spaced by `step`: as many digits as the spacing needs, so
 * neighbours never read the same. Plain per tick (0.5, 1.0, 1.5); once any tick needs an
 * exponent, one digit count for the whole axis (5.0e−5, 1.0e−4). A zero tick reads "0", and a
 * missing tick (null, where a chart left a label out) reads "".
 * @param {(number | null)[]} values @param {number} step
 * @returns {string[]}
 */
export function formatTicks(values, step) {
  const present = /** @type {number[]} */ (values.filter((v) => v !== null && Number.isFinite(v)));
  const spacing = Math.abs(step) > 0 && Number.isFinite(step) ? Math.abs(step) : fallbackStep(present);
  const isZero = (/** @type {number} */ v) => Math.abs(v) < spacing * 1e-6;
  // A step of 2.5 (uPlot uses them) needs one digit more than a step of 2 or 5.
  const stepDigits = Number(spacing.toPrecision(6)).toExponential().split("e")[0].replace(/\D/g, "").length;
  /** Significant digits down to the step's last digit. @param {number} v */
  const significant = (v) =>
    Math.max(
      1,
      Math.min(8, Math.floor(Math.log10(Math.abs(v))) - Math.floor(Math.log10(spacing)) + stepDigits),
    );
  const nonZero = present.filter((v) => !isZero(v));
  const exponents = nonZero.some((v) => Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3);
  const widest = Math.max(1, ...nonZero.map(significant));
  return values.map((v) => {
    if (v === null) return "";
    if (!Number.isFinite(v)) return formatNumber(v);
    if (isZero(v)) return "0";
    return formatNumber(v, exponents ? widest : significant(v));
  });
}

/** The smallest gap between neighbouring values, for ticks given without their step. @param {number[]} values */
function fallbackStep(values) {
  let gap = Infinity;
  for (let i = 1; i < values.length; i++) {
    const d = Math.abs(values[i] - values[i - 1]);
    if (d > 0 && d < gap) gap = d;
  }
  if (Number.isFinite(gap)) return gap;
  const m = Math.max(0, ...values.map(Math.abs));
  return m > 0 ? m : 1;
}

/** 10^k written plainly where that is short (0.001 … 10000), else as "1e−k". @param {number} k */
export function formatDecade(k) {
  if (k >= -3 && k <= 4) return formatNumber(10 ** k, Math.max(1, k + 1));
  return typeset(`1e${k}`);
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
  const t = scale > 0 && Number.isFinite(scale) ? Math.max(-1, Math.min(1, x / scale)) : 0;
  const zero = [236, 238, 240];
  const end = t < 0 ? [245, 147, 34] : [8, 119, 189];
  const a = Math.abs(t);
  return zero.map((z, i) => Math.round(z + (end[i] - z) * a));
}

/**
 * Sequential light palette for the loss surface, low loss light: pale yellow through green and
 * teal to a muted violet. Lightness falls monotonically, so the order reads without a key, and
 * racers' lines stay visible on every band.
 */
export const SURFACE_PALETTE = [
  [254, 252, 226],
  [231, 245, 199],
  [194, 231, 194],
  [156, 212, 199],
  [134, 186, 210],
  [148, 160, 210],
  [164, 140, 196],
];

/** Colour at t ∈ [0, 1] on the surface palette (t outside is clamped). @param {number} t @returns {number[]} rgb */
export function surfaceColor(t) {
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (SURFACE_PALETTE.length - 1);
  const i = Math.min(SURFACE_PALETTE.length - 2, Math.floor(x));
  const f = x - i;
  return SURFACE_PALETTE[i].map((a, k) => Math.round(a + (SURFACE_PALETTE[i + 1][k] - a) * f));
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
