// @ts-check
/**
 * An attached script's run (stepscope.attach) in words: who trains, with which optimizer, what
 * the page's controls do to it, and why it ended. The server's own runs have a `config`; an
 * attached run has none (its model, data and loop are the script's) and `attached` instead.
 * Pure: node --test checks it (tests/js/attached.test.js).
 */

/**
 * @typedef {import("../contract/contract").RunInfo} RunInfo
 * @typedef {import("../contract/contract").AttachedRun} AttachedRun
 * @typedef {NonNullable<import("../contract/contract").AttachedOptimizer["config"]>} OptimizerConfig
 */

/**
 * The optimizer configuration in force: the run's own, or the one read from the script's
 * param_groups; null for a script whose optimizer class Stepscope has no fields for.
 * @param {Pick<RunInfo, "config" | "attached"> | null | undefined} run
 * @returns {OptimizerConfig | null}
 */
export function optimizerOf(run) {
  if (!run) return null;
  if (run.config) return run.config.optimizer;
  return run.attached?.optimizer.config ?? null;
}

/** "torch.optim.adam.Adam" → "Adam". @param {string} torchClass */
export function shortClass(torchClass) {
  return torchClass.slice(torchClass.lastIndexOf(".") + 1);
}

/** "my run · gpu-box · pid 4242": how the list of attached scripts names one. @param {AttachedRun} attached */
export function processText(attached) {
  const { name, host, pid } = attached.process;
  return `${name} · ${host} · pid ${pid}`;
}

/**
 * Why the optimizer's class select is off, and whether the hyperparameters can change.
 * @param {AttachedRun} attached
 */
export function optimizerNote(attached) {
  const { torch_class: torchClass, config, groups } = attached.optimizer;
  if (!config) {
    return {
      editable: false,
      text: `The script's optimizer is ${torchClass}: a class Stepscope has no fields for, so its hyperparameters cannot be edited from the page.`,
    };
  }
  const every = groups > 1 ? ` An edit is written into all ${groups} of its param_groups.` : "";
  return {
    editable: true,
    text: `The script's optimizer is ${torchClass}: its class cannot change from the page, only its hyperparameters (written into param_groups between two steps).${every}`,
  };
}

/** What each control does to an attached script: the page's own words for it. */
export const CONTROL_WORDS = [
  ["Pause", "holds the script before its next optimizer.step(): the page shows θ and the fresh gradients just before the update"],
  ["Step", "lets exactly one step() through, then holds again"],
  ["Start", "releases the script: its loop runs on"],
  ["Stop", "ends the watching, never the script: it trains on, unobserved"],
];

/** What the script dropped, in words; "" when nothing. @param {AttachedRun} attached */
export function droppedText(attached) {
  const parts = [];
  const s = attached.dropped_snapshots;
  const v = attached.dropped_scalars;
  if (s) parts.push(`${s} snapshot${s === 1 ? "" : "s"} (the server was slow)`);
  if (v) parts.push(`${v} step${v === 1 ? "'s" : "s'"} scalars (its buffer was full)`);
  return parts.length ? `The script dropped ${parts.join(" and ")}: training went on.` : "";
}

/**
 * A run that no longer trains, in words: an attached script's run says that the script is no
 * longer watched and why, and what to do to watch it again.
 * @param {Pick<RunInfo, "state" | "reason" | "attached" | "step">} run
 */
export function endedText(run) {
  if (!run.attached) {
    return run.state === "failed"
      ? `This run failed: ${run.reason ?? "the server did not say why"}.`
      : `This run is ${run.state}${run.reason ? ` (${run.reason})` : ""}.`;
  }
  const name = run.attached.process.name;
  const what = run.state === "failed"
    ? `Watching the script “${name}” failed at step ${run.step}: ${run.reason ?? "the server did not say why"}.`
    : `The script “${name}” is no longer watched${run.reason ? ` (${run.reason})` : ""}.`;
  return `${what} Its history stays readable here; to watch it again, run the script again: each attach() opens a new run.`;
}
