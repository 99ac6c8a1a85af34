/**
 * The helpers of `pykeops.torch.cluster`, for block-sparse reductions: cluster the points
 * (`gridCluster`), sort them by cluster (`sortClusters`), describe the clusters as ranges of
 * rows with centroids and weights (`clusterRanges`, `clusterCentroids`,
 * `clusterRangesCentroids`), and turn a boolean matrix of kept cluster pairs into KeOps's ranges
 * 6-tuple (`fromMatrix`). ClusterLabels and ranges are int32 NDArrays.
 *
 *     labels = gridCluster(x, 0.1)                      voxels of side 0.1
 *     [xs, ls, perm] = sortClusters(x, labels)          rows of a cluster contiguous
 *     [r, c, w] = clusterRangesCentroids(xs, ls)        the clusters' rows and centroids
 *     keep[k][l] = |c_k − c_l|² < t                     small: clusters × clusters
 *     ranges = fromMatrix(r_i, r_j, keep)               the reduction's `ranges` option
 *
 * @module
 */

import { type NDArray, type NestedNumbers, toNDArray } from "./ndarray.ts";
import type { Ranges } from "./ranges.ts";
import { show } from "../formula/errors.ts";

/** Points: an (N, D) NDArray or nested rows. */
export type ClusterPoints = NDArray | NestedNumbers;
/** Labels: one non-negative integer per point. */
export type ClusterLabels = NDArray | Int32Array | readonly number[];
/** Weights: one number per point. */
export type ClusterWeights = NDArray | Float32Array | Float64Array | Int32Array | readonly number[];

function points(
  x: ClusterPoints,
  what: string,
): { data: ArrayLike<number>; n: number; d: number; f64: boolean } {
  const f64 = typeof x === "object" && x !== null && "data" in x && x.data instanceof Float64Array;
  const a = toNDArray(x, f64 ? "float64" : "float32", what);
  if (a.shape.length !== 2) {
    throw new TypeError(`The ${what} has shape [${a.shape.join(", ")}]: expected (N, D)`);
  }
  return { data: a.data, n: a.shape[0], d: a.shape[1], f64 };
}

function labelsOf(l: ClusterLabels, n: number | undefined, what = "labels"): Int32Array {
  const data: ArrayLike<number> = ArrayBuffer.isView(l)
    ? l as Int32Array
    : Array.isArray(l)
    ? l as number[]
    : (l as NDArray).data;
  if (!ArrayBuffer.isView(l) && !Array.isArray(l) && (l as NDArray).shape?.length !== 1) {
    throw new TypeError(
      `The ${what} have shape [${(l as NDArray).shape}]: expected one label per point, (N)`,
    );
  }
  if (n !== undefined && data.length !== n) {
    throw new TypeError(`There are ${data.length} ${what} for ${n} points: expected one label per point`);
  }
  const out = new Int32Array(data.length);
  for (let k = 0; k < data.length; k++) {
    const v = data[k];
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new RangeError(`The ${what} entry ${k} is ${show(v)}: expected a non-negative integer`);
    }
    out[k] = v;
  }
  return out;
}

function countOf(labels: Int32Array, nLabels: number | undefined): number {
  const max = labels.reduce((m, v) => Math.max(m, v + 1), 0);
  if (nLabels === undefined) return max;
  if (!Number.isSafeInteger(nLabels) || nLabels < max) {
    throw new RangeError(
      `The number of labels nLabels is ${show(nLabels)}: expected an integer ≥ ${max}, the largest label + 1`,
    );
  }
  return nLabels;
}

/**
 * ClusterLabels of the points by the cubic voxel of side `size` (one number, or one per dimension)
 * that holds them, as `grid_cluster`: voxels numbered 0, 1, … in lexicographic order of their
 * integer coordinates ⌊x / size⌋, empty voxels skipped.
 *
 * @example
 * ```ts
 * import { gridCluster } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const l = gridCluster([[0.1, 0.1], [0.2, 0.3], [1.5, 0.1], [0.3, 1.2]], 1);
 * assert.ok(Array.from(l.data).join() === "0,0,2,1"); // voxels (0,0), (0,0), (1,0), (0,1)
 * ```
 */
export function gridCluster(x: ClusterPoints, size: number | readonly number[]): NDArray {
  const { data, n, d } = points(x, "points of gridCluster");
  const sizes = typeof size === "number" ? new Array(d).fill(size) : [...size];
  if (sizes.length !== d || sizes.some((s) => typeof s !== "number" || !(s > 0) || !Number.isFinite(s))) {
    throw new RangeError(
      `The voxel size of gridCluster is ${show(size)}: expected a positive number, or ${d} of them`,
    );
  }
  const cell = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      const v = Math.floor(data[i * d + c] / sizes[c]);
      if (!Number.isFinite(v)) {
        throw new RangeError(
          `The point ${i} of gridCluster holds ${data[i * d + c]}: expected finite coordinates`,
        );
      }
      cell[i * d + c] = v;
    }
  }
  const cmp = (a: number, b: number) => {
    for (let c = 0; c < d; c++) {
      if (cell[a * d + c] !== cell[b * d + c]) return cell[a * d + c] - cell[b * d + c];
    }
    return 0;
  };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => cmp(a, b) || a - b);
  const labels = new Int32Array(n);
  let label = -1;
  order.forEach((i, k) => {
    if (k === 0 || cmp(order[k - 1], i) !== 0) label++;
    labels[i] = label;
  });
  return { data: labels, shape: [n] };
}

/**
 * The rows of each cluster as `[start, end)`, for labels sorted by cluster (`sortClusters`), as
 * `cluster_ranges`: cluster k holds rows Σ_{l<k} n_l … Σ_{l≤k} n_l, n_l its number of points.
 *
 * @example
 * ```ts
 * import { clusterRanges } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const r = clusterRanges([0, 0, 1, 3]);
 * assert.ok(Array.from(r.data).join() === "0,2,2,3,3,3,3,4" && r.shape.join() === "4,2");
 * ```
 */
export function clusterRanges(labels: ClusterLabels, nLabels?: number): NDArray {
  const l = labelsOf(labels, undefined);
  const c = countOf(l, nLabels);
  const pop = new Int32Array(c);
  for (const v of l) pop[v]++;
  const out = new Int32Array(2 * c);
  let start = 0;
  for (let k = 0; k < c; k++) {
    out[2 * k] = start;
    start += pop[k];
    out[2 * k + 1] = start;
  }
  return { data: out, shape: [c, 2] };
}

/**
 * The (weighted) centroids of the clusters, as `cluster_centroids`: c_k = Σ_{l_i = k} w_i x_i /
 * Σ_{l_i = k} w_i (weights 1 by default); an empty cluster's centroid is 0.
 *
 * @example
 * ```ts
 * import { clusterCentroids } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const c = clusterCentroids([[0, 0], [2, 0], [5, 5]], [0, 0, 1]);
 * assert.ok(Array.from(c.data).join() === "1,0,5,5");
 * ```
 */
export function clusterCentroids(
  x: ClusterPoints,
  labels: ClusterLabels,
  nLabels?: number,
  weights?: ClusterWeights,
): NDArray {
  const { data, n, d, f64 } = points(x, "points of clusterCentroids");
  const l = labelsOf(labels, n);
  const c = countOf(l, nLabels);
  const w = weights === undefined ? undefined : weightsOf(weights, n);
  const sums = new Float64Array(c * d), tot = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i] : 1;
    tot[l[i]] += wi;
    for (let k = 0; k < d; k++) sums[l[i] * d + k] += wi * data[i * d + k];
  }
  for (let k = 0; k < c; k++) {
    for (let q = 0; q < d; q++) {
      sums[k * d + q] = tot[k] ? sums[k * d + q] / tot[k] : 0;
    }
  }
  return { data: f64 ? sums : Float32Array.from(sums), shape: [c, d] };
}

function weightsOf(w: ClusterWeights, n: number): Float64Array {
  const data: ArrayLike<number> = ArrayBuffer.isView(w)
    ? w as ArrayLike<number>
    : Array.isArray(w)
    ? w
    : (w as NDArray).data;
  if (data.length !== n) {
    throw new TypeError(`There are ${data.length} weights for ${n} points: expected one weight per point`);
  }
  const out = Float64Array.from(data);
  const bad = out.findIndex((v) => !Number.isFinite(v) || v < 0);
  if (bad >= 0) throw new RangeError(`The weights entry ${bad} is ${out[bad]}: expected a finite number ≥ 0`);
  return out;
}

/**
 * The ranges, centroids and total weights of the clusters of sorted points, as
 * `cluster_ranges_centroids`: centroids weighted by `weights` (1 by default), each cluster's
 * weight Σ w_i, the centroids divided by max(weight, minWeight).
 *
 * @example
 * ```ts
 * import { clusterRangesCentroids } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const [r, c, w] = clusterRangesCentroids([[0], [2], [5]], [0, 0, 1]);
 * assert.ok(Array.from(r.data).join() === "0,2,2,3" && Array.from(c.data).join() === "1,5");
 * assert.ok(Array.from(w.data).join() === "2,1");
 * ```
 */
export function clusterRangesCentroids(
  x: ClusterPoints,
  labels: ClusterLabels,
  weights?: ClusterWeights,
  minWeight = 1e-9,
): [NDArray, NDArray, NDArray] {
  const { n, d, f64 } = points(x, "points of clusterRangesCentroids");
  const l = labelsOf(labels, n);
  const c = countOf(l, undefined);
  const w = weights === undefined ? new Float64Array(n).fill(1) : weightsOf(weights, n);
  const tot = new Float64Array(c);
  for (let i = 0; i < n; i++) tot[l[i]] += w[i];
  const cent = clusterCentroids(x, l, c, w);
  // cluster_centroids divides by the weights; pykeops's divides by them clamped at minWeight.
  const data = Float64Array.from(cent.data);
  for (let k = 0; k < c; k++) {
    if (tot[k] < minWeight) { for (let q = 0; q < d; q++) data[k * d + q] *= tot[k] / minWeight; }
  }
  const wc = f64 ? tot : Float32Array.from(tot);
  return [clusterRanges(l, c), { data: f64 ? data : Float32Array.from(data), shape: [c, d] }, {
    data: wc,
    shape: [c],
  }];
}

/**
 * The points and labels sorted by label (stable: points of one cluster keep their order), and
 * the permutation: row k of the sorted points is row `perm[k]` of `x`, so a result `r` computed
 * on the sorted points is put back in the user's order by `out[perm[k]] = r[k]`.
 *
 * @example
 * ```ts
 * import { sortClusters } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const [xs, ls, perm] = sortClusters([[10], [20], [30]], [1, 0, 1]);
 * assert.ok(Array.from(xs.data).join() === "20,10,30" && Array.from(ls.data).join() === "0,1,1");
 * assert.ok(Array.from(perm.data).join() === "1,0,2");
 * ```
 */
export function sortClusters(x: ClusterPoints, labels: ClusterLabels): [NDArray, NDArray, NDArray] {
  const { data, n, d, f64 } = points(x, "points of sortClusters");
  const l = labelsOf(labels, n);
  const perm = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => l[a] - l[b] || a - b);
  const xs = f64 ? new Float64Array(n * d) : new Float32Array(n * d);
  perm.forEach((i, k) => {
    for (let c = 0; c < d; c++) xs[k * d + c] = data[i * d + c];
  });
  return [{ data: xs, shape: [n, d] }, { data: perm.map((i) => l[i]), shape: [n] }, {
    data: perm,
    shape: [n],
  }];
}

/**
 * KeOps's ranges 6-tuple from the clusters of i (`rangesI`, (Mc, 2)), of j (`rangesJ`, (Nc, 2))
 * and the matrix `keep` (Mc × Nc, true or non-zero where cluster pair (k, l) is computed), as
 * `from_matrix`: `slices_i` the running count of kept pairs per row of `keep`, `redranges_j`
 * the kept j-clusters' ranges in order; and the same by columns for the last three.
 *
 * @example
 * ```ts
 * import { fromMatrix } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const ri = [[0, 2], [2, 3]], rj = [[0, 1], [1, 4]];
 * const r = fromMatrix(ri, rj, [[true, false], [true, true]]);
 * assert.ok(Array.from(r[1].data).join() === "1,3" && Array.from(r[2].data).join() === "0,1,0,1,1,4");
 * assert.ok(Array.from(r[4].data).join() === "2,3" && Array.from(r[5].data).join() === "0,2,2,3,2,3");
 * ```
 */
export function fromMatrix(
  rangesI: NDArray | readonly (readonly number[])[],
  rangesJ: NDArray | readonly (readonly number[])[],
  keep: NDArray | readonly (readonly (boolean | number)[])[],
): [NDArray, NDArray, NDArray, NDArray, NDArray, NDArray] & Ranges {
  const ri = pairsOf(rangesI, "rangesI"), rj = pairsOf(rangesJ, "rangesJ");
  const mc = ri.length / 2, nc = rj.length / 2;
  let kept: (i: number, j: number) => boolean;
  if (Array.isArray(keep)) {
    if (keep.length !== mc || keep.some((row) => !Array.isArray(row) || row.length !== nc)) {
      throw new TypeError(
        `The keep matrix of fromMatrix must be ${mc} × ${nc} (clusters of i × clusters of j)`,
      );
    }
    kept = (i, j) => !!(keep as (boolean | number)[][])[i][j];
  } else {
    const k = keep as NDArray;
    if (k.shape.length !== 2 || k.shape[0] !== mc || k.shape[1] !== nc) {
      throw new TypeError(`The keep matrix of fromMatrix has shape [${k.shape}]: expected [${mc}, ${nc}]`);
    }
    kept = (i, j) => k.data[i * nc + j] !== 0;
  }
  const side = (
    r1: Int32Array,
    r2: Int32Array,
    n1: number,
    n2: number,
    at: (a: number, b: number) => boolean,
  ) => {
    const slices = new Int32Array(n1), red: number[] = [];
    for (let a = 0; a < n1; a++) {
      for (let b = 0; b < n2; b++) if (at(a, b)) red.push(r2[2 * b], r2[2 * b + 1]);
      slices[a] = red.length / 2;
    }
    return [
      { data: r1, shape: [n1, 2] },
      { data: slices, shape: [n1] },
      { data: Int32Array.from(red), shape: [red.length / 2, 2] },
    ];
  };
  return [...side(ri, rj, mc, nc, kept), ...side(rj, ri, nc, mc, (a, b) => kept(b, a))] as unknown as
    & [NDArray, NDArray, NDArray, NDArray, NDArray, NDArray]
    & Ranges;
}

function pairsOf(r: NDArray | readonly (readonly number[])[], what: string): Int32Array {
  if (Array.isArray(r)) {
    const bad = r.findIndex((p) => !Array.isArray(p) || p.length !== 2);
    if (bad >= 0) throw new TypeError(`The ${what} entry ${bad} is ${show(r[bad])}: expected [start, end]`);
    return Int32Array.from(r.flat());
  }
  const a = r as NDArray;
  if (a.shape.length !== 2 || a.shape[1] !== 2) {
    throw new TypeError(`The ${what} has shape [${a.shape}]: expected (clusters, 2)`);
  }
  return Int32Array.from(a.data);
}
