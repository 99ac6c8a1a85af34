/**
 * One `tf.valueAndGrad` step of the Gaussian-mixture loss (examples/gmm_tfjs.ts: LogSumExp
 * likelihoods plus the sparsity prior, gradients in μ, A and w) at N = 100,000 points, with
 * `@keops-ts/keops/tfjs` against the same step written densely in TensorFlow.js, on its cpu
 * backend, interleaved in one run (median of the repetitions; ratio dense / wrapper). The dense
 * step forms (N, M, 2, 2) intermediates: where that is more memory than allowed (2 GiB here),
 * it is not run, and the row says so.
 *
 *     deno run -A --config bench/compare/deno.json bench/compare/gmm_step.ts [--reps R]
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { data, denseLoss, loss, mixture } from "../../examples/gmm_tfjs.ts";

const reps = Number(Deno.args[Deno.args.indexOf("--reps") + 1]) || 5;
const N = 100_000, sparsity = 0.5, DENSE_BYTES = 2 ** 31;
await tf.setBackend("cpu");
const { x } = data(N);
console.log(
  `| M | wrapper (ms) | dense TensorFlow.js (ms) | dense / wrapper |`,
);
console.log(`|---|---|---|---|`);
for (const M of [6, 100, 1000]) {
  const m = mixture(x, M);
  const step = (f: typeof loss) => () => {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => f(x, m, sparsity));
    value.dataSync();
    for (const g of Object.values(grads)) g.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
    return performance.now() - t0;
  };
  const denseFits = N * M * 4 * 4 * 3 < DENSE_BYTES; // (N, M, 2, 2) floats, a few of them live
  const ours: number[] = [], dense: number[] = [];
  step(loss)();
  if (denseFits) step(denseLoss)();
  for (let r = 0; r < reps; r++) {
    ours.push(step(loss)());
    if (denseFits) dense.push(step(denseLoss)());
  }
  const med = (a: number[]) => a.sort((p, q) => p - q)[a.length >> 1];
  const o = med(ours);
  console.log(
    denseFits
      ? `| ${M} | ${o.toFixed(0)} | ${med(dense).toFixed(0)} | ${(med(dense) / o).toFixed(2)}× |`
      : `| ${M} | ${o.toFixed(0)} | not run: (N, M, 2, 2) intermediates need ${
        (N * M * 16 * 3 / 2 ** 30).toFixed(1)
      } GiB | — |`,
  );
  tf.dispose([m.mu, m.A, m.w]);
}
