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
  /** The values, row-major. */
  readonly data: Float32Array | Float64Array | Int32Array;
  /** The shape. */
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
 * import assert from "node:assert/strict";
 * checkShape([2, 3], "argument \"x\"");
 * let err: unknown;
 * try { checkShape([2.5, 2], "argument \"x\""); } catch (e) { err = e; }
 * assert.ok(err instanceof TypeError);
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

/**
 * How the sums of the Sum and LogSumExp families add their terms (KeOps's `sum_scheme`, and
 * `dtype_acc: "float64"` as "kahan" where there is no float64): one by one ("direct"), by
 * partial sums of a tile added to the total ("block", the default), or with Kahan's
 * compensation ("kahan").
 */
export type SumScheme = "direct" | "block" | "kahan";

/** What to compute: one reduction of lowered formulas (F, and the weight W for the LSE family). */
export interface ReducePlan {
  readonly reduction: ReductionDef;
  readonly dims: ReductionDims;
  readonly formulas: readonly Node[];
  readonly dtype: DType;
  /** Default "block". The CPU engines add blocks into float64 totals whatever this says. */
  readonly sumScheme?: SumScheme;
}

/** The arrays and sizes of one run: M output rows, N reduced terms, per batch element. */
export interface ReduceInputs {
  readonly slots: ReadonlyMap<number, Slot>;
  readonly batch: readonly number[];
  readonly M: number;
  readonly N: number;
  /** Leave the outputs on the device (the GPU engine then returns `device` buffers). */
  readonly keepOnDevice?: boolean;
  /** Block-sparse reduction: only the pairs these ranges keep (the same for every batch element). */
  readonly ranges?: BlockRanges;
}

/**
 * KeOps's ranges for one direction of reduction, validated (see `lazy/ranges.ts`): output rows
 * `rows[2k] ≤ i < rows[2k+1]` of block k are reduced over the union of the intervals of terms
 * `terms[2s] ≤ j < terms[2s+1]` for `slices[k-1] ≤ s < slices[k]` (with `slices[-1] = 0`), in
 * that order. Blocks are sorted and disjoint, as are each block's intervals; rows in no block
 * get the reduction's neutral value.
 */
export interface BlockRanges {
  readonly rows: Int32Array;
  readonly slices: Int32Array;
  readonly terms: Int32Array;
}

/**
 * The pieces of work of a block-sparse reduction: consecutive runs of at most `maxRows` output
 * rows covering [0, M), each with the range `[s0, s1)` of its intervals in `terms` (empty for
 * rows in no block). Flat: 4 int32 per piece, `[i0, i1, s0, s1]`.
 *
 * @example
 * ```ts
 * import { rangePieces } from "./backend.ts";
 * import assert from "node:assert/strict";
 * const r = { rows: Int32Array.of(1, 4), slices: Int32Array.of(1), terms: Int32Array.of(0, 2) };
 * // Row 0 is in no block; rows 1..3 in pieces of at most 2 rows.
 * assert.ok(rangePieces(r, 5, 2).join() === "0,1,0,0,1,3,0,1,3,4,0,1,4,5,0,0");
 * ```
 */
export function rangePieces(r: BlockRanges, M: number, maxRows: number, pairsCap = Infinity): Int32Array {
  const out: number[] = [];
  const cut = (a: number, b: number, s0: number, s1: number) => {
    // GPUs give a piece to one workgroup, CPU threads claim pieces: at most maxRows rows each,
    // and at most about pairsCap pairs (the block's terms times its rows).
    let terms = 0;
    for (let s = s0; s < s1; s++) terms += r.terms[2 * s + 1] - r.terms[2 * s];
    const rows = Math.max(1, Math.min(maxRows, Math.floor(pairsCap / Math.max(1, terms))));
    for (let i = a; i < b; i += rows) out.push(i, Math.min(b, i + rows), s0, s1);
  };
  let next = 0;
  for (let k = 0; k < r.slices.length; k++) {
    const a = r.rows[2 * k], b = Math.min(M, r.rows[2 * k + 1]), s0 = k === 0 ? 0 : r.slices[k - 1];
    if (a >= M) break;
    if (a > next) cut(next, a, 0, 0);
    cut(a, b, s0, r.slices[k]);
    next = Math.max(next, b);
  }
  if (M > next) cut(next, M, 0, 0);
  return Int32Array.from(out);
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
  /**
   * The same run, synchronously, on the calling thread (the CPU engines and the oracle). The
   * GPU engine has one only for outputs left on the device (`keepOnDevice`), which need no
   * read-back.
   */
  runSync?(inputs: ReduceInputs): ReduceOutput;
}

/** An engine. */
export interface Backend {
  /** The name users select it by: "cpu" or "gpu" (or "reference" for the oracle). */
  readonly name: string;
  /** Compiles a plan; cached by the caller per plan. */
  compile(plan: ReducePlan): CompiledReduction;
  /** For an engine that keeps arrays on a device (the GPU's): what routines need there. */
  readonly device?: DeviceHelpers;
}

/** Arrays an engine makes on its device for a routine's intermediates, synchronously. */
export interface DeviceHelpers {
  /** The int32 values of a buffer as float32 (exact below 2^24), in a new buffer. */
  indexFloats(indices: GPUBuffer, count: number): GPUBuffer;
  /** 0, 1, …, n − 1 as float32, in a new buffer. */
  ramp(n: number): GPUBuffer;
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

/**
 * The items of each piece of a block-sparse reduction for one block of rows [i0, i0 + ib) and
 * one block of terms [j0, j0 + jb) of a problem of N terms: each piece's intervals clipped to
 * the block of terms, rows and terms counted from the blocks' starts. `flags` marks the first
 * item of a piece over all blocks of terms (1: initialise) and the last (2: finalize); a piece
 * with no terms in a block that must initialise or finalize gets an empty item.
 *
 * @example
 * ```ts
 * import { rangeItems } from "./backend.ts";
 * import assert from "node:assert/strict";
 * const ranges = { rows: Int32Array.of(0, 2), slices: Int32Array.of(2), terms: Int32Array.of(0, 3, 5, 9) };
 * const pieces = rangeItems(ranges, 0, 2, 0, 10, 10, 256);
 * assert.ok(JSON.stringify(pieces) === "[[[0,2,0,3,1],[0,2,5,4,2]]]");
 * ```
 */
export function rangeItems(
  r: BlockRanges,
  i0: number,
  ib: number,
  j0: number,
  jb: number,
  N: number,
  maxRows: number,
  pieces = rangePieces(r, i0 + ib, maxRows),
): number[][][] {
  const out: number[][][] = [];
  for (let q = 0; q < pieces.length; q += 4) {
    const a = Math.max(pieces[q], i0), b = Math.min(pieces[q + 1], i0 + ib);
    if (a >= b) continue;
    const items: number[][] = [];
    for (let s = pieces[q + 2]; s < pieces[q + 3]; s++) {
      const lo = Math.max(r.terms[2 * s], j0), hi = Math.min(r.terms[2 * s + 1], j0 + jb);
      if (lo < hi) items.push([a - i0, b - i0, lo - j0, hi - lo, 0]);
    }
    const first = j0 === 0, last = j0 + jb >= N;
    if ((first || last) && items.length === 0) items.push([a - i0, b - i0, 0, 0, 0]);
    if (items.length === 0) continue;
    if (first) items[0][4] |= 1;
    if (last) items[items.length - 1][4] |= 2;
    out.push(items);
  }
  return out;
}
