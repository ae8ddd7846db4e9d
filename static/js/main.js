// @ts-check
/** The entry module: wires the store, the socket, the API and the views together. Nothing else. */
import { api } from "./api.js";
import { RunSocket } from "./socket.js";
import { Store } from "./store.js";
import { Controls } from "./views/controls.js";
import { CodeView } from "./views/codeView.js";
import { LossChart } from "./views/lossChart.js";
import { LossSurface } from "./views/lossSurface.js";
import { ParametersView } from "./views/parameters.js";
import { bindRacePicker, RaceTrails } from "./views/race.js";
import { Readouts } from "./views/readouts.js";

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

async function main() {
  const store = new Store();
  const readouts = new Readouts();
  const [experiments, optimizers, source] = await Promise.all([
    api.experiments(),
    api.optimizers(),
    api.source(),
  ]);
  const controls = new Controls(experiments, optimizers);
  controls.render(null); // nothing to control until the stream says which run this is
  const chart = new LossChart($("loss-chart"), $("nonfinite"));
  chart.setOptimizerTitles(optimizers);
  const optimizerSpecs = new Map(optimizers.map((/** @type {{name: string, title: string, ledger?: boolean}} */ o) => [o.name, o]));
  const parameters = new ParametersView($("params"), $("detail"), (name) => {
    const spec = optimizerSpecs.get(name);
    // An older server without the `ledger` flag: every optimizer it streams a prediction for has a rule.
    return spec && { title: spec.title, ledger: spec.ledger ?? true };
  });
  const code = new CodeView($("code"), $("code-file"), $("phase-result"), source);
  const surface = new LossSurface($("surface"));
  const trails = new RaceTrails();
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
    if (dirty.has("losses")) chart.setLosses(store.losses, store.stepCount, store.race.racers);
    if (dirty.has("marks")) chart.setMarks(store.marks);
    if (dirty.has("snapshot")) parameters.render(store.snapshot);
    if (dirty.has("snapshot") || dirty.has("run")) code.render(store.snapshot, store.latestPhase());
    if (dirty.has("run")) controls.render(store.run);
    if (dirty.has("run")) showSurface();
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
      store.run?.state ?? "connecting",
      store.latestPhase(),
    );
    dirty.clear();
  }

  /** Report a refused request on the page instead of failing silently. @param {Promise<unknown>} p */
  const attempt = (p) => p.catch((error) => store.setError(error.message));
  const runId = () => /** @type {string} */ (store.run?.id);

  controls.bindStartPause(() =>
    attempt(api.command(runId(), store.run?.state === "running" ? "pause" : "start")),
  );
  controls.bindStep(() => attempt(api.command(runId(), "step")));
  controls.bindNextPhase(() => attempt(api.command(runId(), "phase")));
  controls.bindReset(() => attempt(api.command(runId(), "reset")));
  controls.bindOptimizer((config) => attempt(api.setOptimizer(runId(), config)));
  controls.bindTeaching((teaching) => attempt(api.setTeaching(runId(), teaching)));
  controls.bindPace((pace) => attempt(api.setPace(runId(), pace)));
  controls.bindExperiment((name) => replaceRun({ experiment: name }));
  /** @type {HTMLInputElement} */ ($("logscale")).addEventListener("change", (event) => {
    chart.setLog(/** @type {HTMLInputElement} */ (event.target).checked);
    chart.setLosses(store.losses, store.stepCount, store.race.racers);
  });

  /** The two-parameter experiment has its loss surface beside the loss chart. */
  function showSurface() {
    const run = store.run;
    const shown = run?.experiment === "surface-2d";
    $("surface").closest("section")?.toggleAttribute("hidden", !shown);
    document.querySelector(".board")?.classList.toggle("with-surface", shown);
    if (!run || !shown) return;
    picker.show(run.config.race.map((/** @type {{name: string}} */ r) => r.name));
    if (surfaceOf !== run.id) {
      surfaceOf = run.id;
      trails.clear();
      attempt(api.surface(run.id).then((grid) => surface.setSurface(grid)));
    }
  }
  const picker = bindRacePicker($("race"), optimizers, (names) => {
    const config = {
      experiment: "surface-2d",
      optimizer: store.run?.config.optimizer,
      race: names.map((name) => ({ name })),
    };
    replaceRun(config);
  });

  /**
   * Start a new run in place of the one shown, and stop that one: live runs are capped, and a
   * page that switches experiments should not leave workers behind.
   * @param {object} config
   */
  function replaceRun(config) {
    const previous = store.run;
    attempt(
      api.createRun(config).then((run) => {
        follow(run.id);
        if (previous && ["idle", "running", "paused"].includes(previous.state)) {
          api.command(previous.id, "stop").catch(() => {});
        }
      }),
    );
  }

  /** @type {RunSocket | null} */
  let socket = null;
  /** Watch one run: its id goes in the URL, so a reload or a shared link shows the same run. @param {string} id */
  function follow(id) {
    socket?.close();
    history.replaceState(null, "", `#run=${id}`);
    socket = new RunSocket(id, {
      onMessage: (data) => store.receive(data),
      onState: (state) => store.setConnection(state),
    });
  }

  const wanted = new URLSearchParams(location.hash.slice(1)).get("run");
  /** @type {{id: string, state: string}[]} */
  const runs = await api.runs();
  const live = runs.find((r) => ["idle", "running", "paused"].includes(r.state));
  const chosen = runs.find((r) => r.id === wanted) ?? live ?? (await api.createRun({}));
  follow(chosen.id);
}

main().catch((error) => {
  const message = $("message");
  message.hidden = false;
  message.textContent = `Stepscope could not start: ${error.message}`;
});
