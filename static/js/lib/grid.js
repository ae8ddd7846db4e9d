// @ts-check
/**
 * A square grid of model outputs resampled to a finer one, for drawing: bilinear between grid
 * points, so a decision boundary reads as the smooth curve the model draws rather than a staircase
 * of 48 cells, with the colour applied after (colours of interpolated probabilities, not
 * interpolated colours). A NaN corner makes its cell's samples NaN: a non-finite output is shown,
 * never smoothed away. Pure: node --test checks it (tests/js/grid.test.js).
 */

/**
 * @param {ArrayLike<number>} values n × n, row-major @param {number} n @param {number} size
 * @returns {Float32Array} size × size, same orientation; corners land on the grid's corners
 */
export function bilinear(values, n, size) {
  const out = new Float32Array(size * size);
  if (n < 2 || size < 2) return out.fill(n >= 1 ? values[0] : NaN);
  const scale = (n - 1) / (size - 1);
  for (let r = 0; r < size; r++) {
    const gy = r * scale;
    const r0 = Math.min(n - 2, Math.floor(gy));
    const fy = gy - r0;
    for (let c = 0; c < size; c++) {
      const gx = c * scale;
      const c0 = Math.min(n - 2, Math.floor(gx));
      const fx = gx - c0;
      const a = values[r0 * n + c0];
      const b = values[r0 * n + c0 + 1];
      const d = values[(r0 + 1) * n + c0];
      const e = values[(r0 + 1) * n + c0 + 1];
      out[r * size + c] = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
    }
  }
  return out;
}
