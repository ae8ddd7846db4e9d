// @ts-check
/** A websocket to one run's stream that reconnects by itself, with backoff. */

export class RunSocket {
  /**
   * @param {string} runId
   * @param {{onMessage: (data: string | ArrayBuffer) => void,
   *          onState: (state: "connecting" | "open" | "closed") => void}} handlers
   */
  constructor(runId, handlers) {
    this.runId = runId;
    this.handlers = handlers;
    this.delay = 250;
    this.stopped = false;
    /** a connection was lost and not yet regained */
    this.lost = false;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.connect();
  }

  connect() {
    if (this.stopped) return; // closed while a retry was pending: no connection after close()
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/runs/${this.runId}`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    // While retrying after a loss the page stays "closed" until a connection opens: flickering
    // back to "connecting" between tries would briefly show the stale run as if it were live.
    if (!this.lost) this.handlers.onState("connecting");
    ws.onopen = () => {
      this.delay = 250;
      this.lost = false;
      this.handlers.onState("open");
    };
    // Nothing from a socket the page has left may reach the store: it now holds another run.
    ws.onmessage = (event) => {
      if (!this.stopped) this.handlers.onMessage(event.data);
    };
    ws.onclose = () => {
      if (this.stopped) return;
      this.lost = true;
      this.handlers.onState("closed");
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    };
  }

  close() {
    this.stopped = true;
    this.ws?.close();
  }
}
