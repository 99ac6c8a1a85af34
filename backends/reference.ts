/**
 * The reference engine: the float64 tile interpreter of `reference_program.ts` driving the
 * reductions of `lazy/reductions.ts`. It is the oracle that every other engine is tested against,
 * and it keeps KeOps's memory promise: it holds one tile of pairs and one accumulator per output
 * row, never an M×N array.
 *
 *     for each batch element b:
 *       for each tile of T values of j:          (j-variables loaded once per tile; with
 *                                                ranges, the tiles of each row block's intervals)
 *         for each row i:                        (i-variables loaded once per row)
 *           run the program over the T pairs (i, j)
 *           fold each pair into acc[b, i] in increasing j
 *     finalize every acc
 *
 * @module
 */

import {
  type Backend,
  batchOffsets,
  type CompiledReduction,
  rangePieces,
  type ReduceInputs,
  type ReduceOutput,
  type ReducePlan,
  sizeOf,
  type Slot,
} from "./backend.ts";
import { compileProgram, type Load } from "./reference_program.ts";

/** Pairs per tile of the reference engine. */
export const TILE = 256;

/** Copies row `row` of a slot (at batch offset `off`) into pair `p` of a load's register. */
export function loadRow(load: Load, slot: Slot, off: number, row: number, p = 0): void {
  const d = load.reg.dim, src = slot.data, o = off + row * d, buf = load.reg.buf;
  for (let k = 0; k < d; k++) buf[p * d + k] = src[o + k];
}

/** The slot of each load, and its batch offsets. */
export function bindLoads(
  loads: readonly Load[],
  inputs: { slots: ReadonlyMap<number, Slot>; batch: readonly number[] },
) {
  return loads.map((l) => {
    const slot = inputs.slots.get(l.ind);
    if (!slot) throw new TypeError(`Missing the array of variable ${l.ind}`);
    return { load: l, slot, offs: batchOffsets(slot, inputs.batch) };
  });
}

let rounding: ((x: number) => number) | undefined;

/**
 * Makes the reference round every value it computes with `round` (`Math.fround`: a float32
 * machine with correctly rounded operations), or exact again with undefined; returns the old
 * setting. For the fuzzer, which tells float32 range and rounding effects from engine bugs; the
 * oracle itself is float64.
 *
 * @example
 * ```ts
 * import { setReferenceRounding } from "./reference.ts";
 * const old = setReferenceRounding(Math.fround);
 * setReferenceRounding(old);
 * ```
 */
export function setReferenceRounding(round: ((x: number) => number) | undefined) {
  const old = rounding;
  rounding = round;
  return old;
}

function run(plan: ReducePlan, inp: ReduceInputs): ReduceOutput {
  const kern = plan.reduction.kernel(plan.dims, rounding);
  const prog = compileProgram(plan.formulas, TILE, rounding);
  const bound = bindLoads(prog.loads, inp);
  const nb = sizeOf(inp.batch), M = inp.M, N = inp.N, A = kern.accSize;
  const acc = new Float64Array(nb * M * A);
  for (let r = 0; r < nb * M; r++) kern.init(acc, r * A);
  const [F, W] = prog.results;
  const fs = F.perPair ? F.dim : 0, ws = W?.perPair ? W.dim : 0;
  // The intervals of terms each row is reduced over: all of [0, N), or its block's.
  const pieces = inp.ranges ? rangePieces(inp.ranges, M, M) : Int32Array.of(0, M, 0, 1);
  const terms = inp.ranges ? inp.ranges.terms : Int32Array.of(0, N);
  for (let b = 0; b < nb; b++) {
    for (const { load, slot, offs } of bound) if (load.cat === 2) loadRow(load, slot, offs[b], 0);
    for (let q = 0; q < pieces.length; q += 4) {
      const [i0, i1, s0, s1] = pieces.subarray(q, q + 4);
      for (let s = s0; s < s1; s++) {
        const lo = terms[2 * s], hi = terms[2 * s + 1];
        for (let j0 = lo; j0 < hi; j0 += TILE) {
          const count = Math.min(TILE, hi - j0);
          for (const { load, slot, offs } of bound) {
            if (load.cat === 1) { for (let p = 0; p < count; p++) loadRow(load, slot, offs[b], j0 + p, p); }
          }
          for (let i = i0; i < i1; i++) {
            for (const { load, slot, offs } of bound) if (load.cat === 0) loadRow(load, slot, offs[b], i);
            prog.run(count);
            const o = (b * M + i) * A;
            for (let p = 0; p < count; p++) {
              kern.step(acc, o, F.buf, p * fs, W ? W.buf : null, p * ws, j0 + p);
            }
          }
        }
      }
    }
  }
  const values = kern.values ? new Float64Array(nb * M * kern.values) : undefined;
  const indices = kern.indices ? new Int32Array(nb * M * kern.indices) : undefined;
  const none = new Float64Array(0), noIdx = new Int32Array(0);
  for (let r = 0; r < nb * M; r++) {
    kern.finalize(acc, r * A, values ?? none, r * kern.values, indices ?? noIdx, r * kern.indices);
  }
  return { values, indices };
}

/**
 * The float64 reference engine.
 *
 * @example
 * ```ts
 * import { referenceBackend } from "./reference.ts";
 * import assert from "node:assert/strict";
 * assert.ok(referenceBackend().name === "reference");
 * ```
 */
export function referenceBackend(): Backend {
  return {
    name: "reference",
    compile(plan: ReducePlan): CompiledReduction {
      return { run: (inputs) => Promise.resolve(run(plan, inputs)), runSync: (inputs) => run(plan, inputs) };
    },
  };
}
