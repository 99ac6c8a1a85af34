/**
 * `LazyTensor`: symbolic matrices, as pykeops's. `Vi(x)`, `Vj(y)` and `Pm(p)` wrap arrays as
 * i-indexed variables, j-indexed variables and parameters; every method records a formula; a
 * reduction over i or j (`sum(dim)`, `argKmin(K, dim)`, `logsumexp(dim)`, …) runs it and returns
 * a promise of an array. Nothing of size M×N is ever built.
 *
 * Inside, the formula is a tree whose variables carry a unique id; at a reduction (and in
 * `formula`) they are renumbered 0, 1, … in the order the tensors were combined, as KeOps does.
 *
 * @module
 */

import type { Node } from "../formula/tree.ts";
import { make } from "../formula/ops.ts";
import { binary, power } from "../formula/parse.ts";
import { printFormula } from "../formula/print.ts";
import type { ReductionName } from "../formula/reductions.ts";
import {
  type AccuracyOptions,
  type CallOptions,
  checkAccuracy,
  type GenredRoutine,
  inputSpec,
  routineFromTrees,
} from "./genred.ts";

/** The options of a LazyTensor reduction: its call's, and the accuracy of its sums. */
export type ReduceOptions = CallOptions & AccuracyOptions;
import { isNDArray, type NDArray } from "./ndarray.ts";
import { type Leaf, Pm, ROLE, shapeOf, Vj, type Wrapped } from "./variables.ts";
import { kernelSolver, SOLVE_OPTIONS, type SolveOptions, type SolveResult } from "./solve.ts";
import { type Ranges, swapAxes } from "./ranges.ts";
import { ComplexLazyTensor } from "./complex.ts";
import { foreignOf } from "./foreign.ts";
import { checkOptions, show } from "../formula/errors.ts";

/**
 * A number or a LazyTensor: what binary methods accept, as KeOps accepts Python scalars. `T`
 * tells whether the LazyTensor is symbolic (built on `Vi(ind, dim)` and the like).
 */
export type Operand<T extends boolean = boolean> = LazyTensor<T> | number | number[];

/** Whether a combination of LazyTensors is symbolic: if any of them is. */
export type Or<A extends boolean, B extends boolean> = [A] extends [true] ? true
  : [B] extends [true] ? true
  : [A] extends [false] ? B
  : boolean;

/**
 * What a reduction of a LazyTensor gives: a promise of its result; for a symbolic one (no data),
 * the routine that takes the arrays in position order, as pykeops.
 */
export type Reduced<S extends boolean, Out extends NDArray | [NDArray, NDArray] = NDArray> = [S] extends
  [true] ? GenredRoutine<Out>
  : [S] extends [false] ? Promise<Out>
  : Promise<Out> | GenredRoutine<Out>;

/** The reductions of a LazyTensor computed synchronously (`LazyTensor.sync`): results, not promises. */
export interface SyncReductions {
  /** Σ over i (dim = batch dims) or j (dim = batch dims + 1). */
  sum(dim: number, options?: ReduceOptions): NDArray;
  /** Min over the reduced index. */
  min(dim: number, options?: ReduceOptions): NDArray;
  /** Max over the reduced index. */
  max(dim: number, options?: ReduceOptions): NDArray;
  /** ArgMin over the reduced index (the smallest index on ties). */
  argmin(dim: number, options?: ReduceOptions): NDArray;
  /** ArgMax over the reduced index (the smallest index on ties). */
  argmax(dim: number, options?: ReduceOptions): NDArray;
  /** Min and ArgMin. */
  minArgmin(dim: number, options?: ReduceOptions): [NDArray, NDArray];
  /** Max and ArgMax. */
  maxArgmax(dim: number, options?: ReduceOptions): [NDArray, NDArray];
  /** The K smallest values. */
  kmin(K: number, dim: number, options?: ReduceOptions): NDArray;
  /** The indices of the K smallest values. */
  argKmin(K: number, dim: number, options?: ReduceOptions): NDArray;
  /** The K smallest values and their indices. */
  kminArgKmin(K: number, dim: number, options?: ReduceOptions): [NDArray, NDArray];
  /** log Σ exp(this) (times a weight, if given). */
  logsumexp(dim: number, weight?: Operand, options?: ReduceOptions): NDArray;
  /** Σ softmax(this)·weight. */
  sumsoftmaxweight(weight: Operand, dim: number, options?: ReduceOptions): NDArray;
  /** K @ b for a scalar K. */
  matvec(b: Wrapped, options?: ReduceOptions): NDArray;
}

/**
 * A symbolic matrix K_ij (plus batch dimensions), reduced on demand. `S` is true for a
 * LazyTensor built on symbolic variables (`Vi(ind, dim)`, …): its reductions are routines.
 *
 * @example
 * ```ts
 * import { type LazyTensorClass, Vi, Vj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const K: LazyTensorClass<false> = Vi([[0], [1]]).sqdist(Vj([[0], [2], [3]])).neg().exp();
 * assert.deepEqual(K.shape, [2, 3]);
 * const a = await K.sum(1); // Σ_j K_ij, never the 2 × 3 matrix
 * assert.ok(Math.abs(a.data[0] - (1 + Math.exp(-4) + Math.exp(-9))) < 1e-6);
 * ```
 */
export class LazyTensor<S extends boolean = boolean> {
  /** (Type-level only: whether this LazyTensor is symbolic.) */
  declare private readonly symbolic?: S;
  /** The formula tree (its variables by unique id until a reduction numbers them). */
  readonly tree: Node;
  /** The variables, by id. */
  readonly leaves: ReadonlyMap<number, Leaf>;
  /** Block-sparse: the ranges its reductions use (see `withRanges`). */
  readonly ranges?: Ranges;
  /** @internal */
  constructor(tree: Node, leaves: ReadonlyMap<number, Leaf>, ranges?: Ranges) {
    this.tree = tree;
    this.leaves = leaves;
    this.ranges = ranges;
  }

  /**
   * The same LazyTensor restricted to the pairs that KeOps's ranges 6-tuple keeps (pykeops's
   * `K.ranges = …`): its reductions, `matvec` and `solve` skip the others. Pass undefined to
   * drop them. A call's own `ranges` option overrides these.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = [[0], [1], [10], [11]];
   * const K = Vi(x).sqdist(Vj(x)).neg().exp();
   * // Two clusters, {0, 1} and {2, 3}, that only see themselves.
   * const blocks = [[0, 2], [2, 4]];
   * const sparse = K.withRanges([blocks, [1, 2], blocks, blocks, [1, 2], blocks]);
   * const s = await sparse.sum(1);
   * assert.ok(Math.abs(s.data[0] - (1 + Math.exp(-1))) < 1e-6);
   * ```
   */
  withRanges(ranges: Ranges | undefined): LazyTensor<S> {
    return new LazyTensor(this.tree, this.leaves, ranges);
  }

  // ---- bookkeeping ---------------------------------------------------------------------------

  /** An operand as a LazyTensor: integers as IntCst, other numbers and lists as parameters. */
  private lift(x: Operand): LazyTensor<never> {
    if (x instanceof LazyTensor) return x as LazyTensor<never>;
    if (typeof x === "number") {
      if (Number.isInteger(x)) return new LazyTensor(make("IntCst", [], [x]), new Map());
      return Pm(x) as LazyTensor<never>;
    }
    if (Array.isArray(x)) return Pm(x) as LazyTensor<never>;
    throw new TypeError(`Expected a LazyTensor or a number, got ${typeof x}`);
  }

  /** A LazyTensor of `tree` over this one's variables and the others' (ranges kept). */
  private with(tree: Node, ...others: LazyTensor[]): LazyTensor<never> {
    const leaves = new Map(this.leaves);
    for (const o of others) for (const [k, v] of o.leaves) leaves.set(k, v);
    return new LazyTensor(tree, leaves, this.ranges ?? others.find((o) => o.ranges)?.ranges);
  }

  /** @internal The operation `name` of the table on this and `others` (for `complex.ts`). */
  op(name: string, others: Operand[] = [], params: (number | number[])[] = []): LazyTensor<never> {
    const ts = others.map((o) => this.lift(o));
    return this.with(make(name, [this.tree, ...ts.map((t) => t.tree)], params), ...ts);
  }

  /** The binary operation of KeOps's infix symbol `sym` on this and `other`. */
  private bin(sym: string, other: Operand): LazyTensor<never> {
    const t = this.lift(other);
    return this.with(binary(sym, this.tree, t.tree), t);
  }

  /**
   * The variables by position, and the tree renumbered by position: in join order, or for a
   * symbolic LazyTensor by the positions the user gave (each position once, none missing).
   */
  private numbered(extra: Node[] = []): { trees: Node[]; leaves: Leaf[] } {
    const order = [...this.leaves.keys()];
    const all = order.map((id) => this.leaves.get(id)!);
    const symbolic = all.filter((l) => l.ind !== undefined).length;
    let index: Map<number, number>, leaves: Leaf[];
    if (symbolic === 0) {
      index = new Map(order.map((id, k) => [id, k]));
      leaves = all;
    } else {
      if (symbolic !== all.length) {
        throw new TypeError(
          "This LazyTensor mixes symbolic variables (Vi(ind, dim), …) with variables holding data: build them all one way",
        );
      }
      index = new Map(order.map((id) => [id, this.leaves.get(id)!.ind!]));
      const byInd = new Map<number, Leaf>();
      for (const l of all) {
        const prev = byInd.get(l.ind!);
        if (prev && (prev.cat !== l.cat || prev.dim !== l.dim)) {
          throw new TypeError(
            `Position ${l.ind} is declared twice: as ${ROLE[prev.cat]}(${l.ind},${prev.dim}) and as ${
              ROLE[l.cat]
            }(${l.ind},${l.dim})`,
          );
        }
        byInd.set(l.ind!, l);
      }
      const n = Math.max(...byInd.keys()) + 1;
      leaves = Array.from({ length: n }, (_, k) => {
        const l = byInd.get(k);
        if (!l) {
          throw new TypeError(`No symbolic variable is at position ${k}: positions must be 0 … ${n - 1}`);
        }
        return l;
      });
    }
    const renumber = (n: Node): Node => {
      if (n.op === "Var" && index.has(n.params[0] as number)) {
        return make("Var", [], [index.get(n.params[0] as number)!, n.dim, n.params[2]], n.label);
      }
      const args = n.args.map(renumber);
      return args.every((a, k) => a === n.args[k]) ? n : make(n.op, args, n.params);
    };
    return { trees: [this.tree, ...extra].map(renumber), leaves };
  }

  /**
   * The canonical KeOps text of the formula, variables numbered in join order.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * assert.equal(Vi([[1, 2]]).sqdist(Vj([[0, 0]])).formula, "SqDist(Var(0,2,0),Var(1,2,1))");
   * ```
   */
  get formula(): string {
    return printFormula(this.numbered().trees[0]);
  }

  /**
   * The vector dimension of the formula.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * assert.equal(Vi([[1, 2]]).sub(Vj([[0, 0]])).ndim, 2);
   * ```
   */
  get ndim(): number {
    return this.tree.dim;
  }

  /** The broadcast batch shape of the variables. */
  private get batchShape(): number[] {
    const nb = Math.max(0, ...[...this.leaves.values()].map((l) => l.batch.length));
    const out = new Array(nb).fill(1);
    for (const l of this.leaves.values()) {
      l.batch.forEach((d, k) => {
        const x = nb - l.batch.length + k;
        if (d !== 1) out[x] = d;
      });
    }
    return out;
  }

  /** The rows of the i- (cat 0) or j-variables (cat 1); 1 without any. */
  private rowsOf(cat: 0 | 1): number {
    for (const l of this.leaves.values()) if (l.cat === cat) return l.rows;
    return 1;
  }

  /**
   * `[…batch, M, N]`, followed by the vector dimension when it is not 1 (as pykeops).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * assert.deepEqual(Vi([[1], [2]]).sub(Vj([[0], [1], [2]])).shape, [2, 3]);
   * ```
   */
  get shape(): number[] {
    const s = [...this.batchShape, this.rowsOf(0), this.rowsOf(1)];
    return this.ndim === 1 ? s : [...s, this.ndim];
  }

  /**
   * The KeOps-style description.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * assert.match(String(Vi([[1]]).exp()), /KeOps LazyTensor/);
   * ```
   */
  toString(): string {
    return `KeOps LazyTensor\n    formula: ${this.formula}\n    shape: (${this.shape.join(", ")})`;
  }

  /**
   * Swaps i and j (KeOps's `K.t()`).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const K = Vi([[1], [2]]).sub(Vj([[10], [20], [30]]));
   * assert.deepEqual(K.t().shape, [3, 2]);
   * const s = await K.t().sum(1); // Σ_i (y_j − x_i)... of the transpose: Σ over its j, the old i
   * assert.ok(Math.abs(s.data[0] - ((1 - 10) + (2 - 10))) < 1e-5);
   * ```
   */
  t(): LazyTensor<S> {
    const swap = (n: Node): Node => {
      if (n.op === "Var") {
        const cat = n.params[2] as number;
        return cat < 2 ? make("Var", [], [n.params[0], n.dim, 1 - cat]) : n;
      }
      return make(n.op, n.args.map(swap), n.params);
    };
    const leaves = new Map(
      [...this.leaves].map(([k, l]) => [k, { ...l, cat: (l.cat < 2 ? 1 - l.cat : 2) as 0 | 1 | 2 }]),
    );
    return new LazyTensor(swap(this.tree), leaves, this.ranges && swapAxes(this.ranges));
  }

  // ---- arithmetic ----------------------------------------------------------------------------

  /**
   * this + other.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).add(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x + y), 0))) < 1e-5);
   * ```
   */
  add<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin("+", other);
  }
  /**
   * this − other.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).sub(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x - y), 0))) < 1e-5);
   * ```
   */
  sub<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin("-", other);
  }
  /**
   * this · other (a scalar broadcasts over a vector).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).mul(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x * y), 0))) < 1e-5);
   * ```
   */
  mul<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin("*", other);
  }
  /**
   * this / other.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).div(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x / y), 0))) < 1e-5);
   * ```
   */
  div<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin("/", other);
  }
  /**
   * −this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).neg().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (-x)) < 1e-5);
   * ```
   */
  neg(): LazyTensor<S> {
    return this.op("Minus");
  }
  /**
   * this ** n: Square for 2, Pow for integers, Sqrt/Rsqrt for ±0.5, Powf otherwise.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[3]]).pow(2).add(Vi([[4]]).pow(0.5)).sum(1);
   * assert.ok(Math.abs(out.data[0] - (9 + 2)) < 1e-5);
   * ```
   */
  pow(n: number): LazyTensor<S> {
    if (typeof n !== "number") throw new TypeError(`LazyTensor.pow expects a number, got ${typeof n}`);
    if (Number.isInteger(n) || n === 0.5 || n === -0.5) return this.with(power(this.tree, n));
    return this.op("Powf", [n]);
  }
  /**
   * this ** other, for any exponent formula.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).powf(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x ** y), 0))) < 1e-5);
   * ```
   */
  powf<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.op("Powf", [other]);
  }
  /**
   * ⟨this, other⟩ over the vector dimension (KeOps `|`).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[1, 2]]).dot(Vj([[3, 4], [1, 0]])).sum(1);
   * assert.ok(Math.abs(out.data[0] - ((3 + 8) + 1)) < 1e-5);
   * ```
   */
  dot<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin("|", other);
  }
  /**
   * 1 where this < other, else 0.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).lt(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x < y ? 1 : 0), 0))) < 1e-5);
   * ```
   */
  lt<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin("<", other);
  }
  /**
   * 1 where this > other, else 0.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).gt(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x > y ? 1 : 0), 0))) < 1e-5);
   * ```
   */
  gt<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin(">", other);
  }
  /**
   * 1 where this ≤ other, else 0.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).le(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x <= y ? 1 : 0), 0))) < 1e-5);
   * ```
   */
  le<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin("<=", other);
  }
  /**
   * 1 where this ≥ other, else 0.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).ge(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x >= y ? 1 : 0), 0))) < 1e-5);
   * ```
   */
  ge<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin(">=", other);
  }
  /**
   * 1 where this == other, else 0.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).eq(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x === y ? 1 : 0), 0))) < 1e-5);
   * ```
   */
  eq<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin("==", other);
  }
  /**
   * 1 where this ≠ other, else 0.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).ne(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (x !== y ? 1 : 0), 0))) < 1e-5);
   * ```
   */
  ne<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.bin("!=", other);
  }

  // ---- to complex (see complex.ts) -----------------------------------------------------------

  /**
   * this + 0i, a complex LazyTensor (KeOps's Real2Complex).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const z = Vi([[2]]).real2complex(); // 2 + 0i
   * const out = await z.mul(Vi([[0]]).imag2complex().add(1)).sum(1); // (2)(1 + 0i)
   * assert.deepEqual(Array.from(out.data), [2, 0]);
   * ```
   */
  real2complex(): ComplexLazyTensor {
    return new ComplexLazyTensor(this.op("Real2Complex"));
  }
  /**
   * 0 + i·this (KeOps's Imag2Complex).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[3]]).imag2complex().sum(1); // 0 + 3i, interleaved
   * assert.deepEqual(Array.from(out.data), [0, 3]);
   * ```
   */
  imag2complex(): ComplexLazyTensor {
    return new ComplexLazyTensor(this.op("Imag2Complex"));
  }
  /**
   * e^{i·this} = cos(this) + i sin(this) (KeOps's ComplexExp1j).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[Math.PI / 2]]).exp1j().sum(1); // e^{iπ/2} = i
   * assert.ok(Math.abs(out.data[0] - (0)) < 1e-5);
   * assert.ok(Math.abs(out.data[1] - (1)) < 1e-5);
   * ```
   */
  exp1j(): ComplexLazyTensor {
    return new ComplexLazyTensor(this.op("ComplexExp1j"));
  }

  // ---- element-wise functions ----------------------------------------------------------------

  /**
   * this².
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).square().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (x * x)) < 1e-5);
   * ```
   */
  square(): LazyTensor<S> {
    return this.op("Square");
  }
  /**
   * √this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).sqrt().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.sqrt(x))) < 1e-5);
   * ```
   */
  sqrt(): LazyTensor<S> {
    return this.op("Sqrt");
  }
  /**
   * 1/√this (0 at 0).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).rsqrt().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (1 / Math.sqrt(x))) < 1e-5);
   * ```
   */
  rsqrt(): LazyTensor<S> {
    return this.op("Rsqrt");
  }
  /**
   * 1/this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).inv().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (1 / x)) < 1e-5);
   * ```
   */
  inv(): LazyTensor<S> {
    return this.op("Inv");
  }
  /**
   * e^this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).exp().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.exp(x))) < 1e-5);
   * ```
   */
  exp(): LazyTensor<S> {
    return this.op("Exp");
  }
  /**
   * log this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).log().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.log(x))) < 1e-5);
   * ```
   */
  log(): LazyTensor<S> {
    return this.op("Log");
  }
  /**
   * this·log this (0 at 0).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).xlogx().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (x * Math.log(x))) < 1e-5);
   * ```
   */
  xlogx(): LazyTensor<S> {
    return this.op("XLogX");
  }
  /**
   * sin this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).sin().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.sin(x))) < 1e-5);
   * ```
   */
  sin(): LazyTensor<S> {
    return this.op("Sin");
  }
  /**
   * cos this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).cos().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.cos(x))) < 1e-5);
   * ```
   */
  cos(): LazyTensor<S> {
    return this.op("Cos");
  }
  /**
   * arcsin this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).asin().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.asin(x))) < 1e-5);
   * ```
   */
  asin(): LazyTensor<S> {
    return this.op("Asin");
  }
  /**
   * arccos this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).acos().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.acos(x))) < 1e-5);
   * ```
   */
  acos(): LazyTensor<S> {
    return this.op("Acos");
  }
  /**
   * arctan this.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).atan().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.atan(x))) < 1e-5);
   * ```
   */
  atan(): LazyTensor<S> {
    return this.op("Atan");
  }
  /**
   * atan2(this, x).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.5, ys = [0.25, 0.5, 2];
   * const out = await Vi([[x]]).atan2(Vj(ys.map((y) => [y]))).sum(1); // Σ_j
   * assert.ok(Math.abs(out.data[0] - (ys.reduce((s, y) => s + (Math.atan2(x, y)), 0))) < 1e-5);
   * ```
   */
  atan2<T extends boolean = false>(x: Operand<T>): LazyTensor<Or<S, T>> {
    return this.op("Atan2", [x]);
  }
  /**
   * sin(this)/this (1 at 0).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).sinxdivx().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.sin(x) / x)) < 1e-5);
   * ```
   */
  sinxdivx(): LazyTensor<S> {
    return this.op("SinXDivX");
  }
  /**
   * sin(πx)/(πx), as pykeops's `sinc`.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = 0.3;
   * const out = await Vi([[x]]).sinc().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.sin(Math.PI * x) / (Math.PI * x))) < 1e-5);
   * ```
   */
  sinc(): LazyTensor<S> {
    return (this.mul(Math.PI) as LazyTensor).op("SinXDivX");
  }
  /**
   * |this|.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = -0.3;
   * const out = await Vi([[x]]).abs().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.abs(x))) < 1e-5);
   * ```
   */
  abs(): LazyTensor<S> {
    return this.op("Abs");
  }
  /**
   * max(this, 0).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = -0.3;
   * const out = await Vi([[x]]).relu().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.max(x, 0))) < 1e-5);
   * ```
   */
  relu(): LazyTensor<S> {
    return this.op("ReLU");
  }
  /**
   * −1, 0 or 1.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = -0.3;
   * const out = await Vi([[x]]).sign().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.sign(x))) < 1e-5);
   * ```
   */
  sign(): LazyTensor<S> {
    return this.op("Sign");
  }
  /**
   * 0 where this < 0, else 1.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = -0.3;
   * const out = await Vi([[x]]).step().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (x < 0 ? 0 : 1)) < 1e-5);
   * ```
   */
  step(): LazyTensor<S> {
    return this.op("Step");
  }
  /**
   * ⌊this⌋.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = -0.3;
   * const out = await Vi([[x]]).floor().sum(1); // one row, no j: the value itself
   * assert.ok(Math.abs(out.data[0] - (Math.floor(x))) < 1e-5);
   * ```
   */
  floor(): LazyTensor<S> {
    return this.op("Floor");
  }
  /**
   * Rounded to d decimals, ties away from zero.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[2.345]]).round(1).sum(1);
   * assert.ok(Math.abs(out.data[0] - (2.3)) < 1e-5);
   * ```
   */
  round(d = 0): LazyTensor<S> {
    return this.op("Round", [], [d]);
  }
  /**
   * this clamped to [a, b] (ClampInt when both are integers, as pykeops).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[-2], [0.5], [3]]).clamp(0, 1).sum(0); // Σ_i over rows
   * assert.ok(Math.abs(out.data[0] - (0 + 0.5 + 1)) < 1e-5);
   * ```
   */
  clamp<T extends boolean = false, U extends boolean = false>(
    a: Operand<T>,
    b: Operand<U>,
  ): LazyTensor<Or<S, Or<T, U>>> {
    if (Number.isInteger(a) && Number.isInteger(b)) {
      return this.op("ClampInt", [], [a as number, b as number]);
    }
    return this.op("Clamp", [a, b]);
  }
  /**
   * a where this ≥ 0, b elsewhere.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[-1], [2]]).ifelse(10, 20).sum(0);
   * assert.ok(Math.abs(out.data[0] - (20 + 10)) < 1e-5);
   * ```
   */
  ifelse<T extends boolean = false, U extends boolean = false>(
    a: Operand<T>,
    b: Operand<U>,
  ): LazyTensor<Or<S, Or<T, U>>> {
    return this.op("IfElse", [a, b]);
  }
  /**
   * this − n·⌊(this − d)/n⌋, in [d, d+n).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[7.5]]).mod(2).sum(1);
   * assert.ok(Math.abs(out.data[0] - (7.5 % 2)) < 1e-5);
   * ```
   */
  mod<T extends boolean = false, U extends boolean = false>(
    n: Operand<T>,
    d: Operand<U> = 0,
  ): LazyTensor<Or<S, Or<T, U>>> {
    return this.op("Mod", [n, d]);
  }

  // ---- vector operations ---------------------------------------------------------------------

  /** Σ over the vector dimension with no argument or −1; with `dim` a reduction over i or j. */
  /**
   * Over the vector dimension (no argument, or −1): a LazyTensor.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const K = Vi([[1], [2]]).mul(Vj([[10], [20]]));
   * const rows = await K.sum(1), cols = await K.sum(0); // Σ_j, Σ_i
   * assert.deepEqual([Array.from(rows.data), Array.from(cols.data)], [[30, 60], [30, 60]]);
   * const v = await Vi([[1, 2, 3]]).sum().sum(1); // sum() alone: over the vector
   * assert.equal(v.data[0], 6);
   * ```
   */
  sum(dim?: -1): LazyTensor<S>;
  /** The sum reduction over i (dim = batch dims) or j (dim = batch dims + 1). */
  sum(dim: number, options?: ReduceOptions): Reduced<S>;
  sum(dim?: number, options?: ReduceOptions): LazyTensor<S> | Reduced<S> {
    return dim === undefined || dim === -1 ? this.op("Sum") : this.reduce("Sum", dim, options);
  }
  /** Smallest component; with `dim`, the Min reduction. */
  /**
   * Over the vector dimension (no argument, or −1): a LazyTensor.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[0], [5]]).sqdist(Vj([[1], [4]])).min(1);
   * assert.deepEqual(Array.from(out.data), [1, 1]);
   * const v = await Vi([[3, 1, 2]]).min().sum(1); // over the vector
   * assert.equal(v.data[0], 1);
   * ```
   */
  min(dim?: -1): LazyTensor<S>;
  /** The min reduction over i (dim = batch dims) or j (dim = batch dims + 1). */
  min(dim: number, options?: ReduceOptions): Reduced<S>;
  min(dim?: number, options?: ReduceOptions): LazyTensor<S> | Reduced<S> {
    return dim === undefined || dim === -1 ? this.op("Min") : this.reduce("Min", dim, options);
  }
  /** Largest component; with `dim`, the Max reduction. */
  /**
   * Over the vector dimension (no argument, or −1): a LazyTensor.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[0], [5]]).sqdist(Vj([[1], [4]])).max(1);
   * assert.deepEqual(Array.from(out.data), [16, 16]);
   * const v = await Vi([[3, 1, 2]]).max().sum(1);
   * assert.equal(v.data[0], 3);
   * ```
   */
  max(dim?: -1): LazyTensor<S>;
  /** The max reduction over i (dim = batch dims) or j (dim = batch dims + 1). */
  max(dim: number, options?: ReduceOptions): Reduced<S>;
  max(dim?: number, options?: ReduceOptions): LazyTensor<S> | Reduced<S> {
    return dim === undefined || dim === -1 ? this.op("Max") : this.reduce("Max", dim, options);
  }
  /** Index of the smallest component; with `dim`, the ArgMin reduction (int32). */
  /**
   * Over the vector dimension (no argument, or −1): a LazyTensor.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[0], [5]]).sqdist(Vj([[1], [4]])).argmin(1);
   * assert.deepEqual(Array.from(out.data), [0, 1]);
   * const v = await Vi([[3, 1, 2]]).argmin().sum(1);
   * assert.equal(v.data[0], 1);
   * ```
   */
  argmin(dim?: -1): LazyTensor<S>;
  /** The argmin reduction over i (dim = batch dims) or j (dim = batch dims + 1). */
  argmin(dim: number, options?: ReduceOptions): Reduced<S>;
  argmin(dim?: number, options?: ReduceOptions): LazyTensor<S> | Reduced<S> {
    return dim === undefined || dim === -1 ? this.op("ArgMin") : this.reduce("ArgMin", dim, options);
  }
  /** Index of the largest component; with `dim`, the ArgMax reduction (int32). */
  /**
   * Over the vector dimension (no argument, or −1): a LazyTensor.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[0], [5]]).sqdist(Vj([[1], [4]])).argmax(1);
   * assert.deepEqual(Array.from(out.data), [1, 0]);
   * const v = await Vi([[3, 1, 2]]).argmax().sum(1);
   * assert.equal(v.data[0], 0);
   * ```
   */
  argmax(dim?: -1): LazyTensor<S>;
  /** The argmax reduction over i (dim = batch dims) or j (dim = batch dims + 1). */
  argmax(dim: number, options?: ReduceOptions): Reduced<S>;
  argmax(dim?: number, options?: ReduceOptions): LazyTensor<S> | Reduced<S> {
    return dim === undefined || dim === -1 ? this.op("ArgMax") : this.reduce("ArgMax", dim, options);
  }
  /**
   * this[m].
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[4, 5, 6]]).elem(1).sum(1);
   * assert.equal(out.data[0], 5);
   * ```
   */
  elem(m: number): LazyTensor<S> {
    return this.op("Elem", [], [m]);
  }
  /**
   * this[start : start + d].
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[4, 5, 6]]).extract(1, 2).sum(1);
   * assert.deepEqual(Array.from(out.data), [5, 6]);
   * ```
   */
  extract(start: number, d: number): LazyTensor<S> {
    return this.op("Extract", [], [start, d]);
  }
  /**
   * [this, other].
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[1]]).concat(Vj([[2, 3]])).sum(1);
   * assert.deepEqual(Array.from(out.data), [1, 2, 3]);
   * ```
   */
  concat<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.op("Concat", [other]);
  }
  /**
   * One-hot vector of dimension D at round(this).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[2]]).oneHot(4).sum(1);
   * assert.deepEqual(Array.from(out.data), [0, 0, 1, 0]);
   * ```
   */
  oneHot(D: number): LazyTensor<S> {
    return this.op("OneHot", [], [D]);
  }
  /**
   * |this − other|².
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[0, 0]]).sqdist(Vj([[3, 4], [1, 1]])).sum(1);
   * assert.ok(Math.abs(out.data[0] - (25 + 2)) < 1e-5);
   * ```
   */
  sqdist<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.op("SqDist", [other]);
  }
  /**
   * |this|².
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[3, 4]]).sqnorm2().sum(1);
   * assert.ok(Math.abs(out.data[0] - (25)) < 1e-5);
   * ```
   */
  sqnorm2(): LazyTensor<S> {
    return this.op("SqNorm2");
  }
  /**
   * |this|.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[3, 4]]).norm2().sum(1);
   * assert.ok(Math.abs(out.data[0] - (5)) < 1e-5);
   * ```
   */
  norm2(): LazyTensor<S> {
    return this.op("Norm2");
  }
  /**
   * this / |this| (0 at 0).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[3, 4]]).normalize().sum(1);
   * assert.ok(Math.abs(out.data[0] - (0.6)) < 1e-5);
   * assert.ok(Math.abs(out.data[1] - (0.8)) < 1e-5);
   * ```
   */
  normalize(): LazyTensor<S> {
    return this.op("Normalize");
  }
  /**
   * WeightedSqNorm(s, this): s of dimension 1, d or d².
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[1, 2]]).weightedSqnorm(Vj([[2, 3]])).sum(1); // Σ_k s_k x_k²
   * assert.ok(Math.abs(out.data[0] - (2 * 1 + 3 * 4)) < 1e-5);
   * ```
   */
  weightedSqnorm<T extends boolean = false>(s: Operand<T>): LazyTensor<Or<S, T>> {
    const w = this.lift(s);
    return this.with(make("WeightedSqNorm", [w.tree, this.tree], []), w);
  }
  /**
   * WeightedSqNorm(s, this − other).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[1, 2]]).weightedSqdist(Vj([[0, 0]]), 0.5).sum(1);
   * assert.ok(Math.abs(out.data[0] - (0.5 * (1 + 4))) < 1e-5);
   * ```
   */
  weightedSqdist<T extends boolean = false, U extends boolean = false>(
    other: Operand<T>,
    s: Operand<U>,
  ): LazyTensor<Or<S, Or<T, U>>> {
    return (this.sub(other) as LazyTensor).weightedSqnorm(s) as LazyTensor<never>;
  }
  /**
   * this (an n×p matrix, row-major) times the vector v.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const A = [[1, 2, 3, 4]]; // the 2×2 matrix [[1, 2], [3, 4]], row-major
   * const out = await Vi(A).matvecmult(Vj([[1, 1]])).sum(1);
   * assert.deepEqual(Array.from(out.data), [3, 7]);
   * ```
   */
  matvecmult<T extends boolean = false>(v: Operand<T>): LazyTensor<Or<S, T>> {
    return this.op("MatVecMult", [v]);
  }
  /**
   * this (a vector) times the matrix A (row-major).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[1, 1]]).vecmatmult(Vj([[1, 2, 3, 4]])).sum(1);
   * assert.deepEqual(Array.from(out.data), [4, 6]);
   * ```
   */
  vecmatmult<T extends boolean = false>(A: Operand<T>): LazyTensor<Or<S, T>> {
    return this.op("VecMatMult", [A]);
  }
  /**
   * Outer product, row-major.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[1, 2]]).tensorprod(Vj([[3, 4]])).sum(1);
   * assert.deepEqual(Array.from(out.data), [3, 4, 6, 8]);
   * ```
   */
  tensorprod<T extends boolean = false>(other: Operand<T>): LazyTensor<Or<S, T>> {
    return this.op("TensorProd", [other]);
  }
  /**
   * KeOps's TensorDot(this, other, dimsf, dimsg, contf, contg[, permute]).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * // A 2×2 matrix times a vector: contract the matrix's axis 1 with the vector's axis 0.
   * const out = await Vi([[1, 2, 3, 4]]).tensordot(Vj([[1, 1]]), [2, 2], [2], [1], [0]).sum(1);
   * assert.deepEqual(Array.from(out.data), [3, 7]);
   * ```
   */
  tensordot<T extends boolean = false>(
    other: Operand<T>,
    dimsf: number[],
    dimsg: number[],
    contf: number[],
    contg: number[],
    permute?: number[],
  ): LazyTensor<Or<S, T>> {
    return this.op(
      "TensorDot",
      [other],
      permute ? [dimsf, dimsg, contf, contg, permute] : [dimsf, dimsg, contf, contg],
    );
  }
  /**
   * Kronecker product of this reshaped to dimsf and other reshaped to dimsg.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[1, 2]]).kron(Vj([[1, 10]]), [2], [2]).sum(1);
   * assert.deepEqual(Array.from(out.data), [1, 10, 2, 20]);
   * ```
   */
  kron<T extends boolean = false>(other: Operand<T>, dimsf: number[], dimsg: number[]): LazyTensor<Or<S, T>> {
    return this.op("Kron", [other], [dimsf, dimsg]);
  }
  /**
   * B-spline basis of this knot vector at x.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * // Order-0 B-splines on knots 0, 1, 2: the indicator of the interval that holds x.
   * const out = await Vj([[0, 1, 2]]).bspline(Vi([[1.5]]), 0).sum(1);
   * assert.deepEqual(Array.from(out.data), [0, 1]);
   * ```
   */
  bspline<T extends boolean = false>(x: Operand<T>, order = 0): LazyTensor<Or<S, T>> {
    return this.op("BSpline", [x], [order]);
  }
  /**
   * Soft-DTW between the sequences this and y with squared-difference costs.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * // Identical sequences of one step: the soft-DTW cost is their squared difference, 0.
   * const out = await Vi([[1]]).softdtwSqdist(Vj([[1]]), 0.1).sum(1);
   * assert.ok(Math.abs(out.data[0] - (0)) < 1e-5);
   * ```
   */
  softdtwSqdist<T extends boolean = false, U extends boolean = false>(
    y: Operand<T>,
    gamma: Operand<U>,
  ): LazyTensor<Or<S, Or<T, U>>> {
    return this.op("SoftDTW_SqDist", [y, gamma]);
  }

  // ---- differential operators ----------------------------------------------------------------

  /** The variable node of `v`, which a differential operator differentiates with respect to. */
  private variable(v: LazyTensor, what: string): Node {
    if (!(v instanceof LazyTensor) || v.tree.op !== "Var") {
      throw new TypeError(`LazyTensor.${what} differentiates with respect to a variable (Vi, Vj or Pm)`);
    }
    return v.tree;
  }
  /**
   * Grad(this, v, e): the gradient of ⟨this, e⟩ with respect to the variable v.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * // ∂/∂x of ⟨x², e⟩ = 2x·e.
   * const x = Vi([[3]]);
   * const out = await x.square().grad(x, 1).sum(1);
   * assert.ok(Math.abs(out.data[0] - (6)) < 1e-5);
   * ```
   */
  grad<T extends boolean = false>(v: LazyTensor, e: Operand<T>): LazyTensor<Or<S, T>> {
    const ee = this.lift(e);
    return this.with(make("Grad", [this.tree, this.variable(v, "grad"), ee.tree], []), v, ee);
  }
  /**
   * Diff(this, v, u): the derivative of this with respect to v in the direction u.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = Vi([[3]]);
   * const out = await x.square().diff(x, 1).sum(1); // d(x²)/dx · 1
   * assert.ok(Math.abs(out.data[0] - (6)) < 1e-5);
   * ```
   */
  diff<T extends boolean = false>(v: LazyTensor, u: Operand<T>): LazyTensor<Or<S, T>> {
    const uu = this.lift(u);
    return this.with(make("Diff", [this.tree, this.variable(v, "diff"), uu.tree], []), v, uu);
  }
  /**
   * Σ_k ∂this_k/∂v_k.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = Vi([[1, 2]]);
   * const out = await x.mul(x).divergence(x).sum(1); // Σ_k ∂(x_k²)/∂x_k
   * assert.ok(Math.abs(out.data[0] - (2 * 1 + 2 * 2)) < 1e-5);
   * ```
   */
  divergence(v: LazyTensor): LazyTensor<S> {
    return this.with(make("Divergence", [this.tree, this.variable(v, "divergence")], []), v);
  }
  /**
   * Σ_k ∂²this/∂v_k².
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = Vi([[1, 2]]);
   * const out = await x.sqnorm2().laplacian(x).sum(1); // Δ|x|² = 2·d
   * assert.ok(Math.abs(out.data[0] - (4)) < 1e-5);
   * ```
   */
  laplacian(v: LazyTensor): LazyTensor<S> {
    return this.with(make("Laplacian", [this.tree, this.variable(v, "laplacian")], []), v);
  }
  /**
   * The Jacobian of this with respect to v, flattened row by row.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = Vi([[1, 2]]);
   * const out = await x.mul(3).gradMatrix(x).sum(1); // the Jacobian of 3x: 3·I
   * assert.deepEqual(Array.from(out.data), [3, 0, 0, 3]);
   * ```
   */
  gradMatrix(v: LazyTensor): LazyTensor<S> {
    return this.with(make("GradMatrix", [this.tree, this.variable(v, "gradMatrix")], []), v);
  }

  // ---- reductions ----------------------------------------------------------------------------

  /** The reduction of this formula over i or j, run (or, symbolic, a routine). */
  private reduce<Out extends NDArray | [NDArray, NDArray] = NDArray>(
    reduction: ReductionName,
    dim: number,
    optionsIn: ReduceOptions = {},
    k?: number,
    weight?: LazyTensor,
    sync = false,
  ): Reduced<S, Out> {
    // The accuracy options go to the routine (as pykeops passes them to Genred), the rest to
    // its call.
    const { dtype_acc, use_double_acc, sum_scheme, ...options } = optionsIn ?? {};
    const accuracy = checkAccuracy({ dtype_acc, use_double_acc, sum_scheme }, reduction);
    const nb = this.batchShape.length;
    if (dim !== nb && dim !== nb + 1) {
      throw new RangeError(
        `A reduction dim must be ${nb} (over i) or ${
          nb + 1
        } (over j) for this LazyTensor with ${nb} batch dimensions, got ${show(dim)}`,
      );
    }
    const src = weight ? this.with(this.tree, weight) : this;
    const { trees, leaves } = src.numbered(weight ? [weight.tree] : []);
    // Inputs named as the user built them: their role, dimension and position.
    const inputs = leaves.map((l, i) =>
      inputSpec(
        l.ind !== undefined ? `${ROLE[l.cat]}(${l.ind},${l.dim})` : `${ROLE[l.cat]} #${i}`,
        l.cat,
        l.dim,
      )
    );
    const names: [string, number][] = inputs.map((s, i) => [s.label, i]);
    const routine = routineFromTrees(
      trees[0],
      trees[1],
      reduction,
      k,
      dim === nb ? 0 : 1,
      inputs,
      names,
      accuracy,
    );
    if (leaves.some((l) => l.ind !== undefined)) {
      // Symbolic: the routine itself, called with the arrays in position order.
      if (this.ranges || Object.keys(options).length) {
        throw new TypeError(
          "A symbolic LazyTensor's reduction is a routine: give its call options (backend, ranges, …) when calling it",
        );
      }
      return routine as unknown as Reduced<S, Out>;
    }
    const values = leaves.map((l) => l.value as NDArray);
    const opts = this.ranges && options.ranges === undefined ? { ...options, ranges: this.ranges } : options;
    // Built on another library's arrays (TensorFlow.js tensors): its wrapper runs the routine.
    const other = values.map(foreignOf).find((f) => f);
    if (other) return other.reduce(routine, values, opts) as Reduced<S, Out>;
    return (sync ? routine.sync(...values, opts) : routine(...values, opts)) as unknown as Reduced<S, Out>;
  }

  /**
   * The reductions of this LazyTensor, computed synchronously: each returns its result rather
   * than a promise, on the calling thread's CPU engine (backend "auto" is "cpu" here), as a
   * KeOps user's `a = K @ b` is a value.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const K = Vi([[0], [1]]).sqdist(Vj([[0], [2]])).neg().exp();
   * const a = K.sync.sum(1); // no await
   * const [v, i] = Vi([[0], [5]]).sqdist(Vj([[1], [4]])).sync.minArgmin(1);
   * assert.ok(Math.abs(a.data[0] - (1 + Math.exp(-4))) < 1e-6 && v.data[1] === 1 && i.data[1] === 1);
   * ```
   */
  get sync(): SyncReductions {
    if ([...this.leaves.values()].some((l) => l.ind !== undefined)) {
      throw new TypeError(
        "A symbolic LazyTensor's reduction is a routine: call its sync method with the arrays instead",
      );
    }
    type Out = NDArray & [NDArray, NDArray];
    const red = <O>(name: ReductionName, dim: number, o?: ReduceOptions, k?: number, w?: LazyTensor) =>
      this.reduce<Out>(name, dim, o, k, w, true) as unknown as O;
    return {
      sum: (dim, o) => red("Sum", dim, o),
      min: (dim, o) => red("Min", dim, o),
      max: (dim, o) => red("Max", dim, o),
      argmin: (dim, o) => red("ArgMin", dim, o),
      argmax: (dim, o) => red("ArgMax", dim, o),
      minArgmin: (dim, o) => red("Min_ArgMin", dim, o),
      maxArgmax: (dim, o) => red("Max_ArgMax", dim, o),
      kmin: (K, dim, o) => red("KMin", dim, o, K),
      argKmin: (K, dim, o) => red("ArgKMin", dim, o, K),
      kminArgKmin: (K, dim, o) => red("KMin_ArgKMin", dim, o, K),
      logsumexp: (dim, w, o) =>
        red(
          w === undefined ? "LogSumExp" : "LogSumExpWeight",
          dim,
          o,
          undefined,
          w === undefined ? undefined : this.lift(w),
        ),
      sumsoftmaxweight: (w, dim, o) => red("SumSoftMaxWeight", dim, o, undefined, this.lift(w)),
      matvec: (b, o) => {
        const { bj, flat } = this.matvecOperand(b);
        const out = (this.mul(bj) as LazyTensor<false>).sync.sum(this.batchShape.length + 1, o);
        return flat ? { data: out.data, shape: out.shape.slice(0, -1) } : out;
      },
    };
  }

  /** A reduction with two outputs, values and indices. */
  private reducePair(
    reduction: ReductionName,
    dim: number,
    options?: ReduceOptions,
    k?: number,
  ): Reduced<S, [NDArray, NDArray]> {
    return this.reduce<[NDArray, NDArray]>(reduction, dim, options, k);
  }

  /**
   * Min and ArgMin over i (dim = batch dims) or j (dim = batch dims + 1).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const [v, i] = await Vi([[0], [5]]).sqdist(Vj([[1], [4], [9]])).minArgmin(1);
   * assert.deepEqual([Array.from(v.data), Array.from(i.data)], [[1, 1], [0, 1]]);
   * ```
   */
  minArgmin(dim: number, options?: ReduceOptions): Reduced<S, [NDArray, NDArray]> {
    return this.reducePair("Min_ArgMin", dim, options);
  }
  /**
   * Max and ArgMax.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const [v, i] = await Vi([[0]]).sqdist(Vj([[1], [4], [2]])).maxArgmax(1);
   * assert.deepEqual([Array.from(v.data), Array.from(i.data)], [[16], [1]]);
   * ```
   */
  maxArgmax(dim: number, options?: ReduceOptions): Reduced<S, [NDArray, NDArray]> {
    return this.reducePair("Max_ArgMax", dim, options);
  }
  /**
   * The K smallest values, ascending.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[0]]).sqdist(Vj([[3], [1], [2]])).kmin(2, 1);
   * assert.deepEqual(Array.from(out.data), [1, 4]);
   * ```
   */
  kmin(K: number, dim: number, options?: ReduceOptions): Reduced<S> {
    return this.reduce("KMin", dim, options, K);
  }
  /**
   * The indices of the K smallest values (int32).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const out = await Vi([[0]]).sqdist(Vj([[3], [1], [2]])).argKmin(2, 1);
   * assert.deepEqual(Array.from(out.data), [1, 2]);
   * ```
   */
  argKmin(K: number, dim: number, options?: ReduceOptions): Reduced<S> {
    return this.reduce("ArgKMin", dim, options, K);
  }
  /**
   * The K smallest values and their indices.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const [v, i] = await Vi([[0]]).sqdist(Vj([[3], [1], [2]])).kminArgKmin(2, 1);
   * assert.deepEqual([Array.from(v.data), Array.from(i.data)], [[1, 4], [1, 2]]);
   * ```
   */
  kminArgKmin(K: number, dim: number, options?: ReduceOptions): Reduced<S, [NDArray, NDArray]> {
    return this.reducePair("KMin_ArgKMin", dim, options, K);
  }
  /**
   * log Σ exp(this), or log Σ exp(this)·weight, computed with a running maximum.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const ys = [0, 1, 2];
   * const out = await Vi([[0]]).sub(Vj(ys.map((y) => [y]))).neg().logsumexp(1); // log Σ_j e^{y_j}
   * assert.ok(Math.abs(out.data[0] - (Math.log(ys.reduce((s, y) => s + Math.exp(y), 0)))) < 1e-5);
   * ```
   */
  logsumexp(dim: number, weight?: Operand, options?: ReduceOptions): Reduced<S> {
    return this.reduce(
      weight === undefined ? "LogSumExp" : "LogSumExpWeight",
      dim,
      options,
      undefined,
      weight === undefined ? undefined : this.lift(weight),
    );
  }
  /**
   * Σ softmax(this)·weight over the reduced index.
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const ys = [0, 1], w = [10, 20];
   * const out = await Vi([[0]]).sub(Vj(ys.map((y) => [y]))).neg().sumsoftmaxweight(Vj(w.map((v) => [v])), 1);
   * assert.ok(Math.abs(out.data[0] - ((10 + 20 * Math.E) / (1 + Math.E))) < 1e-5);
   * ```
   */
  sumsoftmaxweight(weight: Operand, dim: number, options?: ReduceOptions): Reduced<S> {
    return this.reduce("SumSoftMaxWeight", dim, options, undefined, this.lift(weight));
  }

  /**
   * K @ b for a scalar K: Σ_j K_ij b_j. `b` is (N, D) or (N,) (then the result is (M,)).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const K = Vi([[0], [1]]).sqdist(Vj([[0], [1]])).neg().exp();
   * const out = await K.matvec([1, 2]); // Σ_j K_ij b_j, b of shape (N,)
   * assert.ok(Math.abs(out.data[0] - (1 + 2 * Math.exp(-1))) < 1e-5);
   * ```
   */
  matvec(b: Wrapped, options?: ReduceOptions): Promise<NDArray> {
    // Built on another library's arrays: its wrapper's matvec, synchronous as that library's ops.
    const other = [b, ...[...this.leaves.values()].map((l) => l.value)].map(foreignOf).find((f) => f);
    if (other) return other.matvec(this as LazyTensor<false>, b, options ?? {}) as Promise<NDArray>;
    try {
      const { bj, flat } = this.matvecOperand(b);
      return (this.mul(bj) as LazyTensor<false>).sum(this.batchShape.length + 1, options).then((out) =>
        flat ? { data: out.data, shape: out.shape.slice(0, -1) } : out
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The j-variable of matvec's b, of shape (N, D) or (N,) (flat). */
  private matvecOperand(b: Wrapped): { bj: LazyTensor<false>; flat: boolean } {
    if (this.ndim !== 1) {
      throw new TypeError(`LazyTensor.matvec needs a scalar LazyTensor, got dimension ${this.ndim}`);
    }
    const shape = shapeOf(b);
    const flat = shape.length === 1;
    return { bj: flat ? Vj(reshape(b, [shape[0], 1])) : Vj(b), flat };
  }

  /**
   * Solves (α·Id + K) a = b by conjugate gradient, K_ij being this scalar LazyTensor; b is
   * (M, D) and the system is square (M = N).
   *
   * @example
   * ```ts
   * import { Vi, Vj } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const x = [[0], [1], [3]], b = [[1], [2], [3]];
   * const K = Vi(x).sqdist(Vj(x)).neg().exp();
   * const a = await K.solve(b, { alpha: 0.5, eps: 1e-10 });
   * assert.ok(a.info.converged);
   * // (αI + K) a = b, checked densely.
   * const k = (p: number, q: number) => Math.exp(-((x[p][0] - x[q][0]) ** 2));
   * for (let p = 0; p < 3; p++) {
   *   const s = 0.5 * a.data[p] + [0, 1, 2].reduce((t, q) => t + k(p, q) * a.data[q], 0);
   *   assert.ok(Math.abs(s - (b[p][0])) < 1e-4);
   * }
   * ```
   */
  solve(b: Wrapped, optionsIn: SolveOptions & AccuracyOptions = {}): Promise<SolveResult> {
    checkOptions(optionsIn, [...SOLVE_OPTIONS, "dtype_acc", "use_double_acc", "sum_scheme"], "solve");
    const { dtype_acc, use_double_acc, sum_scheme, ...options } = optionsIn;
    const accuracy = checkAccuracy({ dtype_acc, use_double_acc, sum_scheme }, "Sum");
    if (this.ndim !== 1) {
      throw new TypeError(`LazyTensor.solve needs a scalar LazyTensor, got dimension ${this.ndim}`);
    }
    const shape = shapeOf(b);
    const unknown = Vj(b); // a j-variable of b's shape, replaced by the iterates
    const system = this.mul(unknown);
    const { trees, leaves } = system.numbered();
    const inputs = leaves.map((l, i) =>
      inputSpec(i === leaves.length - 1 ? "b" : `${ROLE[l.cat]} #${i}`, l.cat, l.dim)
    );
    const ind = leaves.length - 1;
    if (shape.length < 2) {
      throw new TypeError(`LazyTensor.solve expects b of shape (…batch, M, D), got [${shape}]`);
    }
    const solver = kernelSolver(trees[0], inputs, ind, 1, accuracy);
    const opts = this.ranges && options.ranges === undefined ? { ...options, ranges: this.ranges } : options;
    return solver(...leaves.map((l) => l.value as NDArray), opts);
  }
}

function reshape(x: Wrapped, shape: number[]): NDArray | number[][] {
  if (isNDArray(x)) return { data: x.data, shape };
  return (x as number[]).map((v) => [v]);
}
