// @ts-check
/**
 * The model builder: the network an experiment trains (hidden layers and their units, the
 * activation, Playground's input features, MLP or CNN) and its loss, within what the experiment's
 * `settings` and `models` allow and the bounds GET /api/builder gives. A network is edited in
 * several fields before it makes sense, so edits are a draft, said to be pending, until Apply
 * starts a new run with it (the same optimizer). An entry that is not a network (empty, 0, 999,
 * −1, not a number; no input left) is never sent: the field goes back with the reason beside it.
 * A refusal by the server puts the run's model back, its reason beside the field it is about.
 */
import { ACTIVATION_TITLES, activationTitle, describeChange, featureTitle, sameOptimizer } from "../lib/configText.js";
import { errorOf, showError } from "./fields.js";

/**
 * @typedef {import("../contract/contract").ExperimentConfig} ExperimentConfig
 * @typedef {import("../contract/contract").Architecture} Architecture
 * @typedef {import("../contract/contract").RunInfo} RunInfo
 * @typedef {"connecting" | "open" | "closed"} Connection
 * @typedef {{name: string, title: string, description?: string, default_config: ExperimentConfig,
 *            task?: string, settings: string[], losses: string[], models: string[],
 *            features?: boolean, source?: string}} ExperimentSpec one entry of GET /api/experiments
 * @typedef {{max_hidden_layers: number, min_units: number, max_units: number, activations: string[],
 *            features: string[], losses: Record<string, string>}} BuilderSpec GET /api/builder
 * @typedef {{status?: number, reason?: string, message: string,
 *            errors?: {loc?: (string | number)[], msg: string}[]}} Refusal
 * @typedef {{architecture: Architecture | null, loss: ExperimentConfig["loss"]}} Model
 */

const KIND_TITLES = /** @type {Record<string, string>} */ ({ mlp: "MLP", cnn: "CNN (small, its layers fixed)" });

/**
 * A select with its label beside it (not around it: a label around a select would take the
 * options' text into the select's accessible name).
 * @param {string} text @param {HTMLSelectElement} select
 */
function selectField(text, select) {
  return element("div", { class: "field" }, [element("label", { for: select.id }, [text]), select]);
}

/** @param {string} tag @param {Record<string, string>} [attributes] @param {(Node | string)[]} [children] */
function element(tag, attributes = {}, children = []) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  made.append(...children);
  return made;
}

/**
 * Whether an experiment's network reads Playground's features of 2-D points, as the experiments
 * list says. A server from before that flag: the 2-D sets are the ones whose own network reads
 * more than x₁ (the 1-D curve and the digits name only x₁, which they ignore).
 * @param {ExperimentSpec} spec
 */
export function takesFeatures(spec) {
  if (typeof spec.features === "boolean") return spec.features;
  const features = spec.default_config.architecture?.features ?? [];
  return features.some((name) => name !== "x1");
}

/** @param {Model} model */
const modelKey = (model) => JSON.stringify([model.architecture, model.loss ?? null]);

export class Builder {
  /**
   * @param {HTMLElement} root the builder's group (its body and its "fixed" line inside)
   * @param {ExperimentSpec[]} experiments @param {BuilderSpec} spec
   * @param {Map<string, {title: string}>} optimizers by name, for the notice's words
   */
  constructor(root, experiments, spec, optimizers) {
    this.experiments = new Map(experiments.map((e) => [e.name, e]));
    this.spec = spec;
    this.optimizers = optimizers;
    this.fixed = /** @type {HTMLElement} */ (root.querySelector("#builder-fixed"));
    this.body = /** @type {HTMLElement} */ (root.querySelector("#builder-body"));
    /** @type {RunInfo | null} */
    this.run = null;
    /** @type {Connection} */
    this.connection = "connecting";
    /** @type {string | null} the run whose model the draft started from */
    this.draftOf = null;
    /** @type {Model} what the fields show: the run's model until an edit */
    this.draft = { architecture: null, loss: null };
    /** @type {((config: ExperimentConfig, why: string) => Promise<unknown>) | null} */
    this.onApply = null;
    this.applying = false;

    this.kind = /** @type {HTMLSelectElement} */ (element("select", { id: "model-kind" }));
    for (const kind of ["mlp", "cnn"]) this.kind.append(new Option(KIND_TITLES[kind], kind));
    this.kindField = selectField("Model type", this.kind);

    this.layers = element("ol", { class: "layers", id: "hidden-layers", "aria-label": "Hidden layers and their units" });
    this.addLayer = /** @type {HTMLButtonElement} */ (element("button", { type: "button", id: "add-layer" }, ["Add layer"]));
    this.layersField = element("div", { class: "layers-field", role: "group", "aria-labelledby": "layers-title" }, [
      element("span", { id: "layers-title" }, ["Hidden layers, units each:"]),
      this.layers,
      this.addLayer,
    ]);

    this.activation = /** @type {HTMLSelectElement} */ (element("select", { id: "model-activation" }));
    for (const name of spec.activations) this.activation.append(new Option(activationTitle(name), name));
    this.activationField = selectField("Activation", this.activation);

    this.loss = /** @type {HTMLSelectElement} */ (element("select", { id: "model-loss" }));
    this.lossField = selectField("Loss", this.loss);

    this.features = element("fieldset", { class: "features", id: "model-features" }, [
      element("legend", {}, ["Inputs"]),
    ]);
    /** @type {HTMLInputElement[]} */
    this.featureBoxes = spec.features.map((name) => {
      const box = /** @type {HTMLInputElement} */ (element("input", { type: "checkbox", value: name, id: `feature-${spec.features.indexOf(name)}` }));
      this.features.append(element("label", {}, [box, ` ${featureTitle(name)}`]));
      return box;
    });

    this.apply = /** @type {HTMLButtonElement} */ (element("button", { type: "button", id: "builder-apply", class: "primary" }, ["Apply"]));
    this.discard = /** @type {HTMLButtonElement} */ (element("button", { type: "button", id: "builder-discard" }, ["Discard changes"]));
    this.pending = element("p", { id: "builder-pending", class: "hint", role: "status", "data-testid": "builder-pending" });
    this.applyRow = element("div", { class: "apply-row" }, [this.apply, this.discard, this.pending]);

    this.body.replaceChildren(this.kindField, this.layersField, this.activationField, this.lossField, this.features, this.applyRow);
    this.listen();
  }

  /** @param {(config: ExperimentConfig, why: string) => Promise<unknown>} handler starts the new run; rejects when refused */
  bindApply(handler) {
    this.onApply = handler;
  }

  listen() {
    this.kind.addEventListener("change", () => this.edit({ kind: /** @type {Architecture["kind"]} */ (this.kind.value) }));
    this.activation.addEventListener("change", () =>
      this.edit({ activation: /** @type {Architecture["activation"]} */ (this.activation.value) }),
    );
    this.loss.addEventListener("change", () => {
      this.draft = { ...this.draft, loss: /** @type {ExperimentConfig["loss"]} */ (this.loss.value) };
      showError(this.loss, null);
      this.show();
    });
    this.addLayer.addEventListener("click", () => {
      const hidden = this.draft.architecture?.hidden ?? [];
      if (hidden.length >= this.spec.max_hidden_layers) return;
      // A new layer as wide as the last one (or 8): a width that already works here.
      this.edit({ hidden: [...hidden, hidden.at(-1) ?? 8] });
      const inputs = this.layers.querySelectorAll("input");
      /** @type {HTMLInputElement | undefined} */ (inputs[inputs.length - 1])?.focus();
    });
    this.layers.addEventListener("click", (event) => {
      const button = /** @type {HTMLElement} */ (event.target).closest("button[data-layer]");
      if (!button || !this.draft.architecture) return;
      const index = Number(/** @type {HTMLElement} */ (button).dataset.layer);
      this.edit({ hidden: this.draft.architecture.hidden.filter((_, i) => i !== index) });
      /** @type {HTMLElement} */ (this.layers.querySelector("button[data-layer]") ?? this.addLayer).focus();
    });
    this.layers.addEventListener("change", (event) => {
      const input = /** @type {HTMLInputElement} */ (event.target);
      if (!(input instanceof HTMLInputElement) || !this.draft.architecture) return;
      const index = Number(input.dataset.layer);
      const units = this.readUnits(input, this.draft.architecture.hidden[index]);
      if (units === null) return;
      const hidden = [...this.draft.architecture.hidden];
      hidden[index] = units;
      this.edit({ hidden });
    });
    this.features.addEventListener("change", (event) => {
      const box = /** @type {HTMLInputElement} */ (event.target);
      if (!this.draft.architecture) return;
      const chosen = this.featureBoxes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) {
        box.checked = true; // the last input stays: a network must read something
        showError(this.features, `Not sent: at least one input must stay checked; ${featureTitle(box.value)} stays.`);
        return;
      }
      showError(this.features, null);
      this.edit({ features: /** @type {Architecture["features"]} */ (chosen) });
    });
    this.apply.addEventListener("click", () => this.send());
    this.discard.addEventListener("click", () => {
      this.resetDraft();
      this.clearErrors();
      this.show();
    });
  }

  /**
   * A layer's units as entered, or null (and the reason beside it, the field back to `keep`) when
   * it is not a whole number within the builder's bounds.
   * @param {HTMLInputElement} input @param {number} keep the units the draft holds
   */
  readUnits(input, keep) {
    const raw = input.value.trim();
    const { min_units: low, max_units: high } = this.spec;
    const value = Number(raw);
    let problem = "";
    if (input.validity.badInput || (raw !== "" && !Number.isFinite(value))) problem = "Not a number";
    else if (raw === "") problem = "Empty";
    else if (!Number.isInteger(value)) problem = `${raw} is not a whole number of units`;
    else if (value < low || value > high) problem = `${raw} is outside ${low} to ${high} units`;
    if (problem) {
      input.value = String(keep);
      showError(input, `${problem}: not sent; the layer keeps ${keep}.`);
      return null;
    }
    showError(input, null);
    return value;
  }

  /** Change the draft's network. @param {Partial<Architecture>} change */
  edit(change) {
    if (!this.draft.architecture) return;
    this.draft = { ...this.draft, architecture: { ...this.draft.architecture, ...change } };
    this.show();
  }

  resetDraft() {
    const config = this.run?.config;
    this.draft = { architecture: config?.architecture ?? null, loss: config?.loss ?? null };
    this.draftOf = this.run?.id ?? null;
  }

  clearErrors() {
    for (const control of [this.kind, this.activation, this.loss, this.features, this.apply, ...this.layers.querySelectorAll("input")]) {
      showError(/** @type {HTMLElement} */ (control), null);
    }
  }

  /** The draft differs from the run's model. */
  isPending() {
    const config = this.run?.config;
    return Boolean(config) && modelKey(this.draft) !== modelKey({ architecture: config?.architecture ?? null, loss: config?.loss ?? null });
  }

  /**
   * Show the run's model (a change made in another tab, or a new run, shows here too); a pending
   * draft of the same run stays. Says why a control is off.
   * @param {RunInfo | null} run @param {Connection} [connection]
   */
  render(run, connection = this.connection) {
    const experimentChanged = run?.experiment !== this.run?.experiment;
    this.run = run;
    this.connection = connection;
    if (run && (run.id !== this.draftOf || experimentChanged)) {
      this.resetDraft();
      this.clearErrors();
    }
    this.show();
  }

  show() {
    const run = this.run;
    const experiment = run ? this.experiments.get(run.experiment) : undefined;
    const settings = new Set(experiment?.settings ?? []);
    const arch = this.draft.architecture;
    const builds = Boolean(experiment && settings.has("architecture") && experiment.models.length && arch);
    const chooses = Boolean(experiment && settings.has("loss") && experiment.losses.length);
    this.fixed.hidden = !run || builds;
    this.fixed.textContent = !experiment
      ? ""
      : `The model is fixed in ${experiment.title}${this.fixedLoss(run)}: the builder does not apply to it; its data and optimizer can change.`;
    this.body.hidden = !run || (!builds && !chooses);
    if (!run || !experiment) return;

    const mlp = arch?.kind === "mlp";
    this.kindField.hidden = !builds || experiment.models.length < 2;
    for (const option of this.kind.options) option.disabled = !experiment.models.includes(option.value);
    this.layersField.hidden = !builds || !mlp;
    this.activationField.hidden = !builds || !mlp;
    this.features.hidden = !builds || !mlp || !takesFeatures(experiment);
    this.lossField.hidden = !chooses;
    if (arch) {
      setSelect(this.kind, arch.kind);
      setSelect(this.activation, arch.activation);
      for (const box of this.featureBoxes) box.checked = arch.features.includes(/** @type {any} */ (box.value));
      // Rebuilt only when layers come or go; otherwise each field shows the draft's units, except
      // the one being typed in (a status message must not wipe an entry half made).
      const inputs = /** @type {NodeListOf<HTMLInputElement>} */ (this.layers.querySelectorAll("input"));
      if (!this.layers.dataset.built || inputs.length !== arch.hidden.length) this.buildLayers(arch.hidden);
      else inputs.forEach((input, i) => document.activeElement !== input && (input.value = String(arch.hidden[i])));
    }
    if (chooses) {
      const titles = this.spec.losses;
      const names = experiment.losses;
      if (this.loss.dataset.of !== names.join()) {
        this.loss.replaceChildren(...names.map((name) => new Option(titles[name] ?? name, name)));
        this.loss.dataset.of = names.join();
      }
      setSelect(this.loss, this.draft.loss ?? names[0]);
    }

    // Say why a control is off: a disabled control with no reason is a dead end.
    const reachable = this.connection !== "closed";
    const why = !reachable ? "The server cannot be reached; the page reconnects by itself." : this.applying ? "Starting the new run…" : "";
    const pending = this.isPending();
    const full = (arch?.hidden.length ?? 0) >= this.spec.max_hidden_layers;
    /** @type {[HTMLInputElement | HTMLSelectElement | HTMLButtonElement, string][]} */
    const controls = [
      [this.kind, ""],
      [this.activation, ""],
      [this.loss, experiment.losses.length < 2 ? `${this.spec.losses[experiment.losses[0]] ?? experiment.losses[0]} is the only loss ${experiment.title} takes` : ""],
      [this.addLayer, full ? `At most ${this.spec.max_hidden_layers} hidden layers` : `Add a hidden layer (at most ${this.spec.max_hidden_layers})`],
      [this.apply, pending ? "Start a new run with this model and the same optimizer" : "Nothing to apply: the fields show the run's model"],
      [this.discard, pending ? "Put the run's model back in the fields" : "Nothing to discard"],
      ...[...this.layers.querySelectorAll("input, button"), ...this.featureBoxes].map(
        (c) => /** @type {[HTMLInputElement, string]} */ ([c, /** @type {HTMLElement} */ (c).dataset.hint ?? ""]),
      ),
    ];
    for (const [control, hint] of controls) {
      const off = !reachable || this.applying;
      const idle =
        (control === this.loss && experiment.losses.length < 2) ||
        (control === this.addLayer && full) ||
        ((control === this.apply || control === this.discard) && !pending);
      control.disabled = off || idle;
      control.title = off ? why : hint;
    }
    this.pending.textContent = this.applying
      ? "Starting a new run with this model…"
      : pending
        ? `Not applied yet: ${this.pendingText()}. Apply starts a new run with the same optimizer.`
        : "";
  }

  /** @param {RunInfo | null} run */
  fixedLoss(run) {
    const loss = run?.config?.loss;
    return loss ? ` (loss: ${this.spec.losses[loss] ?? loss})` : "";
  }

  /** What the draft changes, in words. */
  pendingText() {
    const config = /** @type {ExperimentConfig} */ (this.run?.config);
    return describeChange(config, { ...config, ...this.draft }, this.spec.losses).join(", ");
  }

  /** One field per hidden layer, each with its remove button. @param {number[]} hidden */
  buildLayers(hidden) {
    const focused = document.activeElement;
    const refocus = focused instanceof HTMLElement && this.layers.contains(focused) ? focused.id : null;
    for (const input of this.layers.querySelectorAll("input")) errorOf(input).remove();
    const { min_units: low, max_units: high } = this.spec;
    this.layers.replaceChildren(
      ...hidden.map((units, i) => {
        const input = /** @type {HTMLInputElement} */ (element("input", {
          type: "number", id: `layer-${i + 1}-units`, min: String(low), max: String(high), step: "1",
          inputmode: "numeric", "data-layer": String(i), "aria-label": `Layer ${i + 1} units`,
        }));
        input.value = String(units);
        input.dataset.hint = `Layer ${i + 1}: ${low} to ${high} units`;
        const remove = element("button", { type: "button", class: "remove-layer", "data-layer": String(i), "aria-label": `Remove layer ${i + 1}` }, ["−"]);
        remove.dataset.hint = `Remove hidden layer ${i + 1}`;
        // The layer's number shows; its whole name ("Layer 1 units") is what a screen reader says.
        const label = element("label", {}, [element("span", { class: "layer-number", "aria-hidden": "true" }, [`${i + 1}`]), input]);
        return element("li", { class: "layer" }, [label, remove]);
      }),
    );
    if (!hidden.length) this.layers.append(element("li", { class: "hint" }, ["none: a linear model"]));
    this.layers.dataset.built = "yes";
    if (refocus) document.getElementById(refocus)?.focus();
  }

  /** Apply: a new run with the draft's model and everything else as the run has it. */
  send() {
    const run = this.run;
    // An attached script's run has no configuration: its model is the script's (the builder is hidden).
    if (!run?.config || !this.onApply || !this.isPending()) return;
    const config = /** @type {ExperimentConfig} */ ({ ...run.config, ...this.draft });
    const optimizer = /** @type {{name: string, lr?: number}} */ (/** @type {unknown} */ (run.config.optimizer));
    const why = `${describeChange(run.config, config, this.spec.losses).join(", ")}: ${sameOptimizer(optimizer, this.optimizers.get(optimizer.name)?.title)}`;
    this.clearErrors();
    this.applying = true;
    this.show();
    this.onApply(config, why).then(
      () => {
        this.applying = false;
        this.show();
      },
      (/** @type {Refusal} */ error) => {
        this.applying = false;
        // At the cap of live runs the notice offers the way out; the draft waits for it.
        if (error.status === 429) return this.show();
        if (error.status === 0 || !error.status) {
          this.show();
          return showError(this.apply, `Not started: ${error.message}`);
        }
        this.refused(error);
      },
    );
  }

  /**
   * The server refused the model: the fields go back to the run's, and each reason stands beside
   * the field it is about (or beside Apply when it names none).
   * @param {Refusal} error
   */
  refused(error) {
    this.resetDraft();
    this.show();
    const entries = error.errors?.length ? error.errors : [{ loc: [], msg: error.message }];
    for (const entry of entries) {
      const loc = (entry.loc ?? []).filter((part) => part !== "body");
      const why = entry.msg.replace(/^Value error, /, "");
      const field = this.fieldFor(loc);
      const still = field === this.apply ? "" : ` The run still uses ${this.currentText(loc)}.`;
      showError(field, `Refused: ${why.replace(/\.?$/, ".")}${still}`);
    }
  }

  /** @param {(string | number)[]} loc */
  fieldFor(loc) {
    const [top, part, index] = loc;
    if (top === "loss") return this.loss;
    if (top !== "architecture") return this.apply;
    if (part === "kind") return this.kind;
    if (part === "activation") return this.activation;
    if (part === "features") return this.features;
    if (part === "hidden") {
      const input = typeof index === "number" ? this.layers.querySelectorAll("input")[index] : undefined;
      return /** @type {HTMLElement} */ (input ?? this.addLayer);
    }
    return this.apply;
  }

  /** How the run's value of a field reads. @param {(string | number)[]} loc */
  currentText(loc) {
    const config = this.run?.config;
    if (!config) return "";
    if (loc[0] === "loss") return config.loss ? this.spec.losses[config.loss] ?? config.loss : "its own loss";
    const arch = config.architecture;
    if (!arch) return "its own model";
    if (loc[1] === "activation") return ACTIVATION_TITLES[arch.activation] ?? arch.activation;
    if (loc[1] === "features") return arch.features.map(featureTitle).join(", ");
    if (loc[1] === "kind") return arch.kind.toUpperCase();
    return `${arch.hidden.length} hidden layers (${arch.hidden.join("-") || "none"})`;
  }
}

/** @param {HTMLSelectElement} select @param {string} value */
function setSelect(select, value) {
  if (select.value !== value) select.value = value;
}
