// The page's one number formatter and its colour scales (static/js/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  NAN_COLOR,
  divergingColor,
  formatCompact,
  formatDecade,
  formatNumber,
  formatTicks,
  surfaceColor,
} from "../../static/js/format.js";

const HYPHEN = "-";

test("every minus sign is U+2212, in the mantissa and in the exponent", () => {
  assert.equal(formatNumber(-1.5), "−1.500");
  assert.equal(formatNumber(-1e-6), "−1.000e−6");
  assert.equal(formatNumber(-2.5e38, 3), "−2.50e38");
  assert.equal(formatCompact(-1e-6), "−1e−6");
  assert.equal(formatDecade(-7), "1e−7");
});

test("no hyphen-minus and no 'e+' anywhere, over many magnitudes and signs", () => {
  for (let k = -45; k <= 308; k++) {
    for (const sign of [1, -1]) {
      for (const m of [1, 1.5, 9.99951]) {
        const x = sign * m * 10 ** k;
        if (!Number.isFinite(x)) continue; // 9.99951e308 overflows: the infinities are tested below
        for (const text of [formatNumber(x), formatNumber(x, 1), formatNumber(x, 7), formatCompact(x)]) {
          assert.ok(!text.includes(HYPHEN), `${x} → ${text}`);
          assert.ok(!text.includes("e+"), `${x} → ${text}`);
          assert.ok(!/nan|inf/i.test(text), `${x} → ${text}`);
        }
      }
    }
  }
});

test("the text reads back as the number, to the digits asked for", () => {
  for (const x of [1e-6, -3.25e-4, 0.0123, 0.5, 7, 12.5, 999.95, 12345, 99999, 123456, 4.2e24, 3.4e38]) {
    const back = Number(formatNumber(x, 6).replaceAll("−", "-"));
    assert.ok(Math.abs(back - x) <= Math.abs(x) * 1e-5, `${x} read back as ${back}`);
  }
});

test("NaN and the infinities are spelled out", () => {
  assert.equal(formatNumber(NaN), "NaN");
  assert.equal(formatNumber(Infinity), "+Inf");
  assert.equal(formatNumber(-Infinity), "−Inf");
  assert.equal(formatCompact(NaN), "NaN");
  assert.equal(formatCompact(-Infinity), "−Inf");
  assert.deepEqual(formatTicks([NaN, Infinity], 1), ["NaN", "+Inf"]);
});

test("Rprop's 1e-6 never reads 0.00000, at any number of digits", () => {
  for (let digits = 1; digits <= 8; digits++) {
    const text = formatNumber(1e-6, digits);
    assert.match(text, /e−6$/, text);
    assert.notEqual(Number(text.replace("−", "-")), 0);
  }
  assert.equal(formatNumber(1e-6), "1.000e−6");
  assert.equal(formatCompact(1e-6), "1e−6");
});

test("plain notation from 0.001 to 99999, whole integer parts", () => {
  assert.equal(formatNumber(0.001), "0.001000");
  assert.equal(formatNumber(0.5), "0.5000");
  assert.equal(formatNumber(12345), "12345");
  assert.equal(formatNumber(123456), "1.235e5");
  assert.equal(formatNumber(0), "0");
  assert.equal(formatNumber(-0), "0");
  assert.equal(formatCompact(100), "100");
  assert.equal(formatCompact(0.01), "0.01");
  assert.equal(formatCompact(2.5e38), "2.5e38");
});

test("null and undefined read as a dash, never throw", () => {
  assert.equal(formatNumber(null), "—");
  assert.equal(formatNumber(undefined), "—");
  assert.equal(formatCompact(null), "—");
});

test("tick labels are distinct neighbours, zero reads 0, a left-out tick reads empty", () => {
  assert.deepEqual(formatTicks([0, 0.5, 1, 1.5], 0.5), ["0", "0.5", "1.0", "1.5"]);
  assert.deepEqual(formatTicks([-1, -0.5, 0, 0.5], 0.5), ["−1.0", "−0.5", "0", "0.5"]);
  assert.deepEqual(formatTicks([0, 5e37, 1e38, 1.5e38], 5e37), ["0", "5.0e37", "1.0e38", "1.5e38"]);
  assert.deepEqual(formatTicks([1e-4, null, 3e-4], 1e-4), ["1e−4", "", "3e−4"]);
  // a step of 2.5 needs its second digit: 2.5e34 must not read "2e34"
  assert.deepEqual(formatTicks([0, 2.5e34, 5e34, 7.5e34], 2.5e34), ["0", "2.5e34", "5.0e34", "7.5e34"]);
  assert.deepEqual(formatTicks([0, 0.25, 0.5, 0.75], 0.25), ["0", "0.25", "0.50", "0.75"]);
  const labels = formatTicks([1e24, 1.2e24, 1.4e24, 1.6e24], 2e23);
  assert.equal(new Set(labels).size, labels.length, labels.join(" "));
  assert.ok(labels.every((t) => t.includes("e24")), labels.join(" "));
});

test("decades are plain where short, exponents where not", () => {
  assert.equal(formatDecade(0), "1");
  assert.equal(formatDecade(2), "100");
  assert.equal(formatDecade(-3), "0.001");
  assert.equal(formatDecade(5), "1e5");
  assert.equal(formatDecade(-4), "1e−4");
});

test("diverging scale: orange below zero, blue above, grey at zero, magenta for NaN, clamped", () => {
  assert.deepEqual(divergingColor(0, 1), [236, 238, 240]);
  assert.deepEqual(divergingColor(-1, 1), [245, 147, 34]);
  assert.deepEqual(divergingColor(1, 1), [8, 119, 189]);
  assert.deepEqual(divergingColor(5, 1), divergingColor(1, 1));
  assert.deepEqual(divergingColor(NaN, 1), NAN_COLOR);
  // a scale that is zero, NaN or infinite shows the value as zero rather than NaN colours
  for (const scale of [0, NaN, Infinity]) assert.deepEqual(divergingColor(0.3, scale), [236, 238, 240]);
});

test("surface palette: lightness falls monotonically from low loss to high", () => {
  const luma = (/** @type {number[]} */ [r, g, b]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
  let previous = Infinity;
  for (let i = 0; i <= 50; i++) {
    const l = luma(surfaceColor(i / 50));
    assert.ok(l < previous, `step ${i}: ${l} ≥ ${previous}`);
    previous = l;
  }
  assert.deepEqual(surfaceColor(-1), surfaceColor(0));
  assert.deepEqual(surfaceColor(2), surfaceColor(1));
  assert.deepEqual(surfaceColor(NaN), surfaceColor(0));
});
