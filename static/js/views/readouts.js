// @ts-check
/** The live step, loss, status and connection in the top bar, and the message line below it. */
import { formatNumber } from "../format.js";

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export class Readouts {
  constructor() {
    this.step = $("readout-step");
    this.loss = $("readout-loss");
    this.status = $("readout-status");
    this.phase = $("readout-phase");
    this.connection = $("connection");
    this.message = $("message");
    /** @type {number | undefined} */
    this.messageTimer = undefined;
  }

  /**
   * @param {number} step @param {number | null} loss @param {string} status
   * @param {string | null} phase
   */
  render(step, loss, status, phase) {
    this.phase.textContent = phase ?? "—";
    this.step.textContent = String(step);
    this.loss.textContent = loss === null ? "—" : formatNumber(loss, 5);
    this.loss.classList.toggle("nonfinite", loss !== null && !Number.isFinite(loss));
    this.status.textContent = status;
    this.status.dataset.state = status;
  }

  /** @param {"connecting" | "open" | "closed"} state */
  renderConnection(state) {
    const text = { connecting: "Connecting…", open: "Live", closed: "Disconnected — reconnecting…" };
    this.connection.textContent = text[state];
    this.connection.dataset.state = state;
  }

  /** @param {string | null} text */
  showMessage(text) {
    clearTimeout(this.messageTimer);
    this.message.hidden = !text;
    this.message.textContent = text ?? "";
    if (text) this.messageTimer = window.setTimeout(() => this.showMessage(null), 8000);
  }
}
