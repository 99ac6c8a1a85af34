/**
 * `Genred`, `Vi`, `Vj`, `Pm` and `LazyTensor` on TensorFlow.js tensors. A LazyTensor built
 * from tensors is the core's LazyTensor (same formula language, same methods); its reductions
 * run as TensorFlow.js ops (`kernel.ts`), so they return tensors, synchronously, and are
 * differentiable by `tf.grad` and the optimizers.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import {
  Genred as coreGenred,
  type GenredOptions,
  type GenredRoutine,
  type ReductionAlias,
} from "../lazy/genred.ts";
import type { ReductionName } from "../formula/reductions.ts";
import type { LazyTensor as CoreLazyTensor } from "../lazy/lazy_tensor.ts";
import type { NDArray } from "../lazy/ndarray.ts";
import { toNDArray } from "../lazy/ndarray.ts";
import { Pm as corePm, Vi as coreVi, Vj as coreVj } from "../lazy/variables.ts";
import { LazyTensor as coreConstruct } from "../lazy/construct.ts";
import { setForeignArrays } from "../lazy/foreign.ts";
import { type TfCallOptions, type TfOutput, type TfRoutine, tfRoutine } from "./kernel.ts";

/** What a reduction gives in this entry: a tensor, or `[values, indices]`. */
export type TfResult<R> = R extends Promise<[NDArray, NDArray]> ? [tf.Tensor, tf.Tensor]
  : R extends Promise<NDArray> ? tf.Tensor
  : R extends GenredRoutine ? TfRoutine
  : R extends CoreLazyTensor ? TfLazyTensor
  : R;

/** An argument as this entry takes it: LazyTensors of either kind, and tensors for arrays. */
export type TfArg<A> = A extends CoreLazyTensor ? TfLazyTensor | CoreLazyTensor
  : A extends NDArray ? A | tf.Tensor
  : A;

/**
 * A LazyTensor built on tensors: the core's LazyTensor whose reductions return tensors
 * (synchronously, differentiably) and whose operations give LazyTensors on tensors.
 */
export type TfLazyTensor = {
  [K in keyof CoreLazyTensor<false>]: CoreLazyTensor<false>[K] extends (...args: infer A) => infer R
    ? (...args: { [I in keyof A]: TfArg<A[I]> }) => TfResult<R>
    : CoreLazyTensor<false>[K];
};

/** How this entry recognises tensors and runs the core's routines on them. */
setForeignArrays({
  is: (x) => x instanceof tf.Tensor,
  shape: (x) => [...(x as tf.Tensor).shape],
  reshape: (x, shape) => tf.reshape(x as tf.Tensor, [...shape]),
  reduce: (routine, values, options) => tfRoutine(routine)(...values.map(asTensor), options as TfCallOptions),
  matvec: (K, b, options) => {
    const bt = asTensor(b);
    const b2 = bt.rank === 1 ? tf.reshape(bt, [bt.shape[0], 1]) : bt;
    const nb = K.shape.length - 2;
    const out = (K.mul(coreVj(b2 as never)) as CoreLazyTensor<false>).sum(
      nb + 1,
      options,
    ) as unknown as tf.Tensor;
    return bt.rank === 1 ? tf.reshape(out, out.shape.slice(0, -1)) : out;
  },
});

/** A value of a LazyTensor as a tensor: tensors as they are, the core's arrays and numbers converted. */
function asTensor(v: unknown): tf.Tensor {
  if (v instanceof tf.Tensor) return v;
  const a = toNDArray(v as never, "float32", "a LazyTensor's variable");
  return tf.tensor(Float32Array.from(a.data), [...a.shape], "float32");
}

/**
 * An i-indexed variable of a tensor of shape (…batch, M, d).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Vi, Vj } from "@keops-ts/keops/tfjs";
 * import assert from "node:assert/strict";
 * await tf.setBackend("cpu");
 * const x = tf.tensor2d([[0], [1]]), y = tf.tensor2d([[0], [2], [3]]);
 * const a = Vi(x).sqdist(Vj(y)).neg().exp().sum(1) as tf.Tensor; // a tensor, no await
 * assert.deepEqual(a.shape, [2, 1]);
 * assert.ok(Math.abs(a.dataSync()[0] - (1 + Math.exp(-4) + Math.exp(-9))) < 1e-6);
 * ```
 */
export function Vi(x: tf.Tensor): TfLazyTensor {
  return coreVi(x as never) as unknown as TfLazyTensor;
}

/**
 * A j-indexed variable of a tensor of shape (…batch, N, d).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Vi, Vj } from "@keops-ts/keops/tfjs";
 * import assert from "node:assert/strict";
 * await tf.setBackend("cpu");
 * const [v, i] = Vi(tf.tensor2d([[0], [5]])).sqdist(Vj(tf.tensor2d([[1], [4]]))).minArgmin(1) as tf.Tensor[];
 * assert.deepEqual(Array.from(i.dataSync()), [0, 1]);
 * assert.ok(v.dtype === "float32" && i.dtype === "int32");
 * ```
 */
export function Vj(y: tf.Tensor): TfLazyTensor {
  return coreVj(y as never) as unknown as TfLazyTensor;
}

/**
 * A parameter: a tensor of shape (…batch, d), or a number.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Pm, Vi, Vj } from "@keops-ts/keops/tfjs";
 * import assert from "node:assert/strict";
 * await tf.setBackend("cpu");
 * const s = tf.tensor1d([2]); // a learnable scale, say
 * const K = Vi(tf.tensor2d([[0]])).sqdist(Vj(tf.tensor2d([[1]]))).mul(Pm(s)).neg().exp();
 * const ds = tf.grad((s: tf.Tensor) => K.sum(1) as tf.Tensor)(s); // with respect to the parameter
 * assert.ok(Math.abs(ds.dataSync()[0] - -Math.exp(-2)) < 1e-6);
 * ```
 */
export function Pm(p: tf.Tensor | number): TfLazyTensor {
  return corePm(p as never) as unknown as TfLazyTensor;
}

/**
 * pykeops's `LazyTensor(x)` on a tensor: the role read from pykeops's layout (…, M, 1, D) for
 * i, (…, 1, N, D) for j, or a parameter.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { LazyTensor } from "@keops-ts/keops/tfjs";
 * import assert from "node:assert/strict";
 * await tf.setBackend("cpu");
 * const x_i = LazyTensor(tf.tensor3d([[[0]], [[1]]])), y_j = LazyTensor(tf.tensor3d([[[0], [2]]]));
 * const a = x_i.sqdist(y_j).sum(1) as tf.Tensor; // Σ_j |x_i - y_j|²
 * assert.deepEqual(Array.from(a.dataSync()), [4, 2]);
 * ```
 */
export function LazyTensor(x: tf.Tensor | number): TfLazyTensor {
  return (coreConstruct as unknown as (x: unknown) => unknown)(
    x,
  ) as TfLazyTensor;
}

/**
 * A generic reduction on tensors, as the core's `Genred` (KeOps's formula strings and
 * aliases): called with one tensor per alias, it returns a tensor (or `[values, indices]`),
 * synchronously and differentiably.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Genred } from "@keops-ts/keops/tfjs";
 * import assert from "node:assert/strict";
 * await tf.setBackend("cpu");
 * const gauss = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(1)", "y = Vj(1)", "b = Vj(1)"], { axis: 1 });
 * const x = tf.tensor2d([[0], [1]]), y = tf.tensor2d([[0], [2]]), b = tf.tensor2d([[1], [1]]);
 * const [gx, gb] = tf.grads((x: tf.Tensor, b: tf.Tensor) => gauss(x, y, b) as tf.Tensor)([x, b]);
 * assert.deepEqual(gx.shape, [2, 1]);
 * assert.ok(Math.abs(gb.dataSync()[0] - (1 + Math.exp(-1))) < 1e-6); // Σ_i e^{-|x_i - y_0|²}
 * ```
 */
export function Genred<R extends ReductionName | ReductionAlias = "Sum">(
  formula: string,
  aliases: string[],
  options: GenredOptions<R> = {},
): TfRoutine<TfOutput> {
  return tfRoutine(coreGenred(formula, aliases, options));
}
