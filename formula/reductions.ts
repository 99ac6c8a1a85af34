/**
 * Reductions as data. Each reduction over the index j of the terms F_ij (and, for the
 * softmax-weight family, weights W_ij) is an accumulator of fixed size with four functions:
 *
 *     init(acc)                    the neutral element
 *     step(acc, F_ij, W_ij, j)     fold one term, in increasing j within a block
 *     merge(acc, acc')             fold a partial accumulator of another block of j
 *     finalize(acc) -> outputs     values (float) and/or indices (int)
 *
 * so that an engine may tile j any way it likes: fold a block, merge blocks, in any order. The
 * merges are order-independent: Min/Max/Arg* break ties by the smallest index; the LogSumExp
 * family keeps a running maximum, (m, s) ⊕ (m', s') = (M, s·e^(m−M) + s'·e^(m'−M)), so it never
 * overflows; Sum is a plain sum, which lets a float32 engine sum in blocks (KeOps's block_sum):
 * each block of `SUM_BLOCK` terms is folded into a fresh accumulator and then merged.
 *
 * @module
 */

/** The reductions of `Genred`'s `reduction` option. */
export type ReductionName =
  | "Sum"
  | "Min"
  | "Max"
  | "ArgMin"
  | "ArgMax"
  | "Min_ArgMin"
  | "Max_ArgMax"
  | "KMin"
  | "ArgKMin"
  | "KMin_ArgKMin"
  | "LogSumExp"
  | "LogSumExpWeight"
  | "SumSoftMaxWeight"
  | "Max_SumShiftExp"
  | "Max_SumShiftExpWeight";

/** Dimensions of one reduction: D = dim of F, K (KMin family), Dw = dim of the weight W. */
export interface ReductionDims {
  readonly D: number;
  readonly K: number;
  readonly Dw: number;
}

/** The accumulator of one output row, with its four functions. */
export interface ReductionKernel {
  readonly accSize: number;
  /** Width of the float output and of the index output of one row (0 when absent). */
  readonly values: number;
  readonly indices: number;
  init(acc: Float64Array, o: number): void;
  step(
    acc: Float64Array,
    o: number,
    f: Float64Array,
    fo: number,
    w: Float64Array | null,
    wo: number,
    j: number,
  ): void;
  merge(acc: Float64Array, o: number, other: Float64Array, p: number): void;
  finalize(acc: Float64Array, o: number, vals: Float64Array, vo: number, idx: Int32Array, io: number): void;
}

/** How the gradient of a reduction is formed (see `routine.ts`). */
export type GradKind = "sum" | "lse" | "softmax" | "select" | "zero" | "none";

/** A reduction's definition. */
export interface ReductionDef {
  readonly name: ReductionName;
  /** Which accumulator family implements it. */
  readonly family: "sum" | "extremum" | "kmin" | "lse";
  /** Whether `formula2` (the weight) is refused, optional or required. */
  readonly weight: "none" | "optional" | "required";
  /** Whether K is required. */
  readonly needsK: boolean;
  readonly grad: GradKind;
  /** For "select" gradients, the reduction that gives the selected indices. */
  readonly selector?: ReductionName;
  /** Shape of one output row (values, indices) before batch and row dimensions. */
  shape(d: ReductionDims): { values?: number[]; indices?: number[] };
  kernel(d: ReductionDims, round?: (x: number) => number): ReductionKernel;
}

/** Terms per block of a block sum. */
export const SUM_BLOCK = 1024;

const id = (x: number) => x;

function sumKernel({ D }: ReductionDims, round = id): ReductionKernel {
  return {
    accSize: D,
    values: D,
    indices: 0,
    init: (acc, o) => acc.fill(0, o, o + D),
    step: (acc, o, f, fo) => {
      for (let k = 0; k < D; k++) acc[o + k] = round(acc[o + k] + f[fo + k]);
    },
    merge: (acc, o, b, p) => {
      for (let k = 0; k < D; k++) acc[o + k] = round(acc[o + k] + b[p + k]);
    },
    finalize: (acc, o, vals, vo) => {
      for (let k = 0; k < D; k++) vals[vo + k] = acc[o + k];
    },
  };
}

/** Min/Max with their indices: acc = [values (D), indices (D)]. */
function extremumKernel(sign: 1 | -1, out: "values" | "indices" | "both") {
  return ({ D }: ReductionDims): ReductionKernel => ({
    accSize: 2 * D,
    values: out === "indices" ? 0 : D,
    indices: out === "values" ? 0 : D,
    init: (acc, o) => {
      acc.fill(sign * Infinity, o, o + D);
      acc.fill(0, o + D, o + 2 * D);
    },
    step: (acc, o, f, fo, _w, _wo, j) => {
      for (let k = 0; k < D; k++) {
        // Strict comparison: a later j never displaces an equal value.
        if (sign * f[fo + k] < sign * acc[o + k]) {
          acc[o + k] = f[fo + k];
          acc[o + D + k] = j;
        }
      }
    },
    merge: (acc, o, b, p) => {
      for (let k = 0; k < D; k++) {
        const better = sign * b[p + k] < sign * acc[o + k];
        const tie = b[p + k] === acc[o + k] && b[p + D + k] < acc[o + D + k];
        if (better || tie) {
          acc[o + k] = b[p + k];
          acc[o + D + k] = b[p + D + k];
        }
      }
    },
    finalize: (acc, o, vals, vo, idx, io) => {
      for (let k = 0; k < D; k++) {
        if (out !== "indices") vals[vo + k] = acc[o + k];
        if (out !== "values") idx[io + k] = acc[o + D + k];
      }
    },
  });
}

/** The K smallest values per component, ascending: acc = [values (K·D), indices (K·D)], [k][d]. */
function kminKernel(out: "values" | "indices" | "both") {
  return ({ D, K }: ReductionDims): ReductionKernel => {
    const KD = K * D;
    const insert = (acc: Float64Array, o: number, d: number, v: number, j: number) => {
      if (!(v < acc[o + (K - 1) * D + d])) return;
      let p = K - 1;
      // Shift larger values down; an equal value stays before the newcomer (earlier index first).
      while (p > 0 && v < acc[o + (p - 1) * D + d]) {
        acc[o + p * D + d] = acc[o + (p - 1) * D + d];
        acc[o + KD + p * D + d] = acc[o + KD + (p - 1) * D + d];
        p--;
      }
      acc[o + p * D + d] = v;
      acc[o + KD + p * D + d] = j;
    };
    return {
      accSize: 2 * KD,
      values: out === "indices" ? 0 : KD,
      indices: out === "values" ? 0 : KD,
      init: (acc, o) => {
        acc.fill(Infinity, o, o + KD);
        acc.fill(0, o + KD, o + 2 * KD);
      },
      step: (acc, o, f, fo, _w, _wo, j) => {
        for (let d = 0; d < D; d++) insert(acc, o, d, f[fo + d], j);
      },
      merge: (acc, o, b, p) => {
        // Merge two sorted lists, ties to the smaller index.
        const merged = new Float64Array(2 * KD);
        for (let d = 0; d < D; d++) {
          let x = 0, y = 0;
          for (let k = 0; k < K; k++) {
            const va = acc[o + x * D + d], ia = acc[o + KD + x * D + d];
            const vb = b[p + y * D + d], ib = b[p + KD + y * D + d];
            const takeA = va < vb || (va === vb && ia <= ib) || !(vb === vb);
            merged[k * D + d] = takeA ? va : vb;
            merged[KD + k * D + d] = takeA ? ia : ib;
            if (takeA) x++;
            else y++;
          }
        }
        acc.set(merged, o);
      },
      finalize: (acc, o, vals, vo, idx, io) => {
        for (let k = 0; k < KD; k++) {
          if (out !== "indices") vals[vo + k] = acc[o + k];
          if (out !== "values") idx[io + k] = acc[o + KD + k];
        }
      },
    };
  };
}

/**
 * The running-max family: acc = [m, s_1 … s_Dw] with s = Σ_j e^(F_ij − m)·W_ij. A term of −∞
 * contributes nothing, so a row of −∞ terms gives log 0 = −∞ (KeOps gives NaN there).
 */
function lseKernel(finalize: "log" | "ratio" | "raw") {
  return ({ Dw }: ReductionDims, round = id): ReductionKernel => {
    const outWidth = finalize === "raw" ? 1 + Dw : finalize === "ratio" ? Dw - 1 : Dw;
    return {
      accSize: 1 + Dw,
      values: outWidth,
      indices: 0,
      init: (acc, o) => {
        acc[o] = -Infinity;
        acc.fill(0, o + 1, o + 1 + Dw);
      },
      step: (acc, o, f, fo, w, wo) => {
        const x = f[fo];
        if (x === -Infinity) return;
        if (x > acc[o]) {
          const scale = round(Math.exp(acc[o] - x)); // e^(m − F): rescale the old sum
          for (let k = 0; k < Dw; k++) acc[o + 1 + k] = round(acc[o + 1 + k] * scale + w![wo + k]);
          acc[o] = x;
        } else {
          // e^(F − m), with e^(∞ − ∞) = 1: a term equal to the maximum counts once.
          const e = x === acc[o] ? 1 : round(Math.exp(x - acc[o]));
          for (let k = 0; k < Dw; k++) acc[o + 1 + k] = round(acc[o + 1 + k] + e * w![wo + k]);
        }
      },
      merge: (acc, o, b, p) => {
        const m = Math.max(acc[o], b[p]);
        if (m === -Infinity) return;
        const ea = acc[o] === m ? 1 : Math.exp(acc[o] - m), eb = b[p] === m ? 1 : Math.exp(b[p] - m);
        for (let k = 0; k < Dw; k++) {
          acc[o + 1 + k] = round(acc[o + 1 + k] * ea + b[p + 1 + k] * eb);
        }
        acc[o] = m;
      },
      finalize: (acc, o, vals, vo) => {
        const m = acc[o];
        for (let k = 0; k < outWidth; k++) {
          vals[vo + k] = finalize === "raw"
            ? acc[o + k]
            : finalize === "log"
            ? m + Math.log(acc[o + 1 + k])
            : acc[o + 2 + k] / acc[o + 1];
        }
      },
    };
  };
}

const kShape = ({ D, K }: ReductionDims) => (D === 1 ? [K] : [K, D]);

/** Every reduction, by name. */
export const REDUCTIONS: Record<ReductionName, ReductionDef> = {
  Sum: {
    name: "Sum",
    family: "sum",
    weight: "none",
    needsK: false,
    grad: "sum",
    shape: ({ D }) => ({ values: [D] }),
    kernel: sumKernel,
  },
  Min: {
    name: "Min",
    family: "extremum",
    weight: "none",
    needsK: false,
    grad: "select",
    selector: "ArgMin",
    shape: ({ D }) => ({ values: [D] }),
    kernel: extremumKernel(1, "values"),
  },
  Max: {
    name: "Max",
    family: "extremum",
    weight: "none",
    needsK: false,
    grad: "select",
    selector: "ArgMax",
    shape: ({ D }) => ({ values: [D] }),
    kernel: extremumKernel(-1, "values"),
  },
  ArgMin: {
    name: "ArgMin",
    family: "extremum",
    weight: "none",
    needsK: false,
    grad: "zero",
    shape: ({ D }) => ({ indices: [D] }),
    kernel: extremumKernel(1, "indices"),
  },
  ArgMax: {
    name: "ArgMax",
    family: "extremum",
    weight: "none",
    needsK: false,
    grad: "zero",
    shape: ({ D }) => ({ indices: [D] }),
    kernel: extremumKernel(-1, "indices"),
  },
  Min_ArgMin: {
    name: "Min_ArgMin",
    family: "extremum",
    weight: "none",
    needsK: false,
    grad: "none",
    shape: ({ D }) => ({ values: [D], indices: [D] }),
    kernel: extremumKernel(1, "both"),
  },
  Max_ArgMax: {
    name: "Max_ArgMax",
    family: "extremum",
    weight: "none",
    needsK: false,
    grad: "none",
    shape: ({ D }) => ({ values: [D], indices: [D] }),
    kernel: extremumKernel(-1, "both"),
  },
  KMin: {
    name: "KMin",
    family: "kmin",
    weight: "none",
    needsK: true,
    grad: "select",
    selector: "ArgKMin",
    shape: (d) => ({ values: kShape(d) }),
    kernel: kminKernel("values"),
  },
  ArgKMin: {
    name: "ArgKMin",
    family: "kmin",
    weight: "none",
    needsK: true,
    grad: "zero",
    shape: (d) => ({ indices: kShape(d) }),
    kernel: kminKernel("indices"),
  },
  KMin_ArgKMin: {
    name: "KMin_ArgKMin",
    family: "kmin",
    weight: "none",
    needsK: true,
    grad: "none",
    shape: (d) => ({ values: kShape(d), indices: kShape(d) }),
    kernel: kminKernel("both"),
  },
  LogSumExp: {
    name: "LogSumExp",
    family: "lse",
    weight: "optional",
    needsK: false,
    grad: "lse",
    shape: ({ Dw }) => ({ values: [Dw] }),
    kernel: lseKernel("log"),
  },
  LogSumExpWeight: {
    name: "LogSumExpWeight",
    family: "lse",
    weight: "required",
    needsK: false,
    grad: "lse",
    shape: ({ Dw }) => ({ values: [Dw] }),
    kernel: lseKernel("log"),
  },
  // Weight W = Concat(1, G): s_1 is the softmax normaliser, s_(1+k) the weighted sums.
  SumSoftMaxWeight: {
    name: "SumSoftMaxWeight",
    family: "lse",
    weight: "required",
    needsK: false,
    grad: "softmax",
    shape: ({ Dw }) => ({ values: [Dw - 1] }),
    kernel: lseKernel("ratio"),
  },
  Max_SumShiftExp: {
    name: "Max_SumShiftExp",
    family: "lse",
    weight: "none",
    needsK: false,
    grad: "none",
    shape: () => ({ values: [2] }),
    kernel: lseKernel("raw"),
  },
  Max_SumShiftExpWeight: {
    name: "Max_SumShiftExpWeight",
    family: "lse",
    weight: "optional",
    needsK: false,
    grad: "none",
    shape: ({ Dw }) => ({ values: [1 + Dw] }),
    kernel: lseKernel("raw"),
  },
};

/** Whether `name` is a reduction of the table. */
export function isReduction(name: unknown): name is ReductionName {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(REDUCTIONS, name);
}

/**
 * Folds a sequence of terms (F values, `D` per term) the way a tiled engine does: blocks of
 * `block` terms into fresh accumulators, merged into the total. With `round = Math.fround` it
 * emulates float32 arithmetic.
 *
 * @example
 * ```ts
 * import { foldTerms, REDUCTIONS } from "./reductions.ts";
 * import assert from "node:assert/strict";
 * const terms = Float64Array.from({ length: 10 }, (_, j) => j % 3);
 * const { values, indices } = foldTerms(REDUCTIONS.Min_ArgMin, { D: 1, K: 1, Dw: 1 }, terms);
 * assert.ok(values[0] === 0 && indices[0] === 0);
 * ```
 */
export function foldTerms(
  def: ReductionDef,
  dims: ReductionDims,
  terms: Float64Array,
  options: { block?: number; round?: (x: number) => number; weights?: Float64Array } = {},
): { values: Float64Array; indices: Int32Array } {
  const kern = def.kernel(dims, options.round);
  const n = terms.length / dims.D;
  const block = options.block ?? SUM_BLOCK;
  const total = new Float64Array(kern.accSize), part = new Float64Array(kern.accSize);
  kern.init(total, 0);
  for (let j0 = 0; j0 < n; j0 += block) {
    kern.init(part, 0);
    for (let j = j0; j < Math.min(n, j0 + block); j++) {
      kern.step(part, 0, terms, j * dims.D, options.weights ?? null, j * dims.Dw, j);
    }
    kern.merge(total, 0, part, 0);
  }
  const values = new Float64Array(kern.values), indices = new Int32Array(kern.indices);
  kern.finalize(total, 0, values, 0, indices, 0);
  return { values, indices };
}
