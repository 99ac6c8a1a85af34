/**
 * pykeops's construction, `LazyTensor(x)`: the role of an array is read from its shape, as
 * pykeops reads `LazyTensor(x[:, None, :])`:
 *
 *     number                  IntCst(n) for an integer, else a parameter
 *     (D)                     a parameter, Pm
 *     (…, M, 1, D)            an i-variable, Vi, with batch dimensions …
 *     (…, 1, N, D)            a j-variable, Vj
 *     (…, 1, 1, D)            a parameter with batch dimensions
 *     (M, D) with axis 0 / 1  Vi / Vj (axis 2: Pm)
 *
 * Anything else is a `TypeError` that says which axis should be 1. `Vi`, `Vj` and `Pm` keep
 * their own convention, (…batch, rows, D), and refuse pykeops's (…, M, 1, D) rather than read it
 * differently (see `lazy_tensor.ts`).
 *
 * @module
 */

import { LazyTensor as LazyTensorClass } from "./lazy_tensor.ts";
import { Pm, shapeOf, Vi, Vj, type Wrapped } from "./variables.ts";
import { isNDArray, type NDArray } from "./ndarray.ts";
import { make } from "../formula/ops.ts";
import { show } from "../formula/errors.ts";
import { foreignOf } from "./foreign.ts";

/** `LazyTensor(x, axis?)`, callable as pykeops's, and the class for `instanceof`. */
export interface LazyTensorFunction {
  (x: Wrapped, axis?: 0 | 1 | 2): LazyTensorClass<false>;
  /** The prototype of LazyTensors (for `instanceof`). */
  readonly prototype: LazyTensorClass;
}

/** x with axis k (of size 1) removed: the same data, or the nested arrays one level flatter there. */
function squeeze(x: Wrapped, k: number, shape: readonly number[]): Wrapped {
  if (isNDArray(x)) return { data: x.data, shape: shape.filter((_, q) => q !== k) } as NDArray;
  const other = foreignOf(x);
  if (other) return other.reshape(x, shape.filter((_, q) => q !== k)) as Wrapped;
  const go = (v: unknown, depth: number): unknown =>
    depth === k ? (v as unknown[])[0] : (v as unknown[]).map((e) => go(e, depth + 1));
  return go(x, 0) as Wrapped;
}

function construct(x: Wrapped, axis?: 0 | 1 | 2): LazyTensorClass<false> {
  if (axis !== undefined && axis !== 0 && axis !== 1 && axis !== 2) {
    throw new TypeError(`LazyTensor's axis must be 0 (Vi), 1 (Vj) or 2 (Pm), got ${show(axis)}`);
  }
  if (typeof x === "number" && axis === undefined) {
    return Number.isInteger(x) ? new LazyTensorClass(make("IntCst", [], [x]), new Map()) : Pm(x);
  }
  const shape = shapeOf(x);
  if (axis !== undefined) {
    if (shape.length > 2) {
      throw new TypeError(
        `LazyTensor(x, axis) takes (M, D) or (D) arrays, got shape [${shape}]: drop the axis and give (…, M, 1, D) or (…, 1, N, D)`,
      );
    }
    return axis === 0 ? Vi(x) : axis === 1 ? Vj(x) : Pm(x);
  }
  if (shape.length <= 1) return Pm(x);
  if (shape.length === 2) {
    throw new TypeError(
      `LazyTensor(x) of shape [${shape}] needs an axis, as pykeops: LazyTensor(x, 0) for an i-variable, LazyTensor(x, 1) for a j-variable; or give x the shape (M, 1, D) or (1, N, D)`,
    );
  }
  const r = shape.length, a = shape[r - 3], b = shape[r - 2];
  if (a === 1 && b === 1) {
    return Pm(squeeze(squeeze(x, r - 2, shape), r - 3, shape.filter((_, q) => q !== r - 2)));
  }
  if (b === 1) return Vi(squeeze(x, r - 2, shape));
  if (a === 1) return Vj(squeeze(x, r - 3, shape));
  throw new TypeError(
    `LazyTensor(x) got shape [${shape}]: axis ${
      r - 2
    } (of size ${b}) should be 1 for an i-variable (…, M, 1, D), or axis ${
      r - 3
    } (of size ${a}) should be 1 for a j-variable (…, 1, N, D)`,
  );
}

/**
 * pykeops's `LazyTensor(x)`: an i-variable for x of shape (…, M, 1, D), a j-variable for
 * (…, 1, N, D), a parameter for (D) or (…, 1, 1, D) or a number; `LazyTensor(x, axis)` for
 * (M, D). Also the class of LazyTensors (`z instanceof LazyTensor`).
 *
 * @example
 * ```ts
 * import { LazyTensor } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const x = [[[0, 0]], [[1, 1]]];          // (M, 1, D): x[:, None, :]
 * const y = [[[1, 0], [0, 1], [2, 2]]];    // (1, N, D): y[None, :, :]
 * const D_ij = LazyTensor(x).sub(LazyTensor(y)).square().sum();
 * assert.ok(D_ij instanceof LazyTensor && D_ij.shape.join() === "2,3");
 * const nn = await D_ij.argmin(1);
 * assert.deepEqual(Array.from(nn.data), [0, 0]); // x_1 = (1, 1): a tie at distance 1, the first index
 * ```
 */
export const LazyTensor: LazyTensorFunction = Object.defineProperty(
  function LazyTensor(x: Wrapped, axis?: 0 | 1 | 2) {
    return construct(x, axis);
  },
  "prototype",
  { value: LazyTensorClass.prototype },
) as unknown as LazyTensorFunction;

/** The type of LazyTensors (the class behind `LazyTensor(x)`). */
export type LazyTensor<S extends boolean = boolean> = LazyTensorClass<S>;
