// @ts-check
/**
 * The page's address holds what it shows: the run's id in the fragment (`#run=<id>`, as links made
 * before always had it) and the run's whole configuration in the query (`?config=<text>`), so a
 * link opened where that run is unknown can start the same run again: same seed, same curve.
 *
 * The configuration is the whole ExperimentConfig as JSON, in base64url (no padding): exact (every
 * digit of every number), no character a URL must escape, and nothing for the server to guess.
 * The query, not the fragment, carries it: `#run=<id>` stays the last thing in the address, so
 * code that reads the id as "everything after run=" (older pages and tests) still gets the id.
 * Pure functions only: no DOM, so node's test runner checks them.
 */

/** The query parameter that holds the configuration. */
export const CONFIG_PARAM = "config";
/** Longer than any configuration the server takes (4 racers of every hyperparameter included). */
const MAX_TEXT = 8000;

/**
 * @typedef {{run: string | null, config: Record<string, unknown> | null, problem: string | null}} Link
 *   what an address asks for: `problem` says why its configuration could not be read (then
 *   `config` is null)
 */

/** @param {string} text */
function toBase64Url(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @param {string} text */
function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/** The configuration as the address holds it. @param {object} config */
export function encodeConfig(config) {
  return toBase64Url(JSON.stringify(config));
}

/**
 * Read a configuration back; throws an Error whose message says, in words, what is wrong with it.
 * Only its shape is checked here: the server checks every value when the run is created.
 * @param {string} text
 * @returns {Record<string, unknown>}
 */
export function decodeConfig(text) {
  if (!text) throw new Error("it is empty");
  if (text.length > MAX_TEXT) throw new Error(`it is ${text.length} characters long, more than any configuration`);
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error("it holds characters a configuration never has");
  let json;
  try {
    json = fromBase64Url(text);
  } catch {
    throw new Error("it is not a configuration this page wrote (cut short or changed?)");
  }
  let config;
  try {
    config = JSON.parse(json);
  } catch {
    throw new Error("it is cut short or changed: it does not read as a configuration");
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new Error("it is not a configuration");
  }
  if (typeof config.experiment !== "string" || !config.experiment) {
    throw new Error("it names no experiment");
  }
  return config;
}

/**
 * What an address asks for. The run id alone (a link from before) is fine; a configuration that
 * cannot be read is a `problem`, never an exception: the page then opens what it would without it.
 * `#run=<id>&config=<text>` is read too (the configuration in the fragment).
 * @param {string} search location.search @param {string} hash location.hash
 * @returns {Link}
 */
export function readLink(search, hash) {
  const fragment = new URLSearchParams(hash.replace(/^#/, ""));
  const query = new URLSearchParams(search.replace(/^\?/, ""));
  const run = fragment.get("run") || null;
  const text = query.get(CONFIG_PARAM) ?? fragment.get(CONFIG_PARAM);
  if (text === null) return { run, config: null, problem: null };
  try {
    return { run, config: decodeConfig(text.trim()), problem: null };
  } catch (error) {
    return { run, config: null, problem: /** @type {Error} */ (error).message };
  }
}

/**
 * The address of a run: the page's own query with the configuration set (or removed, when it is
 * not known yet), and `#run=<id>` last. Other query parameters are kept as they were.
 * @param {{pathname: string, search: string}} where the page's location
 * @param {string} runId @param {object | null} config
 * @returns {string} the path, the query and the fragment
 */
export function linkFor(where, runId, config) {
  const query = new URLSearchParams(where.search.replace(/^\?/, ""));
  if (config) query.set(CONFIG_PARAM, encodeConfig(config));
  else query.delete(CONFIG_PARAM);
  const text = query.toString();
  return `${where.pathname}${text ? `?${text}` : ""}#run=${encodeURIComponent(runId)}`;
}
