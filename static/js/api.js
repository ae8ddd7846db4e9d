// @ts-check
/** The REST API: control of runs. Errors carry the server's message (FastAPI's `detail`). */

/**
 * @typedef {import("./contract/contract").RunInfo} RunInfo
 * @typedef {{loc?: (string | number)[], msg: string}} FieldError one entry of a 422's detail
 * @typedef {{inputs: number[][], targets: number[]}} PointSet
 * @typedef {{dims: 1 | 2, task: "regression" | "binary" | "classes", train: PointSet,
 *            validation: PointSet | null}} DataPoints a run's samples, to draw (GET /api/runs/{id}/points)
 */

/** A refused request: the HTTP status (0: the server could not be reached) and the server's words. */
export class ApiError extends Error {
  /** @param {string} message @param {number} status @param {FieldError[]} [errors] */
  constructor(message, status, errors = []) {
    super(message);
    this.status = status;
    /** A 422's entries, each with the path of the field it is about. */
    this.errors = errors;
  }

  /** What the server said, without pydantic's "Value error, " prefix, each entry once. */
  get reason() {
    if (!this.errors.length) return this.message;
    return [...new Set(this.errors.map((e) => e.msg.replace(/^Value error, /, "")))].join("; ");
  }
}

/** @param {string} path @param {RequestInit} [init] */
async function request(path, init) {
  let response;
  try {
    response = await fetch(path, {
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      ...init,
    });
  } catch {
    // fetch rejects only when no answer came at all: say that, not the browser's "Failed to fetch"
    throw new ApiError("The server cannot be reached.", 0);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body?.detail;
    if (Array.isArray(detail)) {
      const message = detail.map((d) => `${d.loc?.slice(1).join(".") || "request"}: ${d.msg}`).join("; ");
      throw new ApiError(message, response.status, detail);
    }
    throw new ApiError(detail ?? `${response.status} ${response.statusText}`, response.status);
  }
  return body;
}

export const api = {
  /** @returns {Promise<import("./views/builder.js").ExperimentSpec[]>} */
  experiments: () => request("/api/experiments"),
  /** @returns {Promise<import("./views/builder.js").BuilderSpec>} the model builder's bounds and choices */
  builder: () => request("/api/builder"),
  optimizers: () => request("/api/optimizers"),
  /** @returns {Promise<RunInfo[]>} */
  runs: () => request("/api/runs"),
  /**
   * A checkpoint of the live run now (409 in the middle of a step).
   * @param {string} id @returns {Promise<import("./contract/contract").CheckpointInfo>}
   */
  saveCheckpoint: (id) => request(`/api/runs/${id}/checkpoints`, { method: "POST" }),
  /** @param {string} runId @param {string | null} name @returns {Promise<RunInfo>} */
  renameRun: (runId, name) => request(`/api/runs/${runId}`, { method: "PATCH", body: JSON.stringify({ name }) }),
  /** @param {string} runId 204: no body */
  deleteRun: (runId) => request(`/api/runs/${runId}`, { method: "DELETE" }),
  /** @param {string} runId @returns {Promise<import("./contract/contract").RunExport>} every step's scalars */
  exportJson: (runId) => request(`/api/runs/${runId}/export?format=json`),
  source: () => request("/api/source"),
  /** @param {string} runId */
  surface: (runId) => request(`/api/runs/${runId}/surface`),
  /** @param {string} runId @returns {Promise<DataPoints>} */
  points: (runId) => request(`/api/runs/${runId}/points`),
  /** @param {object} config @returns {Promise<RunInfo>} */
  createRun: (config) => request("/api/runs", { method: "POST", body: JSON.stringify(config) }),
  /** @param {string} runId @param {string} command @returns {Promise<RunInfo>} */
  command: (runId, command) => request(`/api/runs/${runId}/commands/${command}`, { method: "POST" }),
  /** @param {string} runId @param {object} optimizer @returns {Promise<RunInfo>} */
  setOptimizer: (runId, optimizer) =>
    request(`/api/runs/${runId}/optimizer`, { method: "PUT", body: JSON.stringify(optimizer) }),
  /** @param {string} runId @param {object} teaching @returns {Promise<RunInfo>} */
  setTeaching: (runId, teaching) =>
    request(`/api/runs/${runId}/teaching`, { method: "PUT", body: JSON.stringify(teaching) }),
  /** @param {string} runId @param {{nonfinite: boolean}} alerts @returns {Promise<RunInfo>} */
  setAlerts: (runId, alerts) =>
    request(`/api/runs/${runId}/alerts`, { method: "PUT", body: JSON.stringify(alerts) }),
  /** @param {string} runId @param {{budget: number}} instrumentation the overhead budget, a share of training time @returns {Promise<RunInfo>} */
  setInstrumentation: (runId, instrumentation) =>
    request(`/api/runs/${runId}/instrumentation`, { method: "PUT", body: JSON.stringify(instrumentation) }),
  /** Go on from a step of the run as a new run. @param {string} runId @param {{step: number, optimizer?: object}} body @returns {Promise<RunInfo>} */
  branch: (runId, body) => request(`/api/runs/${runId}/branch`, { method: "POST", body: JSON.stringify(body) }),
  /** @param {string} runId @returns {Promise<import("./views/branch.js").Lineage>} */
  branches: (runId) => request(`/api/runs/${runId}/branches`),
  /** Every step's loss from step 1 (a branch's, for its parent's chart). @param {string} runId @returns {Promise<{loss: (number | string | null)[]}>} */
  scalars: (runId) => request(`/api/runs/${runId}/scalars`),
  /** @param {string} runId @param {number | null} stepsPerSecond @returns {Promise<RunInfo>} */
  setPace: (runId, stepsPerSecond) =>
    request(`/api/runs/${runId}/pace`, {
      method: "PUT",
      body: JSON.stringify({ steps_per_second: stepsPerSecond }),
    }),
};
