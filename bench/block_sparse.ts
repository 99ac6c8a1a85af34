/**
 * A block-sparse Gaussian sum on clustered data against the full reduction on the same data,
 * in the same run: points drawn from tight clusters, clustered on a grid (`gridCluster`),
 * sorted, and only the pairs of clusters whose centroids are closer than a cut-off kept
 * (`fromMatrix`), as KeOps's block-sparse tutorial. The two alternate, round by round, and
 * each side's median is taken (the machines are shared and noisy).
 *
 *     deno task bench:sparse [--n 200000] [--backend cpu] [--rounds 2]
 *
 * Prints the fraction of pairs kept, both medians, their ratio, the ratio divided by the
 * fraction (1 when the time is exactly proportional to the pairs computed), the time per pair,
 * and the largest difference between the two results relative to the largest result (the pairs
 * dropped are those of far clusters, whose kernel values are below float32's resolution). Two
 * kernels: the clusters' own (σ = 0.02), and a wide one (σ = 1) whose terms all cost the same.
 *
 * @module
 */

import {
  clusterRangesCentroids,
  fromMatrix,
  Genred,
  gridCluster,
  type NDArray,
  ndarray,
  sortClusters,
} from "../mod.ts";

const arg = (name: string, def: string) => {
  const k = Deno.args.indexOf(`--${name}`);
  return k >= 0 ? Deno.args[k + 1] : def;
};
const n = Number(arg("n", "200000"));
const backend = arg("backend", "cpu") as "cpu" | "gpu" | "cpu-rust";
const rounds = Number(arg("rounds", "2"));

let seed = 5;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

// 200 tight clusters (σ = 0.01) in the unit cube; kernel exp(−|x − y|² / (2·0.02²)).
const D = 3, clusters = 200, spread = 0.01, sigma = 0.02;
const centres = Float64Array.from({ length: clusters * D }, rand);
const x = new Float32Array(n * D);
for (let i = 0; i < n; i++) {
  const c = Math.floor(rand() * clusters);
  for (let q = 0; q < D; q++) {
    x[i * D + q] = centres[c * D + q] + spread * normal();
  }
}
const b = Float32Array.from({ length: n }, () => rand() - 0.5);

// Voxels of side 0.05; keep the pairs of voxels whose centroids are closer than 0.05 + 6σ:
// beyond, exp(−d²/2σ²) < e^(−18) ≈ 1.5e-8 for every pair, under float32's resolution of a sum.
const t0 = performance.now();
const labels = gridCluster(ndarray(x, [n, D]), 0.05);
const [xs, ls, perm] = sortClusters(ndarray(x, [n, D]), labels);
const bs = Float32Array.from(perm.data, (i) => b[i]);
const [ranges, centroids] = clusterRangesCentroids(xs, ls);
const C = centroids.shape[0];
const cut = (0.05 * Math.sqrt(3) + 6 * sigma) ** 2;
const keep: boolean[][] = [];
let keptPairs = 0;
for (let k = 0; k < C; k++) {
  const row: boolean[] = [];
  for (let l = 0; l < C; l++) {
    let d2 = 0;
    for (let q = 0; q < D; q++) {
      d2 += (centroids.data[k * D + q] - centroids.data[l * D + q]) ** 2;
    }
    row.push(d2 < cut);
    if (d2 < cut) {
      keptPairs += (ranges.data[2 * k + 1] - ranges.data[2 * k]) *
        (ranges.data[2 * l + 1] - ranges.data[2 * l]);
    }
  }
  keep.push(row);
}
const sparse = fromMatrix(ranges, ranges, keep);
const prepMs = performance.now() - t0;
const fraction = keptPairs / (n * n);

// Two kernels: the tight one of the clusters (σ = 0.02), whose dropped pairs are below
// float32's resolution; and a wide one (σ = 1), for the cost alone: far pairs of the tight kernel
// underflow exp, which the engines evaluate more slowly than a value in range, so that per pair
// the full tight reduction is dearer than the pairs the ranges keep.
const kernel = (s: number) =>
  Genred(`Exp(-SqDist(x,y)*${1 / (2 * s * s)})*b`, [
    "x = Vi(3)",
    "y = Vj(3)",
    "b = Vj(1)",
  ], { axis: 1 });
const tight = kernel(sigma), wide = kernel(1);
const args = [xs, xs, ndarray(bs, [n, 1])];
const time = async (f: () => Promise<NDArray>) => {
  const t = performance.now();
  const out = await f();
  return { ms: performance.now() - t, out };
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

// A warm-up on a thousand points (the plans' compilation), then the rounds, interleaved.
const few = ndarray(xs.data.subarray(0, 3000), [1000, 3]);
for (const g of [tight, wide]) {
  await g(few, few, ndarray(bs.subarray(0, 1000), [1000, 1]), { backend });
}
const ms: Record<string, number[]> = {
  tight: [],
  tightSparse: [],
  wide: [],
  wideSparse: [],
};
let fullOut: NDArray | undefined, sparseOut: NDArray | undefined;
for (let r = 0; r < rounds; r++) {
  for (const [name, g] of [["tight", tight], ["wide", wide]] as const) {
    const a = await time(() => g(...args, { backend }) as Promise<NDArray>);
    const s = await time(() => g(...args, { backend, ranges: sparse }) as Promise<NDArray>);
    ms[name].push(a.ms);
    ms[`${name}Sparse`].push(s.ms);
    if (name === "tight") [fullOut, sparseOut] = [a.out, s.out];
  }
}
let worst = 0, largest = 0;
for (let i = 0; i < n; i++) {
  worst = Math.max(worst, Math.abs(fullOut!.data[i] - sparseOut!.data[i]));
  largest = Math.max(largest, Math.abs(fullOut!.data[i]));
}
const list = (v: number[]) => v.map((t) => t.toFixed(0)).join(", ");
console.log(
  `block-sparse Gaussian sum, M = N = ${n}, D = 3, ${clusters} clusters, backend "${backend}"`,
);
console.log(
  `  ${C} voxels, ${sparse[2].shape[0]} kept voxel pairs of ${C * C}: ${
    (100 * fraction).toFixed(2)
  } % of the pairs`,
);
console.log(`  clustering, sorting and ranges: ${prepMs.toFixed(0)} ms`);
for (const [name, s] of [["tight", sigma], ["wide", 1]] as const) {
  const full = median(ms[name]),
    part = median(ms[`${name}Sparse`]),
    ratio = part / full;
  console.log(
    `  σ = ${s}: full ${full.toFixed(0)} ms (${list(ms[name])}), block-sparse ${part.toFixed(0)} ms (${
      list(ms[`${name}Sparse`])
    })`,
  );
  console.log(
    `    time ratio ${ratio.toFixed(4)}, pair fraction ${fraction.toFixed(4)}: ratio / fraction = ${
      (ratio / fraction).toFixed(2)
    }; ${(full * 1e6 / (n * n)).toFixed(2)} ns per pair full, ${
      (part * 1e6 / keptPairs).toFixed(2)
    } ns per kept pair`,
  );
}
console.log(
  `  σ = ${sigma}: max |full − sparse| / max |full| = ${(worst / largest).toExponential(2)}`,
);
