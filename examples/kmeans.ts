/**
 * K-means clustering, as KeOps's tutorial: Lloyd's iterations, each assignment
 * cl_i = argmin_k |x_i − c_k|² a LazyTensor ArgMin over the centroids, each update a mean per
 * cluster. Checks the last assignment against a plain double loop at the small size, and writes
 * the clusters (examples/out/kmeans.svg).
 *
 *     deno task example kmeans [--small]
 *
 * @module
 */

import { ndarray, Vi, Vj } from "../mod.ts";
import { blobs, check, Plot, random, SMALL } from "./_common.ts";

const r = random(1);
const N = SMALL ? 2000 : 100_000, K = SMALL ? 10 : 50, iterations = 10;
const centres = Array.from({ length: 2 * 12 }, () => r());
const x = blobs(r, N, centres, 0.06);
// The first K points as initial centroids.
let c = x.slice(0, 2 * K);
let labels: ArrayLike<number> = new Int32Array(N);
const t0 = performance.now();
for (let it = 0; it < iterations; it++) {
  const D = Vi(ndarray(x, [N, 2])).sqdist(Vj(ndarray(c, [K, 2])));
  labels = (await D.argmin(1)).data;
  const sums = new Float64Array(2 * K), counts = new Float64Array(K);
  for (let i = 0; i < N; i++) {
    counts[labels[i]]++;
    sums[2 * labels[i]] += x[2 * i];
    sums[2 * labels[i] + 1] += x[2 * i + 1];
  }
  const next = new Float32Array(2 * K);
  for (let k = 0; k < K; k++) {
    next[2 * k] = counts[k] ? sums[2 * k] / counts[k] : c[2 * k];
    next[2 * k + 1] = counts[k] ? sums[2 * k + 1] / counts[k] : c[2 * k + 1];
  }
  if (it < iterations - 1) c = next;
}
const ms = performance.now() - t0;
console.log(
  `K-means, N = ${N}, K = ${K}, ${iterations} iterations: ${ms.toFixed(0)} ms`,
);

// The last assignment against a plain loop (first-index ties, as the reduction).
let wrong = 0;
const sample = Math.min(N, 2000);
for (let i = 0; i < sample; i++) {
  let best = 0, bd = Infinity;
  for (let k = 0; k < K; k++) {
    const d = (x[2 * i] - c[2 * k]) ** 2 + (x[2 * i + 1] - c[2 * k + 1]) ** 2;
    if (d < bd) [bd, best] = [d, k];
  }
  if (labels[i] !== best) wrong++;
}
check(
  wrong === 0,
  `the assignment of ${sample} points equals a plain loop's (${wrong} differ)`,
);

const plot = new Plot([-0.2, 1.2, -0.2, 1.2]).points(
  x.subarray(0, 2 * Math.min(N, 20000)),
  labels,
  1.2,
);
for (let k = 0; k < K; k++) {
  plot.points([c[2 * k], c[2 * k + 1]], undefined, 3.5, "black");
}
await plot.write("kmeans.svg", `K-means: ${N} points, ${K} clusters`);
