/**
 * Complex LazyTensors, in the spirit of pykeops's `ComplexLazyTensor`: a LazyTensor whose
 * vector holds complex numbers interleaved `[re0, im0, re1, im1, …]` (the layout of KeOps's
 * complex formulas, `formula/ops_complex.ts`). JavaScript has no complex arrays, so complex
 * variables are built from interleaved real arrays: `ComplexVi(z)` for z of shape (…, M, 2n)
 * holds n complex numbers per row. Operations take complex or real operands (real ones are
 * promoted, as pykeops does); reductions return interleaved arrays.
 *
 * @module
 */

import { LazyTensor, type Operand } from "./lazy_tensor.ts";
import { Pm, Vi, Vj, type Wrapped } from "./variables.ts";
import type { CallOptions } from "./genred.ts";
import type { NDArray } from "./ndarray.ts";

/** What complex operations accept: a complex or a real LazyTensor, or a real number. */
export type ComplexOperand = ComplexLazyTensor | Operand;

function evenDim(t: LazyTensor, what: string): LazyTensor {
  if (t.ndim % 2 !== 0) {
    throw new TypeError(
      `${what} expects interleaved complex values [re, im, …] (an even last dimension), got dimension ${t.ndim}`,
    );
  }
  return t;
}

/**
 * A symbolic complex matrix: `lazy` is the real LazyTensor of its interleaved parts.
 *
 * @example
 * ```ts
 * import { ComplexLazyTensor } from "@keops-ts/keops";
 * import { Vi, Vj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * // A Fourier-type sum Σ_j e^{i x_i y_j} b_j, with x = [0, 1], y = [π], b = [2].
 * const e = Vi([[0], [1]]).mul(Vj([[Math.PI]])).exp1j();
 * assert.ok(e instanceof ComplexLazyTensor && e.ndim === 1);
 * const s = await e.mul(Vj([[2]])).sum(1);
 * assert.ok(Math.abs(s.data[0] - 2) < 1e-6 && Math.abs(s.data[2] + 2) < 1e-5);
 * ```
 */
export class ComplexLazyTensor {
  /** Wraps a real LazyTensor of even dimension, read as interleaved complex numbers. */
  /** The real LazyTensor of the interleaved parts. */
  readonly lazy: LazyTensor;
  /** Wraps a real LazyTensor of even dimension, read as interleaved complex numbers. */
  constructor(lazy: LazyTensor) {
    evenDim(lazy, "ComplexLazyTensor");
    this.lazy = lazy;
  }

  /**
   * The number of complex entries of the vector (half the real dimension).
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * assert.equal(ComplexVi([[1, 2, 3, 4]]).ndim, 2); // two complex entries
   * ```
   */
  get ndim(): number {
    return this.lazy.ndim / 2;
  }

  /**
   * The canonical KeOps text of the formula.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * assert.equal(ComplexVi([[1, 2]]).conj().formula, "Conj(Var(0,2,0))");
   * ```
   */
  get formula(): string {
    return this.lazy.formula;
  }

  /** A complex operand as a complex LazyTensor: real ones get a zero imaginary part. */
  private complexOf(x: ComplexOperand): ComplexLazyTensor {
    if (x instanceof ComplexLazyTensor) return x;
    const t = x instanceof LazyTensor ? x : typeof x === "number" ? Pm(x) : Pm(x);
    return t.real2complex();
  }

  /** Whether an operand is real and scalar (then products are ComplexRealScal). */
  private static realScalar(x: ComplexOperand): LazyTensor | undefined {
    if (x instanceof ComplexLazyTensor) return undefined;
    const t = x instanceof LazyTensor ? x : Pm(x);
    return t.ndim === 1 ? t : undefined;
  }

  /**
   * Re z.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.real.sum(1);
   * assert.equal(out.data[0], 3);
   * ```
   */
  get real(): LazyTensor<false> {
    return this.lazy.op("ComplexReal");
  }
  /**
   * Im z.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.imag.sum(1);
   * assert.equal(out.data[0], 4);
   * ```
   */
  get imag(): LazyTensor<false> {
    return this.lazy.op("ComplexImag");
  }
  /**
   * arg z, in (−π, π].
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.angle().sum(1);
   * assert.ok(Math.abs(out.data[0] - (Math.atan2(4, 3))) < 1e-5);
   * ```
   */
  angle(): LazyTensor<false> {
    return this.lazy.op("ComplexAngle");
  }
  /**
   * |z|.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.abs().sum(1);
   * assert.ok(Math.abs(out.data[0] - (5)) < 1e-5);
   * ```
   */
  abs(): LazyTensor<false> {
    return this.lazy.op("ComplexAbs");
  }
  /**
   * |z|².
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.squareAbs().sum(1);
   * assert.ok(Math.abs(out.data[0] - (25)) < 1e-5);
   * ```
   */
  squareAbs(): LazyTensor<false> {
    return this.lazy.op("ComplexSquareAbs");
  }
  /**
   * The conjugate.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.conj().sum(1);
   * assert.deepEqual(Array.from(out.data), [3, -4]);
   * ```
   */
  conj(): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.op("Conj"));
  }
  /**
   * e^z.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await ComplexVi([[0, Math.PI]]).exp().sum(1); // e^{iπ} = −1
   * assert.ok(Math.abs(out.data[0] - (-1)) < 1e-5);
   * assert.ok(Math.abs(out.data[1] - (0)) < 1e-5);
   * ```
   */
  exp(): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.op("ComplexExp"));
  }
  /**
   * z + w (a real w is promoted; a single complex number broadcasts).
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.add(ComplexVj([[1, 1], [0, 2]])).sum(1); // Σ_j (z + w_j)
   * assert.deepEqual(Array.from(out.data), [7, 11]);
   * ```
   */
  add(w: ComplexOperand): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.op("ComplexAdd", [this.complexOf(w).lazy]));
  }
  /**
   * z − w.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.sub(ComplexVj([[1, 1]])).sum(1);
   * assert.deepEqual(Array.from(out.data), [2, 3]);
   * ```
   */
  sub(w: ComplexOperand): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.op("ComplexSubtract", [this.complexOf(w).lazy]));
  }
  /**
   * z · w; by a real scalar, every entry scaled (ComplexRealScal).
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.mul(ComplexVj([[0, 1]])).sum(1); // (3 + 4i)·i
   * assert.deepEqual(Array.from(out.data), [-4, 3]);
   * const scaled = await z.mul(Vi([[2]])).sum(1); // by a real scalar
   * assert.deepEqual(Array.from(scaled.data), [6, 8]);
   * ```
   */
  mul(w: ComplexOperand): ComplexLazyTensor {
    const s = ComplexLazyTensor.realScalar(w);
    if (s) return new ComplexLazyTensor(this.lazy.op("ComplexRealScal", [s]));
    return new ComplexLazyTensor(this.lazy.op("ComplexMult", [this.complexOf(w).lazy]));
  }
  /**
   * z / w.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.div(ComplexVj([[0, 2]])).sum(1); // (3 + 4i)/(2i) = 2 − 1.5i
   * assert.ok(Math.abs(out.data[0] - (2)) < 1e-5);
   * assert.ok(Math.abs(out.data[1] - (-1.5)) < 1e-5);
   * ```
   */
  div(w: ComplexOperand): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.op("ComplexDivide", [this.complexOf(w).lazy]));
  }
  /**
   * −z.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[3, 4]]); // 3 + 4i
   * const out = await z.neg().sum(1);
   * assert.deepEqual(Array.from(out.data), [-3, -4]);
   * ```
   */
  neg(): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.neg());
  }
  /**
   * Σ_k z_k over the vector (ComplexSum), a single complex number.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await ComplexVi([[1, 2, 3, 4]]).sumEntries().sum(1); // (1 + 2i) + (3 + 4i)
   * assert.deepEqual(Array.from(out.data), [4, 6]);
   * ```
   */
  sumEntries(): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.op("ComplexSum"));
  }
  /**
   * The single complex number z repeated to n entries (ComplexSumT).
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await ComplexVi([[1, 2]]).repeat(3).sum(1);
   * assert.deepEqual(Array.from(out.data), [1, 2, 1, 2, 1, 2]);
   * ```
   */
  repeat(n: number): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.op("ComplexSumT", [], [2 * n]));
  }
  /**
   * Swaps i and j.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const w = ComplexVi([[1, 0], [0, 1]]).mul(ComplexVj([[2, 0]])).t(); // now indexed (j, i)
   * const out = await w.sum(1); // Σ over the old i
   * assert.deepEqual(Array.from(out.data), [2, 2]);
   * ```
   */
  t(): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.t());
  }

  /**
   * Σ over i (dim = batch dims) or j (dim = batch dims + 1): an interleaved array (…, rows, 2n),
   * as pykeops's `z.sum(dim)`; `sum(-1)` (or no dim) sums the entries of the vector instead.
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = ComplexVi([[1, 1]]).mul(ComplexVj([[1, 0], [0, 1]])); // (1 + i)·1, (1 + i)·i
   * const out = await z.sum(1); // Σ_j: 0 + 2i
   * assert.deepEqual(Array.from(out.data), [0, 2]);
   * ```
   */
  sum(dim?: -1): ComplexLazyTensor;
  /** The Sum reduction over i or j: an interleaved array. */
  sum(dim: number, options?: CallOptions): Promise<NDArray>;
  sum(dim?: number, options?: CallOptions): ComplexLazyTensor | Promise<NDArray> {
    if (dim === undefined || dim === -1) return this.sumEntries();
    return (this.lazy as LazyTensor<false>).sum(dim, options);
  }

  /**
   * The same, restricted to the pairs that KeOps's ranges keep (see `LazyTensor.withRanges`).
   *
   * @example
   * ```ts
   * import { ComplexVi, ComplexVj, Vi } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const blocks = [[0, 1], [1, 2]];
   * const z = ComplexVi([[1, 0], [0, 1]]).mul(ComplexVj([[1, 0], [1, 0]]));
   * // Row block k sees term block k only.
   * const out = await z.withRanges([blocks, [1, 2], blocks, blocks, [1, 2], blocks]).sum(1);
   * assert.deepEqual(Array.from(out.data), [1, 0, 0, 1]);
   * ```
   */
  withRanges(ranges: Parameters<LazyTensor["withRanges"]>[0]): ComplexLazyTensor {
    return new ComplexLazyTensor(this.lazy.withRanges(ranges));
  }
}

/**
 * An i-indexed complex variable from interleaved values: z of shape (…, M, 2n).
 *
 * @example
 * ```ts
 * import { ComplexVi, ComplexVj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * // Σ_j z_i · w_j with z = [1 + 2i], w = [i, 1].
 * const s = await ComplexVi([[1, 2]]).mul(ComplexVj([[0, 1], [1, 0]])).sum(1);
 * assert.ok(Array.from(s.data).join() === "-1,3"); // (1+2i)(1+i) = −1 + 3i
 * ```
 */
export function ComplexVi(z: Wrapped): ComplexLazyTensor {
  return new ComplexLazyTensor(evenDim(Vi(z), "ComplexVi"));
}

/**
 * A j-indexed complex variable: w of shape (…, N, 2n).
 *
 * @example
 * ```ts
 * import { ComplexVi, ComplexVj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const a = await ComplexVj([[3, 4]]).abs().mul(ComplexVi([[1, 0]]).real).sum(1);
 * assert.ok(a.data[0] === 5);
 * ```
 */
export function ComplexVj(w: Wrapped): ComplexLazyTensor {
  return new ComplexLazyTensor(evenDim(Vj(w), "ComplexVj"));
}

/**
 * A complex parameter: p of shape (…, 2n), or `[re, im]`.
 *
 * @example
 * ```ts
 * import { ComplexPm, ComplexVi } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const s = await ComplexVi([[1, 1]]).div(ComplexPm([0, 2])).sum(1); // (1 + i) / 2i
 * assert.ok(Math.abs(s.data[0] - 0.5) < 1e-7 && Math.abs(s.data[1] + 0.5) < 1e-7);
 * ```
 */
export function ComplexPm(p: Wrapped): ComplexLazyTensor {
  return new ComplexLazyTensor(evenDim(Pm(p), "ComplexPm"));
}
