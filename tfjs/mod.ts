/**
 * keops-ts on TensorFlow.js tensors, as pykeops.torch is on PyTorch's: `Genred`,
 * `KernelSolve`, `LazyTensor`, `Vi`, `Vj` and `Pm` take `tf.Tensor`s and return `tf.Tensor`s,
 * synchronously, as TensorFlow.js ops; `tf.grad`, `tf.valueAndGrad`, `tf.variableGrads` and
 * the `tf.train` optimizers differentiate through every reduction with this library's symbolic
 * gradients, with respect to any argument, never forming the M×N matrix. TensorFlow.js
 * (`@tensorflow/tfjs-core`, or `@tensorflow/tfjs`) is a peer dependency the user brings.
 *
 * On the `cpu` and `wasm` backends the tensors go once to the CPU engine (on the calling
 * thread, or on its worker threads while it waits); on the `webgpu` backend the GPU engine runs
 * on TensorFlow.js's own device (it becomes the GPU engine's, as with `setDevice`), reading
 * the tensors' buffers and leaving its output in the result tensor's, with no read-back: there,
 * the gradients' stages that the asynchronous core runs on the host (a parameter's sum over
 * rows, Min's and KMin's sums over the selected pairs) run on the device too, and `KernelSolve`
 * runs the `maxIterations` it is given (the residual cannot be read synchronously).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Vi, Vj } from "@keops-ts/keops/tfjs";
 * import assert from "node:assert/strict";
 * await tf.setBackend("cpu");
 * const x = tf.randomNormal([100, 2]), y = tf.variable(tf.randomNormal([50, 2]));
 * // Fit y to x by lowering a kernel energy, with an optimizer.
 * const opt = tf.train.adam(0.05);
 * const loss = () => tf.neg(tf.sum(Vi(x).sqdist(Vj(y)).neg().exp().sum(1) as tf.Tensor)) as tf.Scalar;
 * const before = loss().dataSync()[0];
 * for (let k = 0; k < 10; k++) opt.minimize(loss);
 * assert.ok(loss().dataSync()[0] < before);
 * ```
 *
 * @module
 */

export { Genred, LazyTensor, Pm, Vi, Vj } from "./lazy.ts";
export type { TfArg, TfLazyTensor, TfResult } from "./lazy.ts";
export type { LazyTensor as CoreLazyTensor } from "../lazy/lazy_tensor.ts";
export type {
  AccuracyOptions,
  GenredOptions,
  GenredRoutine,
  ReductionAlias,
  ReductionName,
} from "../lazy/genred.ts";
export type { Ranges } from "../lazy/ranges.ts";
export type { NDArray } from "../lazy/ndarray.ts";
export { KernelSolve } from "./solve.ts";
export type { TfKernelSolveRoutine, TfSolveOptions } from "./solve.ts";
export { tfRoutine } from "./kernel.ts";
export type { TfCallOptions, TfOutput, TfRoutine } from "./kernel.ts";
export { UnsupportedError } from "../formula/errors.ts";
