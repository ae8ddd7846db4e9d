// @ts-check
/**
 * What the phase that just ran did, in words and numbers, told from the snapshot: its `effect`
 * (what really happened), `teaching` (the switches in force) and `micro_batch`, and the tensors'
 * gradients. Never from what the phase usually does: with a switch off, the usual words are false.
 */
import { formatNumber } from "../format.js";
import { num } from "../protocol.js";
import { missingUpdateReason } from "./detail.js";

/** @typedef {import("../protocol.js").SnapshotHeader} Header */

/** @param {string} text */
function para(text) {
  const p = document.createElement("p");
  p.textContent = text;
  return p;
}

/**
 * Each tensor's L2 norm of a field. The stats' norm is over the finite elements only; the true
 * norm of a tensor with a NaN in it is NaN (with an Inf, Inf), so that is what is written.
 * @param {Header} header @param {string} field
 */
function norms(header, field) {
  return header.tensors
    .map((t) => {
      const record = t.fields[field];
      if (!record) return `${t.name} None`;
      const nan = num(record.stats.nan ?? 0);
      const inf = num(record.stats.inf ?? 0);
      const norm = nan > 0 ? NaN : inf > 0 ? Infinity : num(record.stats.norm);
      return `${t.name} ‖·‖ = ${formatNumber(norm)}`;
    })
    .join(", ");
}

/** Whether any tensor's field holds a NaN or ±Inf. @param {Header} header @param {string} field */
function anyNonFinite(header, field) {
  return header.tensors.some((t) => {
    const stats = t.fields[field]?.stats;
    return stats !== undefined && (num(stats.nan ?? 0) > 0 || num(stats.inf ?? 0) > 0);
  });
}

/** @param {Header} header */
function anyGradient(header) {
  return header.tensors.some((t) => t.fields.grad);
}

/** "micro-batch 2 of 4" where there is more than one, else "". @param {Header} header */
function microBatch(header) {
  const mb = header.micro_batch;
  return mb && mb.of > 1 ? ` (micro-batch ${mb.index} of ${mb.of})` : "";
}

/**
 * @param {Header | null} header @param {string | null} phase
 * @returns {{nodes: HTMLElement[], skipped: boolean}} skipped: the phase's call did not run
 */
export function phaseStory(header, phase) {
  if (!header || !phase) {
    return { nodes: [para("Press Next phase to run the loop one phase at a time.")], skipped: false };
  }
  const effect = header.effect;
  const teaching = header.teaching;
  switch (phase) {
    case "zero_grad": {
      const cleared = effect?.phase === "zero_grad" ? effect.cleared : teaching?.zero_grad ?? true;
      if (!cleared) {
        return {
          skipped: true,
          nodes: [
            para(anyGradient(header)
              ? "zero_grad is switched off: it did not run. Every .grad keeps what earlier backward() calls put there, and the next backward adds to it."
              : "zero_grad is switched off: it did not run. No .grad exists yet (None), so there was nothing to clear."),
            para(`.grad: ${norms(header, "grad")}`),
          ],
        };
      }
      return {
        skipped: false,
        nodes: [
          para("zero_grad(set_to_none=True): every .grad is None again, ready for a new backward."),
          para(`.grad: ${norms(header, "grad")}`),
        ],
      };
    }
    case "forward": {
      const batch = header.batch;
      if (!batch) return { skipped: false, nodes: [para(`forward${microBatch(header)}: the model computed its predictions.`)] };
      const table = document.createElement("table");
      const head = table.createTHead().insertRow();
      for (const label of ["row", "prediction ŷ", "target y"]) {
        const th = document.createElement("th");
        th.textContent = label;
        head.append(th);
      }
      const body = table.createTBody();
      batch.predictions.forEach((/** @type {number} */ p, /** @type {number} */ i) => {
        const row = body.insertRow();
        for (const value of [String(i), formatNumber(num(p)), formatNumber(num(batch.targets[i]))]) {
          row.insertCell().textContent = value;
        }
      });
      const shown = batch.predictions.length < batch.size ? ` (the first ${batch.predictions.length} shown)` : "";
      return {
        skipped: false,
        nodes: [para(`forward${microBatch(header)}: predictions for a batch of ${batch.size}${shown}:`), table],
      };
    }
    case "loss": {
      const nodes = [para(`loss${microBatch(header)} = MSELoss(ŷ, y) = ${formatNumber(num(header.loss), 6)}`)];
      const backwardOn = teaching?.backward ?? true;
      if (!anyGradient(header)) {
        nodes.push(para(backwardOn
          ? "Nothing has a gradient yet: backward comes next."
          : "Nothing has a gradient, and backward is switched off: none will come this step."));
      } else if ((header.micro_batch?.index ?? 1) > 1) {
        nodes.push(para(`.grad already holds the earlier micro-batches' gradients (${norms(header, "grad")}); ${
          backwardOn ? "backward adds this one's to them." : "backward is switched off, so they stay as they are."}`));
      } else {
        nodes.push(para(`.grad still holds earlier gradients, since zero_grad did not clear them (${norms(header, "grad")}); ${
          backwardOn ? "backward adds to them." : "backward is switched off, so they stay as they are."}`));
      }
      return { skipped: false, nodes };
    }
    case "backward": {
      const done = effect?.phase === "backward" ? effect : null;
      const ran = done ? done.ran : teaching?.backward ?? true;
      if (!ran) {
        return {
          skipped: true,
          nodes: [
            para(`backward is switched off${microBatch(header)}: it did not run, so no gradient was computed and .grad is unchanged.`),
            para(`.grad: ${norms(header, "grad")}`),
          ],
        };
      }
      const index = done?.micro_batch ?? header.micro_batch?.index ?? 1;
      const of = done?.micro_batches ?? header.micro_batch?.of ?? 1;
      const fresh = index === 1 && (teaching?.zero_grad ?? true);
      const what = of > 1
        ? `backward() on micro-batch ${index} of ${of}: (loss / ${of}).backward() ${fresh ? "filled .grad with" : "added to .grad"} this micro-batch's ∂loss/∂θ ÷ ${of}.`
        : fresh
          ? "backward(): every parameter's .grad is filled with ∂loss/∂θ."
          : "backward(): ∂loss/∂θ was added to what every .grad already held (zero_grad is off).";
      return { skipped: false, nodes: [para(what), para(`.grad: ${norms(header, "grad")}`)] };
    }
    case "step": {
      const moved = effect?.phase === "step" ? effect.moved : undefined;
      if (moved === false) {
        const why = anyGradient(header) ? "" : " No parameter has a gradient (backward is switched off), so there was nothing to follow.";
        return {
          skipped: false,
          nodes: [para(`step(): the optimizer ran (step ${header.step}) but moved nothing: every Δθ is exactly 0.${why}`),
            para(`update Δθ: ${norms(header, "update")}`)],
        };
      }
      if (anyNonFinite(header, "update")) {
        return {
          skipped: false,
          nodes: [para(`step(): the optimizer ran (step ${header.step}), and its update is not finite: the parameters it touched are NaN or ±Inf now.`),
            para(`update Δθ: ${norms(header, "update")}`)],
        };
      }
      const recorded = header.tensors.some((t) => t.fields.update);
      return {
        skipped: false,
        nodes: [para(`step(): the optimizer updated the parameters (step ${header.step}).`),
          para(recorded ? `update Δθ: ${norms(header, "update")}` : `update Δθ ${missingUpdateReason(header.step)}.`)],
      };
    }
    default:
      return { skipped: false, nodes: [] };
  }
}
