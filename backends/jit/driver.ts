/**
 * The driver of generated code: lays out memory as `codegen.ts` describes (i-variables in
 * groups of L rows, padded to whole passes of G rows; j-variables and parameters row-major;
 * float64 accumulators), initialises and finalises the accumulators with the reduction's own
 * kernel (`formula/reductions.ts`), and runs the rows on one or several threads.
 *
 * Inputs larger than the blocks are streamed as the Rust engine's driver does: rows in blocks,
 * and for each block the terms in blocks, the accumulators carried from one block to the next,
 * so memory stays bounded by the block sizes whatever M and N are.
 *
 * @module
 */

import {
  batchOffsets,
  rangePieces,
  type ReduceInputs,
  type ReduceOutput,
  type ReducePlan,
  sizeOf,
} from "../backend.ts";
import { type Chunk, pairsPerCall } from "../wasm/driver.ts";
import { rangeTableWords, writeRangeTable } from "../wasm/ranged.ts";
import { HEADER_WORDS, type JitCode, SUM_BLOCK } from "./codegen.ts";
import { runAsync, runSync, type Steps } from "../steps.ts";

/** Where generated code runs: a memory, its first free byte, threads, and how to run headers. */
export interface JitExecutor {
  readonly memory: WebAssembly.Memory;
  readonly heapBase: number;
  readonly threads: number;
  /** Runs the headers; with several threads, all share one row range claimed at `counter`. */
  exec(headers: readonly number[], chunk: Chunk, counter: number): void | Promise<void>;
  /** Runs the pieces of a range table (`runRanged`), claimed by the threads from `counter`. */
  execRanged?(headers: readonly number[], table: number, counter: number): void | Promise<void>;
}

let I_BLOCK_BYTES = 64 << 20;
let J_BLOCK_BYTES = 128 << 20;

/**
 * Sets the block sizes (bytes of inputs per block of rows i and of terms j); returns the old
 * ones. Tests use it to exercise streaming on small inputs.
 *
 * @example
 * ```ts
 * import { setJitBlockBytes } from "./driver.ts";
 * const old = setJitBlockBytes(1024, 1024);
 * setJitBlockBytes(...old);
 * ```
 */
export function setJitBlockBytes(i: number, j: number): [number, number] {
  const old: [number, number] = [I_BLOCK_BYTES, J_BLOCK_BYTES];
  [I_BLOCK_BYTES, J_BLOCK_BYTES] = [i, j];
  return old;
}

const NO_VALUES = new Float64Array(0), NO_INDICES = new Int32Array(0);
const align = (n: number, a = 16) => Math.ceil(n / a) * a;

/**
 * Runs generated code on an executor.
 *
 * @example
 * ```ts
 * import { runJit } from "./driver.ts";
 * import { generate } from "./codegen.ts";
 * import { make } from "../../formula/ops.ts";
 * import { REDUCTIONS } from "../../formula/reductions.ts";
 * import assert from "node:assert/strict";
 * const plan = {
 *   reduction: REDUCTIONS.Sum, dims: { D: 1, K: 0, Dw: 1 }, dtype: "float64" as const,
 *   formulas: [make("Mult", [make("Var", [], [0, 1, 0]), make("Var", [], [1, 1, 1])], [])],
 * };
 * const code = generate(plan);
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const inst = new WebAssembly.Instance(new WebAssembly.Module(code.bytes(false)), { env: { memory } });
 * const run = inst.exports.run as (h: number) => void;
 * const slot = (data: number[]) => ({ data: Float64Array.from(data), batch: [], rows: data.length, dim: 1 });
 * const out = await runJit(
 *   { memory, heapBase: 0, threads: 1, exec: (hs) => hs.forEach(run) },
 *   code, plan, { slots: new Map([[0, slot([1, 2])], [1, slot([3, 4, 5])]]), batch: [], M: 2, N: 3 },
 * );
 * assert.ok(out.values![0] === 12 && out.values![1] === 24); // Σ_j x_i·y_j
 * ```
 */
export function runJit(
  x: JitExecutor,
  code: JitCode,
  plan: ReducePlan,
  inp: ReduceInputs,
): Promise<ReduceOutput> {
  return runAsync(jitSteps(x, code, plan, inp));
}

/** `runJit` on the calling thread, synchronously (the executor's runs must not wait). */
export function runJitSync(x: JitExecutor, code: JitCode, plan: ReducePlan, inp: ReduceInputs): ReduceOutput {
  return runSync(jitSteps(x, code, plan, inp));
}

/** The body of `runJit`: it yields what the executor's runs return (promises on threads). */
function* jitSteps(x: JitExecutor, code: JitCode, plan: ReducePlan, inp: ReduceInputs): Steps<ReduceOutput> {
  const f64 = plan.dtype === "float64", es = f64 ? 8 : 4;
  const kern = plan.reduction.kernel(plan.dims);
  const { G, L, accSize, vars } = code;
  const nb = sizeOf(inp.batch), M = inp.M, N = inp.N, T = x.threads;
  const slots = vars.map((v) => {
    const s = inp.slots.get(v.slot);
    if (!s) throw new TypeError(`Missing the array of variable ${v.slot}`);
    return s;
  });
  const offs = slots.map((s) => batchOffsets(s, inp.batch));
  const bytesOf = (cat: number) => vars.reduce((s, v) => s + (v.cat === cat ? v.dim * es : 0), 0);
  const iRow = bytesOf(0) + accSize * 8, jRow = bytesOf(1);
  const iBlock = Math.max(G, Math.min(Math.ceil(M / G) * G, Math.floor(I_BLOCK_BYTES / iRow / G) * G));
  // Blocks of terms in whole SUM_BLOCKs, so that the block sums, and so the results, do not
  // depend on where the blocks fall.
  const jBlock = Math.max(
    SUM_BLOCK,
    Math.min(
      Math.ceil(N / SUM_BLOCK) * SUM_BLOCK,
      Math.floor(J_BLOCK_BYTES / Math.max(1, jRow) / SUM_BLOCK) * SUM_BLOCK,
    ),
  );

  let top = align(x.heapBase);
  const take = (bytes: number) => {
    const at = top;
    top = align(top + bytes);
    return at;
  };
  const headerWords = HEADER_WORDS + vars.length;
  const headers = Array.from({ length: T }, () => take(headerWords * 4));
  const scratch = headers.map(() => take(code.scratchBytes));
  const at = vars.map((v) => take((v.cat === 0 ? iBlock : v.cat === 1 ? jBlock : 1) * v.dim * es));
  const acc = take(iBlock * accSize * 8);
  const counter = take(4);
  const need = top - x.memory.buffer.byteLength;
  if (need > 0) x.memory.grow(Math.ceil(need / 65536));

  const values = kern.values ? new Float64Array(nb * M * kern.values) : undefined;
  const indices = kern.indices ? new Int32Array(nb * M * kern.indices) : undefined;
  if (inp.ranges) {
    if (!x.execRanged) {
      throw new TypeError("This executor runs no block-sparse ranges (it has no execRanged)");
    }
    const ctx = {
      x,
      code,
      plan,
      inp,
      headers,
      scratch,
      at,
      acc,
      counter,
      iBlock,
      jBlock,
      values,
      indices,
      top,
    };
    yield* rangedSteps(ctx);
    return { values, indices };
  }
  const buf0 = x.memory.buffer;
  let F: Float32Array | Float64Array = f64 ? new Float64Array(buf0) : new Float32Array(buf0);
  let A = new Float64Array(buf0), I32 = new Int32Array(buf0);
  const views = () => {
    const buf = x.memory.buffer;
    F = f64 ? new Float64Array(buf) : new Float32Array(buf);
    A = new Float64Array(buf);
    I32 = new Int32Array(buf);
  };
  for (let b = 0; b < nb; b++) {
    vars.forEach((v, k) => {
      if (v.cat !== 2) return;
      const src = slots[k].data, o = offs[k][b];
      for (let c = 0; c < v.dim; c++) F[at[k] / es + c] = src[o + c];
    });
    for (let i0 = 0; i0 < M; i0 += iBlock) {
      const ib = Math.min(iBlock, M - i0), ibPad = Math.ceil(ib / G) * G;
      vars.forEach((v, k) => {
        if (v.cat !== 0) return;
        // Groups of L rows, component-major within a group: (i, c) at (⌊i/L⌋·d + c)·L + i%L.
        const d = v.dim, src = slots[k].data, o = offs[k][b] + i0 * d, dst = at[k] / es;
        F.fill(0, dst + Math.floor(ib / L) * L * d, dst + ibPad * d);
        for (let i = 0; i < ib; i++) {
          const g = dst + (i - (i % L)) * d + (i % L), s = o + i * d;
          for (let c = 0; c < d; c++) F[g + c * L] = src[s + c];
        }
      });
      for (let r = 0; r < ibPad; r++) kern.init(A, acc / 8 + r * accSize);
      // One thread runs every row; several claim chunks of the same range (`runClaimed`).
      const bounds = headers.map(() => [0, ibPad]);
      for (let j0 = 0; j0 < N; j0 += jBlock) {
        const jb = Math.min(jBlock, N - j0);
        loadTerms(F, vars, slots, offs, at, b, j0, jb);
        headers.forEach((hd, t) => {
          const w = hd / 4;
          I32.fill(0, w, w + HEADER_WORDS);
          I32[w + 2] = jb;
          I32[w + 3] = bounds[t][0];
          I32[w + 4] = bounds[t][1];
          I32[w + 5] = j0;
          I32[w + 6] = scratch[t];
          I32[w + 16] = acc + bounds[t][0] * accSize * 8;
          at.forEach((a, k) => (I32[w + HEADER_WORDS + k] = a));
        });
        I32[counter / 4] = 0;
        // Several threads claim small chunks (about a quarter of a millisecond), so that the
        // last ones to finish wait little for each other.
        const pairs = T > 1 ? pairsPerCall() / 16 : pairsPerCall();
        yield x.exec(headers, {
          rows: Math.max(G, Math.floor(pairs / jb / G) * G),
          strides: [accSize * 8, 0, 0],
        }, counter);
        views();
      }
      for (let r = 0; r < ib; r++) {
        const row = b * M + i0 + r;
        kern.finalize(
          A,
          acc / 8 + r * accSize,
          values ?? NO_VALUES,
          row * kern.values,
          indices ?? NO_INDICES,
          row * kern.indices,
        );
      }
    }
  }
  return { values, indices };
}

/** What `runJit` hands its block-sparse path: the problem and the memory laid out for it. */
interface RangedContext {
  readonly x: JitExecutor;
  readonly code: JitCode;
  readonly plan: ReducePlan;
  readonly inp: ReduceInputs;
  readonly headers: readonly number[];
  readonly scratch: readonly number[];
  readonly at: readonly number[];
  readonly acc: number;
  readonly counter: number;
  readonly iBlock: number;
  readonly jBlock: number;
  readonly values?: Float64Array;
  readonly indices?: Int32Array;
  readonly top: number;
}

/**
 * A block-sparse run. Generated code runs rows in passes of G from a multiple of G, so each
 * piece of rows (see `rangePieces`) is laid out from a multiple of G in a padded row space
 * (the padding rows hold zeros, and their results are dropped); pieces go to memory in groups
 * that fit a block of rows, and the threads claim them through a range table (`runRanged`).
 */
function* rangedSteps(c: RangedContext): Steps<void> {
  const { x, code, plan, inp, headers, scratch, at, acc, counter, iBlock, jBlock, values, indices } = c;
  const ranges = inp.ranges!;
  const f64 = plan.dtype === "float64", es = f64 ? 8 : 4;
  const kern = plan.reduction.kernel(plan.dims);
  const { G, L, accSize, vars } = code;
  const nb = sizeOf(inp.batch), M = inp.M, N = inp.N, T = x.threads;
  const slots = vars.map((v) => inp.slots.get(v.slot)!);
  const offs = slots.map((s) => batchOffsets(s, inp.batch));
  const pieces = rangePieces(
    ranges,
    M,
    Math.max(G, Math.floor(Math.min(M, iBlock) / (4 * T * G)) * G),
    pairsPerCall(),
  );
  // Groups of pieces whose padded rows fit the block of rows.
  const groups: { q: number; start: number }[][] = [[]];
  let used = 0;
  for (let q = 0; q < pieces.length; q += 4) {
    const padded = Math.ceil((pieces[q + 1] - pieces[q]) / G) * G;
    if (used + padded > iBlock && groups[groups.length - 1].length) {
      groups.push([]);
      used = 0;
    }
    groups[groups.length - 1].push({ q, start: used });
    used += padded;
  }
  const words = Math.max(
    ...groups.map((g) =>
      rangeTableWords({
        pieces: g.map(({ q }) => new Array(1 + pieces[q + 3] - pieces[q + 2])),
        pointers: vars.filter((v) => v.cat === 1).map(() => [0, 0, 0]),
      })
    ),
  );
  let top = c.top;
  const table = top;
  top += words * 4;
  const need = top - x.memory.buffer.byteLength;
  if (need > 0) x.memory.grow(Math.ceil(need / 65536));
  let F: Float32Array | Float64Array, A: Float64Array, I32: Int32Array;
  const views = () => {
    const buf = x.memory.buffer;
    F = f64 ? new Float64Array(buf) : new Float32Array(buf);
    A = new Float64Array(buf);
    I32 = new Int32Array(buf);
  };
  views();
  for (let b = 0; b < nb; b++) {
    vars.forEach((v, k) => {
      if (v.cat !== 2) return;
      const src = slots[k].data, o = offs[k][b];
      for (let cc = 0; cc < v.dim; cc++) F[at[k] / es + cc] = src[o + cc];
    });
    for (const group of groups) {
      const last = group[group.length - 1];
      const rowsPadded = last ? last.start + Math.ceil((pieces[last.q + 1] - pieces[last.q]) / G) * G : 0;
      // i-variables: the rows of each piece from its padded start, in groups of L rows.
      vars.forEach((v, k) => {
        if (v.cat !== 0) return;
        const d = v.dim, src = slots[k].data, dst = at[k] / es;
        F.fill(0, dst, dst + rowsPadded * d);
        for (const { q, start } of group) {
          for (let i = pieces[q]; i < pieces[q + 1]; i++) {
            const r = start + i - pieces[q], s = offs[k][b] + i * d;
            const g = dst + (r - (r % L)) * d + (r % L);
            for (let cc = 0; cc < d; cc++) F[g + cc * L] = src[s + cc];
          }
        }
      });
      for (let r = 0; r < rowsPadded; r++) kern.init(A!, acc / 8 + r * accSize);
      for (let j0 = 0; j0 < N; j0 += jBlock) {
        const jb = Math.min(jBlock, N - j0);
        const items: number[][][] = [];
        for (const { q, start } of group) {
          const rows = Math.ceil((pieces[q + 1] - pieces[q]) / G) * G, list: number[][] = [];
          for (let s = pieces[q + 2]; s < pieces[q + 3]; s++) {
            const lo = Math.max(ranges.terms[2 * s], j0), hi = Math.min(ranges.terms[2 * s + 1], j0 + jb);
            if (lo < hi) list.push([start, start + rows, lo - j0, hi - lo, 0]);
          }
          if (list.length) items.push(list);
        }
        if (!items.length) continue;
        loadTerms(F!, vars, slots, offs, at, b, j0, jb);
        headers.forEach((hd, t) => {
          const w = hd / 4;
          I32.fill(0, w, w + HEADER_WORDS);
          I32[w + 6] = scratch[t];
          at.forEach((a, k) => (I32[w + HEADER_WORDS + k] = a));
        });
        writeRangeTable(x.memory, table, {
          fields: { count: 2, row0: 3, row1: 4, jbase: 5, flags: -1, acc: 16, vals: -1, idx: -1 },
          pieces: items,
          // Row-major j-variables: term j of a block at base + j·dim·(element size).
          pointers: vars.flatMap((v, k) =>
            v.cat === 1 ? [[4 * (HEADER_WORDS + k), at[k], v.dim * es] as const] : []
          ),
          jbase: j0,
          acc: [acc, accSize * 8],
          vals: [0, 0],
          idx: [0, 0],
        });
        I32![counter / 4] = 0;
        yield x.execRanged!(headers, table, counter);
        views();
      }
      for (const { q, start } of group) {
        for (let i = pieces[q]; i < pieces[q + 1]; i++) {
          const row = b * M + i;
          kern.finalize(
            A!,
            acc / 8 + (start + i - pieces[q]) * accSize,
            values ?? NO_VALUES,
            row * kern.values,
            indices ?? NO_INDICES,
            row * kern.indices,
          );
        }
      }
    }
  }
}

/** Copies terms [j0, j0 + jb) of batch element b of every j-variable to its place, row-major. */
function loadTerms(
  F: Float32Array | Float64Array,
  vars: readonly { cat: number; dim: number }[],
  slots: readonly { data: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> } }[],
  offs: readonly Int32Array[],
  at: readonly number[],
  b: number,
  j0: number,
  jb: number,
): void {
  const es = F.BYTES_PER_ELEMENT;
  vars.forEach((v, k) => {
    if (v.cat !== 1) return;
    const o = offs[k][b] + j0 * v.dim;
    F.set(slots[k].data.subarray(o, o + jb * v.dim), at[k] / es);
  });
}
