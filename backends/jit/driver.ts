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

import { batchOffsets, type ReduceInputs, type ReduceOutput, type ReducePlan, sizeOf } from "../backend.ts";
import { type Chunk, pairsPerCall } from "../wasm/driver.ts";
import { HEADER_WORDS, type JitCode, SUM_BLOCK } from "./codegen.ts";

/** Where generated code runs: a memory, its first free byte, threads, and how to run headers. */
export interface JitExecutor {
  readonly memory: WebAssembly.Memory;
  readonly heapBase: number;
  readonly threads: number;
  /** Runs the headers; with several threads, all share one row range claimed at `counter`. */
  exec(headers: readonly number[], chunk: Chunk, counter: number): void | Promise<void>;
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
 * console.assert(out.values![0] === 12 && out.values![1] === 24); // Σ_j x_i·y_j
 * ```
 */
export async function runJit(
  x: JitExecutor,
  code: JitCode,
  plan: ReducePlan,
  inp: ReduceInputs,
): Promise<ReduceOutput> {
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
        vars.forEach((v, k) => {
          if (v.cat !== 1) return;
          const o = offs[k][b] + j0 * v.dim;
          F.set(slots[k].data.subarray(o, o + jb * v.dim), at[k] / es);
        });
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
        await x.exec(headers, {
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
