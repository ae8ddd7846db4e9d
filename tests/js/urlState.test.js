// The address that holds the run and its whole configuration (static/js/lib/urlState.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { decodeConfig, encodeConfig, linkFor, readLink } from "../../static/js/lib/urlState.js";

// A spiral run as GET /api/runs/{id} gives it, with digits that rounding would lose.
const SPIRAL = {
  experiment: "spiral",
  seed: 7,
  n_samples: 500,
  batch_size: 16,
  noise: 0.1,
  validation_fraction: 0.3,
  architecture: { kind: "mlp", hidden: [16, 32, 8], activation: "relu", features: ["x1", "x2", "sin x1", "x1*x2", "x1^2"] },
  loss: "bce",
  optimizer: { name: "sgd", lr: 0.012345678901234567, momentum: 0.9, dampening: 0, nesterov: true, weight_decay: 1e-8 },
  teaching: { zero_grad: true, backward: false, accumulate: 3 },
  race: [],
  steps_per_second: null,
};

/** What `new URL(link, base)` makes of a link, as the browser's location would hold it. @param {string} link */
function located(link) {
  const url = new URL(link, "http://127.0.0.1:8000/");
  return { pathname: url.pathname, search: url.search, hash: url.hash };
}

test("a configuration comes back exactly: every digit, null, booleans, lists, feature names", () => {
  const text = encodeConfig(SPIRAL);
  assert.match(text, /^[A-Za-z0-9_-]+$/, "only characters a URL never escapes, no padding '='");
  assert.deepEqual(decodeConfig(text), SPIRAL);
  const own = { ...SPIRAL, experiment: "ripple ∿ (your own)", architecture: null };
  assert.deepEqual(decodeConfig(encodeConfig(own)), own, "non-ASCII names survive (UTF-8)");
});

test("a link holds the run id last and the configuration in the query; reading it gives both back", () => {
  const link = linkFor({ pathname: "/", search: "" }, "4d88c4b66d5a", SPIRAL);
  assert.match(link, /^\/\?config=[A-Za-z0-9_-]+#run=4d88c4b66d5a$/);
  const where = located(link);
  assert.deepEqual(readLink(where.search, where.hash), { run: "4d88c4b66d5a", config: SPIRAL, problem: null });
});

test("other query parameters stay; a link before the configuration is known has none", () => {
  const link = linkFor({ pathname: "/", search: "?lang=en&config=old" }, "abc", SPIRAL);
  const where = located(link);
  assert.equal(new URLSearchParams(where.search).get("lang"), "en");
  assert.deepEqual(readLink(where.search, where.hash).config, SPIRAL);
  assert.equal(linkFor({ pathname: "/", search: "?config=old" }, "abc", null), "/#run=abc");
  assert.equal(linkFor({ pathname: "/", search: "?lang=en&config=old" }, "abc", null), "/?lang=en#run=abc");
});

test("links from before (#run= alone) and the fragment form (#run=…&config=…) are read", () => {
  assert.deepEqual(readLink("", "#run=abc"), { run: "abc", config: null, problem: null });
  assert.deepEqual(readLink("", ""), { run: null, config: null, problem: null });
  assert.deepEqual(readLink("", `#run=abc&config=${encodeConfig(SPIRAL)}`).config, SPIRAL);
  assert.deepEqual(readLink(`?config=${encodeConfig(SPIRAL)}`, "").config, SPIRAL, "a configuration without a run id");
});

test("a garbled configuration is a problem in words, never an exception, and the run id still counts", () => {
  const good = encodeConfig(SPIRAL);
  const cases = [
    ["", /empty/],
    [good.slice(0, 40), /cut short or changed/],
    [`${good.slice(0, 20)}%%%`, /characters/],
    ["not base64 at all!", /characters/],
    [encodeConfig([1, 2]), /not a configuration/],
    [encodeConfig("spiral"), /not a configuration/],
    [encodeConfig({ seed: 7 }), /names no experiment/],
    [encodeConfig({ experiment: "" }), /names no experiment/],
    ["A".repeat(9000), /more than any configuration/],
    ["_w", /this page wrote|cut short/], // bytes that are not UTF-8
  ];
  for (const [text, reason] of cases) {
    const link = readLink(`?config=${encodeURIComponent(String(text))}`, "#run=abc");
    assert.equal(link.run, "abc");
    assert.equal(link.config, null, String(text));
    assert.match(String(link.problem), /** @type {RegExp} */ (reason), String(text));
  }
});
