/**
 * Arrays: the `NDArray` of the API (row-major data and a shape) and the conversion of what users
 * pass (typed arrays, nested `number[][]`, plain numbers) into it.
 *
 * @module
 */

import { checkShape, type DType, type HostArray, MAX_RANK } from "../backends/backend.ts";
import { show } from "../formula/errors.ts";

/** A row-major array: typed data and its shape. */
export type NDArray = HostArray;

/** Nested plain arrays of numbers, any depth. */
export type NestedNumbers = number | readonly NestedNumbers[];

/**
 * Builds an `NDArray` from data and a shape; plain `number[]` data becomes float32.
 *
 * @example
 * ```ts
 * import { ndarray } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const a = ndarray([1, 2, 3, 4, 5, 6], [3, 2]);
 * assert.ok(a.data instanceof Float32Array && a.shape[0] === 3);
 * ```
 */
export function ndarray(
  data: Float32Array | Float64Array | Int32Array | number[],
  shape: number[],
): NDArray {
  const typed = Array.isArray(data) ? Float32Array.from(data) : data;
  if (!ArrayBuffer.isView(typed)) {
    throw new TypeError(
      `The data of an ndarray must be a Float32Array, Float64Array, Int32Array or number[], got ${typeof data}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(
      `The shape of an ndarray must be a list of non-negative integers, got ${show(shape)}`,
    );
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== typed.length) {
    throw new RangeError(
      `Cannot build an ndarray from ${typed.length} values with shape [${shape}], which holds ${size}`,
    );
  }
  return { data: typed, shape: [...shape] };
}

/** Whether a value looks like an `NDArray` (an object with typed `data` and a `shape`). */
export function isNDArray(x: unknown): x is NDArray {
  return typeof x === "object" && x !== null && "data" in x && "shape" in x &&
    ArrayBuffer.isView((x as NDArray).data) && Array.isArray((x as NDArray).shape);
}

/** The dtype of an NDArray's data, or "int32". */
export function dtypeOf(a: NDArray): DType | "int32" {
  if (a.data instanceof Float64Array) return "float64";
  if (a.data instanceof Float32Array) return "float32";
  return "int32";
}

/**
 * Converts a user's value to an NDArray of the given float dtype. `what` names the value in
 * error messages (e.g. `argument "x"`).
 */
export function toNDArray(x: unknown, dtype: DType, what: string): NDArray {
  if (isNDArray(x)) {
    checkShape(x.shape, what);
    const d = dtypeOf(x);
    if (d === "int32") {
      throw new TypeError(`The ${what} holds ${x.data.constructor.name} data: expected float32 or float64`);
    }
    const size = x.shape.reduce((a, b) => a * b, 1);
    if (size !== x.data.length) {
      throw new RangeError(
        `The ${what} has ${x.data.length} values but shape [${x.shape}], which holds ${size}`,
      );
    }
    if (d === dtype) return x;
    return {
      data: dtype === "float32" ? Float32Array.from(x.data) : Float64Array.from(x.data),
      shape: x.shape,
    };
  }
  if (typeof x === "number") {
    return { data: dtype === "float32" ? Float32Array.of(x) : Float64Array.of(x), shape: [] };
  }
  if (Array.isArray(x)) {
    const shape: number[] = [];
    let probe: unknown = x;
    while (Array.isArray(probe)) {
      if (shape.length === MAX_RANK) {
        throw new RangeError(
          `The ${what} nests arrays more than ${MAX_RANK} deep: expected at most ${MAX_RANK} axes`,
        );
      }
      shape.push(probe.length);
      probe = probe[0];
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const data = dtype === "float32" ? new Float32Array(size) : new Float64Array(size);
    let n = 0;
    const walk = (v: unknown, depth: number) => {
      if (depth === shape.length) {
        if (typeof v !== "number") {
          throw new TypeError(`The ${what} contains ${show(v)}: expected numbers only`);
        }
        data[n++] = v;
        return;
      }
      if (!Array.isArray(v) || v.length !== shape[depth]) {
        throw new TypeError(
          `The ${what} is a ragged nested array: expected every row of length ${shape[depth]}`,
        );
      }
      for (const e of v) walk(e, depth + 1);
    };
    walk(x, 0);
    return { data, shape };
  }
  throw new TypeError(
    `The ${what} is ${describeValue(x)}: expected an NDArray, a nested number array or a number`,
  );
}

function describeValue(x: unknown): string {
  if (x === null) return "null";
  if (ArrayBuffer.isView(x)) return `a bare ${x.constructor.name} (wrap it with ndarray(data, shape))`;
  return typeof x === "object" ? "an object without data and shape" : `a ${typeof x}`;
}
