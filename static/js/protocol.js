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

/**
 * The model views (issue 9) with every span read into its Float32Array: the same shapes as the
 * contract's (app/contract/views.py), spans replaced by views of the data block (no copy).
 * @typedef {[number, number]} Range
 * @typedef {{layer: number, unit: number, values: Float32Array}} UnitValues
 * @typedef {{x1: Range, x2: Range, n: number, output: Float32Array,
 *            outputKind: "probability" | "value" | "class", unitN: number, units: UnitValues[]}} Plane
 * @typedef {{parameter: string, rows: number, cols: number, value: Float32Array,
 *            grad: Float32Array | null, update: Float32Array | null}} Link
 * @typedef {{shown: number, layers: import("./contract/contract").NetworkLayer[], links: Link[]}} Network
 * @typedef {{parameter: string, count: number, height: number, width: number, values: Float32Array}} Filters
 * @typedef {{plane: Plane | null, curve: {x: number[], y: number[]} | null, network: Network | null,
 *            filters: Filters | null, confusion: number[][] | null}} Views
 */

/**
 * The floats one span addresses. A span outside the data block is the server's mistake, and is
 * said so rather than drawn as a shorter picture.
 * @param {Float32Array} data @param {unknown[]} span [offset, length] in float32 elements
 */
export function spanView(data, span) {
  const [offset, length] = /** @type {[number, number]} */ (span);
  if (!(offset >= 0 && length >= 0 && offset + length <= data.length)) {
    throw new RangeError(`span [${offset}, ${length}] lies outside the snapshot's ${data.length} floats`);
  }
  return data.subarray(offset, offset + length);
}

/**
 * The snapshot's model views with their spans read, or null where the header has none.
 * @param {Snapshot} snapshot @returns {Views | null}
 */
export function decodeViews(snapshot) {
  const views = snapshot.header.views;
  if (!views) return null;
  const data = snapshot.data;
  const read = (/** @type {unknown[]} */ span) => spanView(data, span);
  const plane = views.plane;
  const network = views.network;
  const filters = views.filters;
  return {
    plane: plane && {
      x1: /** @type {Range} */ (plane.x1),
      x2: /** @type {Range} */ (plane.x2),
      n: plane.n,
      output: read(plane.output),
      outputKind: plane.output_kind,
      unitN: plane.unit_n,
      units: plane.units.map((u) => ({ layer: u.layer, unit: u.unit, values: read(u.values) })),
    },
    // JSON carries a NaN as "NaN": read like the losses
    curve: views.curve && { x: views.curve.x.map(num), y: views.curve.y.map(num) },
    network: network && {
      shown: network.shown,
      layers: network.layers,
      links: network.links.map((l) => ({
        parameter: l.parameter,
        rows: l.rows,
        cols: l.cols,
        value: read(l.value),
        grad: l.grad ? read(l.grad) : null,
        update: l.update ? read(l.update) : null,
      })),
    },
    filters: filters && { ...filters, values: read(filters.values) },
    confusion: views.confusion,
  };
}
