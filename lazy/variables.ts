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
  if (!isNDArray(x) && typeof x !== "number" && !Array.isArray(x)) {
    throw new TypeError(`${what} expects an NDArray or nested number arrays, got ${typeof x}`);
  }
  const shape = shapeOf(x);
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
 * An i-indexed variable: `x` of shape (M, d) or (…batch, M, d); or, with two numbers, the
 * symbolic variable at position `ind` of dimension `dim` (pykeops's `Vi(ind, dim)`), whose
 * reductions are routines taking the arrays in position order. An array of pykeops's layout
 * (…, M, 1, D) is an error, for Vi and Vj (use `LazyTensor(x)` for that layout).
 *
 * @example
 * ```ts
 * import { Vi, Vj } from "./variables.ts";
 * const D = Vi([[0, 0], [1, 1]]).sub(Vj([[1, 0], [0, 1], [2, 2]])).square().sum();
 * console.assert(D.formula === "Sum(Square((Var(0,2,0) - Var(1,2,1))))");
 *
 * // Symbolic: a routine of (x, y) in position order.
 * const nearest = Vi(0, 1).sqdist(Vj(1, 1)).argmin(1);
 * const nn = await nearest([[0], [5]], [[1], [4], [9]]);
 * console.assert(nn.data[1] === 1);
 * ```
 */
/** An i-indexed variable holding data. */
export function Vi(x: Wrapped): LazyTensor<false>;
/** The symbolic variable at position `ind` of a routine, of dimension `dim`. */
export function Vi(ind: number, dim: number): LazyTensor<true>;
export function Vi(x: Wrapped, dim?: number): LazyTensor {
  return dim === undefined ? leaf(x, 0, "Vi") : symbolicLeaf(x, dim, 0);
}

/** A j-indexed variable: `y` of shape (N, d) or (…batch, N, d); `Vj(ind, dim)` a symbolic one. @example
 * ```ts
 * import { Vi, Vj } from "./variables.ts";
 * const nn = await Vi([[0], [5]]).sqdist(Vj([[1], [4], [9]])).argmin(1);
 * console.assert(nn.data[0] === 0 && nn.data[1] === 1);
 * ```
 */
/** A j-indexed variable holding data. */
export function Vj(y: Wrapped): LazyTensor<false>;
/** The symbolic variable at position `ind` of a routine, of dimension `dim`. */
export function Vj(ind: number, dim: number): LazyTensor<true>;
export function Vj(y: Wrapped, dim?: number): LazyTensor {
  return dim === undefined ? leaf(y, 1, "Vj") : symbolicLeaf(y, dim, 1);
}

/** A parameter: `p` of shape (d) or (…batch, d), or a number; `Pm(ind, dim)` a symbolic one. @example
 * ```ts
 * import { Pm, Vi, Vj } from "./variables.ts";
 * const K = Vi([[0]]).sqdist(Vj([[1], [2]])).mul(Pm(-0.5)).exp();
 * const s = await K.sum(1);
 * console.assert(Math.abs(s.data[0] - (Math.exp(-0.5) + Math.exp(-2))) < 1e-6);
 * ```
 */
/** A parameter holding data. */
export function Pm(p: Wrapped): LazyTensor<false>;
/** The symbolic variable at position `ind` of a routine, of dimension `dim`. */
export function Pm(ind: number, dim: number): LazyTensor<true>;
export function Pm(p: Wrapped, dim?: number): LazyTensor {
  return dim === undefined ? leaf(p, 2, "Pm") : symbolicLeaf(p, dim, 2);
}
