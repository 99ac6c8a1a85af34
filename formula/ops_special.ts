/**
 * Reference math of the two sequence operations whose definitions are algorithms rather than
 * formulas: `BSpline` (Cox–de Boor recursion) and `SoftDTW_SqDist` (soft dynamic time warping
 * with squared-difference costs, and its gradient by the backward recursion of Cuturi & Blondel).
 *
 * @module
 */

import type { Node } from "./tree.ts";

/**
 * BSpline(knots, x, order): the basis functions B_{j,order}(x), j = 0 … K−order−2, for the K
 * knots t. B_{j,0}(x) = [t_j ≤ x < t_{j+1}];
 * B_{j,p} = (x−t_j)/(t_{j+p}−t_j)·B_{j,p−1} + (t_{j+p+1}−x)/(t_{j+p+1}−t_{j+1})·B_{j+1,p−1},
 * a ratio over equal knots counting as 0.
 */
export function bsplineEval(
  out: Float64Array,
  o: number,
  a: readonly Float64Array[],
  ao: readonly number[],
  n: Node,
): void {
  const K = n.args[0].dim, order = n.params[0] as number;
  const t = (k: number) => a[0][ao[0] + k];
  const x = a[1][ao[1]];
  const b = new Float64Array(K - 1);
  for (let j = 0; j < K - 1; j++) b[j] = t(j) <= x && x < t(j + 1) ? 1 : 0;
  const ratio = (num: number, den: number) => (den === 0 ? 0 : num / den);
  for (let p = 1; p <= order; p++) {
    for (let j = 0; j < K - 1 - p; j++) {
      b[j] = ratio(x - t(j), t(j + p) - t(j)) * b[j] +
        ratio(t(j + p + 1) - x, t(j + p + 1) - t(j + 1)) * b[j + 1];
    }
  }
  for (let j = 0; j < n.dim; j++) out[o + j] = b[j];
}

/** softmin_γ(a, b, c) = min − γ·log Σ exp((min − v)/γ), and the weights ∂softmin/∂v. */
function softmin(v: [number, number, number], gamma: number, w?: number[]): number {
  const m = Math.min(...v);
  let s = 0;
  const e = v.map((x) => Math.exp((m - x) / gamma));
  for (const x of e) s += x;
  if (w) e.forEach((x, k) => (w[k] = x / s));
  return m - gamma * Math.log(s);
}

/** The cumulative-cost table r of soft-DTW between x (n values) and y (m values). */
function table(x: (k: number) => number, n: number, y: (k: number) => number, m: number, g: number) {
  const r = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const d = (x(i) - y(j)) ** 2;
      if (i === 0 && j === 0) r[0] = d;
      else if (i === 0) r[j] = d + r[j - 1];
      else if (j === 0) r[i * m] = d + r[(i - 1) * m];
      else {
        r[i * m + j] = d +
          softmin([r[(i - 1) * m + j - 1], r[(i - 1) * m + j], r[i * m + j - 1]], g);
      }
    }
  }
  return r;
}

/** SoftDTW_SqDist(x, y, gamma) = r(n−1, m−1). */
export function softDtwEval(
  out: Float64Array,
  o: number,
  a: readonly Float64Array[],
  ao: readonly number[],
  n: Node,
): void {
  const [nx, ny] = [n.args[0].dim, n.args[1].dim];
  const r = table((k) => a[0][ao[0] + k], nx, (k) => a[1][ao[1] + k], ny, a[2][ao[2]]);
  out[o] = r[nx * ny - 1];
}

/**
 * Gradient of r(n−1, m−1) with respect to [x, y]. E(i,j) = ∂r(n−1,m−1)/∂r(i,j) is propagated
 * backwards: each cell passes E to its predecessors with the softmin weights (weight 1 along the
 * first row and column, which are plain cumulative sums); then ∂/∂x_i = Σ_j E_ij·2(x_i − y_j).
 */
export function softDtwGradEval(
  out: Float64Array,
  o: number,
  a: readonly Float64Array[],
  ao: readonly number[],
  n: Node,
): void {
  const [nx, ny] = [n.args[0].dim, n.args[1].dim];
  const x = (k: number) => a[0][ao[0] + k], y = (k: number) => a[1][ao[1] + k];
  const gamma = a[2][ao[2]];
  const r = table(x, nx, y, ny, gamma);
  const E = new Float64Array(nx * ny);
  E[nx * ny - 1] = 1;
  const w = [0, 0, 0];
  for (let i = nx - 1; i >= 0; i--) {
    for (let j = ny - 1; j >= 0; j--) {
      const e = E[i * ny + j];
      if (e === 0) continue;
      if (i === 0 && j > 0) E[j - 1] += e;
      else if (j === 0 && i > 0) E[(i - 1) * ny] += e;
      else if (i > 0 && j > 0) {
        softmin([r[(i - 1) * ny + j - 1], r[(i - 1) * ny + j], r[i * ny + j - 1]], gamma, w);
        E[(i - 1) * ny + j - 1] += e * w[0];
        E[(i - 1) * ny + j] += e * w[1];
        E[i * ny + j - 1] += e * w[2];
      }
    }
  }
  out.fill(0, o, o + nx + ny);
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < ny; j++) {
      const g = 2 * (x(i) - y(j)) * E[i * ny + j];
      out[o + i] += g;
      out[o + nx + j] -= g;
    }
  }
}
