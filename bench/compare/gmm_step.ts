/**
 * One `tf.valueAndGrads` step of the Gaussian-mixture loss (examples/gmm_tfjs.ts: LogSumExp
 * likelihoods plus the sparsity prior, gradients in μ, A and w) at N = 100,000 points in 2-D,
 * with `@keops-ts/keops/tfjs` against the same step written densely in TensorFlow.js, on each of
 * TensorFlow.js's cpu, wasm and webgpu backends (webgpu where an adapter exists), interleaved in
 * one run: medians of the repetitions, ratio dense / wrapper. The dense step forms (N, M, 2, 2)
 * intermediates; where those exceed 2 GiB it is not run, and where one dense step takes more
 * than 20 s it is timed once. The value and the gradients are read back in the timing.
 *
 *     deno run -A --config bench/compare/deno.json bench/compare/gmm_step.ts [--reps R] [--backends cpu,wasm]
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { data, denseLoss, loss, mixture } from "../../examples/gmm_tfjs.ts";

const arg = (name: string) => Deno.args[Deno.args.indexOf(name) + 1];
const reps = Number(Deno.args.includes("--reps") ? arg("--reps") : 5);
const entry = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
wasm.setWasmPaths(entry.slice(0, entry.lastIndexOf("/") + 1));
const gpu = !!(await navigator.gpu?.requestAdapter());
const backends = Deno.args.includes("--backends")
  ? arg("--backends").split(",")
  : ["cpu", "wasm", ...(gpu ? ["webgpu"] : [])];
const N = 100_000, sparsity = 0.5, DENSE_BYTES = 2 ** 31, SLOW_MS = 20_000;

/** One step: the loss and its gradients in (μ, A, w), read back; its milliseconds. */
async function step(f: typeof loss, x: tf.Tensor2D, m: ReturnType<typeof mixture>): Promise<number> {
  const t0 = performance.now();
  const { value, grads } = tf.valueAndGrads((mu: tf.Tensor, A: tf.Tensor, w: tf.Tensor) =>
    f(x, { mu, A, w } as never, sparsity)
  )([m.mu, m.A, m.w]);
  await value.data();
  for (const g of grads) await g.data();
  const ms = performance.now() - t0;
  tf.dispose([value, ...grads]);
  return ms;
}

const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(`| backend | M | wrapper (ms) | dense TensorFlow.js (ms) | dense / wrapper |`);
console.log(`|---|---|---|---|---|`);
for (const backend of backends) {
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js's ${backend} backend did not start`);
  await tf.ready();
  const { x, trueLL } = data(N);
  trueLL.dispose();
  for (const M of [6, 100, 1000]) {
    const m = mixture(x, M);
    const need = N * M * 16 * 3; // bytes of the dense step's (N, M, 2, 2) intermediates, three live
    const denseFits = need < DENSE_BYTES;
    const ours: number[] = [], dense: number[] = [];
    await step(loss, x, m); // warm-up: compilation, first allocations
    let denseSlow = false;
    if (denseFits) {
      const first = await step(denseLoss, x, m);
      denseSlow = first > SLOW_MS;
      if (denseSlow) dense.push(first);
    }
    for (let r = 0; r < reps; r++) {
      ours.push(await step(loss, x, m));
      if (denseFits && !denseSlow) dense.push(await step(denseLoss, x, m));
    }
    const o = med(ours);
    const denseCell = !denseFits
      ? `not run: (N, M, 2, 2) intermediates need ${(need / 2 ** 30).toFixed(1)} GiB`
      : `${med(dense).toFixed(0)}${denseSlow ? " (one run)" : ""}`;
    const ratio = denseFits ? `${(med(dense) / o).toFixed(1)}×` : "—";
    console.log(`| ${backend} | ${M} | ${o.toFixed(0)} | ${denseCell} | ${ratio} |`);
    tf.dispose([m.mu, m.A, m.w]);
  }
  x.dispose();
}
