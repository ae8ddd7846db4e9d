// @ts-check
/** The REST API: control of runs. Errors carry the server's message (FastAPI's `detail`). */

/** @param {string} path @param {RequestInit} [init] */
async function request(path, init) {
  const response = await fetch(path, {
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    ...init,
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body?.detail;
    const message = Array.isArray(detail)
      ? detail.map((d) => `${d.loc?.slice(1).join(".") || "request"}: ${d.msg}`).join("; ")
      : detail ?? `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

export const api = {
  experiments: () => request("/api/experiments"),
  optimizers: () => request("/api/optimizers"),
  runs: () => request("/api/runs"),
  source: () => request("/api/source"),
  /** @param {string} runId */
  surface: (runId) => request(`/api/runs/${runId}/surface`),
  /** @param {object} config */
  createRun: (config) => request("/api/runs", { method: "POST", body: JSON.stringify(config) }),
  /** @param {string} runId @param {string} command */
  command: (runId, command) => request(`/api/runs/${runId}/commands/${command}`, { method: "POST" }),
  /** @param {string} runId @param {object} optimizer */
  setOptimizer: (runId, optimizer) =>
    request(`/api/runs/${runId}/optimizer`, { method: "PUT", body: JSON.stringify(optimizer) }),
  /** @param {string} runId @param {object} teaching */
  setTeaching: (runId, teaching) =>
    request(`/api/runs/${runId}/teaching`, { method: "PUT", body: JSON.stringify(teaching) }),
  /** @param {string} runId @param {number | null} stepsPerSecond */
  setPace: (runId, stepsPerSecond) =>
    request(`/api/runs/${runId}/pace`, {
      method: "PUT",
      body: JSON.stringify({ steps_per_second: stepsPerSecond }),
    }),
};
