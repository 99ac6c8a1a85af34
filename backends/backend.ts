/**
 * The interface every engine implements: compile one reduction of lowered formulas once, then
 * run it on arrays. The core (`lazy/`) never computes pairs itself; it hands each reduction to
 * an engine through this interface.
 *
 * Conventions of a plan: the reduction runs over j and its output is indexed by i. Variables
 * `Var(ind,dim,cat)` of the formulas read slot `ind` of the inputs: cat 0 is read at row i, cat 1
 * at row j, cat 2 (a parameter) at row 0. Every slot has the same number of batch dimensions as
 * the problem, each equal to the problem's or 1 (broadcast).
 *
 * @module
 */

import type { Node } from "../formula/tree.ts";
import type { ReductionDef, ReductionDims } from "../formula/reductions.ts";

/** The element types of arrays. */
export type DType = "float32" | "float64";

/** A row-major array on the host: typed data and its shape (the API's `NDArray`). */
export interface HostArray {
  readonly data: Float32Array | Float64Array | Int32Array;
  readonly shape: readonly number[];
}

/** The most axes an array may have. */
export const MAX_RANK = 32;

/**
 * Checks that a shape is a list of at most 32 non-negative safe integers, with a `TypeError`
 * naming the value otherwise.
 *
 * @example
 * ```ts
 * import { checkShape } from "./backend.ts";
 * checkShape([2, 3], "argument \"x\"");
 * let err: unknown;
 * try { checkShape([2.5, 2], "argument \"x\""); } catch (e) { err = e; }
 * console.assert(err instanceof TypeError);
 * ```
 */
export function checkShape(shape: unknown, what: string): asserts shape is readonly number[] {
  const ok = Array.isArray(shape) && shape.length <= MAX_RANK &&
    shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0);
  if (!ok) {
    const text = Array.isArray(shape)
      ? `[${shape.map((d) => JSON.stringify(d) ?? String(d)).join(", ")}]`
      : String(shape);
    throw new TypeError(
      `The ${what} has shape ${
        text.length > 80 ? text.slice(0, 77) + "..." : text
      }: expected at most ${MAX_RANK} non-negative integers`,
    );
  }
}

/** An input or intermediate array: row-major `(…batch, rows, dim)`. */
export interface Slot {
  /** The values on the host (empty when they live only on the GPU, in `gpu`). */
  readonly data: Float32Array | Float64Array | Int32Array;
  readonly batch: readonly number[];
  readonly rows: number;
  readonly dim: number;
  /** The same values in a GPU buffer (float32 or int32), when they live there. */
  readonly gpu?: GPUBuffer;
}

/** What to compute: one reduction of lowered formulas (F, and the weight W for the LSE family). */
export interface ReducePlan {
  readonly reduction: ReductionDef;
  readonly dims: ReductionDims;
  readonly formulas: readonly Node[];
  readonly dtype: DType;
}

/** The arrays and sizes of one run: M output rows, N reduced terms, per batch element. */
export interface ReduceInputs {
  readonly slots: ReadonlyMap<number, Slot>;
  readonly batch: readonly number[];
  readonly M: number;
  readonly N: number;
  /** Leave the outputs on the device (the GPU engine then returns `device` buffers). */
  readonly keepOnDevice?: boolean;
}

/** Row-major `(…batch, M, width)` outputs: float values and/or int32 indices. */
export interface ReduceOutput {
  /** Outputs left in GPU buffers (same layouts as values and indices), when asked for. */
  readonly device?: { readonly values?: GPUBuffer; readonly indices?: GPUBuffer };
  readonly values?: Float32Array | Float64Array;
  readonly indices?: Int32Array;
}

/** A compiled reduction, to be run on many inputs. */
export interface CompiledReduction {
  run(inputs: ReduceInputs): Promise<ReduceOutput>;
}

/** An engine. */
export interface Backend {
  /** The name users select it by: "cpu" or "gpu" (or "reference" for the oracle). */
  readonly name: string;
  /** Compiles a plan; cached by the caller per plan. */
  compile(plan: ReducePlan): CompiledReduction;
}

/** Product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * For each flat batch index of `batch`, the offset (in elements) of that batch element's block
 * in a slot whose batch dims are equal to `batch`'s or 1.
 */
export function batchOffsets(slot: Slot, batch: readonly number[]): Int32Array {
  const n = sizeOf(batch), block = slot.rows * slot.dim;
  const out = new Int32Array(n);
  const strides: number[] = new Array(batch.length);
  let s = block;
  for (let k = batch.length - 1; k >= 0; k--) {
    strides[k] = slot.batch[k] === 1 ? 0 : s;
    s *= slot.batch[k];
  }
  for (let b = 0; b < n; b++) {
    let rest = b, o = 0;
    for (let k = batch.length - 1; k >= 0; k--) {
      o += (rest % batch[k]) * strides[k];
      rest = Math.floor(rest / batch[k]);
    }
    out[b] = o;
  }
  return out;
}
