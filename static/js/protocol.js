// @ts-check
/** The stream's message format, version 1 (docs/protocol.md). */

export const PROTOCOL_VERSION = 1;

/** The states in which a run has a worker and takes commands. */
export const LIVE = ["idle", "running", "paused"];

/**
 * JSON carries NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity"; Number() reads them.
 * @param {number | string | null | undefined} value
 */
export function num(value) {
  return value === null || value === undefined ? NaN : Number(value);
}

/**
 * The snapshot's header is the contract's (app/contract/snapshot.py, generated into
 * contract/contract.d.ts); the float32 data after it is addressed by each field's `view`.
 * @typedef {import("./contract/contract").FieldData} FieldRecord
 * @typedef {import("./contract/contract").Tensor} TensorRecord
 * @typedef {import("./contract/contract").SnapshotHeader} SnapshotHeader
 * @typedef {{header: SnapshotHeader, data: Float32Array}} Snapshot
 */

/**
 * A binary snapshot: uint32 LE header length, JSON header, padding, then float32 data read in place.
 * @param {ArrayBuffer} buffer
 * @returns {Snapshot}
 */
export function decodeSnapshot(buffer) {
  const length = new DataView(buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  return { header, data: new Float32Array(buffer, 4 + length) };
}

/**
 * The elements of one field of a tensor, as a view into the snapshot's data.
 * @param {Snapshot} snapshot
 * @param {FieldRecord} field
 */
export function fieldView(snapshot, field) {
  const [offset, length] = /** @type {[number, number]} */ (field.view);
  return snapshot.data.subarray(offset, offset + length);
}
