// @ts-check
/**
 * A room around one run: the owner's page is the driver, and publishes what it points at (the
 * selected element, the step and phase it shows, the open collapsible panels, its view choices)
 * on the run's websocket as a `driver` message; a viewer's page (opened from a view-only link)
 * follows it while "Following the driver" is on (the default), and selects freely when it is off.
 *
 * A viewer's page also shows no control that could change the run: the server refuses them all
 * (403) anyway, and a page of buttons that only ever fail would be a page of dead ends. What is
 * hidden is decided by default: every control but the view choices listed here, so a control added
 * to the page later is hidden from viewers until someone lists it as a view.
 */

/**
 * @typedef {{tensor: string, index: number}} DriverElement
 * @typedef {{element: DriverElement | null, step: number, phase: string | null,
 *            panels: string[], views: Record<string, string>}} DriverView
 * @typedef {{role: "owner" | "viewer", run_id: string | null}} Access
 * @typedef {{selected: {tensor: number, index: number} | null, snapshot: import("../protocol.js").Snapshot | null,
 *            draw: () => void, renderDetail: () => void}} Selectable the parameters panel
 * @typedef {{store: import("../store.js").Store, parameters: Selectable,
 *            flow: {socket: {ws: WebSocket | null, close: () => void} | null}}} Room
 */

/** View choices: how this page draws, never what the run does. By id; radio groups by name. */
export const VIEW_CONTROLS = ["logscale", "smoothing", "dist-tensor", "dist-field"];
export const VIEW_RADIOS = ["edge-mode"];
/** What a viewer may still operate: the view choices, the switch, closing a notice. */
const VIEWER_ALLOWED = [
  ...VIEW_CONTROLS.map((id) => `#${id}`),
  ...VIEW_RADIOS.map((name) => `input[name="${name}"]`),
  "#follow-driver",
  ".notice .dismiss",
].join(", ");
const CONTROLS = "button, input, select, textarea";
/** Whole groups of run controls, hidden with their labels rather than control by control. */
const RUN_GROUPS = [
  ".topbar .field:has(#experiment)", ".topbar .field:has(#optimizer)", ".topbar .field:has(#lr)",
  ".topbar .field:has(#pace)", ".controls", "#hyperparameters", ".teaching", ".data", "#builder",
  "label.toggle:has(#alert-nonfinite)", ".budget", "#share",
];
/** The websocket close code of a revoked link (app/api/stream.py). */
const REVOKED = 4403;
/** At most this often (ms) the driver's page says where it points. */
const PUBLISH_MS = 100;

/** Who this page is: GET /api/access. A failure reads as owner (the server still refuses). */
export async function whoAmI() {
  try {
    const response = await fetch("/api/access", { headers: { Accept: "application/json" } });
    if (response.ok) return /** @type {Access} */ (await response.json());
  } catch {
    // the page's own start reports an unreachable server
  }
  return /** @type {Access} */ ({ role: "owner", run_id: null });
}

/**
 * The message's key for "has anything changed": while the run runs, its step and phase change
 * with every snapshot and the room sees them on the stream anyway, so they do not count then.
 * @param {DriverView} view @param {boolean} running
 */
export function driverKey(view, running) {
  return JSON.stringify(running ? { ...view, step: 0, phase: null } : view);
}

/** The ids of the open collapsible panels: a <details>'s id, else its summary's. */
function openPanels() {
  return [...document.querySelectorAll("details[open]")]
    .map((details) => details.id || details.querySelector("summary")?.id || "")
    .filter((id) => id !== "")
    .slice(0, 32);
}

/** @param {string} key */
function panelOf(key) {
  const byId = document.getElementById(key);
  if (byId instanceof HTMLDetailsElement) return byId;
  const details = byId?.closest("details");
  return details instanceof HTMLDetailsElement ? details : null;
}

function viewChoices() {
  /** @type {Record<string, string>} */
  const views = {};
  for (const id of VIEW_CONTROLS) {
    const control = document.getElementById(id);
    if (control instanceof HTMLInputElement && control.type === "checkbox") views[id] = String(control.checked);
    else if (control instanceof HTMLInputElement || control instanceof HTMLSelectElement) views[id] = control.value;
  }
  for (const name of VIEW_RADIOS) {
    const checked = document.querySelector(`input[name="${name}"]:checked`);
    if (checked instanceof HTMLInputElement) views[name] = checked.value;
  }
  return views;
}

/** Set the page's view choices as the driver has them, through the controls' own events. @param {Record<string, string>} views */
function applyViews(views) {
  for (const [key, value] of Object.entries(views)) {
    const control = document.getElementById(key);
    if (control instanceof HTMLInputElement && control.type === "checkbox") {
      if (control.checked === (value === "true")) continue;
      control.checked = value === "true";
      control.dispatchEvent(new Event("change", { bubbles: true }));
    } else if (control instanceof HTMLInputElement || control instanceof HTMLSelectElement) {
      if (control.value === value) continue;
      // a distribution tensor the viewer's page has not listed yet is skipped, not forced
      if (control instanceof HTMLSelectElement && ![...control.options].some((o) => o.value === value)) continue;
      control.value = value;
      control.dispatchEvent(new Event(control instanceof HTMLInputElement && control.type === "range" ? "input" : "change", { bubbles: true }));
    } else if (VIEW_RADIOS.includes(key)) {
      const radio = document.querySelector(`input[name="${key}"][value="${CSS.escape(value)}"]`);
      if (radio instanceof HTMLInputElement && !radio.checked) {
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
  }
}

/**
 * Start the room for this page: the driver's publishing, or the viewer's following.
 * @param {Room} room @param {Access} access
 */
export function startRoom(room, access) {
  const driven = observeDriver(room.store);
  if (access.role === "viewer") becomeViewer(room, driven);
  else publishAsDriver(room);
}

/** Longer than any driver message (the server takes 4096 bytes from the driver's page). */
const MAX_DRIVER = 8192;

/**
 * Driver messages as the stream brings them. The store ignores message types it does not know,
 * so they are taken off the socket's path into it here; only short texts that name the type are
 * parsed, so the stream's big messages are not parsed twice.
 * @param {import("../store.js").Store} store
 */
function observeDriver(store) {
  /** @type {Set<(view: DriverView) => void>} */
  const listeners = new Set();
  const receive = store.receive.bind(store);
  store.receive = (data) => {
    if (typeof data === "string" && data.length < MAX_DRIVER && data.includes('"type":"driver"')) {
      const message = JSON.parse(data);
      if (message.type === "driver") {
        for (const listener of listeners) listener(/** @type {DriverView} */ (message));
        return;
      }
    }
    receive(data);
  };
  return listeners;
}

/** The owner's page: say where it points whenever that changes. @param {Room} room */
function publishAsDriver(room) {
  const { store, parameters, flow } = room;
  let sent = "";
  let sentOn = /** @type {WebSocket | null} */ (null);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let pending;
  const publish = () => {
    pending = undefined;
    const ws = flow.socket?.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const selected = parameters.selected;
    const tensor = selected ? parameters.snapshot?.header.tensors[selected.tensor] : undefined;
    /** @type {DriverView} */
    const view = {
      element: selected && tensor ? { tensor: tensor.name, index: selected.index } : null,
      step: store.latestStep(),
      phase: store.latestPhase(),
      panels: openPanels(),
      views: viewChoices(),
    };
    const key = driverKey(view, store.run?.state === "running");
    if (key === sent && ws === sentOn) return; // a new connection says it again
    sent = key;
    sentOn = ws;
    ws.send(JSON.stringify({ type: "driver", ...view }));
  };
  const soon = () => {
    if (pending === undefined) pending = setTimeout(publish, PUBLISH_MS);
  };
  // The selection lives in the parameters panel, which redraws its detail whenever it changes.
  const renderDetail = parameters.renderDetail.bind(parameters);
  parameters.renderDetail = () => {
    renderDetail();
    soon();
  };
  // <details> toggle events do not bubble, but they can be caught on their way down.
  document.addEventListener("toggle", soon, true);
  document.addEventListener("change", soon, true);
  document.addEventListener("input", soon, true);
  store.changed.subscribe((change) => {
    if (change === "run" || change === "snapshot" || change === "connection") soon();
  });
}

/** A viewer's page: read-only, a sentence that says so, and the driver followed. @param {Room} room @param {Set<(view: DriverView) => void>} driven */
function becomeViewer(room, driven) {
  const { store, parameters, flow } = room;
  document.body.classList.add("view-only");
  const style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = "/static/css/viewer.css";
  document.head.append(style);
  for (const selector of RUN_GROUPS) {
    for (const element of document.querySelectorAll(selector)) element.classList.add("changes-run");
  }
  // Every other control is hidden too, unless it is a view choice: also those drawn later.
  const hideControls = () => {
    for (const control of document.querySelectorAll(CONTROLS)) {
      if (!control.matches(VIEWER_ALLOWED) && !control.classList.contains("changes-run")) control.classList.add("changes-run");
    }
    // The racers are a view here: shown, not choosable.
    for (const fieldset of document.querySelectorAll("fieldset.race")) {
      /** @type {HTMLFieldSetElement} */ (fieldset).disabled = true;
    }
  };
  hideControls();
  new MutationObserver(hideControls).observe(document.body, { childList: true, subtree: true });

  const note = document.createElement("div");
  note.className = "view-only-note";
  note.setAttribute("role", "region");
  note.setAttribute("aria-label", "View-only link");
  note.dataset.testid = "view-only";
  const sentence = document.createElement("p");
  sentence.textContent = "This is a view-only link: you watch this run live, and nothing on this page can change it.";
  const label = document.createElement("label");
  label.className = "follow";
  const toggle = document.createElement("input");
  toggle.type = "checkbox";
  toggle.id = "follow-driver";
  toggle.checked = true;
  label.append(toggle, " Following the driver");
  const where = document.createElement("span");
  where.className = "hint";
  where.dataset.testid = "driver-at";
  where.setAttribute("role", "status");
  note.append(sentence, label, where);
  document.querySelector(".topbar")?.after(note);

  /** @type {DriverView | null} */
  let latest = null;
  const follow = () => {
    if (!latest || !toggle.checked) return;
    const view = latest;
    applyViews(view.views);
    const panels = new Set(view.panels);
    for (const details of document.querySelectorAll("details")) {
      const key = details.id || details.querySelector("summary")?.id || "";
      if (key && details.open !== panels.has(key)) details.open = panels.has(key);
    }
    for (const key of panels) {
      const details = panelOf(key);
      if (details && !details.open) details.open = true;
    }
    const tensors = parameters.snapshot?.header.tensors ?? [];
    const t = view.element ? tensors.findIndex((tensor) => tensor.name === view.element?.tensor) : -1;
    const selected = view.element && t >= 0 ? { tensor: t, index: view.element.index } : null;
    if (selected?.tensor !== parameters.selected?.tensor || selected?.index !== parameters.selected?.index) {
      parameters.selected = selected;
      parameters.draw();
      parameters.renderDetail();
    }
  };
  driven.add((view) => {
    latest = view;
    where.textContent = `The driver is at step ${view.step}${view.phase ? `, after ${view.phase}` : ""}.`;
    follow();
  });
  // A snapshot lays the parameters out anew: the driver's element is selected in the new layout.
  store.changed.subscribe((change) => {
    if (change === "snapshot") follow();
  });
  toggle.addEventListener("change", follow);

  // A revoked link: its socket is closed with 4403 and every retry would be refused; say so, once.
  const watched = new WeakSet();
  store.changed.subscribe((change) => {
    const ws = flow.socket?.ws;
    if (change !== "connection" || !ws || watched.has(ws)) return;
    watched.add(ws);
    ws.addEventListener("close", (event) => {
      if (event.code !== REVOKED) return;
      flow.socket?.close();
      // the page's "cannot be reached, reconnecting" notice and pill would be wrong: viewer.css hides them
      document.body.classList.add("revoked");
      note.dataset.revoked = "true";
      sentence.textContent = "This view-only link was revoked: the run's owner can give you a new one.";
      label.remove();
      where.textContent = "";
    });
  });
}
