// @ts-check
/**
 * Which run the page follows, and what happens between runs: replacing one (a new experiment,
 * race or data), the cap of live runs, and a run that can no longer train. Each of these says
 * what happened in the notice and offers the next action, so no state is a dead end.
 */
import { api } from "./api.js";
import { LIVE } from "./protocol.js";
import { RunSocket } from "./socket.js";

/** The states in which a run can train. */

/**
 * @typedef {import("./store.js").Store} Store
 * @typedef {import("./views/notice.js").Notice} Notice
 * @typedef {import("./views/notice.js").Action} Action
 */

export class RunFlow {
  /**
   * @param {Store} store @param {Notice} notice
   * @param {(p: Promise<unknown>) => Promise<unknown>} attempt reports a refusal on the page
   */
  constructor(store, notice, attempt) {
    this.store = store;
    this.notice = notice;
    this.attempt = attempt;
    /** @type {RunSocket | null} */
    this.socket = null;
    /** @type {string | null} the run the page shows (store.run becomes it at its hello) */
    this.followed = null;
    /** the run state the notice last explained */
    this.explained = "";
  }

  /** Watch one run: its id goes in the URL, so a reload or a shared link shows the same run. @param {string} id */
  follow(id) {
    this.followed = id;
    this.socket?.close();
    history.replaceState(null, "", `#run=${id}`);
    this.socket = new RunSocket(id, {
      onMessage: (data) => this.store.receive(data),
      onState: (state) => this.store.setConnection(state),
    });
  }

  /**
   * Start a new run in place of the one shown, and stop that one: live runs are capped, and a
   * page that switches experiments should not leave workers behind. The notice says so, and
   * how to get back to it. Resolves when the new run is followed; rejects with the refusal.
   * @param {object} config @param {string} why what the user changed, in words
   * @param {boolean} [stopPrevious] false where the caller has stopped it already
   */
  async replaceRun(config, why, stopPrevious = true) {
    const previous = this.store.run;
    let run;
    try {
      run = await api.createRun(config);
    } catch (error) {
      const refused = /** @type {{status?: number, message: string}} */ (error);
      if (refused.status === 429) this.offerToStopLive(refused.message, config, why);
      throw error;
    }
    this.follow(run.id);
    if (!previous) return;
    const wasLive = stopPrevious && LIVE.includes(previous.state);
    if (wasLive) await api.command(previous.id, "stop").catch(() => {});
    this.notice.show(
      "replaced",
      `New run: ${why}.${wasLive ? ` The previous run (${previous.title}, step ${previous.step}) was stopped; its history stays readable.` : ""}`,
      [{ label: "Open the previous run", act: () => this.follow(previous.id) }],
    );
  }

  /**
   * At the cap of live runs: say so, and offer the way out (stop the live runs, then start it).
   * @param {string} reason @param {object} config @param {string} why
   */
  offerToStopLive(reason, config, why) {
    const stopAndStart = async () => {
      const live = (await api.runs()).filter((r) => LIVE.includes(r.state));
      await Promise.all(live.map((r) => api.command(r.id, "stop").catch(() => {})));
      const stopped = `${live.length} live run${live.length === 1 ? " was" : "s were"} stopped first`;
      await this.replaceRun(config, `${why}; ${stopped}`, false);
    };
    this.notice.show(
      "cap",
      `No new run was started: ${reason}`,
      [{ label: "Stop the live runs and start it", act: () => this.attempt(stopAndStart()) }],
      "warning",
    );
  }

  /**
   * A run that cannot train (stopped, failed) or a server that cannot be reached: say what
   * happened and what to do next, instead of a page of disabled controls.
   */
  explainRun() {
    const { run, connection } = this.store;
    if (connection === "closed") {
      this.explained = "offline";
      this.notice.show("state", "The server cannot be reached. The page reconnects by itself; the controls come back when it does.", [], "warning");
      return;
    }
    // Until the followed run's hello arrives, store.run is the run left behind: not news.
    if (!run || run.id !== this.followed) return;
    const key = `${run.id}:${run.state}:${run.reason}`;
    if (key === this.explained) return;
    this.explained = key;
    if (LIVE.includes(run.state)) {
      this.notice.hide("state");
      return;
    }
    const what = run.state === "failed"
      ? `This run failed: ${run.reason ?? "the server did not say why"}.`
      : `This run is stopped${run.reason ? ` (${run.reason})` : ""}.`;
    /** @type {Action[]} */
    const actions = [{
      label: "New run with the same configuration",
      act: () => this.attempt(this.replaceRun(run.config, "the same configuration as the run before")),
    }];
    const show = () => this.notice.show("state", `${what} Its history stays readable here; to train again, start a new run.`, actions, "warning");
    show();
    // Another tab may have moved on to a live run: offer to follow it.
    api.runs().then((runs) => {
      const live = runs.find((r) => LIVE.includes(r.state) && r.id !== run.id);
      // Only while that notice is still the news: not after the page moved on to another run.
      if (!live || this.explained !== key || this.followed !== run.id || this.notice.topic !== "state") return;
      actions.push({ label: `Open the live run (${live.title})`, act: () => this.follow(live.id) });
      show();
    }).catch(() => {});
  }
}
