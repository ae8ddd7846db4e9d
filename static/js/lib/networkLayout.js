// @ts-check
/**
 * Where the network diagram puts its units and how it draws each weight (issue 9): layers as
 * columns, at most `shown` units a column (the rest said as "+N more"), edges coloured by sign and
 * sized by magnitude relative to the largest of their layer. Pure: node --test checks it
 * (tests/js/networkLayout.test.js).
 */

/**
 * @typedef {{name: string, units: number, labels: string[] | null}} Layer
 * @typedef {{index: number, y: number, label: string | null}} Node
 * @typedef {{x: number, name: string, units: number, nodes: Node[], more: number, moreY: number}} Column
 * @typedef {{columns: Column[], radius: number}} Layout
 * @typedef {{from: [number, number], to: [number, number], value: number, layer: number,
 *            row: number, col: number}} Edge
 */

/**
 * @param {Layer[]} layers @param {number} shown
 * @param {{x: number, y: number, w: number, h: number}} box where the nodes' centres may go
 * @returns {Layout}
 */
export function layoutNetwork(layers, shown, box) {
  const slotsOf = (/** @type {Layer} */ l) => Math.min(l.units, shown) + (l.units > shown ? 1 : 0);
  const slots = Math.max(1, ...layers.map(slotsOf));
  const pitch = slots > 1 ? box.h / (slots - 1) : box.h;
  const gap = layers.length > 1 ? box.w / (layers.length - 1) : 0;
  const radius = Math.max(2, Math.min(9, pitch * 0.36, gap > 0 ? gap * 0.14 : 9));
  const columns = layers.map((layer, i) => {
    const drawn = Math.min(layer.units, shown);
    const more = layer.units - drawn;
    const used = drawn + (more > 0 ? 1 : 0);
    // Centred in the column's height, at the same pitch as the fullest column.
    const top = box.y + (box.h - (used - 1) * pitch) / 2;
    const nodes = Array.from({ length: drawn }, (_, k) => ({
      index: k,
      y: used > 1 ? top + k * pitch : box.y + box.h / 2,
      label: layer.labels?.[k] ?? null,
    }));
    return {
      x: layers.length > 1 ? box.x + i * gap : box.x + box.w / 2,
      name: layer.name,
      units: layer.units,
      nodes,
      more,
      moreY: top + drawn * pitch,
    };
  });
  return { columns, radius };
}

/**
 * The edges of one kind of value (weights, gradients or updates), link by link: link i's matrix
 * W[rows × cols] joins column i's node `col` to column i + 1's node `row`.
 * @param {Layout} layout
 * @param {{rows: number, cols: number, values: ArrayLike<number> | null}[]} links
 * @returns {Edge[]}
 */
export function edgesOf(layout, links) {
  /** @type {Edge[]} */
  const edges = [];
  links.forEach((link, i) => {
    const from = layout.columns[i];
    const to = layout.columns[i + 1];
    if (!from || !to || !link.values) return;
    const rows = Math.min(link.rows, to.nodes.length);
    const cols = Math.min(link.cols, from.nodes.length);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        edges.push({
          from: [from.x, from.nodes[c].y],
          to: [to.x, to.nodes[r].y],
          value: link.values[r * link.cols + c],
          layer: i,
          row: r,
          col: c,
        });
      }
    }
  });
  return edges;
}

/**
 * How an edge is drawn: its sign's colour, a width and an opacity that grow with |value| relative
 * to `largest` (its layer's largest finite magnitude). NaN and ±Inf are drawn thick in magenta:
 * data, not a value on the scale.
 * @param {number} value @param {number} largest @param {number} [widest] the width of the largest, px
 * @returns {{sign: "positive" | "negative" | "zero" | "nonfinite", width: number, alpha: number}}
 */
export function edgeStyle(value, largest, widest = 4) {
  if (!Number.isFinite(value)) return { sign: "nonfinite", width: Math.max(2, widest * 0.6), alpha: 1 };
  const t = largest > 0 ? Math.min(1, Math.abs(value) / largest) : 0;
  const sign = value > 0 ? "positive" : value < 0 ? "negative" : "zero";
  return { sign, width: 0.4 + (widest - 0.4) * t, alpha: 0.12 + 0.88 * t };
}

/** Each link's largest finite |value| (0 where there is none). @param {(ArrayLike<number> | null)[]} values */
export function largestPerLink(values) {
  return values.map((v) => {
    let m = 0;
    if (v) for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i]) && Math.abs(v[i]) > m) m = Math.abs(v[i]);
    return m;
  });
}
