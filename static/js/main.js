// @ts-check
/** The entry module: wires the store, the socket, the API and the views together. Nothing else. */
import { api } from "./api.js";
import { RunSocket } from "./socket.js";
import { Store } from "./store.js";
import { Controls } from "./views/controls.js";
import { CodeView } from "./views/codeView.js";
import { LossChart } from "./views/lossChart.js";
import { ParametersView } from "./views/parameters.js";
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
  const parameters = new ParametersView($("params"), $("detail"));
  const code = new CodeView($("code"), $("code-file"), $("phase-result"), source);

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
    if (dirty.has("losses")) chart.setLosses(store.losses, store.stepCount);
    if (dirty.has("marks")) chart.setMarks(store.marks);
    if (dirty.has("snapshot")) parameters.render(store.snapshot);
    if (dirty.has("snapshot") || dirty.has("run")) code.render(store.snapshot, store.latestPhase());
    if (dirty.has("run")) controls.render(store.run);
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
  controls.bindExperiment((name) =>
    attempt(api.createRun({ experiment: name }).then((run) => follow(run.id))),
  );
  /** @type {HTMLInputElement} */ ($("logscale")).addEventListener("change", (event) => {
    chart.setLog(/** @type {HTMLInputElement} */ (event.target).checked);
    chart.setLosses(store.losses, store.stepCount);
  });

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
