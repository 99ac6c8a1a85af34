/**
 * Arrays of another library as LazyTensor variables: a wrapper (the TensorFlow.js entry) tells
 * the core how to recognise its arrays and how to run a reduction on them, and `Vi`, `Vj`,
 * `Pm` and every reduction of a LazyTensor built on them then go through it. The core itself
 * never imports that library.
 *
 * @module
 */

import type { GenredRoutine } from "./genred.ts";
import type { LazyTensor } from "./lazy_tensor.ts";

/** What a wrapper supplies for its arrays. */
export interface ForeignArrays {
  /** Whether `x` is one of its arrays. */
  is(x: unknown): boolean;
  /** The shape of one of its arrays. */
  shape(x: unknown): number[];
  /** One of its arrays with another shape of the same size (pykeops's layouts, squeezed). */
  reshape(x: unknown, shape: readonly number[]): unknown;
  /** Runs `routine` on the values (its arrays, and the core's for the others); returns its result. */
  reduce(routine: GenredRoutine, values: readonly unknown[], options: object): unknown;
  /** K @ b for a scalar K (`LazyTensor.matvec`) with b one of its arrays, or K built on them. */
  matvec(K: LazyTensor<false>, b: unknown, options: object): unknown;
}

let foreign: ForeignArrays | undefined;

/**
 * Installs the wrapper of another library's arrays (one at a time; undefined removes it).
 *
 * @example
 * ```ts
 * import { foreignArrays, setForeignArrays } from "./foreign.ts";
 * import assert from "node:assert/strict";
 * const old = foreignArrays();
 * setForeignArrays(undefined);
 * assert.ok(foreignArrays() === undefined);
 * setForeignArrays(old);
 * ```
 */
export function setForeignArrays(f: ForeignArrays | undefined): void {
  foreign = f;
}

/** The installed wrapper, if any. */
export function foreignArrays(): ForeignArrays | undefined {
  return foreign;
}

/** The wrapper if `x` is one of its arrays. */
export function foreignOf(x: unknown): ForeignArrays | undefined {
  return foreign?.is(x) ? foreign : undefined;
}
