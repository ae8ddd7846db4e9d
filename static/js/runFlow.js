// @ts-check
/**
 * Which run the page follows, and what happens between runs: replacing one (a new experiment,
 * race or data), the cap of live runs, and a run that can no longer train. Each of these says
 * what happened in the notice and offers the next action, so no state is a dead end.
 */
import { api } from "./api.js";
import { endedText } from "./lib/attached.js";
import { linkFor } from "./lib/urlState.js";
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
    // The address follows the run's configuration (a change made in another tab too).
    store.changed.subscribe((change) => {
      if (change === "run") this.writeLink();
    });
  }

  /**
   * Watch one run: its id and configuration go in the address, so a reload or a shared link
   * shows the same run, or starts the same one where it is gone.
   * @param {string} id @param {import("./store.js").RunInfo | null} [fresh] the run as the server
   *   just created it. The page adopts it at once rather than at its hello (which can come seconds
   *   later on a loaded machine): an edit made meanwhile must build on this run's configuration
   *   and go to this run, not to the one it replaced (CI saw a seed edit undone by the next edit,
   *   and an optimizer change sent to the stopped run, 409).
   */
  follow(id, fresh = null) {
    this.followed = id;
    this.socket?.close();
    this.setLink(linkFor(location, id, fresh?.config ?? null));
    if (fresh) {
      this.store.clear();
      this.store.setRun(fresh);
    }
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
    this.follow(run.id, run);
    if (!previous) return;
    const wasLive = stopPrevious && LIVE.includes(previous.state);
    if (wasLive) await api.command(previous.id, "stop").catch(() => {});
    this.notice.show(
      "replaced",
      `New run: ${why}.${wasLive ? ` The previous run (${previous.title}, step ${previous.step}) was stopped; its history stays readable.` : ""}`,
      [{ label: "Open the previous run", act: () => this.follow(previous.id) }],
    );
  }

  /** The followed run's address, with its configuration as the store has it now. */
  writeLink() {
    const run = this.store.run;
    if (run && run.id === this.followed) this.setLink(linkFor(location, run.id, run.config));
  }

  /** Replace the address (no new history entry: a run's changes are not pages to go back to). @param {string} link */
  setLink(link) {
    const now = `${location.pathname}${location.search}${location.hash}`;
    if (link !== now) history.replaceState(null, "", link);
  }

  /**
   * Open what the page's address asks for: the run it names, where it exists and can train (or
   * where the address has no configuration: a link from before); else a new run from the
   * address's configuration; else the live run, or a new default run. A configuration that
   * cannot be read, or that the server refuses, is said in the notice, and the page opens what
   * it would without it: never a blank page.
   * @param {import("./lib/urlState.js").Link} link
   */
  async open(link) {
    const runs = await api.runs();
    const named = link.run ? runs.find((r) => r.id === link.run) : undefined;
    const live = runs.find((r) => LIVE.includes(r.state));
    if (link.problem) {
      const instead = named ? "the run it names" : live ? "the live run" : "a new run of the default experiment";
      this.notice.show("link", `The link's configuration could not be read (${link.problem}), so it was not used: this is ${instead}.`, [], "warning");
    }
    // A run the server's death interrupted, with a checkpoint, is still the link's run: its page
    // offers to go on from the checkpoint (a reload after a restart must not start over at 0).
    const resumable = named?.state === "interrupted" && named.checkpoint;
    if (named && (LIVE.includes(named.state) || resumable || !link.config)) return this.follow(named.id);
    if (link.config) {
      const gone = !link.run
        ? "The link names no run"
        : named
          ? `The link's run (${named.title}) is ${named.state}`
          : "The link's run is not on this server";
      try {
        const run = await api.createRun(link.config);
        this.follow(run.id, run);
        /** @type {Action[]} */
        const back = named ? [{ label: `Open the ${named.state} run`, act: () => this.follow(named.id) }] : [];
        this.notice.show("link", `${gone}: a new run was started from the link's configuration (the same seed, data, model and optimizer: the same curve).`, back);
        return;
      } catch (error) {
        const refused = /** @type {{status?: number, reason?: string, message: string}} */ (error);
        const instead = named ? "the run it names" : live ? "the live run" : "a new run of the default experiment";
        if (refused.status === 429) {
          // At the cap of live runs: the way out (stop them, then start it) is one click away.
          this.offerToStopLive(`${gone}, and ${refused.message}`, link.config, "the link's configuration");
        } else {
          this.notice.show("link", `${gone}, and its configuration was refused (${refused.reason ?? refused.message}): this is ${instead} instead.`, [], "warning");
        }
      }
    }
    const chosen = named ?? live ?? (await api.createRun({}));
    this.follow(chosen.id);
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
    // (a stop's own checkpoint comes just after the stop: the notice names the latest)
    const key = `${run.id}:${run.state}:${run.reason}:${run.checkpoint?.step}`;
    if (key === this.explained) return;
    this.explained = key;
    if (LIVE.includes(run.state)) {
      this.notice.hide("state");
      return;
    }
    const config = run.config;
    // A run of the page's own with a checkpoint goes on from it (Start: a new worker restores it).
    const saved = config ? run.checkpoint ?? null : null;
    // An attached script's run has no configuration to start again: the script is its own loop.
    const what = saved
      ? `${endedText(run)} Its latest checkpoint is of step ${saved.step}: Start goes on from there, exactly as the run would have.`
      : config ? `${endedText(run)} Its history stays readable here; to train again, start a new run.` : endedText(run);
    /** @type {Action[]} */
    const actions = config
      ? [{
        label: "New run with the same configuration",
        act: () => this.attempt(this.replaceRun(config, "the same configuration as the run before")),
      }]
      : [];
    if (saved) actions.unshift({ label: `Continue from step ${saved.step}`, act: () => this.attempt(api.command(run.id, "start")) });
    const show = () => this.notice.show("state", what, actions, "warning");
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
