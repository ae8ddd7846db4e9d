// @ts-check
/**
 * "Copy link": the page's address holds the run and its whole configuration, so copying it is
 * sharing the run. The clipboard API exists only in a secure context (https, or this machine);
 * elsewhere (http on a network address) the link is shown selected in a field, to copy by hand.
 */

/**
 * @param {HTMLButtonElement} button @param {HTMLInputElement} field shows the link when it could not be copied
 * @param {HTMLElement} status says what happened
 */
export function bindCopyLink(button, field, status) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let fading;
  button.addEventListener("click", async () => {
    const link = location.href;
    field.value = link;
    clearTimeout(fading);
    if (await copied(link, field)) {
      field.hidden = true;
      status.textContent = "Link copied: it opens this run, or starts the same run where this one is gone.";
      // Said once; the top bar is not the place for a sentence that is no longer news.
      fading = setTimeout(() => (status.textContent = ""), 8000);
      return;
    }
    field.hidden = false;
    field.focus();
    field.select();
    status.textContent = "This browser does not let the page copy: the link is selected, copy it (Ctrl+C or ⌘C).";
  });
  // Once copied by hand (the field left), the field and its sentence go.
  field.addEventListener("blur", () => {
    field.hidden = true;
    status.textContent = "";
  });
}

/** @param {string} link @param {HTMLInputElement} field */
async function copied(link, field) {
  try {
    await navigator.clipboard.writeText(link);
    return true;
  } catch {
    // No clipboard API here (or no permission): the old way, from a selected field, may still work.
    field.hidden = false;
    field.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
}

/**
 * "Share view-only": a new link to the run that shows it live and changes nothing (POST
 * /api/runs/{id}/viewer-links), copied like the page's own link, or shown selected to copy by
 * hand. Beside it, "Revoke" ends that link at once, open pages included.
 * @param {HTMLElement} container the top bar's share group
 * @param {() => string | null} runId the run the page shows
 */
export function bindViewerLink(container, runId) {
  const button = document.createElement("button");
  button.type = "button";
  button.id = "share-view";
  button.textContent = "Share view-only";
  button.title = "Make a link that shows this run live and can change nothing, and copy it";
  const field = document.createElement("input");
  field.type = "text";
  field.readOnly = true;
  field.id = "view-link-text";
  field.hidden = true;
  field.setAttribute("aria-label", "View-only link to this run");
  const status = document.createElement("span");
  status.className = "hint";
  status.id = "view-link-status";
  status.setAttribute("role", "status");
  const revoke = document.createElement("button");
  revoke.type = "button";
  revoke.id = "revoke-view";
  revoke.textContent = "Revoke";
  revoke.title = "End the view-only link just made: it stops working at once, open pages included";
  revoke.hidden = true;
  container.append(button, field, status, revoke);
  /** @type {{run: string, id: string} | null} */
  let made = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let fading;

  button.addEventListener("click", async () => {
    const run = runId();
    if (!run) return;
    const response = await fetch(`/api/runs/${run}/viewer-links`, { method: "POST", headers: { Accept: "application/json" } }).catch(() => null);
    const body = await response?.json().catch(() => null);
    if (!response?.ok) {
      status.textContent = `No view-only link was made: ${body?.detail ?? "the server cannot be reached"}.`;
      return;
    }
    made = { run, id: body.id };
    // The server writes the address it was asked at; behind a TLS proxy that is the proxy's
    // upstream, not what people open. This page's own origin is.
    const given = new URL(body.url);
    const url = `${location.origin}${given.pathname}${given.search}${given.hash}`;
    field.value = url;
    revoke.hidden = false;
    clearTimeout(fading);
    if (await copied(url, field)) {
      field.hidden = true;
      status.textContent = "View-only link copied: whoever opens it watches this run live and can change nothing.";
      // Said once, as "Copy link" does; Revoke stays beside the button.
      fading = setTimeout(() => (status.textContent = ""), 8000);
      return;
    }
    field.hidden = false;
    field.focus();
    field.select();
    status.textContent = "View-only link made: it is selected, copy it (Ctrl+C or ⌘C). Whoever opens it watches this run and can change nothing.";
  });
  revoke.addEventListener("click", async () => {
    if (!made) return;
    const response = await fetch(`/api/runs/${made.run}/viewer-links/${made.id}`, { method: "DELETE" }).catch(() => null);
    if (!response?.ok && response?.status !== 404) {
      status.textContent = "The link could not be revoked: the server cannot be reached.";
      return;
    }
    made = null;
    clearTimeout(fading);
    revoke.hidden = true;
    field.hidden = true;
    status.textContent = "Revoked: the link no longer opens the run, and pages open with it were closed.";
  });
}
