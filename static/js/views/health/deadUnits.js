// @ts-check
/**
 * Dead ReLU units (issue 10): per ReLU module, the share of its units whose output was 0 for every
 * sample of the latest health point's batch, as a bar and "dead / units". A list, not a picture:
 * its numbers are text a screen reader and a test can read.
 */
import { formatPercent } from "../../lib/metrics.js";

/** @typedef {import("./history.js").HealthHistory} HealthHistory */

export class DeadUnitsView {
  /** @param {HTMLElement} list @param {HTMLElement} asOf the panel head's "step N" */
  constructor(list, asOf) {
    this.list = list;
    this.asOf = asOf;
  }

  /** @param {HealthHistory} history */
  render(history) {
    const n = history.length;
    const i = n - 1;
    this.asOf.textContent = n ? `step ${history.steps[i]}` : "";
    const layers = [...history.units].filter(([, u]) => Number.isFinite(u.dead[i]));
    if (!layers.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = n ? "This model has no ReLU: no unit can die." : "Waiting for the first health point.";
      this.list.replaceChildren(p);
      return;
    }
    const rows = layers.map(([name, u]) => {
      const dead = u.dead[i];
      const share = u.units ? dead / u.units : 0;
      const row = document.createElement("li");
      row.dataset.layer = name;
      row.dataset.dead = String(dead);
      row.dataset.units = String(u.units);
      const label = document.createElement("code");
      label.textContent = `ReLU ${name}`; // the module's name in the model: "3" alone read as a count
      label.title = `the nn.ReLU module named ${name} in the model`;
      const bar = document.createElement("span");
      bar.className = "dead-bar";
      bar.setAttribute("aria-hidden", "true");
      const fill = document.createElement("span");
      fill.style.width = `${(100 * share).toFixed(1)}%`;
      bar.append(fill);
      const text = document.createElement("span");
      text.className = "num";
      text.textContent = `${formatPercent(share)} (${dead.toLocaleString("en")} of ${u.units.toLocaleString("en")})`;
      row.append(label, bar, text);
      if (share >= 0.5) row.classList.add("many-dead");
      return row;
    });
    const list = document.createElement("ul");
    list.className = "dead-list";
    list.append(...rows);
    this.list.replaceChildren(list);
  }
}
