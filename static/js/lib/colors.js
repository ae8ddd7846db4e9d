// @ts-check
/**
 * The colour scales of the model views (issue 9), in the page's one visual language: Playground's
 * orange/blue for the two classes and for signs (format.js's diverging scale), a categorical
 * palette for several classes, magenta for NaN. Pure: node --test checks it (tests/js/colors.test.js).
 */
import { NAN_COLOR, divergingColor } from "../format.js";

/** Ten classes (the digits): Tableau's ten, distinct and readable on white. */
export const CLASS_COLORS = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];
/** The two classes, as the diverging scale's ends: class 0 orange (negative), class 1 blue. */
export const CLASS0 = [245, 147, 34];
export const CLASS1 = [8, 119, 189];

/** A colour mixed toward white: `amount` 0 keeps it, 1 is white. @param {number[]} rgb @param {number} amount */
export function tint(rgb, amount) {
  return rgb.map((c) => Math.round(c + (255 - c) * amount));
}

/** @param {number[]} rgb */
export function css(rgb) {
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

/**
 * P(class 1) on the two classes' diverging scale: 0 orange, ½ grey, 1 blue. Outside [0, 1] (an
 * MSE-trained output is not a probability) it is clamped to the ends.
 * @param {number} p
 */
export function probabilityColor(p) {
  return divergingColor(2 * p - 1, 1);
}

/** A class index's colour; NaN (no prediction) magenta. @param {number} k */
export function classColor(k) {
  if (!Number.isFinite(k)) return NAN_COLOR;
  const i = Math.round(k);
  return CLASS_COLORS[((i % CLASS_COLORS.length) + CLASS_COLORS.length) % CLASS_COLORS.length];
}

/**
 * The colour of one output of the plane: what `output_kind` says it is.
 * @param {"probability" | "value" | "class"} kind @param {number} v @param {number} scale for values
 */
export function outputColor(kind, v, scale) {
  if (kind === "probability") return probabilityColor(v);
  if (kind === "class") return Number.isNaN(v) ? NAN_COLOR : tint(classColor(v), 0.55);
  return divergingColor(v, scale);
}

/**
 * A sample's colour from its target: the class for classification (binary: 0 orange, 1 blue),
 * the value on the output's diverging scale for regression.
 * @param {"regression" | "binary" | "classes"} task @param {number} target @param {number} scale
 */
export function targetColor(task, target, scale) {
  if (Number.isNaN(target)) return NAN_COLOR;
  if (task === "binary") return target >= 0.5 ? CLASS1 : CLASS0;
  if (task === "classes") return classColor(target);
  return divergingColor(target, scale);
}
