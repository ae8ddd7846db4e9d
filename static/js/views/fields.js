// @ts-check
/**
 * Fields that always show what the run really uses. An edit is sent as one change; if the server
 * refuses it (or it is empty, or not a number) the field goes back to the run's value and the
 * reason stays beside it until an accepted edit of that field.
 */

/** @typedef {{status?: number, reason?: string, message: string}} Refusal */

/** A number as a field shows it: all its digits, never rounded away (1e-6 is not "0.00000"). @param {number} x */
export function fieldText(x) {
  return String(x);
}

/** Size a number field to its value, so no digit is ever cut. @param {HTMLInputElement} input */
export function fitWidth(input) {
  input.style.width = `${Math.max(6, input.value.length + 4)}ch`;
}

/**
 * The element that holds a field's refusal, made on first use next to the input and tied to it
 * with aria-describedby so a screen reader reads it with the field.
 * @param {HTMLElement} input
 */
export function errorOf(input) {
  const id = `${input.id}-error`;
  let error = document.getElementById(id);
  if (!error) {
    error = document.createElement("span");
    error.id = id;
    error.className = "field-error";
    error.setAttribute("role", "alert");
    error.dataset.testid = `${input.id}-error`;
    error.hidden = true;
    (input.closest("label, .field") ?? input).after(error);
    input.setAttribute("aria-describedby", id);
  }
  return error;
}

/** @param {HTMLElement} input @param {string | null} text */
export function showError(input, text) {
  const error = errorOf(input);
  error.textContent = text ?? "";
  error.hidden = !text;
  input.toggleAttribute("aria-invalid", Boolean(text));
}

/**
 * Read a number field; null (and the reason shown) when it holds no number.
 * @param {HTMLInputElement} input @param {string} current how the run's value reads, for the message
 */
export function readNumber(input, current) {
  const raw = input.value.trim();
  if (input.validity.badInput || raw === "" || !Number.isFinite(Number(raw))) {
    showError(input, `${raw === "" && !input.validity.badInput ? "Empty" : "Not a number"}: not sent; the run still uses ${current}.`);
    return null;
  }
  return Number(raw);
}

/**
 * Send one edit; on refusal, put the run's value back and say why beside the field.
 * @param {HTMLElement} input @param {Promise<unknown>} sent @param {() => void} restore
 * @param {string} current how the run's value reads
 */
export function settle(input, sent, restore, current) {
  sent.then(
    () => showError(input, null),
    (/** @type {Refusal} */ error) => {
      restore();
      const why = error.reason ?? error.message;
      showError(input, `Refused: ${why.replace(/\.?$/, ".")}${current ? ` The run still uses ${current}.` : ""}`);
    },
  );
}
