// @ts-check
/**
 * Attached scripts (stepscope.attach) on the page: the list of them (name, host, process id and
 * state; each opens its run), and, on an attached run's page, the panel that says who trains,
 * with which optimizer, what it dropped, and what each control does to the script. The page's
 * own loop (its code, teaching switches, data and model builder) does not apply and is hidden.
 */
import { CONTROL_WORDS, droppedText, optimizerNote, processText } from "../lib/attached.js";
import { LIVE } from "../protocol.js";

/** @typedef {import("../contract/contract").RunInfo} RunInfo */

/** At most this many attached runs are listed: the live ones first, then the latest others. */
export const LISTED = 8;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Which attached runs to list, in order: live first, then the others, newest (last listed by
 * the server) first within each.
 * @param {RunInfo[]} runs as GET /api/runs lists them
 * @returns {RunInfo[]}
 */
export function listedRuns(runs) {
  const attached = runs.filter((r) => r.attached).reverse();
  const live = attached.filter((r) => LIVE.includes(r.state));
  const others = attached.filter((r) => !LIVE.includes(r.state));
  return [...live, ...others].slice(0, LISTED);
}

export class AttachedList {
  /** @param {HTMLElement} nav @param {HTMLUListElement} list @param {(id: string) => void} open */
  constructor(nav, list, open) {
    this.nav = nav;
    this.list = list;
    this.open = open;
    /** what was last drawn, so a poll that changes nothing redraws nothing */
    this.drawn = "";
    /** @type {RunInfo[]} the runs as the server last listed them */
    this.runs = [];
  }

  /**
   * @param {RunInfo[] | null} runs every run, as GET /api/runs lists them; null: as last listed
   * @param {string | null} followed the run the page follows
   * @param {RunInfo | null} current that run as its stream has it now (newer than the list's)
   */
  render(runs, followed, current) {
    if (runs) this.runs = runs;
    // The stream's state is newer than a poll's; a step count only grows.
    const fresh = this.runs.map((r) => (current && r.id === current.id ? { ...current, step: Math.max(current.step, r.step) } : r));
    const shown = listedRuns(fresh);
    const key = JSON.stringify([followed, shown.map((r) => [r.id, r.state, r.step])]);
    if (key === this.drawn) return;
    this.drawn = key;
    this.nav.hidden = shown.length === 0;
    this.list.replaceChildren(
      ...shown.map((run) => {
        const attached = /** @type {NonNullable<RunInfo["attached"]>} */ (run.attached);
        const link = document.createElement("a");
        link.href = `#run=${encodeURIComponent(run.id)}`;
        link.dataset.run = run.id;
        link.dataset.state = run.state;
        const name = document.createElement("b");
        name.textContent = attached.process.name;
        const where = document.createElement("span");
        where.className = "where";
        where.textContent = `${attached.process.host} · pid ${attached.process.pid}`;
        const state = document.createElement("span");
        state.className = "state";
        state.textContent = `${run.state}, step ${run.step}`;
        link.append(name, " ", where, " ", state);
        link.title = `Open the run of ${processText(attached)} (${run.state})`;
        if (run.id === followed) link.setAttribute("aria-current", "page");
        link.addEventListener("click", (event) => {
          // A new tab or window opens the link as it is; a plain click follows the run here.
          if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
          event.preventDefault();
          this.open(run.id);
        });
        const item = document.createElement("li");
        item.append(link);
        return item;
      }),
    );
  }
}

export class AttachedPanel {
  constructor() {
    this.panel = $("attached-run");
    this.title = $("code-title");
    /** The page's own loop: what an attached run hides. */
    this.ownLoop = [$("code"), $("code-file"), $("phase-result"), .../** @type {HTMLElement[]} */ ([...document.querySelectorAll(".panel.code .teaching, .panel.code .data")]), $("builder")];
    this.controls = $("attached-controls");
    this.controls.replaceChildren(
      ...CONTROL_WORDS.map(([name, words]) => {
        const item = document.createElement("li");
        const b = document.createElement("b");
        b.textContent = name;
        item.append(b, ` ${words}.`);
        return item;
      }),
    );
  }

  /** @param {RunInfo | null} run */
  render(run) {
    const attached = run?.attached ?? null;
    this.panel.hidden = attached === null;
    for (const element of this.ownLoop) element.hidden = attached !== null;
    document.querySelector(".board")?.classList.toggle("attached", attached !== null);
    const title = attached ? "Attached script" : "Training loop";
    if (this.title.textContent !== title) this.title.textContent = title;
    if (!attached) return;
    $("attached-name").textContent = attached.process.name;
    $("attached-host").textContent = attached.process.host;
    $("attached-pid").textContent = String(attached.process.pid);
    const groups = attached.optimizer.groups;
    $("attached-class").textContent = `${attached.optimizer.torch_class}${groups > 1 ? ` (${groups} param groups)` : ""}`;
    $("attached-tensors").textContent = String(attached.parameters);
    const logged = attached.logged ?? [];
    $("attached-logged").textContent = logged.length ? logged.join(", ") : "none";
    const ledger = attached.optimizer.ledger
      ? " The selected element's update ledger checks each step against the class's written rule."
      : " Stepscope has no written rule for this class (nor for a subclass of one, which may change its step), so there is no update ledger.";
    $("attached-optimizer").textContent = optimizerNote(attached).text + ledger;
    const dropped = $("attached-dropped");
    const text = droppedText(attached);
    dropped.hidden = text === "";
    if (dropped.textContent !== text) dropped.textContent = text;
  }
}
