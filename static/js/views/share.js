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
