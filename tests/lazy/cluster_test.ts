/**
 * The cluster helpers against their definitions (pykeops.torch.cluster), written out here, and
 * a block-sparse reduction built with them on clustered points against the dense sum over the
 * kept pairs, put back in the user's order with the permutation.
 */

import assert from "node:assert/strict";
import {
  clusterCentroids,
  clusterRanges,
  clusterRangesCentroids,
  fromMatrix,
  Genred,
  gridCluster,
  ndarray,
  sortClusters,
  swapAxes,
} from "../../mod.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";
import { BACKENDS } from "../_backends.ts";

Deno.test("gridCluster: points in one voxel share a label, labels follow the voxels' order", () => {
  const r = rng(1);
  const n = 300, d = 3, size = 0.25;
  const x = uniform(r, n * d, -1, 1);
  const labels = gridCluster(ndarray(x, [n, d]), size).data;
  const voxel = (i: number) => [0, 1, 2].map((c) => Math.floor(x[i * d + c] / size));
  const less = (a: number[], b: number[]) => {
    for (let c = 0; c < d; c++) if (a[c] !== b[c]) return a[c] < b[c];
    return false;
  };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const same = voxel(i).every((v, c) => v === voxel(j)[c]);
      assert.equal(labels[i] === labels[j], same, `points ${i}, ${j}`);
      if (less(voxel(i), voxel(j))) assert.ok(labels[i] < labels[j]);
    }
  }
  const count = new Set(labels).size;
  assert.deepEqual([...new Set(labels)].sort((a, b) => a - b), [...Array(count).keys()], "labels 0 … C−1");
  // One size per dimension.
  const l2 = gridCluster([[0.5, 0.5], [0.5, 1.5], [1.5, 0.5]], [1, 2]).data;
  assert.deepEqual(Array.from(l2), [0, 0, 1]);
});

Deno.test("clusterRanges, clusterCentroids, clusterRangesCentroids, sortClusters by their definitions", () => {
  const r = rng(2);
  const n = 50, d = 2;
  const x = uniform(r, n * d);
  const labels = Array.from({ length: n }, () => Math.floor(r() * 6));
  const w = uniform(r, n, 0, 2);
  const [xs, ls, perm] = sortClusters(ndarray(x, [n, d]), labels);
  // Stable sort by label, rows carried along.
  for (let k = 0; k < n; k++) {
    assert.equal(ls.data[k], labels[perm.data[k]]);
    for (let c = 0; c < d; c++) assert.equal(xs.data[k * d + c], x[perm.data[k] * d + c]);
    if (k > 0) {
      assert.ok(
        ls.data[k - 1] < ls.data[k] || (ls.data[k - 1] === ls.data[k] && perm.data[k - 1] < perm.data[k]),
      );
    }
  }
  const ranges = clusterRanges(ls);
  for (let c = 0; c < 6; c++) {
    const rows = [...Array(n).keys()].filter((k) => ls.data[k] === c);
    if (rows.length) {
      assert.deepEqual([ranges.data[2 * c], ranges.data[2 * c + 1]], [rows[0], rows[rows.length - 1] + 1]);
    }
  }
  assert.equal(clusterRanges(ls, 9).shape[0], 9, "nLabels clusters, the last ones empty");
  const ws = Array.from(perm.data, (i) => w[i]);
  const cent = clusterCentroids(xs, ls, undefined, ws);
  const [r2, c2, w2] = clusterRangesCentroids(xs, ls, ws);
  assert.deepEqual(Array.from(r2.data), Array.from(ranges.data));
  for (let c = 0; c < 6; c++) {
    const rows = [...Array(n).keys()].filter((k) => ls.data[k] === c);
    const tot = rows.reduce((s, k) => s + ws[k], 0);
    assertClose([w2.data[c]], [tot], { rtol: 1e-6, atol: 1e-6 });
    for (let q = 0; q < d; q++) {
      const want = rows.reduce((s, k) => s + ws[k] * xs.data[k * d + q], 0) / tot;
      assertClose([cent.data[c * d + q], c2.data[c * d + q]], [want, want], { rtol: 1e-12, atol: 1e-12 });
    }
  }
});

Deno.test("fromMatrix and swapAxes: the 6-tuple of a keep matrix", () => {
  const ri = [[0, 3], [3, 5], [5, 9]], rj = [[0, 4], [4, 6]];
  const keep = [[true, false], [false, false], [true, true]];
  const t = fromMatrix(ri, rj, keep);
  assert.deepEqual(Array.from(t[0].data), [0, 3, 3, 5, 5, 9]);
  assert.deepEqual(Array.from(t[1].data), [1, 1, 3]); // running count of kept pairs per row
  assert.deepEqual(Array.from(t[2].data), [0, 4, 0, 4, 4, 6]);
  assert.deepEqual(Array.from(t[3].data), [0, 4, 4, 6]);
  assert.deepEqual(Array.from(t[4].data), [2, 3]); // per column
  assert.deepEqual(Array.from(t[5].data), [0, 3, 5, 9, 5, 9]);
  const s = swapAxes(t);
  assert.equal(s[0], t[3]);
  assert.equal(s[5], t[2]);
  // An NDArray keep matrix of numbers: non-zero is kept.
  const t2 = fromMatrix(ri, rj, ndarray(Float32Array.of(1, 0, 0, 0, 1, 1), [3, 2]));
  assert.deepEqual(Array.from(t2[2].data), Array.from(t[2].data));
});

Deno.test("cluster helpers: bad input is a clear error", async () => {
  await assertThrowsClass(() => gridCluster([[0, 0]], 0), RangeError, /voxel size/);
  await assertThrowsClass(() => gridCluster([[0, 0]], [1]), RangeError, /2 of them/);
  await assertThrowsClass(() => clusterRanges([0, -1]), RangeError, /labels entry 1 is -1/);
  await assertThrowsClass(() => clusterRanges([0, 3], 2), RangeError, /nLabels is 2.*≥ 4/);
  await assertThrowsClass(() => sortClusters([[0], [1]], [0]), TypeError, /1 labels for 2 points/);
  await assertThrowsClass(() => fromMatrix([[0, 1]], [[0, 1]], [[true, true]]), TypeError, /1 × 1/);
  await assertThrowsClass(() => clusterCentroids([[0]], [0], undefined, [-1]), RangeError, /weights entry 0/);
});

Deno.test("a block-sparse Gaussian sum built with the helpers, against the dense sum over kept pairs", async () => {
  const r = rng(3);
  const n = 400, d = 2, sigma = 0.1;
  // Points around 8 centres, in the user's (unsorted) order.
  const centres = uniform(r, 8 * d, -1, 1);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 8);
    for (let q = 0; q < d; q++) x[i * d + q] = centres[c * d + q] + 0.05 * (r() - 0.5);
  }
  const b = Float32Array.from(uniform(r, n));
  const labels = gridCluster(ndarray(x, [n, d]), 0.2);
  const [xs, ls, perm] = sortClusters(ndarray(x, [n, d]), labels);
  const bs = Float32Array.from(perm.data, (i) => b[i]);
  const [rr, cc] = clusterRangesCentroids(xs, ls);
  const C = cc.shape[0];
  const keep = Array.from({ length: C }, (_, k) =>
    Array.from({ length: C }, (_, l) => {
      let s = 0;
      for (let q = 0; q < d; q++) s += (cc.data[k * d + q] - cc.data[l * d + q]) ** 2;
      return s < 0.3 ** 2;
    }));
  const ranges = fromMatrix(rr, rr, keep);
  const g = Genred(
    `Exp(-SqDist(x,y)*${1 / (2 * sigma * sigma)})*b`,
    ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"],
    {
      axis: 1,
    },
  );
  // The dense sum over the pairs whose clusters are kept, in the user's order.
  const want = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let l = 0; l < n; l++) {
      if (!keep[ls.data[k]][ls.data[l]]) continue;
      let s = 0;
      for (let q = 0; q < d; q++) s += (xs.data[k * d + q] - xs.data[l * d + q]) ** 2;
      want[perm.data[k]] += Math.exp(-s / (2 * sigma * sigma)) * bs[l];
    }
  }
  for (const backend of BACKENDS) {
    const out = await g(xs, xs, ndarray(bs, [n, 1]), { backend, ranges });
    const back = new Float64Array(n);
    perm.data.forEach((i, k) => (back[i] = out.data[k]));
    assertClose(back, want, { rtol: 1e-4, atol: 1e-4, what: backend });
  }
});
