// @ts-check
/**
 * The race: which optimizers race the run's own (any built-in experiment; their losses join the
 * loss chart, named in its legend), and on the loss surface the trail each leaves.
 * Trails are built from the history's race series (every step, and they survive a reload), or
 * where the history has none yet, from the snapshots' `race` entries.
 */
import { SERIES_COLORS } from "../format.js";
import { pathOf } from "../lib/series.js";

/** @typedef {import("../lib/series.js").RaceHistory} RaceHistory */


/**
 * @typedef {{name: string, optimizer: Record<string, unknown>, point: [number, number],
 *            before: [number, number] | null, gradient_step: [number, number] | null,
 *            loss: number | null, step: number}} RaceEntry
 */

export class RaceTrails {
  constructor() {
    /** Trails seen live, from the snapshots (as dense as the frames). @type {[number, number][][]} */
    this.trails = [];
  }

  clear() {
    this.trails = [];
  }

  /** @param {RaceEntry[]} entries */
  add(entries) {
    entries.forEach((entry, i) => {
      const trail = (this.trails[i] ??= []);
      const last = trail[trail.length - 1];
      if (entry.before && trail.length === 0) trail.push(entry.before);
      if (!last || last[0] !== entry.point[0] || last[1] !== entry.point[1]) trail.push(entry.point);
    });
  }

  /**
   * What the surface view draws. Each trail comes from the history where it has one (every step,
   * and it survives a reload: the run's own from `history.own`, racer i from `history.racers[i − 1]`,
   * as the snapshot lists the run's own optimizer first); else from the snapshots seen live.
   * @param {RaceEntry[]} entries @param {RaceHistory} [history]
   */
  racers(entries, history) {
    return entries.map((entry, i) => {
      const series = i === 0 ? history?.own : history?.racers[i - 1];
      const fromHistory = series && series.w.count > 0 ? pathOf(series.w, series.b) : null;
      return {
        name: entry.name,
        color: SERIES_COLORS[i % SERIES_COLORS.length],
        point: entry.point,
        trail: fromHistory ?? this.trails[i] ?? [],
        gradientStep: entry.before && entry.gradient_step ? entry.gradient_step : null,
        actualStep: entry.before
          ? /** @type {[number, number]} */ ([entry.point[0] - entry.before[0], entry.point[1] - entry.before[1]])
          : null,
        loss: entry.loss,
      };
    });
  }
}

/**
 * The race picker: one checkbox per optimizer; a change starts a new race (a new run).
 * @param {HTMLElement} fieldset @param {{name: string, title: string}[]} optimizers
 * @param {(names: string[]) => void} onChange
 */
export function bindRacePicker(fieldset, optimizers, onChange) {
  for (const optimizer of optimizers) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = optimizer.name;
    box.name = "race";
    label.append(box, ` ${optimizer.title}`);
    fieldset.append(label);
  }
  fieldset.addEventListener("change", () => {
    const boxes = /** @type {NodeListOf<HTMLInputElement>} */ (fieldset.querySelectorAll("input"));
    onChange([...boxes].filter((b) => b.checked).map((b) => b.value));
  });
  const summary = document.getElementById("race-summary");
  // Escape folds the picker away again, and gives the focus back to its summary.
  const details = fieldset.closest("details");
  details?.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !details.open) return;
    event.preventDefault();
    details.open = false;
    summary?.focus();
  });
  return {
    /** @param {string[]} names */
    show(names) {
      for (const box of /** @type {NodeListOf<HTMLInputElement>} */ (fieldset.querySelectorAll("input"))) {
        box.checked = names.includes(box.value);
      }
      const titles = optimizers.filter((o) => names.includes(o.name)).map((o) => o.title);
      if (summary) summary.textContent = titles.length ? `Racing: ${titles.join(", ")}` : "Race against…";
    },
  };
}
