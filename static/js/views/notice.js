// @ts-check
/**
 * The line under the top bar that says what happened to the run (stopped, failed, replaced,
 * refused) and offers the next action as buttons. It stays until the next event or a dismissal.
 */

/** @typedef {{label: string, act: () => void}} Action */

export class Notice {
  /** @param {HTMLElement} element */
  constructor(element) {
    this.element = element;
    this.text = document.createElement("p");
    this.actions = document.createElement("div");
    this.actions.className = "actions";
    element.replaceChildren(this.text, this.actions);
    /** @type {string | null} what the notice is about, so an update of the same thing replaces it */
    this.topic = null;
  }

  /**
   * @param {string} topic @param {string} text @param {Action[]} actions
   * @param {"info" | "warning"} [tone]
   */
  show(topic, text, actions, tone = "info") {
    this.topic = topic;
    this.element.dataset.tone = tone;
    this.text.textContent = text;
    const buttons = actions.map(({ label, act }) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.addEventListener("click", act);
      return button;
    });
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "dismiss";
    dismiss.textContent = "×";
    dismiss.setAttribute("aria-label", "Dismiss this notice");
    dismiss.addEventListener("click", () => this.hide());
    this.actions.replaceChildren(...buttons, dismiss);
    this.element.hidden = false;
  }

  /** @param {string} [topic] hide only a notice about this */
  hide(topic) {
    if (topic !== undefined && topic !== this.topic) return;
    this.topic = null;
    this.element.hidden = true;
  }
}
