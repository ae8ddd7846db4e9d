// @ts-check
/** All client state in one place: the run, every step's loss, the latest snapshot, the connection. */
import { Channel } from "./pubsub.js";
import { decodeSnapshot, decodeViews, num } from "./protocol.js";
import { EvaluationSeries } from "./lib/evaluations.js";
import { RaceHistory, StepSeries } from "./lib/series.js";
import { HealthHistory } from "./views/health/history.js";

/**
 * @typedef {import("./contract/contract").RunInfo} RunInfo
 * @typedef {"run" | "losses" | "snapshot" | "connection" | "marks" | "error" | "evaluation" | "alerts" | "health" | "logged"} Change
 */

export class Store {
  constructor() {
    /** @type {RunInfo | null} */
    this.run = null;
    /** Every step's loss: step k at index k − 1 of `losses.values`, steps 1 … `losses.count`. */
    this.losses = new StepSeries();
    /** @type {import("./protocol.js").Snapshot | null} */
    this.snapshot = null;
    /** @type {import("./protocol.js").Views | null} the newest snapshot's model views, spans read */
    this.views = null;
    /** Train and validation loss and accuracy, at the steps the server measured them. */
    this.evaluations = new EvaluationSeries();
    /** @type {"connecting" | "open" | "closed"} */
    this.connection = "connecting";
    /** @type {import("./lib/marks.js").Mark[]} optimizer changes, marked on the charts */
    this.marks = [];
    /** @type {import("./lib/marks.js").AlertMark[]} alerts (a NaN or Inf found), in order */
    this.alerts = [];
    /** @type {Map<string, StepSeries>} an attached script's other logged scalars by name, in order of first use */
    this.logged = new Map();
    /** The race by step (surface-2d): each racer's loss, w and b, from `scalars`. */
    this.race = new RaceHistory();
    /** Per-tensor norms, ratios, distributions, dead units and overhead: the latest 2,000 health points. */
    this.health = new HealthHistory();
    /** When the latest snapshots arrived (performance.now(), ms, ascending; the last 256): the page's own rate. */
    this.snapshotTimes = /** @type {number[]} */ ([]);
    /** @type {string | null} */
    this.error = null;
    /** @type {Channel<Change>} */
    this.changed = new Channel();
  }

  /** @param {number} firstStep @param {(number | string | null)[]} values */
  setLosses(firstStep, values) {
    this.losses.set(firstStep, values);
    this.changed.publish("losses");
  }

  clear() {
    this.losses.clear();
    this.snapshot = null;
    this.views = null;
    this.marks = [];
    this.alerts = [];
    this.race.clear();
    this.logged = new Map();
    this.changed.publish("logged");
    this.evaluations.clear();
    this.health.clear();
    this.changed.publish("evaluation");
    this.changed.publish("health");
    this.changed.publish("losses");
    this.changed.publish("snapshot");
    this.changed.publish("marks");
    this.changed.publish("alerts");
  }

  /** Fold one message from the stream into the state. @param {string | ArrayBuffer} data */
  receive(data) {
    if (data instanceof ArrayBuffer) {
      this.snapshot = decodeSnapshot(data);
      this.views = decodeViews(this.snapshot);
      this.snapshotTimes.push(performance.now());
      if (this.snapshotTimes.length > 256) this.snapshotTimes.shift(); // 10 s at 20 a second, and more
      this.changed.publish("snapshot");
      return;
    }
    const message = JSON.parse(data);
    switch (message.type) {
      case "hello":
        // A fresh connection (or a resync) replays the whole history after this.
        this.clear();
        this.setRun(message.run);
        break;
      case "status":
        this.setRun(message.run);
        break;
      case "scalars":
        this.race.add(message.first_step, message.race, message.path);
        this.setLosses(message.first_step, message.loss);
        break;
      case "logged":
        // A name the script did not log at a step reads NaN there: a gap in its line.
        for (const [name, values] of Object.entries(message.values)) {
          if (!values) continue;
          let series = this.logged.get(name);
          if (!series) this.logged.set(name, (series = new StepSeries()));
          series.set(message.first_step, values);
        }
        this.changed.publish("logged");
        break;
      case "evaluation":
        if (this.evaluations.add(message.points)) this.changed.publish("evaluation");
        break;
      case "health":
        if (this.health.add(message.points)) this.changed.publish("health");
        break;
      case "reset":
        this.clear();
        break;
      case "optimizer":
        this.marks.push({ step: message.step, optimizer: message.optimizer, previous: message.previous, fresh: message.fresh });
        this.changed.publish("marks");
        break;
      case "alert":
        this.alerts.push({ kind: message.kind, step: message.step, phase: message.phase, tensor: message.tensor, detail: message.detail, paused: message.paused });
        this.changed.publish("alerts");
        break;
      case "error":
        this.setError(message.message);
        break;
      default:
        break; // newer message types are ignored by older pages
    }
  }

  /** @param {RunInfo} run */
  setRun(run) {
    this.run = run;
    this.changed.publish("run");
  }

  /**
   * The configuration a REST change answered with. The stream confirms it only once the worker
   * has applied it (seconds, while the worker starts), and the fields must not show the old
   * configuration meanwhile, nor build the next edit from it.
   * @param {RunInfo} answer
   */
  acceptConfig(answer) {
    if (!this.run || this.run.id !== answer.id) return;
    // An attached script's optimizer lives in `attached` (its config read from param_groups).
    this.run = { ...this.run, config: answer.config, attached: answer.attached };
    this.changed.publish("run");
  }

  /** @param {"connecting" | "open" | "closed"} connection */
  setConnection(connection) {
    this.connection = connection;
    this.changed.publish("connection");
  }

  /** @param {string | null} error */
  setError(error) {
    this.error = error;
    this.changed.publish("error");
  }

  /**
   * The newest loss: mid-step, after the loss phase, the loss just computed (the snapshot's);
   * otherwise the latest step's, from the stream or the run's info.
   */
  latestLoss() {
    const header = this.snapshot?.header;
    if (header && header.loss != null && (header.phase === "loss" || header.phase === "backward")) {
      return num(header.loss);
    }
    if (this.losses.count > 0) return this.losses.values[this.losses.count - 1];
    return this.run?.loss == null ? null : num(this.run.loss);
  }

  /** The last phase that ran: the newest snapshot's, or the run's. */
  latestPhase() {
    return this.snapshot?.header.phase ?? this.run?.phase ?? null;
  }

  latestStep() {
    return Math.max(this.losses.count, this.run?.step ?? 0);
  }
}
