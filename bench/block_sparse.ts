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
 * fraction (1 when the time is exactly proportional to the pairs computed), and the largest
 * difference between the two results relative to the largest result (the pairs dropped are
 * those of far clusters, whose kernel values are below float32's resolution).
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
  for (let q = 0; q < D; q++) x[i * D + q] = centres[c * D + q] + spread * normal();
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
    for (let q = 0; q < D; q++) d2 += (centroids.data[k * D + q] - centroids.data[l * D + q]) ** 2;
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

const g = Genred(`Exp(-SqDist(x,y)*${1 / (2 * sigma * sigma)})*b`, ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], {
  axis: 1,
});
const args = [xs, xs, ndarray(bs, [n, 1])];
const full = () => g(...args, { backend }) as Promise<NDArray>;
const blocks = () => g(...args, { backend, ranges: sparse }) as Promise<NDArray>;

const time = async (f: () => Promise<NDArray>) => {
  const t = performance.now();
  const out = await f();
  return { ms: performance.now() - t, out };
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

// A warm-up on a thousand points (the plan's compilation), then the rounds.
const few = ndarray(xs.data.subarray(0, 3000), [1000, 3]);
await g(few, few, ndarray(bs.subarray(0, 1000), [1000, 1]), { backend });
const fullMs: number[] = [], sparseMs: number[] = [];
let fullOut: NDArray | undefined, sparseOut: NDArray | undefined;
for (let r = 0; r < rounds; r++) {
  const a = await time(full), s = await time(blocks);
  fullMs.push(a.ms);
  sparseMs.push(s.ms);
  fullOut = a.out;
  sparseOut = s.out;
}
let worst = 0, largest = 0;
for (let i = 0; i < n; i++) {
  worst = Math.max(worst, Math.abs(fullOut!.data[i] - sparseOut!.data[i]));
  largest = Math.max(largest, Math.abs(fullOut!.data[i]));
}
const ratio = median(sparseMs) / median(fullMs);
console.log(`block-sparse Gaussian sum, M = N = ${n}, D = 3, ${clusters} clusters, backend "${backend}"`);
console.log(
  `  ${C} voxels, ${sparse[2].shape[0]} kept voxel pairs of ${C * C}: ${
    (100 * fraction).toFixed(2)
  } % of the pairs`,
);
console.log(`  clustering, sorting and ranges: ${prepMs.toFixed(0)} ms`);
console.log(
  `  full reduction: median ${median(fullMs).toFixed(0)} ms of ${rounds} (${
    fullMs.map((t) => t.toFixed(0)).join(", ")
  })`,
);
console.log(
  `  block-sparse:   median ${median(sparseMs).toFixed(0)} ms of ${rounds} (${
    sparseMs.map((t) => t.toFixed(0)).join(", ")
  })`,
);
console.log(
  `  time ratio ${ratio.toFixed(4)}, pair fraction ${fraction.toFixed(4)}: ratio / fraction = ${
    (ratio / fraction).toFixed(2)
  }`,
);
console.log(`  max |full − sparse| / max |full| = ${(worst / largest).toExponential(2)}`);
