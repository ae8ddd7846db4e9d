// @ts-check
/**
 * The race on the loss surface: which optimizers race the run's own, and the trail each leaves.
 * Trails are built from the snapshots' `race` entries, so they are as dense as the frames.
 */

export const RACER_COLORS = ["#1d4ed8", "#dc2626", "#059669", "#7c3aed", "#b45309"];

/**
 * @typedef {{name: string, optimizer: Record<string, unknown>, point: [number, number],
 *            before: [number, number] | null, gradient_step: [number, number] | null,
 *            loss: number | null, step: number}} RaceEntry
 */

export class RaceTrails {
  constructor() {
    /** @type {[number, number][][]} */
    this.trails = [];
    this.lastStep = -1;
  }

  clear() {
    this.trails = [];
    this.lastStep = -1;
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

  /** What the surface view draws. @param {RaceEntry[]} entries */
  racers(entries) {
    return entries.map((entry, i) => ({
      name: entry.name,
      color: RACER_COLORS[i % RACER_COLORS.length],
      point: entry.point,
      trail: this.trails[i] ?? [],
      gradientStep: entry.before && entry.gradient_step ? entry.gradient_step : null,
      actualStep: entry.before
        ? /** @type {[number, number]} */ ([entry.point[0] - entry.before[0], entry.point[1] - entry.before[1]])
        : null,
      loss: entry.loss,
    }));
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
