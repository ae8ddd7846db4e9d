// @ts-check
/**
 * The runs list: every run of this data directory (the server's own and attached scripts'),
 * newest first, with its name, experiment, state, steps, latest loss, start and disk use. A row
 * opens its run, renames it (Enter keeps, Escape cancels; a refused name says why), exports it
 * (CSV, JSON, TensorBoard: plain links, so the browser downloads them), deletes it (a live run is
 * refused by the server: stop it first), and ticks it for the Compare chart.
 */
import { formatNumber } from "../format.js";
import { LIVE } from "../protocol.js";

/** @typedef {import("../contract/contract").RunInfo} RunInfo */

/**
 * @typedef {{
 *   open: (id: string) => void,
 *   rename: (id: string, name: string | null) => Promise<unknown>,
 *   remove: (id: string) => Promise<unknown>,
 *   compare: (chosen: RunInfo[]) => void,
 * }} RunsListHandlers
 */

/** What a run is called in the list: its name, or its experiment's title and short id. @param {RunInfo} run */
export function runLabel(run) {
  return run.name ?? `${run.title} · ${run.id.slice(0, 6)}`;
}

/** Bytes for people: 980 B, 12.3 kB, 4.56 MB, 1.2 GB (powers of 1000). @param {number | null | undefined} bytes */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toPrecision(3)} ${units[unit]}`;
}

/** A start time as a short local date and time. @param {number | null | undefined} seconds since the epoch */
export function formatStart(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

export class RunsList {
  /** @param {HTMLTableSectionElement} body the table's tbody @param {HTMLElement} error @param {RunsListHandlers} handlers */
  constructor(body, error, handlers) {
    this.body = body;
    this.error = error;
    this.handlers = handlers;
    /** @type {RunInfo[]} */
    this.runs = [];
    /** @type {string[]} the runs ticked for Compare, in the order they were ticked */
    this.chosen = [];
    /** a row being renamed is not redrawn under the typing */
    this.editing = false;
    this.drawn = "";
    /** @type {string | null} the run the page follows, marked in the list */
    this.followed = null;
  }

  /** @param {RunInfo[]} runs as GET /api/runs lists them @param {string | null} followed */
  render(runs, followed) {
    this.runs = runs;
    this.followed = followed;
    const ids = new Set(runs.map((r) => r.id));
    const before = this.chosen.length;
    this.chosen = this.chosen.filter((id) => ids.has(id)); // a deleted run leaves the comparison
    if (this.chosen.length !== before) this.handlers.compare(this.chosenRuns());
    if (this.editing) return;
    const key = JSON.stringify([followed, this.chosen, runs.map((r) => [r.id, r.name, r.state, r.step, r.loss, r.disk_bytes])]);
    if (key === this.drawn) return;
    this.drawn = key;
    this.body.replaceChildren(...runs.map((run) => this.row(run, run.id === followed)));
  }

  /** @returns {RunInfo[]} */
  chosenRuns() {
    return this.chosen.map((id) => this.runs.find((r) => r.id === id)).filter((r) => r !== undefined);
  }

  /** @param {string} message */
  showError(message) {
    this.error.hidden = message === "";
    this.error.textContent = message;
  }

  /** @param {RunInfo} run @param {boolean} current */
  row(run, current) {
    const row = document.createElement("tr");
    row.dataset.run = run.id;
    row.dataset.state = run.state;
    if (current) row.setAttribute("aria-current", "true");
    const label = runLabel(run);

    const tick = document.createElement("input");
    tick.type = "checkbox";
    tick.checked = this.chosen.includes(run.id);
    tick.setAttribute("aria-label", `Compare ${label}`);
    tick.addEventListener("change", () => {
      this.chosen = tick.checked ? [...this.chosen, run.id] : this.chosen.filter((id) => id !== run.id);
      this.drawn = "";
      this.handlers.compare(this.chosenRuns());
    });

    const name = document.createElement("a");
    name.href = `#run=${encodeURIComponent(run.id)}`;
    name.className = "run-name";
    name.textContent = label;
    name.title = `Open this run (${run.id})`;
    name.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      this.handlers.open(run.id);
    });
    const rename = button("Rename", `Rename ${label}`, () => this.startRename(nameCell, run));
    const nameCell = cell(name, " ", rename);

    const exports = document.createElement("span");
    exports.className = "exports";
    for (const [format, text] of [["csv", "CSV"], ["json", "JSON"], ["tensorboard", "TensorBoard"]]) {
      const link = document.createElement("a");
      link.href = `/api/runs/${encodeURIComponent(run.id)}/export?format=${format}`;
      link.download = "";
      link.textContent = text;
      link.setAttribute("aria-label", `Export ${label} as ${text}`);
      exports.append(link, " ");
    }
    const live = LIVE.includes(run.state);
    const remove = button("Delete", `Delete ${label}`, () => this.remove(run, label));
    if (live) remove.title = "A live run cannot be deleted: stop it first";

    const state = cell(run.state);
    state.className = `state ${run.state}`;
    if (run.reason) state.title = run.reason;
    row.append(
      cell(tick),
      nameCell,
      cell(run.title),
      state,
      numeric(String(run.step)),
      numeric(formatNumber(run.loss)),
      cell(formatStart(run.started_at)),
      numeric(formatBytes(run.disk_bytes)),
      cell(exports),
      cell(remove),
    );
    return row;
  }

  /** @param {HTMLTableCellElement} nameCell @param {RunInfo} run */
  startRename(nameCell, run) {
    this.editing = true;
    const input = document.createElement("input");
    input.type = "text";
    input.value = run.name ?? "";
    input.maxLength = 80;
    input.setAttribute("aria-label", `New name of ${runLabel(run)}`);
    const done = () => {
      this.editing = false;
      this.drawn = "";
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        done();
        this.showError("");
        this.render(this.runs, this.followed);
      } else if (event.key === "Enter") {
        const name = input.value === "" ? null : input.value; // empty: no name; the server trims
        this.handlers
          .rename(run.id, name)
          .then(() => {
            done();
            this.showError("");
          })
          .catch((/** @type {any} */ error) => this.showError(`Not renamed: ${error.reason ?? error.message}`));
      }
    });
    nameCell.replaceChildren(input);
    input.focus();
  }

  /** @param {RunInfo} run @param {string} label */
  remove(run, label) {
    if (!window.confirm(`Delete ${label}? Its history and checkpoints are removed for good.`)) return;
    this.handlers
      .remove(run.id)
      .then(() => this.showError(""))
      .catch((/** @type {any} */ error) => this.showError(`Not deleted: ${error.message}`));
  }
}

/** @param {...(Node | string)} children */
function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

/** @param {string} text */
function numeric(text) {
  const td = cell(text);
  td.className = "num";
  return td;
}

/** @param {string} text @param {string} name its accessible name @param {() => void} act */
function button(text, name, act) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.setAttribute("aria-label", name);
  b.addEventListener("click", act);
  return b;
}
