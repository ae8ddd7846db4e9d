// @ts-check
/**
 * The top bar's controls. Handlers come in through bind* calls; `render(run)` shows a run's state
 * and configuration (so a change made in another tab shows here too) without touching the field
 * the user is typing in.
 */

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @typedef {{name: string, kind: "number" | "boolean", default: number | boolean,
 *            minimum: number | null, maximum: number | null,
 *            exclusive_minimum: boolean, exclusive_maximum: boolean}} HyperparameterSpec
 * @typedef {{name: string, title: string, hyperparameters: HyperparameterSpec[]}} OptimizerSpec
 */

const HYPER_LABELS = /** @type {Record<string, string>} */ ({
  momentum: "Momentum",
  dampening: "Dampening",
  nesterov: "Nesterov",
  weight_decay: "Weight decay",
  beta1: "β₁",
  beta2: "β₂",
  eps: "ε",
  amsgrad: "AMSGrad",
  alpha: "α (smoothing)",
  centered: "Centered",
  lr_decay: "LR decay",
  momentum_decay: "Momentum decay",
  decoupled_weight_decay: "Decoupled weight decay",
  rho: "ρ",
  lambd: "λ (decay)",
  t0: "t₀ (averaging start)",
  eta_minus: "η−",
  eta_plus: "η+",
  step_size_min: "Min step",
  step_size_max: "Max step",
});

export class Controls {
  /** @param {{name: string, title: string}[]} experiments @param {OptimizerSpec[]} optimizers */
  constructor(experiments, optimizers) {
    this.optimizers = new Map(optimizers.map((o) => [o.name, o]));
    this.start = /** @type {HTMLButtonElement} */ ($("start"));
    this.step = /** @type {HTMLButtonElement} */ ($("step"));
    this.nextPhase = /** @type {HTMLButtonElement} */ ($("next-phase"));
    this.reset = /** @type {HTMLButtonElement} */ ($("reset"));
    this.experiment = /** @type {HTMLSelectElement} */ ($("experiment"));
    this.optimizer = /** @type {HTMLSelectElement} */ ($("optimizer"));
    this.lr = /** @type {HTMLInputElement} */ ($("lr"));
    this.pace = /** @type {HTMLSelectElement} */ ($("pace"));
    this.hyper = $("hyperparameters");
    this.zeroGrad = /** @type {HTMLInputElement} */ ($("teach-zero-grad"));
    this.backward = /** @type {HTMLInputElement} */ ($("teach-backward"));
    this.accumulate = /** @type {HTMLInputElement} */ ($("teach-accumulate"));
    for (const e of experiments) this.experiment.append(new Option(e.title, e.name));
    for (const o of optimizers) this.optimizer.append(new Option(o.title, o.name));
    /** @type {string | null} which optimizer's inputs are built */
    this.builtFor = null;
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

  /** @param {(name: string) => void} handler */
  bindExperiment(handler) {
    this.experiment.addEventListener("change", () => handler(this.experiment.value));
  }

  /**
   * @param {(teaching: {zero_grad: boolean, backward: boolean, accumulate: number}) => void} handler
   */
  bindTeaching(handler) {
    const changed = () => {
      if (!this.accumulate.checkValidity()) {
        this.accumulate.reportValidity();
        return;
      }
      handler({
        zero_grad: this.zeroGrad.checked,
        backward: this.backward.checked,
        accumulate: Number(this.accumulate.value),
      });
    };
    for (const input of [this.zeroGrad, this.backward, this.accumulate]) {
      input.addEventListener("change", changed);
    }
  }

  /** @param {(stepsPerSecond: number | null) => void} handler */
  bindPace(handler) {
    this.pace.addEventListener("change", () =>
      handler(this.pace.value === "" ? null : Number(this.pace.value)),
    );
  }

  /**
   * @param {(config: Record<string, unknown>) => void} handler called with a whole optimizer
   *   config: a new optimizer starts from its defaults, a changed hyperparameter keeps the rest.
   */
  bindOptimizer(handler) {
    this.optimizer.addEventListener("change", () => {
      const spec = this.optimizers.get(this.optimizer.value);
      if (!spec) return;
      /** @type {Record<string, unknown>} */
      const config = { name: spec.name, lr: this.defaultOf(spec, "lr") };
      for (const h of spec.hyperparameters) config[h.name] = h.default;
      handler(config);
    });
    const changed = () => {
      if (!this.lr.checkValidity()) {
        this.lr.reportValidity();
        return;
      }
      handler(this.readOptimizer());
    };
    this.lr.addEventListener("change", changed);
    this.hyper.addEventListener("change", changed);
  }

  /** @param {OptimizerSpec} spec @param {string} name */
  defaultOf(spec, name) {
    return spec.hyperparameters.find((h) => h.name === name)?.default;
  }

  /** The optimizer config the inputs show now. */
  readOptimizer() {
    /** @type {Record<string, unknown>} */
    const config = { name: this.optimizer.value, lr: Number(this.lr.value) };
    for (const input of this.hyper.querySelectorAll("input")) {
      config[input.name] = input.type === "checkbox" ? input.checked : Number(input.value);
    }
    return config;
  }

  /** @param {OptimizerSpec} spec */
  buildHyperparameters(spec) {
    this.hyper.replaceChildren();
    const lrSpec = spec.hyperparameters.find((h) => h.name === "lr");
    if (lrSpec) applyBounds(this.lr, lrSpec);
    for (const h of spec.hyperparameters) {
      if (h.name === "lr") continue;
      const label = document.createElement("label");
      label.className = h.kind === "boolean" ? "field check" : "field";
      const input = document.createElement("input");
      input.name = h.name;
      input.id = `hp-${h.name}`;
      if (h.kind === "boolean") {
        input.type = "checkbox";
        label.append(input, ` ${HYPER_LABELS[h.name] ?? h.name}`);
      } else {
        input.type = "number";
        input.step = "any";
        input.inputMode = "decimal";
        applyBounds(input, h);
        label.append(HYPER_LABELS[h.name] ?? h.name, input);
      }
      this.hyper.append(label);
    }
    this.builtFor = spec.name;
  }

  /** @param {import("../store.js").RunInfo | null} run */
  render(run) {
    const state = run?.state ?? "connecting";
    const live = state === "idle" || state === "running" || state === "paused";
    const running = state === "running";
    this.start.textContent = running ? "Pause" : "Start";
    this.start.setAttribute("aria-pressed", String(running));
    this.start.disabled = !live;
    this.step.disabled = this.nextPhase.disabled = !live || running;
    this.reset.disabled = !live;
    this.optimizer.disabled = this.lr.disabled = this.pace.disabled = !live;
    if (!run) return;
    this.experiment.value = run.experiment;
    const optimizer = run.config.optimizer;
    const spec = this.optimizers.get(optimizer.name);
    if (spec && this.builtFor !== spec.name) this.buildHyperparameters(spec);
    setUnlessEditing(this.optimizer, optimizer.name);
    setUnlessEditing(this.lr, String(optimizer.lr));
    for (const input of this.hyper.querySelectorAll("input")) {
      input.disabled = !live;
      if (document.activeElement === input) continue;
      if (input.type === "checkbox") input.checked = Boolean(optimizer[input.name]);
      else input.value = String(optimizer[input.name]);
    }
    const teaching = run.config.teaching;
    if (teaching) {
      this.zeroGrad.checked = teaching.zero_grad;
      this.backward.checked = teaching.backward;
      setUnlessEditing(this.accumulate, String(teaching.accumulate));
    }
    for (const input of [this.zeroGrad, this.backward, this.accumulate]) input.disabled = !live;
    const pace = run.config.steps_per_second;
    setUnlessEditing(this.pace, pace == null ? "" : String(pace));
  }
}

/** @param {HTMLInputElement} input @param {HyperparameterSpec} spec */
function applyBounds(input, spec) {
  if (spec.minimum != null) input.min = String(spec.minimum);
  if (spec.maximum != null) input.max = String(spec.maximum);
  const range = [
    spec.minimum == null ? "" : `${spec.exclusive_minimum ? ">" : "≥"} ${spec.minimum}`,
    spec.maximum == null ? "" : `${spec.exclusive_maximum ? "<" : "≤"} ${spec.maximum}`,
  ].filter(Boolean);
  input.title = range.length ? `allowed: ${range.join(" and ")}` : "";
}

/** @param {HTMLInputElement | HTMLSelectElement} element @param {string} value */
function setUnlessEditing(element, value) {
  if (document.activeElement !== element) element.value = value;
}
