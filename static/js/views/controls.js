// @ts-check
/**
 * The run's controls. Handlers come in through bind* calls and return the server's answer, so a
 * refused change is put back and explained beside its field. `render(run, connection)` shows the
 * run's real state and configuration (a change made in another tab shows here too) without
 * touching the field the user is typing in, and says why a control is off.
 */
import { optimizerNote, optimizerOf, shortClass } from "../lib/attached.js";
import { DATA_TITLES } from "../lib/configText.js";
import { LIVE } from "../protocol.js";

/** Ended states Start continues from the run's latest checkpoint (app/runs/state.py). */
const RESUMABLE = ["stopped", "interrupted", "failed"];
import { errorOf, fieldText, fitWidth, readNumber, settle, showError } from "./fields.js";

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @typedef {{name: string, label: string, kind: "number" | "integer" | "boolean",
 *            default: number | boolean, minimum: number | null, maximum: number | null,
 *            exclusive_minimum: boolean, exclusive_maximum: boolean}} HyperparameterSpec
 * @typedef {{name: string, title: string, ledger: boolean, note?: string | null,
 *            torch_class?: string, hyperparameters: HyperparameterSpec[]}} OptimizerSpec
 * @typedef {import("../contract/contract").RunInfo} RunInfo
 * @typedef {import("../contract/contract").ExperimentConfig} ExperimentConfig
 * @typedef {"connecting" | "open" | "closed"} Connection
 * @typedef {(change: Promise<unknown>) => void} Settled
 */

/**
 * The data's settings: each defines the data set or its batches, so a change makes a new run.
 * An experiment lets the page change only those in its `settings`; the others are not shown.
 */
const DATA_FIELDS = /** @type {const} */ (["batch_size", "seed", "noise", "n_samples", "validation_fraction"]);

export class Controls {
  /**
   * @param {{name: string, title: string, settings?: string[]}[]} experiments
   * @param {OptimizerSpec[]} optimizers
   */
  constructor(experiments, optimizers) {
    /** which settings each experiment lets the page change (all, for a server that does not say) */
    this.settings = new Map(experiments.map((e) => [e.name, e.settings ? new Set(e.settings) : null]));
    this.dataFixed = $("data-fixed");
    this.optimizers = new Map(optimizers.map((o) => [o.name, o]));
    this.start = /** @type {HTMLButtonElement} */ ($("start"));
    this.step = /** @type {HTMLButtonElement} */ ($("step"));
    this.nextPhase = /** @type {HTMLButtonElement} */ ($("next-phase"));
    this.reset = /** @type {HTMLButtonElement} */ ($("reset"));
    this.saveCheckpoint = /** @type {HTMLButtonElement} */ ($("save-checkpoint"));
    /** The run's latest checkpoint, in words: Start goes on from it after a stop or a crash. */
    this.checkpointSaved = $("checkpoint-saved");
    /** An attached script's run only: ends the watching, never the script. */
    this.stop = /** @type {HTMLButtonElement} */ ($("stop-watching"));
    this.experiment = /** @type {HTMLSelectElement} */ ($("experiment"));
    this.optimizer = /** @type {HTMLSelectElement} */ ($("optimizer"));
    this.lr = /** @type {HTMLInputElement} */ ($("lr"));
    this.pace = /** @type {HTMLSelectElement} */ ($("pace"));
    this.hyper = $("hyperparameters");
    /** Where an attached script's optimizer has no fields the page knows, it says so here. */
    this.optimizerFixed = $("optimizer-fixed");
    this.zeroGrad = /** @type {HTMLInputElement} */ ($("teach-zero-grad"));
    this.backward = /** @type {HTMLInputElement} */ ($("teach-backward"));
    this.accumulate = /** @type {HTMLInputElement} */ ($("teach-accumulate"));
    this.data = DATA_FIELDS.map((name) => /** @type {HTMLInputElement} */ ($(`data-${name.replace("_", "-")}`)));
    // A control's own hint (its title) gives way to the reason it is off, and comes back.
    for (const control of document.querySelectorAll("button[title], select[title], input[title]")) {
      /** @type {HTMLElement} */ (control).dataset.hint = /** @type {HTMLElement} */ (control).title;
    }
    for (const e of experiments) this.experiment.append(new Option(e.title, e.name));
    for (const o of optimizers) this.optimizer.append(new Option(o.title, o.name));
    /** @type {string | null} which optimizer's inputs are built */
    this.builtFor = null;
    /** @type {RunInfo | null} */
    this.run = null;
    /** @type {Connection} */
    this.connection = "connecting";
  }

  /** @param {() => void} handler called with Start or Pause, by the button's current name */
  bindStartPause(handler) {
    this.start.addEventListener("click", handler);
  }

  /** @param {() => void} handler */
  bindStep(handler) {
    this.step.addEventListener("click", handler);
  }

  /** @param {() => void} handler */
  bindNextPhase(handler) {
    this.nextPhase.addEventListener("click", handler);
  }

  /** @param {() => void} handler */
  bindReset(handler) {
    this.reset.addEventListener("click", handler);
  }

  /** @param {() => void} handler writes a checkpoint of the run now */
  bindSaveCheckpoint(handler) {
    this.saveCheckpoint.addEventListener("click", handler);
  }

  /** @param {() => void} handler stops an attached script's run (the script trains on) */
  bindStop(handler) {
    this.stop.addEventListener("click", handler);
  }

  /** @param {(name: string) => Promise<unknown>} handler starts a run of that experiment; rejects when refused */
  bindExperiment(handler) {
    // A refusal goes back to the experiment that runs; the handler's notice says why.
    this.experiment.addEventListener("change", () => {
      const shown = this.run?.experiment ?? "";
      handler(this.experiment.value).catch(() => (this.experiment.value = shown));
    });
  }

  /**
   * @param {(teaching: {zero_grad: boolean, backward: boolean, accumulate: number}) => Promise<unknown>} handler
   */
  bindTeaching(handler) {
    /** @param {HTMLInputElement} input @param {"zero_grad" | "backward" | "accumulate"} name */
    const bind = (input, name) =>
      input.addEventListener("change", () => {
        const teaching = this.run?.config?.teaching;
        if (!teaching) return;
        const current = String(teaching[name]);
        const value = input.type === "checkbox" ? input.checked : readNumber(input, current);
        if (value === null) return this.render(this.run, this.connection, true);
        settle(input, handler({ ...teaching, [name]: value }), () => this.render(this.run, this.connection, true), current);
      });
    bind(this.zeroGrad, "zero_grad");
    bind(this.backward, "backward");
    bind(this.accumulate, "accumulate");
  }

  /** @param {(stepsPerSecond: number | null) => Promise<unknown>} handler */
  bindPace(handler) {
    this.pace.addEventListener("change", () => {
      const value = this.pace.value === "" ? null : Number(this.pace.value);
      settle(this.pace, handler(value), () => this.render(this.run, this.connection, true), "");
    });
  }

  /**
   * @param {(config: ExperimentConfig) => Promise<unknown>} handler starts a new run with this
   *   configuration: batch size, seed and noise define the data, so a change is a new run.
   */
  bindData(handler) {
    this.data.forEach((input, i) => {
      const name = DATA_FIELDS[i];
      input.addEventListener("change", () => {
        const config = this.run?.config;
        if (!config) return;
        const current = fieldText(config[name]);
        const value = readNumber(input, current);
        if (value === null) return this.render(this.run, this.connection, true);
        if (value === config[name]) return showError(input, null);
        settle(input, handler({ ...config, [name]: value }), () => this.render(this.run, this.connection, true), current);
      });
    });
  }

  /**
   * @param {(config: Record<string, unknown>) => Promise<unknown>} handler called with a whole
   *   optimizer config: a new optimizer starts from its defaults; an edited field changes only
   *   itself, every other value is the one the run uses (never what another field holds).
   */
  bindOptimizer(handler) {
    const restore = () => this.render(this.run, this.connection, true);
    this.optimizer.addEventListener("change", () => {
      const spec = this.optimizers.get(this.optimizer.value);
      if (!spec) return;
      /** @type {Record<string, unknown>} */
      const config = { name: spec.name };
      for (const h of spec.hyperparameters) config[h.name] = h.default;
      settle(this.optimizer, handler(config), restore, "");
    });
    /** @param {Event} event */
    const changed = (event) => {
      const input = /** @type {HTMLInputElement} */ (event.target);
      // An attached script's optimizer edits as the run's own: the same fields, the same PUT.
      const running = /** @type {Record<string, unknown> | null} */ (/** @type {unknown} */ (optimizerOf(this.run)));
      if (!running || !(input instanceof HTMLInputElement)) return;
      const current = fieldText(/** @type {number} */ (running[input.name]));
      const value = input.type === "checkbox" ? input.checked : readNumber(input, current);
      if (value === null) return restore();
      settle(input, handler({ ...running, [input.name]: value }), restore, input.type === "checkbox" ? String(running[input.name]) : current);
    };
    this.lr.addEventListener("change", changed);
    this.hyper.addEventListener("change", changed);
  }

  /**
   * What an attached script's run shows in the top bar: its optimizer (the class select is off),
   * the learning rate and the other fields where Stepscope knows the class, else a line that says
   * so; never the experiment picker, the speed, Next phase or Reset, which drive the page's own loop.
   * @param {import("../contract/contract").AttachedRun | null} attached
   */
  showAttached(attached) {
    const fields = attached !== null && attached.optimizer.config !== null;
    /** @param {Element | null} element @param {boolean} hidden */
    const hide = (element, hidden) => {
      if (element instanceof HTMLElement && element.hidden !== hidden) element.hidden = hidden;
    };
    hide(this.experiment.closest(".field"), attached !== null);
    hide(this.pace.closest(".field"), attached !== null);
    hide(this.nextPhase, attached !== null);
    hide(this.reset, attached !== null);
    hide(this.stop, attached === null);
    hide(this.optimizer.closest(".field"), attached !== null && !fields);
    hide(this.lr.closest(".field"), attached !== null && !fields);
    hide(this.hyper, attached !== null && !fields);
    hide(this.optimizerFixed, attached === null || fields);
    const text = attached && !fields ? `Optimizer: ${shortClass(attached.optimizer.torch_class)} (no fields Stepscope knows: not editable here)` : "";
    if (this.optimizerFixed.textContent !== text) this.optimizerFixed.textContent = text;
    if (attached && !fields) this.optimizerFixed.title = optimizerNote(attached).text;
  }

  /** @param {OptimizerSpec} spec */
  buildHyperparameters(spec) {
    for (const input of this.hyper.querySelectorAll("input")) errorOf(input).remove();
    this.hyper.replaceChildren();
    const lrSpec = spec.hyperparameters.find((h) => h.name === "lr");
    if (lrSpec) applyBounds(this.lr, lrSpec);
    showError(this.lr, null);
    for (const h of spec.hyperparameters) {
      if (h.name === "lr") continue;
      const label = document.createElement("label");
      label.className = h.kind === "boolean" ? "field check" : "field";
      const input = document.createElement("input");
      input.name = h.name;
      input.id = `hp-${h.name}`;
      if (h.kind === "boolean") {
        input.type = "checkbox";
        label.append(input, ` ${h.label}`);
      } else {
        input.type = "number";
        input.step = h.kind === "integer" ? "1" : "any";
        input.inputMode = h.kind === "integer" ? "numeric" : "decimal";
        applyBounds(input, h);
        label.append(h.label, input);
      }
      this.hyper.append(label);
    }
    this.builtFor = spec.name;
  }

  /**
   * @param {RunInfo | null} run @param {Connection} [connection]
   * @param {boolean} [force] put the run's values back even in the field being edited (after a
   *   refused or empty entry)
   */
  render(run, connection = this.connection, force = false) {
    this.run = run;
    this.connection = connection;
    const state = run?.state ?? "connecting";
    const reachable = connection !== "closed";
    const live = LIVE.includes(state) && reachable;
    const running = state === "running";
    // An ended run of the page's own with a checkpoint: Start goes on from it (a new worker).
    const saved = run?.checkpoint ?? null;
    const resumable = reachable && !live && !run?.attached && saved !== null && RESUMABLE.includes(state);
    // Say why a control is off: a disabled control with no reason is a dead end.
    const why = !reachable
      ? "The server cannot be reached; the page reconnects by itself."
      : !run
        ? "Connecting to the run…"
        : live
          ? ""
          : run.attached
            ? `This run is ${state}${run.reason ? ` (${run.reason})` : ""}: run the script again to watch it again.`
            : resumable
              ? `This run is ${state}${run.reason ? ` (${run.reason})` : ""}: Start goes on from its checkpoint of step ${saved?.step}.`
              : `This run is ${state}${run.reason ? ` (${run.reason})` : ""}: start a new run to train again.`;
    const attached = run?.attached ?? null;
    this.showAttached(attached);
    // On an attached run, the controls of the page's own loop do not apply: their reasons.
    const note = attached ? optimizerNote(attached) : null;
    /** @type {Map<Element, string>} */
    const notHere = new Map();
    if (attached && note) {
      const own = "An attached script's loop is its own: the page can pause, step, start and stop it";
      for (const control of [this.nextPhase, this.reset, this.pace, this.zeroGrad, this.backward, this.accumulate]) notHere.set(control, own);
      notHere.set(this.saveCheckpoint, "An attached script's model and optimizer live in the script: save them there (torch.save of their state_dict)");
      notHere.set(this.optimizer, note.text);
      if (!note.editable) for (const input of [this.lr, ...this.hyper.querySelectorAll("input")]) notHere.set(input, note.text);
    }
    this.start.textContent = running ? "Pause" : "Start";
    this.start.setAttribute("aria-pressed", String(running));
    // After a phase command the loop is inside a step; a checkpoint holds step boundaries only.
    if (run?.phase && run.phase !== "step") notHere.set(this.saveCheckpoint, "The loop is in the middle of a step: finish it (Step) to save a checkpoint");
    const off = [this.start, this.step, this.nextPhase, this.reset, this.stop, this.saveCheckpoint, this.optimizer, this.lr, this.pace,
      this.zeroGrad, this.backward, this.accumulate, ...this.hyper.querySelectorAll("input")];
    for (const control of off) {
      const reason = notHere.get(control);
      const disabled = !live || reason !== undefined || (running && (control === this.step || control === this.nextPhase));
      /** @type {HTMLInputElement} */ (control).disabled = disabled;
      control.title = !live ? why : reason ?? control.dataset.hint ?? "";
    }
    if (resumable) {
      this.start.disabled = false;
      this.start.title = why;
    }
    this.checkpointSaved.textContent = saved ? `Saved: step ${saved.step}` : "";
    this.checkpointSaved.title = saved
      ? `The latest checkpoint: step ${saved.step}, ${Math.ceil(saved.bytes / 1024)} kB, written ${new Date(saved.saved_at * 1000).toLocaleTimeString()}`
      : "";
    // A new run needs only the server: these stay usable on a stopped or failed run.
    for (const control of [this.experiment, ...this.data]) {
      control.disabled = !reachable || !run || attached !== null;
      control.title = !reachable ? why : "";
    }
    if (!run) return;
    const set = force ? setValue : setUnlessEditing;
    set(this.experiment, run.experiment);
    const optimizer = /** @type {Record<string, unknown> | null} */ (/** @type {unknown} */ (optimizerOf(run)));
    const spec = optimizer ? this.optimizers.get(String(optimizer.name)) : undefined;
    if (optimizer && spec) {
      if (this.builtFor !== spec.name) this.buildHyperparameters(spec);
      // What the choice builds, in torch's own words (Muon: and what trains the biases).
      this.optimizer.dataset.hint = [spec.torch_class, spec.note].filter(Boolean).join(": ");
      if (live) this.optimizer.title = notHere.get(this.optimizer) ?? this.optimizer.dataset.hint;
      set(this.optimizer, String(optimizer.name));
      set(this.lr, fieldText(/** @type {number} */ (optimizer.lr)));
      for (const input of this.hyper.querySelectorAll("input")) {
        if (input.type === "checkbox") {
          if (force || document.activeElement !== input) input.checked = Boolean(optimizer[input.name]);
        } else {
          set(input, fieldText(/** @type {number} */ (optimizer[input.name])));
        }
      }
    }
    const config = run.config;
    if (!config) return; // an attached script's run: no teaching switches, data or pace of the page's
    const teaching = config.teaching;
    this.zeroGrad.checked = teaching.zero_grad;
    this.backward.checked = teaching.backward;
    set(this.accumulate, String(teaching.accumulate));
    DATA_FIELDS.forEach((name, i) => set(this.data[i], fieldText(config[name])));
    this.showDataSettings(run, config);
    const pace = config.steps_per_second;
    set(this.pace, pace == null ? "" : String(pace));
  }

  /**
   * Only the data settings this run's experiment lets the page change are fields; the others are
   * named with their fixed values, so a missing field is not a mystery.
   * @param {RunInfo} run @param {ExperimentConfig} config its configuration
   */
  showDataSettings(run, config) {
    const allowed = this.settings.get(run.experiment);
    /** @type {string[]} */
    const fixed = [];
    DATA_FIELDS.forEach((name, i) => {
      const shown = !allowed || allowed.has(name);
      const label = this.data[i].closest("label");
      if (label) label.hidden = !shown;
      if (!shown) {
        showError(this.data[i], null);
        fixed.push(`${DATA_TITLES[name]} ${fieldText(config[name])}`);
      }
    });
    this.dataFixed.textContent = fixed.length ? ` This experiment fixes ${fixed.join(", ")}.` : "";
  }
}

/** @param {HTMLInputElement} input @param {HyperparameterSpec} spec */
function applyBounds(input, spec) {
  input.removeAttribute("min");
  input.removeAttribute("max");
  if (spec.minimum != null && !spec.exclusive_minimum) input.min = String(spec.minimum);
  if (spec.maximum != null && !spec.exclusive_maximum) input.max = String(spec.maximum);
  const range = [
    spec.minimum == null ? "" : `${spec.exclusive_minimum ? ">" : "≥"} ${spec.minimum}`,
    spec.maximum == null ? "" : `${spec.exclusive_maximum ? "<" : "≤"} ${spec.maximum}`,
  ].filter(Boolean);
  input.dataset.hint = input.title = range.length ? `allowed: ${range.join(" and ")}` : "";
}

/** @param {HTMLInputElement | HTMLSelectElement} element @param {string} value */
function setValue(element, value) {
  element.value = value;
  if (element instanceof HTMLInputElement && element.type === "number") fitWidth(element);
}

/** @param {HTMLInputElement | HTMLSelectElement} element @param {string} value */
function setUnlessEditing(element, value) {
  if (document.activeElement !== element) setValue(element, value);
}
