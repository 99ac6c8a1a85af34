/**
 * What a user writes by hand without keops-ts: plain TypeScript double loops for the Gaussian
 * kernel sum, its gradient with respect to x, and K-nearest neighbours. The baselines of the
 * benchmarks (float32 data, D = 3, float64 accumulation as a careful user would write it).
 *
 * @module
 */

/** a_i = Σ_j exp(−|x_i − y_j|²) b_j. */
export function gaussSum(
  x: Float32Array,
  y: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
): Float32Array {
  const out = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    const x0 = x[3 * i], x1 = x[3 * i + 1], x2 = x[3 * i + 2];
    let s = 0;
    for (let j = 0; j < n; j++) {
      const d0 = x0 - y[3 * j], d1 = x1 - y[3 * j + 1], d2 = x2 - y[3 * j + 2];
      s += Math.exp(-(d0 * d0 + d1 * d1 + d2 * d2)) * b[j];
    }
    out[i] = s;
  }
  return out;
}

/** g_i = Σ_j −2 (x_i − y_j) exp(−|x_i − y_j|²) b_j e_i: the gradient of ⟨a, e⟩ in x. */
export function gaussGradX(
  x: Float32Array,
  y: Float32Array,
  b: Float32Array,
  e: Float32Array,
  m: number,
  n: number,
): Float32Array {
  const out = new Float32Array(3 * m);
  for (let i = 0; i < m; i++) {
    const x0 = x[3 * i], x1 = x[3 * i + 1], x2 = x[3 * i + 2];
    let g0 = 0, g1 = 0, g2 = 0;
    for (let j = 0; j < n; j++) {
      const d0 = x0 - y[3 * j], d1 = x1 - y[3 * j + 1], d2 = x2 - y[3 * j + 2];
      const w = -2 * Math.exp(-(d0 * d0 + d1 * d1 + d2 * d2)) * b[j];
      g0 += w * d0;
      g1 += w * d1;
      g2 += w * d2;
    }
    out[3 * i] = g0 * e[i];
    out[3 * i + 1] = g1 * e[i];
    out[3 * i + 2] = g2 * e[i];
  }
  return out;
}

/** The indices of the K nearest y_j of each x_i, ascending, ties to the smaller index. */
export function knn(
  x: Float32Array,
  y: Float32Array,
  m: number,
  n: number,
  K: number,
): Int32Array {
  const out = new Int32Array(m * K);
  const dist = new Float64Array(K), idx = new Int32Array(K);
  for (let i = 0; i < m; i++) {
    dist.fill(Infinity);
    idx.fill(0);
    const x0 = x[3 * i], x1 = x[3 * i + 1], x2 = x[3 * i + 2];
    for (let j = 0; j < n; j++) {
      const d0 = x0 - y[3 * j], d1 = x1 - y[3 * j + 1], d2 = x2 - y[3 * j + 2];
      const d = d0 * d0 + d1 * d1 + d2 * d2;
      if (!(d < dist[K - 1])) continue;
      let p = K - 1;
      while (p > 0 && d < dist[p - 1]) {
        dist[p] = dist[p - 1];
        idx[p] = idx[p - 1];
        p--;
      }
      dist[p] = d;
      idx[p] = j;
    }
    out.set(idx, i * K);
  }
  return out;
}
