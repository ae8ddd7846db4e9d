// @ts-check
/**
 * A standalone look at LossSurface: a synthetic MSE surface of y = w·x + b and optimizers run by
 * hand on it. `?step=25` freezes the race at that step (for screenshots).
 */
import { LossSurface } from "../js/views/lossSurface.js";

/** @typedef {import("../js/views/lossSurface.js").Racer} Racer */

const STEPS = 60;
const START = [-0.5, 1.5];

// 64 fixed x in [−1, 1.5], jittered by a tiny LCG so the demo is the same on every load.
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const xs = Array.from({ length: 64 }, (_, i) => -1 + (2.5 * (i + random())) / 64);
const ys = xs.map((x) => 2 * x - 1);

/** @param {number} w @param {number} b @param {(x: number) => number} [round] */
function loss(w, b, round = (x) => x) {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    const r = round(round(w * xs[i]) + b - ys[i]);
    sum = round(sum + r * r);
  }
  return round(sum / xs.length);
}

/** ∂loss/∂(w, b). @param {number} w @param {number} b @param {(x: number) => number} [round] */
function gradient(w, b, round = (x) => x) {
  let gw = 0;
  let gb = 0;
  for (let i = 0; i < xs.length; i++) {
    const r = round(round(w * xs[i]) + b - ys[i]);
    gw = round(gw + r * xs[i]);
    gb = round(gb + r);
  }
  return [round((2 * gw) / xs.length), round((2 * gb) / xs.length)];
}

function surface() {
  const n = 64;
  const w = /** @type {[number, number]} */ ([-1, 4]);
  const b = /** @type {[number, number]} */ ([-3, 2]);
  const values = [];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) values.push(loss(w[0] + ((w[1] - w[0]) * c) / (n - 1), b[0] + ((b[1] - b[0]) * r) / (n - 1)));
  }
  return { w, b, n, loss: values };
}

/**
 * Run an optimizer by hand, PyTorch's update rules.
 * @param {"sgd" | "momentum" | "adam"} kind @param {number} lr @param {(x: number) => number} [round]
 * @returns {{points: number[][], gradientSteps: number[][]}} points[k] after k steps; gradientSteps[k]
 *   is −lr·g at points[k]
 */
function run(kind, lr, round = (x) => x) {
  let p = [...START];
  const points = [p];
  const gradientSteps = [];
  let v = [0, 0];
  let m = [0, 0];
  let s = [0, 0];
  for (let t = 1; t <= STEPS + 1; t++) {
    const g = gradient(p[0], p[1], round);
    gradientSteps.push(g.map((gi) => round(-lr * gi)));
    if (t > STEPS) break;
    let step;
    if (kind === "sgd") {
      step = g.map((gi) => -lr * gi);
    } else if (kind === "momentum") {
      v = v.map((vi, i) => (t === 1 ? g[i] : 0.9 * vi + g[i]));
      step = v.map((vi) => -lr * vi);
    } else {
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
      s = s.map((si, i) => 0.999 * si + 0.001 * g[i] * g[i]);
      step = m.map((mi, i) => (-lr * (mi / (1 - 0.9 ** t))) / (Math.sqrt(s[i] / (1 - 0.999 ** t)) + 1e-8));
    }
    p = p.map((pi, i) => round(pi + step[i]));
    points.push(p);
  }
  return { points, gradientSteps };
}

/**
 * The racer as LossSurface wants it, after `k` steps.
 * @param {string} name @param {string} color @param {ReturnType<typeof run>} path @param {number} k
 * @returns {Racer}
 */
function racerAt(name, color, path, k) {
  const point = /** @type {[number, number]} */ (path.points[k]);
  const before = k > 0 ? path.points[k - 1] : null;
  return {
    name,
    color,
    point,
    trail: /** @type {[number, number][]} */ (path.points.slice(0, k + 1)),
    // Before the first step there is a gradient but no step yet: the arrow starts at the point.
    gradientStep: /** @type {[number, number]} */ (path.gradientSteps[k > 0 ? k - 1 : 0]),
    actualStep: before ? [point[0] - before[0], point[1] - before[1]] : null,
    loss: loss(point[0], point[1]),
  };
}

const main = [
  { name: "SGD", color: "#1d4ed8", path: run("sgd", 0.1) },
  { name: "SGD momentum", color: "#dc2626", path: run("momentum", 0.1) },
  { name: "Adam", color: "#059669", path: run("adam", 0.1) },
];
const edge = [
  { name: "SGD lr 0.95", color: "#1d4ed8", path: run("sgd", 0.95) },
  { name: "SGD lr 3, float32", color: "#7c3aed", path: run("sgd", 3, Math.fround) },
  { name: "Adam", color: "#059669", path: run("adam", 0.1) },
];

const data = surface();
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const views = [
  { view: new LossSurface($("surface-big")), racers: main },
  { view: new LossSurface($("surface-small")), racers: main },
  { view: new LossSurface($("surface-edge")), racers: edge },
];
for (const { view } of views) view.setSurface(data);

const slider = /** @type {HTMLInputElement} */ ($("step"));
const out = $("step-out");
const play = $("play");
/** @param {number} k */
function show(k) {
  slider.value = String(k);
  out.textContent = `${k} / ${STEPS}`;
  for (const { view, racers } of views) view.setRacers(racers.map((r) => racerAt(r.name, r.color, r.path, k)));
}

const frozen = new URLSearchParams(location.search).get("step");
let k = frozen === null ? 0 : Math.max(0, Math.min(STEPS, Number(frozen) || 0));
let timer = 0;
const start = () => {
  play.textContent = "Pause";
  timer = window.setInterval(() => show((k = (k + 1) % (STEPS + 1))), 150);
};
const stop = () => {
  play.textContent = "Play";
  clearInterval(timer);
  timer = 0;
};
play.addEventListener("click", () => (timer ? stop() : start()));
slider.addEventListener("input", () => {
  stop();
  show((k = Number(slider.value)));
});
show(k);
if (frozen === null) start();
else stop();
