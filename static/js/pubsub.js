// @ts-check
/** A tiny publish/subscribe channel: connects socket, store and views without imports between them. */

/** @template T */
export class Channel {
  constructor() {
    /** @type {Set<(value: T) => void>} */
    this.listeners = new Set();
  }

  /** @param {(value: T) => void} listener */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @param {T} value */
  publish(value) {
    for (const listener of this.listeners) listener(value);
  }
}
