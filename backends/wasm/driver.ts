/**
 * The driver of the WASM engine: lays out one instance's linear memory, copies the inputs in
 * (i-variables row-major, j-variables component-major so the engine reads lanes of consecutive
 * pairs), calls `run`, and copies the outputs out.
 *
 * Inputs larger than one instance's memory are streamed: rows i in blocks, and for each block
 * the terms j in blocks, the accumulators carried from one j-block to the next (the engine
 * initializes them on the first and finalizes them on the last). Memory then stays bounded by
 * the block sizes whatever M and N are.
 *
 * @module
 */

import { batchOffsets, type ReduceInputs, type ReduceOutput, type ReducePlan, sizeOf } from "../backend.ts";
import { INSTR_WORDS, Kind, type Program } from "./compile.ts";

/** The exports of the engine module. */
export interface EngineExports {
  readonly memory: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  run(header: number): void;
  abi_version(): number;
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

/**
 * Runs a compiled program on one engine instance, for output rows [rowStart, rowEnd) of every
 * batch element (all rows by default). Returns the outputs of those rows.
 */
export function runOnInstance(
  ex: EngineExports,
  prog: Program,
  plan: ReducePlan,
  inp: ReduceInputs,
  rowStart = 0,
  rowEnd = inp.M,
): ReduceOutput {
  const f64 = plan.dtype === "float64";
  const es = f64 ? 8 : 4;
  const [fam, mode] = familyOf(plan);
  const sz = sizes(plan, fam, mode);
  const kern = plan.reduction.kernel(plan.dims);
  const nb = sizeOf(inp.batch), rows = rowEnd - rowStart, N = inp.N;
  const regs = prog.regs;
  const slotOf = (k: number) => inp.slots.get(regs[k].slot!)!;
  const iRegs = regs.flatMap((r, k) => (r.kind === Kind.IVar ? [k] : []));
  const jRegs = regs.flatMap((r, k) => (r.kind === Kind.JVar ? [k] : []));
  const pRegs = regs.flatMap((r, k) => (r.kind === Kind.Param ? [k] : []));
  const iBytesPerRow = iRegs.reduce((s, k) => s + regs[k].dim * es, 0) + 8 * (sz.acc + sz.wv) + 4 * sz.wi;
  const jBytesPerRow = jRegs.reduce((s, k) => s + regs[k].dim * es, 0);
  const iBlock = Math.max(1, Math.min(rows, Math.floor(I_BLOCK_BYTES / Math.max(1, iBytesPerRow))));
  const jBlock = Math.max(
    TILE,
    Math.min(N, Math.floor(J_BLOCK_BYTES / Math.max(1, jBytesPerRow) / TILE) * TILE),
  );
  const npad = align(Math.min(jBlock, N), 4);

  // Memory layout.
  let top = align(ex.__heap_base.value as number);
  const take = (bytes: number) => {
    const at = top;
    top = align(top + bytes);
    return at;
  };
  const header = take(HEADER_WORDS * 4);
  const regTable = take(regs.length * 16);
  const code = take(prog.code.length * 4);
  const extraAt = prog.extras.map((e) => take(e.table ? e.table.length * 4 : e.scratchF64! * 8));
  const regAt = regs.map((r) =>
    r.kind === Kind.Pair ? take(TILE * r.dim * es) : r.kind === Kind.Uniform ? take((r.dim + 4) * es) : 0
  );
  for (const k of iRegs) regAt[k] = take(iBlock * regs[k].dim * es);
  for (const k of jRegs) regAt[k] = take(npad * regs[k].dim * es);
  for (const k of pRegs) regAt[k] = take((regs[k].dim + 4) * es);
  const acc = take(iBlock * sz.acc * 8);
  const outVals = take(iBlock * sz.wv * 8);
  const outIdx = take(iBlock * sz.wi * 4);
  const need = top - ex.memory.buffer.byteLength;
  if (need > 0) ex.memory.grow(Math.ceil(need / 65536));

  const buf = ex.memory.buffer;
  const I32 = new Int32Array(buf);
  const F = f64 ? new Float64Array(buf) : new Float32Array(buf);
  // Program, with the addresses of its tables and scratch space patched in.
  const codeCopy = Int32Array.from(prog.code);
  prog.extras.forEach((e, q) => {
    codeCopy[e.instr * INSTR_WORDS + e.word] = extraAt[q];
    if (e.table) I32.set(e.table, extraAt[q] / 4);
  });
  I32.set(codeCopy, code / 4);
  regs.forEach((r, k) => {
    I32.set([r.kind, regAt[k], r.dim, 0], regTable / 4 + 4 * k);
    if (r.value !== undefined) F.fill(r.value, regAt[k] / es, regAt[k] / es + r.dim);
  });
  const [fReg, wReg] = prog.results;
  const h = header / 4;
  I32.set(
    [
      f64 ? 1 : 0,
      TILE,
      0,
      0,
      0,
      code,
      prog.nRow,
      prog.nPair,
      regTable,
      fam,
      plan.dims.D,
      plan.dims.K,
      plan.dims.Dw,
      mode,
      fReg,
      wReg ?? -1,
      acc,
      outVals,
      outIdx,
      npad,
      0,
      0,
    ],
    h,
  );

  const values = kern.values ? new Float64Array(nb * rows * kern.values) : undefined;
  const indices = kern.indices ? new Int32Array(nb * rows * kern.indices) : undefined;
  const offs = new Map<number, Int32Array>();
  for (const k of [...iRegs, ...jRegs, ...pRegs]) {
    if (!offs.has(regs[k].slot!)) offs.set(regs[k].slot!, batchOffsets(slotOf(k), inp.batch));
  }
  for (let b = 0; b < nb; b++) {
    for (const k of pRegs) {
      const s = slotOf(k), o = offs.get(regs[k].slot!)![b];
      for (let c = 0; c < s.dim; c++) F[regAt[k] / es + c] = s.data[o + c];
    }
    for (let i0 = rowStart; i0 < rowEnd; i0 += iBlock) {
      const ib = Math.min(iBlock, rowEnd - i0);
      for (const k of iRegs) {
        const s = slotOf(k), o = offs.get(regs[k].slot!)![b] + i0 * s.dim;
        F.set(s.data.subarray(o, o + ib * s.dim), regAt[k] / es);
      }
      for (let j0 = 0; j0 < N; j0 += jBlock) {
        const jb = Math.min(jBlock, N - j0);
        for (const k of jRegs) {
          // Component-major copy: element (j, c) at c·npad + j.
          const s = slotOf(k), d = s.dim, o = offs.get(regs[k].slot!)![b] + j0 * d, base = regAt[k] / es;
          for (let c = 0; c < d; c++) {
            const dst = base + c * npad;
            for (let j = 0; j < jb; j++) F[dst + j] = s.data[o + j * d + c];
          }
        }
        const first = j0 === 0, last = j0 + jb >= N;
        I32[h + 2] = jb;
        I32[h + 4] = ib;
        I32[h + 20] = j0;
        I32[h + 21] = (first ? 1 : 0) | (last ? 2 : 0);
        ex.run(header);
      }
      const V = new Float64Array(ex.memory.buffer), X = new Int32Array(ex.memory.buffer);
      for (let r = 0; r < ib; r++) {
        const row = b * rows + (i0 - rowStart) + r;
        if (values) {
          values.set(
            V.subarray(outVals / 8 + r * sz.wv, outVals / 8 + r * sz.wv + kern.values),
            row * kern.values,
          );
        }
        if (indices) {
          indices.set(
            X.subarray(outIdx / 4 + r * sz.wi, outIdx / 4 + r * sz.wi + kern.indices),
            row * kern.indices,
          );
        }
      }
    }
  }
  return { values, indices };
}
