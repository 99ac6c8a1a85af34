/**
 * The driver of the WASM engine: lays out linear memory, copies the inputs in (i-variables
 * row-major, j-variables component-major so the engine reads lanes of consecutive pairs), runs
 * the engine on one or several threads, and copies the outputs out.
 *
 * Memory holds a shared part (inputs, constants) and one part per thread (its header, register
 * table, program copy, scratch registers, accumulators and outputs); thread t reduces rows
 * [t·ib/T, (t+1)·ib/T) of each block of ib rows.
 *
 * Inputs larger than one instance's memory are streamed: rows i in blocks, and for each block
 * the terms j in blocks, the accumulators carried from one j-block to the next (the engine
 * initializes them on the first and finalizes them on the last). Memory then stays bounded by
 * the block sizes whatever M and N are.
 *
 * @module
 */

import {
  batchOffsets,
  rangeItems,
  rangePieces,
  type ReduceInputs,
  type ReduceOutput,
  type ReducePlan,
  sizeOf,
} from "../backend.ts";
import { INSTR_WORDS, Kind, type Program } from "./compile.ts";
import { rangeTableWords, writeRangeTable } from "./ranged.ts";
import { runAsync, runSync, type Steps } from "../steps.ts";

/** The exports of the engine module. */
export interface EngineExports {
  readonly memory?: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  run(header: number): void;
  abi_version(): number;
}

/** Where a run happens: a memory, its first free byte, and how to run headers (one per thread). */
export interface Executor {
  readonly memory: WebAssembly.Memory;
  readonly heapBase: number;
  readonly threads: number;
  /** Bytes of stack each thread needs below its part (0 when the engine has its own stack). */
  readonly stackBytes: number;
  /** Runs the headers, one per thread, with stack tops given, each in calls of `chunk` rows. */
  exec(
    headers: readonly number[],
    stackTops: readonly number[],
    chunk: Chunk,
    jit?: { readonly key: number; readonly module: WebAssembly.Module; readonly counter: number },
  ): void | Promise<void>;
  /** Runs the pieces of a range table (`runRanged`), claimed by the threads from `counter`. */
  execRanged(
    headers: readonly number[],
    stackTops: readonly number[],
    table: number,
    counter: number,
    jit?: { readonly key: number; readonly module: WebAssembly.Module; readonly counter: number },
  ): void | Promise<void>;
}

/** How a header's rows are cut into calls: rows per call, and bytes per row of acc, values, indices. */
export interface Chunk {
  readonly rows: number;
  readonly strides: readonly [number, number, number];
}

/**
 * Runs the rows of one header in calls of `chunk.rows` rows, moving the row range and the
 * per-row output pointers along, then puts the header back. Why: engines run a module's first
 * calls in baseline code and switch to optimised code only between calls (no on-stack
 * replacement for WebAssembly), so a single call over millions of pairs would run baseline code
 * throughout — about three times slower. Self-contained: worker threads run its source text.
 *
 * @example
 * ```ts
 * import { runChunked } from "./driver.ts";
 * import assert from "node:assert/strict";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const h = new Int32Array(memory.buffer, 0, 22);
 * h[3] = 0; h[4] = 10;
 * const calls: number[][] = [];
 * runChunked(() => calls.push([h[3], h[4], h[16]]), memory, 0, { rows: 4, strides: [8, 0, 0] });
 * assert.ok(calls.length === 3 && calls[2][0] === 8 && calls[2][2] === 64 && h[4] === 10);
 * ```
 */
export function runChunked(
  run: (header: number) => void,
  memory: WebAssembly.Memory,
  header: number,
  chunk: Chunk,
): void {
  const h = new Int32Array(memory.buffer, header, 22);
  const [start, end, acc, vals, idx] = [h[3], h[4], h[16], h[17], h[18]];
  try {
    for (let r = start; r < end; r += chunk.rows) {
      const o = r - start;
      h[3] = r;
      h[4] = Math.min(end, r + chunk.rows);
      h[16] = acc + o * chunk.strides[0];
      h[17] = vals + o * chunk.strides[1];
      h[18] = idx + o * chunk.strides[2];
      run(header);
    }
  } finally {
    [h[3], h[4], h[16], h[17], h[18]] = [start, end, acc, vals, idx];
  }
}

/**
 * Runs the rows of one header in chunks of `chunk.rows` rows claimed from a shared counter
 * (an int32 at byte `counter`, zero before the first claim): each thread of a call takes the
 * next unclaimed chunk until none is left, so a thread slowed down by the machine's other work
 * takes fewer of them. Every row is computed whole by one thread, so results do not depend on
 * who computed what. Self-contained: worker threads run its source text.
 *
 * @example
 * ```ts
 * import { runClaimed } from "./driver.ts";
 * import assert from "node:assert/strict";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const h = new Int32Array(memory.buffer, 0, 22);
 * h[3] = 0; h[4] = 10;
 * const rows: number[] = [];
 * runClaimed(() => rows.push(h[3]), memory, 0, { rows: 4, strides: [8, 0, 0] }, 128);
 * assert.ok(rows.join() === "0,4,8" && h[3] === 0);
 * ```
 */
export function runClaimed(
  run: (header: number) => void,
  memory: WebAssembly.Memory,
  header: number,
  chunk: Chunk,
  counter: number,
): void {
  const h = new Int32Array(memory.buffer, header, 22);
  const claims = new Int32Array(memory.buffer, counter, 1);
  const [start, end, acc] = [h[3], h[4], h[16]];
  try {
    for (;;) {
      const r = start + Atomics.add(claims, 0, 1) * chunk.rows;
      if (r >= end) break;
      h[3] = r;
      h[4] = Math.min(end, r + chunk.rows);
      h[16] = acc + (r - start) * chunk.strides[0];
      run(header);
    }
  } finally {
    [h[3], h[4], h[16]] = [start, end, acc];
  }
}

/** Pairs per engine call (see `runChunked`): a few milliseconds of work. */
let PAIRS_PER_CALL = 1 << 22;

/** The pairs per engine call (see `setPairsPerCall`). */
export function pairsPerCall(): number {
  return PAIRS_PER_CALL;
}

/**
 * Sets the pairs per engine call (rows per call = this / terms, at least one); returns the old
 * value. Tests use it to cut small inputs into many calls.
 *
 * @example
 * ```ts
 * import { setPairsPerCall } from "./driver.ts";
 * const old = setPairsPerCall(1);
 * setPairsPerCall(old);
 * ```
 */
export function setPairsPerCall(n: number): number {
  const old = PAIRS_PER_CALL;
  PAIRS_PER_CALL = n;
  return old;
}

/** Terms per tile: a multiple of the lane counts (4 and 2). */
export const TILE = 256;

const HEADER_WORDS = 22;
/** Bytes of inputs per block of rows (i) and of terms (j): what bounds memory. */
let I_BLOCK_BYTES = 64 << 20;
let J_BLOCK_BYTES = 128 << 20;

/**
 * Sets the block sizes (bytes of inputs per block of rows i and of terms j); returns the old
 * ones. Tests use it to exercise streaming on small inputs.
 */
export function setBlockBytes(i: number, j: number): [number, number] {
  const old: [number, number] = [I_BLOCK_BYTES, J_BLOCK_BYTES];
  [I_BLOCK_BYTES, J_BLOCK_BYTES] = [i, j];
  return old;
}

const align = (n: number, a = 16) => Math.ceil(n / a) * a;

/** Reduction family and mode, as `engine.rs`. */
function familyOf(plan: ReducePlan): [number, number] {
  const name = plan.reduction.name;
  switch (plan.reduction.family) {
    case "sum":
      return [0, 0];
    case "extremum":
      return [1, name.startsWith("Max") || name === "ArgMax" ? 1 : 0];
    case "kmin":
      return [2, 0];
    default:
      return [3, name === "SumSoftMaxWeight" ? 1 : name.startsWith("Max_") ? 2 : 0];
  }
}

/** Accumulator size and output widths of the engine's families (values, indices). */
function sizes(plan: ReducePlan, fam: number, mode: number) {
  const { D, K, Dw } = plan.dims;
  if (fam === 0) return { acc: D, wv: D, wi: 0 };
  if (fam === 1) return { acc: 2 * D, wv: D, wi: D };
  if (fam === 2) return { acc: 2 * K * D, wv: K * D, wi: K * D };
  return { acc: 1 + Dw, wv: mode === 0 ? Dw : mode === 1 ? Dw - 1 : Dw + 1, wi: 0 };
}

/** Runs a compiled program on an executor. */
export function runProgram(
  x: Executor,
  prog: Program,
  plan: ReducePlan,
  inp: ReduceInputs,
): Promise<ReduceOutput> {
  return runAsync(programSteps(x, prog, plan, inp));
}

/** `runProgram` on the calling thread, synchronously (the executor's runs must not wait). */
export function runProgramSync(
  x: Executor,
  prog: Program,
  plan: ReducePlan,
  inp: ReduceInputs,
): ReduceOutput {
  return runSync(programSteps(x, prog, plan, inp));
}

/** The body of `runProgram`: it yields what the executor's runs return (promises on threads). */
function* programSteps(x: Executor, prog: Program, plan: ReducePlan, inp: ReduceInputs): Steps<ReduceOutput> {
  const f64 = plan.dtype === "float64";
  const es = f64 ? 8 : 4;
  const [fam, mode] = familyOf(plan);
  const sz = sizes(plan, fam, mode);
  const kern = plan.reduction.kernel(plan.dims);
  const nb = sizeOf(inp.batch), M = inp.M, N = inp.N, T = x.threads;
  const regs = prog.regs;
  const slotOf = (k: number) => inp.slots.get(regs[k].slot!)!;
  const ofKind = (kind: Kind) => regs.flatMap((r, k) => (r.kind === kind ? [k] : []));
  const [iRegs, jRegs, pRegs] = [ofKind(Kind.IVar), ofKind(Kind.JVar), ofKind(Kind.Param)];
  const perThreadRow = 8 * (sz.acc + sz.wv) + 4 * sz.wi;
  const iBytesPerRow = iRegs.reduce((s, k) => s + regs[k].dim * es, 0) + perThreadRow;
  const jBytesPerRow = jRegs.reduce((s, k) => s + regs[k].dim * es, 0);
  const iBlock = Math.max(1, Math.min(M, Math.floor(I_BLOCK_BYTES / Math.max(1, iBytesPerRow))));
  const jBlock = Math.max(
    TILE,
    Math.min(N, Math.floor(J_BLOCK_BYTES / Math.max(1, jBytesPerRow) / TILE) * TILE),
  );
  const npad = align(Math.min(jBlock, N), 4);
  const rowsPerThread = Math.ceil(iBlock / T);

  // Memory layout: the shared part, then one part per thread.
  let top = align(x.heapBase);
  const take = (bytes: number) => {
    const at = top;
    top = align(top + bytes);
    return at;
  };
  const at = new Array<number>(regs.length).fill(0);
  for (const k of iRegs) at[k] = take(iBlock * regs[k].dim * es);
  for (const k of jRegs) at[k] = take(npad * regs[k].dim * es);
  regs.forEach((r, k) => {
    if (r.kind === Kind.Param || r.value !== undefined) at[k] = take((r.dim + 4) * es);
  });
  const parts = Array.from({ length: T }, () => {
    const stackTop = x.stackBytes ? take(x.stackBytes) + x.stackBytes : 0;
    const header = take(HEADER_WORDS * 4);
    const regTable = take(regs.length * 16);
    const code = take(prog.code.length * 4);
    const extras = prog.extras.map((e) => take(e.table ? e.table.length * 4 : e.scratchF64! * 8));
    const mine = regs.map((r, k) =>
      r.kind === Kind.Pair
        ? take(TILE * r.dim * es)
        : r.kind === Kind.Uniform && r.value === undefined
        ? take((r.dim + 4) * es)
        : at[k]
    );
    const acc = take(rowsPerThread * sz.acc * 8);
    const outVals = take(rowsPerThread * sz.wv * 8);
    const outIdx = take(rowsPerThread * sz.wi * 4);
    return { stackTop, header, regTable, code, extras, mine, acc, outVals, outIdx };
  });
  // Block-sparse: pieces of rows claimed by any thread, so accumulators and outputs are shared
  // by the threads (one array for the block of rows), and one table of items per pair of blocks.
  const ranged = inp.ranges && (() => {
    const pieces = rangePieces(
      inp.ranges,
      M,
      Math.max(1, Math.ceil(Math.min(M, iBlock) / (4 * T))),
      PAIRS_PER_CALL,
    );
    const tables: number[][][][][] = [];
    for (let i0 = 0; i0 < M; i0 += iBlock) {
      const row: number[][][][] = [];
      for (let j0 = 0; j0 < N; j0 += jBlock) {
        row.push(
          rangeItems(inp.ranges, i0, Math.min(iBlock, M - i0), j0, Math.min(jBlock, N - j0), N, 0, pieces),
        );
      }
      tables.push(row);
    }
    const words = Math.max(...tables.flat().map((p) => rangeTableWords({ pieces: p, pointers: jRegs })));
    return {
      tables,
      acc: take(iBlock * sz.acc * 8),
      vals: take(iBlock * sz.wv * 8),
      idx: take(iBlock * sz.wi * 4),
      counter: take(16),
      table: take(words * 4),
    };
  })();
  const need = top - x.memory.buffer.byteLength;
  if (need > 0) x.memory.grow(Math.ceil(need / 65536));

  let buf = x.memory.buffer;
  let I32 = new Int32Array(buf);
  let F = f64 ? new Float64Array(buf) : new Float32Array(buf);
  const [fReg, wReg] = prog.results;
  regs.forEach((r, k) => {
    if (r.value !== undefined) F.fill(r.value, at[k] / es, at[k] / es + r.dim);
  });
  for (const p of parts) {
    const code = Int32Array.from(prog.code);
    prog.extras.forEach((e, q) => {
      code[e.instr * INSTR_WORDS + e.word] = p.extras[q];
      if (e.table) I32.set(e.table, p.extras[q] / 4);
    });
    I32.set(code, p.code / 4);
    regs.forEach((r, k) => I32.set([r.kind, p.mine[k], r.dim, 0], p.regTable / 4 + 4 * k));
    I32.set(
      [
        f64 ? 1 : 0,
        TILE,
        0,
        0,
        0,
        p.code,
        prog.nRow,
        prog.nPair,
        p.regTable,
        fam,
        plan.dims.D,
        plan.dims.K,
        plan.dims.Dw,
        mode,
        fReg,
        wReg ?? -1,
        p.acc,
        p.outVals,
        p.outIdx,
        npad,
        0,
        0,
      ],
      p.header / 4,
    );
  }

  const values = kern.values ? new Float64Array(nb * M * kern.values) : undefined;
  const indices = kern.indices ? new Int32Array(nb * M * kern.indices) : undefined;
  const offs = new Map<number, Int32Array>();
  for (const k of [...iRegs, ...jRegs, ...pRegs]) {
    if (!offs.has(regs[k].slot!)) offs.set(regs[k].slot!, batchOffsets(slotOf(k), inp.batch));
  }
  const headers = parts.map((p) => p.header), stacks = parts.map((p) => p.stackTop);
  for (let b = 0; b < nb; b++) {
    for (const k of pRegs) {
      const s = slotOf(k), o = offs.get(regs[k].slot!)![b];
      for (let c = 0; c < s.dim; c++) F[at[k] / es + c] = s.data[o + c];
    }
    for (let i0 = 0; i0 < M; i0 += iBlock) {
      const ib = Math.min(iBlock, M - i0);
      for (const k of iRegs) {
        const s = slotOf(k), o = offs.get(regs[k].slot!)![b] + i0 * s.dim;
        F.set(s.data.subarray(o, o + ib * s.dim), at[k] / es);
      }
      const bounds = parts.map((_, t) => [Math.floor((t * ib) / T), Math.floor(((t + 1) * ib) / T)]);
      for (let j0 = 0; j0 < N; j0 += jBlock) {
        const jb = Math.min(jBlock, N - j0);
        for (const k of jRegs) {
          // Component-major copy: element (j, c) at c·npad + j.
          const s = slotOf(k), d = s.dim, o = offs.get(regs[k].slot!)![b] + j0 * d, base = at[k] / es;
          for (let c = 0; c < d; c++) {
            const dst = base + c * npad;
            for (let j = 0; j < jb; j++) F[dst + j] = s.data[o + j * d + c];
          }
        }
        if (ranged) {
          const regTable = parts[0].regTable - parts[0].header;
          writeRangeTable(x.memory, ranged.table, {
            fields: { count: 2, row0: 3, row1: 4, jbase: 20, flags: 21, acc: 16, vals: 17, idx: 18 },
            pieces: ranged.tables[i0 / iBlock][j0 / jBlock],
            // Component-major j-variables: term j of a block at base + j·(element size).
            pointers: jRegs.map((k) => [regTable + 16 * k + 4, at[k], es] as const),
            jbase: j0,
            acc: [ranged.acc, sz.acc * 8],
            vals: [ranged.vals, sz.wv * 8],
            idx: [ranged.idx, sz.wi * 4],
          });
          new Int32Array(x.memory.buffer, ranged.counter, 1)[0] = 0;
          parts.forEach((p) => I32.set([jb, 0, 0], p.header / 4 + 2));
          yield x.execRanged(headers, stacks, ranged.table, ranged.counter);
          continue;
        }
        const flags = (j0 === 0 ? 1 : 0) | (j0 + jb >= N ? 2 : 0);
        parts.forEach((p, t) => I32.set([jb, bounds[t][0], bounds[t][1]], p.header / 4 + 2));
        parts.forEach((p) => I32.set([j0, flags], p.header / 4 + 20));
        yield x.exec(headers, stacks, {
          rows: Math.max(1, Math.floor(PAIRS_PER_CALL / jb)),
          strides: [sz.acc * 8, sz.wv * 8, sz.wi * 4],
        });
      }
      buf = x.memory.buffer;
      I32 = new Int32Array(buf);
      F = f64 ? new Float64Array(buf) : new Float32Array(buf);
      const V = new Float64Array(buf);
      if (ranged) {
        const row = b * M + i0;
        if (values) {
          for (let r = 0; r < ib; r++) {
            const o = ranged.vals / 8 + r * sz.wv;
            values.set(V.subarray(o, o + kern.values), (row + r) * kern.values);
          }
        }
        if (indices) {
          for (let r = 0; r < ib; r++) {
            const o = ranged.idx / 4 + r * sz.wi;
            indices.set(I32.subarray(o, o + kern.indices), (row + r) * kern.indices);
          }
        }
        continue;
      }
      parts.forEach((p, t) => {
        for (let r = 0; r < bounds[t][1] - bounds[t][0]; r++) {
          const row = b * M + i0 + bounds[t][0] + r;
          if (values) {
            values.set(
              V.subarray(p.outVals / 8 + r * sz.wv, p.outVals / 8 + r * sz.wv + kern.values),
              row * kern.values,
            );
          }
          if (indices) {
            indices.set(
              I32.subarray(p.outIdx / 4 + r * sz.wi, p.outIdx / 4 + r * sz.wi + kern.indices),
              row * kern.indices,
            );
          }
        }
      });
    }
  }
  return { values, indices };
}
