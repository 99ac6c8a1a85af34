/**
 * The variables of LazyTensors: `Vi(x)`, `Vj(y)` and `Pm(p)` wrap arrays as i-indexed
 * variables, j-indexed variables and parameters (their role read from the function, their
 * batch dimensions, rows and dimension from the shape); `Vi(ind, dim)` and friends are pykeops's
 * symbolic variables, with no data, whose reductions are routines.
 *
 * @module
 */

import { make } from "../formula/ops.ts";
import { show } from "../formula/errors.ts";
import { isNDArray, type NDArray, type NestedNumbers } from "./ndarray.ts";
import { LazyTensor } from "./lazy_tensor.ts";
import { foreignOf } from "./foreign.ts";

/** What a variable wraps: an NDArray, nested numbers, or a number (parameters). */
export type Wrapped = NDArray | NestedNumbers;

/** A variable of a LazyTensor: its role, dimension, and its data or symbolic position. */
export interface Leaf {
  /** 0: i-indexed (Vi), 1: j-indexed (Vj), 2: a parameter (Pm). */
  readonly cat: 0 | 1 | 2;
  /** The vector dimension. */
  readonly dim: number;
  /** The data; undefined for a symbolic variable, which has its position `ind` instead. */
  readonly value?: Wrapped;
  /** A symbolic variable's position in its routine's arguments. */
  readonly ind?: number;
  /** Batch dims, read from the shape. */
  readonly batch: readonly number[];
  /** Rows, read from the shape (1 for parameters). */
  readonly rows: number;
}

let nextId = 0;

/** The shape of an NDArray or of nested arrays. */
export function shapeOf(x: Wrapped): number[] {
  if (isNDArray(x)) return [...x.shape];
  const other = foreignOf(x);
  if (other) return other.shape(x);
  const s: number[] = [];
  let p: unknown = x;
  while (Array.isArray(p)) {
    s.push(p.length);
    p = p[0];
  }
  return s;
}

/** The function that builds each category of variable. */
export const ROLE = ["Vi", "Vj", "Pm"] as const;

function leaf(x: Wrapped, cat: 0 | 1 | 2, what: string): LazyTensor<false> {
  const other = foreignOf(x);
  if (!other && !isNDArray(x) && typeof x !== "number" && !Array.isArray(x)) {
    throw new TypeError(`${what} expects an NDArray or nested number arrays, got ${typeof x}`);
  }
  const shape = other ? other.shape(x) : shapeOf(x);
  const need = cat === 2 ? 1 : 2;
  if (cat === 2 && shape.length === 0) shape.push(1);
  if (shape.length < need) {
    throw new TypeError(
      `${what} expects an array of shape ${
        cat === 2 ? "(…batch, d)" : "(…batch, rows, d)"
      }, got shape [${shape}]`,
    );
  }
  if (cat !== 2 && shape.length >= 3 && shape[shape.length - 2] === 1) {
    // pykeops's layout (M, 1, D) read as a batch of M one-row variables would be a silently
    // different reduction: refused, with the two ways to say what was meant.
    const flat = [...shape.slice(0, -2), shape[shape.length - 1]];
    throw new TypeError(
      `${what} got an array of shape [${shape}], pykeops's layout (…, M, 1, D): ${what} reads (…batch, rows, D), so pass shape [${flat}], or LazyTensor(x) for pykeops's layout (a batch of one-row variables is Pm of shape (…batch, D))`,
    );
  }
  const dim = shape[shape.length - 1];
  const rows = cat === 2 ? 1 : shape[shape.length - 2];
  const batch = shape.slice(0, shape.length - need);
  const id = ++nextId;
  // Labelled by its role and dimension, so that dimension errors name it as the user built it.
  const tree = make("Var", [], [id, dim, cat], `${ROLE[cat]}(${dim})`);
  return new LazyTensor(tree, new Map([[id, { cat, dim, value: x, batch, rows }]]));
}

/** A symbolic variable: position `ind` of the routine its reductions give, dimension `dim`. */
function symbolicLeaf(ind: unknown, dim: unknown, cat: 0 | 1 | 2): LazyTensor<true> {
  const what = `${ROLE[cat]}(${show(ind)}, ${show(dim)})`;
  if (!Number.isSafeInteger(ind) || (ind as number) < 0) {
    throw new TypeError(`${what}: the position must be a non-negative integer, got ${show(ind)}`);
  }
  if (!Number.isSafeInteger(dim) || (dim as number) < 1) {
    throw new TypeError(`${what}: the dimension must be a positive integer, got ${show(dim)}`);
  }
  const id = ++nextId;
  const tree = make("Var", [], [id, dim as number, cat], `${ROLE[cat]}(${ind},${dim})`);
  return new LazyTensor(
    tree,
    new Map([[id, { cat, dim: dim as number, ind: ind as number, batch: [], rows: 1 }]]),
  );
}

/**
 * An i-indexed variable: `x` of shape (M, d) or (…batch, M, d). An array of pykeops's layout
 * (…, M, 1, D) is an error, for Vi and Vj (use `LazyTensor(x)` for that layout).
 *
 * @example
 * ```ts
 * import { Vi, Vj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const D = Vi([[0, 0], [1, 1]]).sub(Vj([[1, 0], [0, 1], [2, 2]])).square().sum();
 * assert.equal(D.formula, "Sum(Square((Var(0,2,0) - Var(1,2,1))))");
 * ```
 */
export function Vi(x: Wrapped): LazyTensor<false>;
/**
 * The symbolic i-variable at position `ind` of dimension `dim` (pykeops's `Vi(ind, dim)`): the
 * reductions of a LazyTensor built on symbolic variables are routines taking the arrays in
 * position order.
 *
 * @example
 * ```ts
 * import { Vi, Vj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const nearest = Vi(0, 1).sqdist(Vj(1, 1)).argmin(1); // a routine of (x, y)
 * const nn = await nearest([[0], [5]], [[1], [4], [9]]);
 * assert.deepEqual(Array.from(nn.data), [0, 1]);
 * ```
 */
export function Vi(ind: number, dim: number): LazyTensor<true>;
export function Vi(x: Wrapped, dim?: number): LazyTensor {
  return dim === undefined ? leaf(x, 0, "Vi") : symbolicLeaf(x, dim, 0);
}

/**
 * A j-indexed variable: `y` of shape (N, d) or (…batch, N, d).
 *
 * @example
 * ```ts
 * import { Vi, Vj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const nn = await Vi([[0], [5]]).sqdist(Vj([[1], [4], [9]])).argmin(1);
 * assert.deepEqual(Array.from(nn.data), [0, 1]);
 * ```
 */
export function Vj(y: Wrapped): LazyTensor<false>;
/**
 * The symbolic j-variable at position `ind` of dimension `dim` (pykeops's `Vj(ind, dim)`).
 *
 * @example
 * ```ts
 * import { Vi, Vj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const gauss = Vi(0, 1).sqdist(Vj(1, 1)).neg().exp().mul(Vj(2, 1)).sum(1); // a routine of (x, y, b)
 * const a = await gauss([[0]], [[0], [1]], [[1], [2]]);
 * assert.ok(Math.abs(a.data[0] - (1 + 2 * Math.exp(-1))) < 1e-6);
 * ```
 */
export function Vj(ind: number, dim: number): LazyTensor<true>;
export function Vj(y: Wrapped, dim?: number): LazyTensor {
  return dim === undefined ? leaf(y, 1, "Vj") : symbolicLeaf(y, dim, 1);
}

/**
 * A parameter: `p` of shape (d) or (…batch, d), or a number.
 *
 * @example
 * ```ts
 * import { Pm, Vi, Vj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const K = Vi([[0]]).sqdist(Vj([[1], [2]])).mul(Pm(-0.5)).exp();
 * const s = await K.sum(1);
 * assert.ok(Math.abs(s.data[0] - (Math.exp(-0.5) + Math.exp(-2))) < 1e-6);
 * ```
 */
export function Pm(p: Wrapped): LazyTensor<false>;
/**
 * The symbolic parameter at position `ind` of dimension `dim` (pykeops's `Pm(ind, dim)`).
 *
 * @example
 * ```ts
 * import { Pm, Vi } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const scaled = Vi(0, 1).mul(Pm(1, 1)).sum(1); // a routine of (x, s)
 * const out = await scaled([[2], [3]], [10]);
 * assert.deepEqual(Array.from(out.data), [20, 30]);
 * ```
 */
export function Pm(ind: number, dim: number): LazyTensor<true>;
export function Pm(p: Wrapped, dim?: number): LazyTensor {
  return dim === undefined ? leaf(p, 2, "Pm") : symbolicLeaf(p, dim, 2);
}
