// @ts-check
/**
 * Rewind and branch (issue 12): pick a step (type it, or click the loss chart), change the learning
 * rate if you like, and go on from there as a new run. The form asks the server which steps it can
 * go back to (the worker's kept range and the checkpoints on disk) when it opens, and shows the
 * server's reason beside the step when one is refused.
 *
 * `forkMarks` turns a run's lineage (RunInfo.branch, RunInfo.branches) into the marks the loss
 * chart draws: where this run branched from its parent, and where each branch left it.
 */

/**
 * @typedef {import("../contract/contract").RunInfo} RunInfo
 * @typedef {{step: number, text: string, kind: "parent" | "child"}} ForkMark
 * @typedef {{parent: {run: string, step: number} | null, children: {run: string, step: number}[],
 *            kept: [number, number] | null, checkpoints: number[]}} Lineage
 * @typedef {{step: number, optimizer?: Record<string, unknown>}} BranchBody
 */

/** A run's id as the page names it: short enough for a chart label. @param {string} id */
export const shortId = (id) => id.slice(0, 6);

/**
 * The loss chart's fork marks for a run.
 * @param {Pick<RunInfo, "branch" | "branches"> | null} run @returns {ForkMark[]}
 */
export function forkMarks(run) {
  /** @type {ForkMark[]} */
  const marks = [];
  if (run?.branch) marks.push({ step: run.branch.step, text: `branched from ${shortId(run.branch.run)}`, kind: "parent" });
  for (const child of run?.branches ?? []) marks.push({ step: child.step, text: `branch ${shortId(child.run)}`, kind: "child" });
  return marks.sort((a, b) => a.step - b.step);
}

/**
 * What the form tells the user about the steps there are.
 * @param {Lineage} lineage @returns {string}
 */
export function keptText(lineage) {
  const parts = [];
  if (lineage.kept) parts.push(`steps ${lineage.kept[0]}–${lineage.kept[1]} in memory`);
  if (lineage.checkpoints.length) parts.push(`checkpoints at ${lineage.checkpoints.join(", ")}`);
  return parts.length ? `Kept: ${parts.join("; ")}.` : "No steps are kept: start the run first.";
}

/**
 * The request body: the step, and the optimizer only when its learning rate changed.
 * @param {number} step @param {Record<string, unknown> | undefined} optimizer the run's now
 * @param {number} lr what the form says @returns {BranchBody}
 */
export function branchBody(step, optimizer, lr) {
  if (!optimizer || !Number.isFinite(lr) || lr === optimizer.lr) return { step };
  return { step, optimizer: { ...optimizer, lr } };
}

export class BranchForm {
  /**
   * @param {HTMLDetailsElement} details the collapsible form, closed at first
   * @param {(runId: string) => Promise<Lineage>} lineageOf
   * @param {(runId: string, body: BranchBody) => Promise<RunInfo>} branch
   * @param {(child: RunInfo, body: BranchBody, parent: RunInfo) => void} opened
   */
  constructor(details, lineageOf, branch, opened) {
    this.details = details;
    const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (details.querySelector(`#${id}`));
    this.form = /** @type {HTMLFormElement} */ ($("branch-form"));
    this.step = /** @type {HTMLInputElement} */ ($("branch-step"));
    this.lr = /** @type {HTMLInputElement} */ ($("branch-lr"));
    this.kept = $("branch-kept");
    this.error = $("branch-error");
    /** @type {RunInfo | null} */
    this.run = null;
    details.addEventListener("toggle", () => {
      if (details.open) this.refresh(lineageOf);
    });
    details.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !details.open) return;
      event.preventDefault();
      details.open = false;
      /** @type {HTMLElement | null} */ (details.querySelector("summary"))?.focus();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const run = this.run;
      if (!run) return;
      const body = branchBody(Number(this.step.value), /** @type {any} */ (run.config?.optimizer), Number(this.lr.value));
      this.showError(null);
      branch(run.id, body).then(
        (child) => {
          details.open = false;
          opened(child, body, run);
        },
        (error) => this.showError(error.reason ?? error.message),
      );
    });
  }

  /** @param {string | null} message */
  showError(message) {
    this.error.hidden = !message;
    this.error.textContent = message ?? "";
    if (message) this.step.setAttribute("aria-invalid", "true");
    else this.step.removeAttribute("aria-invalid");
  }

  /** The run the form branches from; a built-in run only (an attached script's loop is its own). @param {RunInfo | null} run */
  render(run) {
    const changed = run?.id !== this.run?.id;
    this.run = run;
    this.details.hidden = !run?.config;
    if (!run?.config) return;
    this.step.max = String(run.step);
    if (changed || this.step.value === "") this.step.value = String(run.step);
    if (changed || !this.details.open) this.lr.value = String(/** @type {any} */ (run.config.optimizer).lr ?? "");
  }

  /** A step picked on the loss chart: the form opens at it. @param {number} step */
  pick(step) {
    if (!this.run?.config) return;
    this.step.value = String(Math.max(0, Math.min(Math.round(step), this.run.step)));
    this.details.open = true;
    this.step.focus();
  }

  /** @param {(runId: string) => Promise<Lineage>} lineageOf */
  refresh(lineageOf) {
    const run = this.run;
    if (!run) return;
    this.kept.textContent = "Asking the run which steps it keeps…";
    lineageOf(run.id).then(
      (lineage) => { if (this.run?.id === run.id) this.kept.textContent = keptText(lineage); },
      (error) => { this.kept.textContent = `Could not ask: ${error.message}`; },
    );
  }
}

/**
 * A branch's losses as a line on its parent's chart: from the fork (the step both share, so the
 * two lines meet there) to its latest step; nothing before it, where the branch's curve is its
 * parent's own. Shaped as the chart's racer lines are (step k at index k − 1).
 * @param {string} name @param {(number | string | null)[]} losses every step's, from step 1
 * @param {number} fork @returns {{name: string, loss: {values: Float64Array, count: number}}}
 */
export function branchCurve(name, losses, fork) {
  const values = new Float64Array(losses.length).fill(Number.NaN);
  for (let i = Math.max(0, fork - 1); i < losses.length; i++) values[i] = losses[i] === null ? Number.NaN : Number(losses[i]);
  return { name, loss: { values, count: losses.length } };
}
