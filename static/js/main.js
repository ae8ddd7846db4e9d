// @ts-check
/** The entry module: wires the store, the socket, the API and the views together. Nothing else. */
import { api } from "./api.js";
import { RunFlow } from "./runFlow.js";
import { Store } from "./store.js";
import { Controls } from "./views/controls.js";
import { Builder } from "./views/builder.js";
import { bindCopyLink, bindViewerLink } from "./views/share.js";
import { startRoom, whoAmI } from "./views/follow.js";
import { describeChange, sameOptimizer } from "./lib/configText.js";
import { readLink } from "./lib/urlState.js";
import { CodeView } from "./views/codeView.js";
import { LossChart } from "./views/lossChart.js";
import { LossSurface } from "./views/lossSurface.js";
import { ModelPanels } from "./views/model/panels.js";
import { ParametersView } from "./views/parameters.js";
import { Notice } from "./views/notice.js";
import { bindRacePicker, RaceTrails } from "./views/race.js";
import { BranchForm, branchCurve, forkMarks, shortId } from "./views/branch.js";
import { Readouts } from "./views/readouts.js";
import { AlertsView } from "./views/alerts.js";
import { HealthPanels } from "./views/health/panels.js";
import { MAX_WEIGHT } from "./lib/smoothing.js";
import { shortClass } from "./lib/attached.js";
import { AttachedList, AttachedPanel } from "./views/attached.js";
import { RunsList, runLabel } from "./views/runsList.js";
import { CompareChart } from "./views/compareChart.js";

/** How often the list of attached scripts is read again (ms). */
const ATTACHED_POLL_MS = 3000;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

async function main() {
  const store = new Store();
  const readouts = new Readouts();
  const notice = new Notice($("notice"));
  const [experiments, optimizers, source, builderSpec] = await Promise.all([
    api.experiments(),
    api.optimizers(),
    api.source(),
    api.builder(),
  ]);
  const controls = new Controls(experiments, optimizers);
  controls.render(null); // nothing to control until the stream says which run this is
  const chart = new LossChart($("loss-chart"), $("nonfinite"));
  chart.setOptimizerTitles(optimizers);
  const alerts = new AlertsView($("alerts"), /** @type {HTMLOListElement} */ ($("alert-list")), /** @type {HTMLInputElement} */ ($("alert-nonfinite")));
  const optimizerSpecs = controls.optimizers; // by name, as GET /api/optimizers gave them
  const builder = new Builder($("builder"), experiments, builderSpec, optimizerSpecs);
  builder.render(null);
  bindCopyLink(/** @type {HTMLButtonElement} */ ($("copy-link")), /** @type {HTMLInputElement} */ ($("link-text")), $("link-status"));
  const parameters = new ParametersView($("params"), $("detail"), (name) => {
    // An attached script's optimizer has a ledger only where its class is exactly one with a rule.
    const attached = store.run?.attached;
    if (attached) return { title: shortClass(attached.optimizer.torch_class), ledger: attached.optimizer.ledger, phases: false };
    const spec = optimizerSpecs.get(name);
    // An older server without the `ledger` flag: every optimizer it streams a prediction for has a rule.
    return spec && { title: spec.title, ledger: spec.ledger ?? true };
  });
  const code = new CodeView($("code"), $("code-file"), $("phase-result"), source);
  const surface = new LossSurface($("surface"));
  const model = new ModelPanels(experiments, (runId) => api.points(runId));
  const trails = new RaceTrails();
  const health = new HealthPanels(() => store.snapshotTimes);
  const attachedPanel = new AttachedPanel();
  // The attached scripts, listed from GET /api/runs: when the followed run changes (its id or
  // state), and every few seconds, since a script may attach or end at any time.
  const attachedList = new AttachedList($("attached-runs"), /** @type {HTMLUListElement} */ ($("attached-list")), (id) => flow.follow(id));
  let listedFor = "";
  function listAttached(always = false) {
    const key = `${flow.followed}:${store.run?.state}`;
    // The followed run's state and step as the stream has them, at once; the others at the poll.
    const current = () => store.run && { ...store.run, step: store.latestStep() };
    attachedList.render(null, flow.followed, current());
    if (!always && key === listedFor) return;
    listedFor = key;
    api.runs().then((runs) => {
      attachedList.render(runs, flow.followed, current());
      runsList.render(runs, flow.followed);
    }).catch(() => {});
  }
  // Every run, to open, rename, export, delete or compare; read with the attached scripts' list.
  const compare = new CompareChart($("compare-panel"), $("compare-chart"));
  /** @type {Map<string, Promise<import("./contract/contract").RunExport>>} a run's export, read once per step count */
  const exported = new Map();
  const runsList = new RunsList(/** @type {HTMLTableSectionElement} */ ($("runs-body")), $("runs-error"), {
    open: (id) => flow.follow(id),
    rename: (id, name) => api.renameRun(id, name).then(() => listAttached(true)),
    remove: (id) => api.deleteRun(id).then(() => listAttached(true)),
    compare: (chosen) => {
      const reads = chosen.map((run) => {
        const key = `${run.id}:${run.step}`;
        if (!exported.has(key)) exported.set(key, api.exportJson(run.id));
        return /** @type {Promise<import("./contract/contract").RunExport>} */ (exported.get(key)).then((e) => ({ id: run.id, label: runLabel(run), exported: e }));
      });
      Promise.all(reads).then((runs) => compare.render(runs)).catch((error) => runsList.showError(`Not compared: ${error.message}`));
    },
  });
  // Who this page is (a view-only link's page sees one run: it has no lists to keep fresh).
  const accessing = whoAmI();
  accessing.then((access) => {
    if (access.role !== "viewer") setInterval(() => listAttached(true), ATTACHED_POLL_MS);
  });
  /** @type {string | null} the run whose loss surface is drawn */
  let surfaceOf = null;

  // Fold any number of messages into one redraw per animation frame.
  const dirty = new Set();
  let scheduled = false;
  store.changed.subscribe((change) => {
    dirty.add(change);
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(redraw);
    }
  });
  function redraw() {
    scheduled = false;
    if (dirty.has("run")) chart.setRun(store.run);
    if (dirty.has("run")) chart.setForks(forkMarks(store.run));
    if (dirty.has("run")) showBranches();
    if (dirty.has("run")) branchForm.render(store.run);
    if (dirty.has("losses") || dirty.has("logged")) chart.setLosses(store.losses.values, store.losses.count, lossLines(), loggedLines());
    if (dirty.has("marks")) chart.setMarks(store.marks);
    if (dirty.has("alerts")) chart.setAlerts(store.alerts);
    if (dirty.has("alerts")) alerts.render(store.alerts);
    if (dirty.has("alerts")) health.setAlerts(store.alerts);
    if (dirty.has("run")) alerts.renderRun(store.run);
    // why the run is paused or ended (an alert, a failure), where the status says paused
    if (dirty.has("run")) $("readout-status").title = store.run?.reason ?? "";
    if (dirty.has("evaluation")) chart.setEvaluations(store.evaluations);
    if (dirty.has("health")) health.render(store.health);
    if (dirty.has("run")) health.renderRun(store.run);
    if (dirty.has("evaluation")) model.setEvaluations(store.evaluations, store.run);
    if (dirty.has("snapshot") || dirty.has("run")) model.render(store.run, store.views, store.snapshot?.header.step);
    if (dirty.has("snapshot")) parameters.render(store.snapshot);
    if (dirty.has("snapshot") || dirty.has("run")) code.render(store.snapshot, store.latestPhase());
    if (dirty.has("run") || dirty.has("connection")) controls.render(store.run, store.connection);
    if (dirty.has("run") || dirty.has("connection")) builder.render(store.run, store.connection);
    if (dirty.has("run") || dirty.has("connection")) flow.explainRun();
    if (dirty.has("run")) showSurface();
    if (dirty.has("run")) attachedPanel.render(store.run);
    if (dirty.has("run")) listAttached();
    if (dirty.has("snapshot")) {
      const race = /** @type {any} */ (store.snapshot?.header)?.race;
      if (!store.snapshot) trails.clear();
      if (race) {
        trails.add(race);
        surface.setRacers(trails.racers(race, store.race));
      }
    }
    if (dirty.has("connection")) readouts.renderConnection(store.connection);
    if (dirty.has("error")) readouts.showMessage(store.error);
    readouts.render(
      store.latestStep(),
      store.latestLoss(),
      store.connection === "closed" ? "unreachable" : store.run?.state ?? "connecting",
      store.latestPhase(),
    );
    dirty.clear();
  }

  /** The racers' lines, and the branches' from their forks on: the loss chart's other lines. */
  function lossLines() {
    return [...store.race.racers, .../** @type {any[]} */ (branchLines)];
  }

  /** @type {ReturnType<typeof branchCurve>[]} each branch's losses from its fork, read when the branches change */
  let branchLines = [];
  let branchesShown = "";
  function showBranches() {
    const run = store.run;
    const key = `${run?.id}:${JSON.stringify(run?.branches ?? [])}`;
    if (key === branchesShown) return;
    branchesShown = key;
    branchLines = [];
    const children = run?.branches ?? [];
    Promise.all(children.map((child) => api.scalars(child.run).then((s) => branchCurve(`branch ${shortId(child.run)}`, s.loss, child.step), () => null)))
      .then((curves) => {
        if (key !== branchesShown) return;
        branchLines = curves.filter((c) => c !== null);
        chart.setLosses(store.losses.values, store.losses.count, lossLines(), loggedLines());
      });
  }

  /** An attached script's logged scalars besides the loss, for the loss chart. */
  function loggedLines() {
    return [...store.logged].map(([name, series]) => ({ name, values: series.values, count: series.count }));
  }

  /** Report a refused request on the page instead of failing silently. @param {Promise<unknown>} p */
  const attempt = (p) => p.catch((error) => store.setError(error.message));
  const runId = () => /** @type {string} */ (store.run?.id);
  const flow = new RunFlow(store, notice, attempt);

  controls.bindStartPause(() =>
    attempt(api.command(runId(), store.run?.state === "running" ? "pause" : "start")),
  );
  controls.bindStep(() => attempt(api.command(runId(), "step")));
  controls.bindNextPhase(() => attempt(api.command(runId(), "phase")));
  controls.bindReset(() => attempt(api.command(runId(), "reset")));
  controls.bindStop(() => attempt(api.command(runId(), "stop")));
  controls.bindSaveCheckpoint(() => attempt(api.saveCheckpoint(runId())));
  // A refused edit is explained beside its field by the controls, so these are not `attempt`ed.
  /** @param {import("./api.js").RunInfo} run */
  const accepted = (run) => store.acceptConfig(run);
  // Edits of the run still on their way to the server: a model the builder applies builds on them,
  // not on the run as it was before they were answered (on a slow server an optimizer changed just
  // before Apply was left out of the new run).
  let edits = Promise.resolve();
  /** @template T @param {Promise<T>} promise */
  const inFlight = (promise) => {
    edits = edits.then(() => promise).then(() => undefined, () => undefined);
    return promise;
  };
  controls.bindOptimizer((config) => inFlight(api.setOptimizer(runId(), config).then(accepted)));
  controls.bindTeaching((teaching) => inFlight(api.setTeaching(runId(), teaching).then(accepted)));
  controls.bindPace((pace) => api.setPace(runId(), pace).then(accepted));
  alerts.bindSwitch((settings) => attempt(api.setAlerts(runId(), settings)));
  // A refused budget is explained beside its field, so it is not `attempt`ed either.
  health.bindBudget((budget) => api.setInstrumentation(runId(), { budget }).then(accepted));
  controls.bindExperiment((name) => {
    const title = experiments.find((/** @type {{name: string}} */ e) => e.name === name)?.title ?? name;
    return flow.replaceRun({ experiment: name }, `you chose the experiment ${title}`).catch((error) => {
      if (error.status !== 429) store.setError(`No new run was started: ${error.message}`);
      throw error;
    });
  });
  controls.bindData((config) => {
    const before = /** @type {Record<string, unknown>} */ (store.run?.config ?? {});
    const changed = describeChange(before, config, builderSpec.losses);
    const optimizer = /** @type {{name: string, lr?: number}} */ (/** @type {unknown} */ (config.optimizer));
    const same = sameOptimizer(optimizer, optimizerSpecs.get(optimizer.name)?.title);
    return flow.replaceRun(config, `${changed.join(", ")}: the data changed, ${same}`);
  });
  builder.bindApply((config, why) => {
    const base = store.run?.id;
    return edits.then(() => {
      const latest = store.run?.id === base ? store.run?.config : null;
      // the builder's draft holds the model; the optimizer and the switches are the run's, as answered
      const built = latest ? { ...config, optimizer: latest.optimizer, teaching: latest.teaching } : config;
      return flow.replaceRun(built, why);
    });
  });
  // One smoothing weight for every time series on the page: the loss chart's and the health charts'.
  const smoothing = /** @type {HTMLInputElement} */ ($("smoothing"));
  const applySmoothing = () => {
    const weight = Math.min(MAX_WEIGHT, Math.max(0, Number(smoothing.value) || 0));
    $("smoothing-value").textContent = weight >= 0.99 ? weight.toFixed(3) : weight.toFixed(2);
    chart.setSmoothing(weight);
    health.setSmoothing(weight);
  };
  smoothing.addEventListener("input", applySmoothing);
  applySmoothing();
  /** @type {HTMLInputElement} */ ($("logscale")).addEventListener("change", (event) => {
    chart.setLog(/** @type {HTMLInputElement} */ (event.target).checked);
    chart.setLosses(store.losses.values, store.losses.count, lossLines(), loggedLines());
  });

  /** The two-parameter experiment has its loss surface beside the loss chart. */
  function showSurface() {
    const run = store.run;
    const config = run?.config ?? null; // null: an attached script's run, never a surface
    const shown = run?.experiment === "surface-2d" && config !== null;
    $("surface").closest("section")?.toggleAttribute("hidden", !shown);
    document.querySelector(".board")?.classList.toggle("with-surface", shown);
    // Every built-in experiment races (the picker is on the loss chart); an attached script's cannot.
    $("race").closest("details")?.toggleAttribute("hidden", !config);
    if (config) picker.show(config.race.map((/** @type {{name: string}} */ r) => r.name));
    if (!run || !config || !shown) return;
    if (surfaceOf !== run.id) {
      surfaceOf = run.id;
      trails.clear();
      attempt(api.surface(run.id).then((grid) => surface.setSurface(grid)));
    }
  }
  // Rewind and branch: the form beside "Race against…"; while it is open, a click on the chart picks the step.
  const branchForm = new BranchForm(
    /** @type {HTMLDetailsElement} */ ($("branch-picker")),
    (id) => api.branches(id),
    (id, body) => api.branch(id, body),
    (child, body, parent) => {
      flow.follow(child.id, child);
      const lr = body.optimizer ? `, lr ${/** @type {any} */ (parent.config?.optimizer).lr}→${body.optimizer.lr}` : "";
      notice.show("replaced", `New run: a branch of ${shortId(parent.id)} from its step ${body.step}${lr}. The run it came from goes on as it was.`, [
        { label: "Open the run it came from", act: () => flow.follow(parent.id) },
      ]);
    },
  );
  chart.bindPick((step) => {
    if (branchForm.details.open) branchForm.pick(step);
  });
  const picker = bindRacePicker($("race"), optimizers, (names) => {
    // The same run in every other respect (data, teaching switches, speed): only the racers change.
    const config = {
      ...store.run?.config,
      race: names.map((name) => ({ name })),
    };
    const titles = names.map((name) => optimizerSpecs.get(name)?.title ?? name);
    attempt(flow.replaceRun(config, titles.length ? `the race is now against ${titles.join(", ")}` : "the race was cleared"));
  });


  // A view-only link's page follows the owner's, which says where it points (views/follow.js).
  bindViewerLink($("share"), () => flow.followed);
  startRoom({ store, parameters, flow }, await accessing);
  // The address names a run and holds its configuration: open it, or start the same run again.
  await flow.open(readLink(location.search, location.hash));
}

main().catch((error) => {
  const message = $("message");
  message.hidden = false;
  message.textContent = `Stepscope could not start: ${error.message}`;
});
