/**
 * Block-sparse reductions: KeOps's `ranges` 6-tuple, read and checked.
 *
 * `[ranges_i, slices_i, redranges_j, ranges_j, slices_j, redranges_i]`: the rows i of block k,
 * `ranges_i[k] = [start, end)`, are reduced over the union of the intervals of j
 * `redranges_j[slices_i[k-1] … slices_i[k]]` (with `slices_i[-1] = 0`); the last three describe
 * the same pairs the other way round (blocks of j, intervals of i), for reductions over i (axis
 * 0) and the gradients with respect to j-variables. Rows in no block get the reduction's
 * neutral value (0 for sums, +∞ for Min, …), as in KeOps.
 *
 * KeOps refuses ranges with batch dimensions; here the same ranges apply to every batch
 * element.
 *
 * @module
 */

import type { BlockRanges } from "../backends/backend.ts";
import { show } from "../formula/errors.ts";
import type { NDArray, NestedNumbers } from "./ndarray.ts";

/** One array of the 6-tuple: an int32 NDArray (or any integer-valued NDArray) or nested numbers. */
export type RangeArray = NDArray | NestedNumbers | Int32Array;

/** KeOps's ranges: `[ranges_i, slices_i, redranges_j, ranges_j, slices_j, redranges_i]`. */
export type Ranges = readonly [RangeArray, RangeArray, RangeArray, RangeArray, RangeArray, RangeArray];

/** The two directions of a checked 6-tuple: for outputs indexed by i (`i`) and by j (`j`). */
export interface CheckedRanges {
  readonly i: BlockRanges;
  readonly j: BlockRanges;
}

const NAMES = ["ranges_i", "slices_i", "redranges_j", "ranges_j", "slices_j", "redranges_i"];

/** Reads one array as int32 values of `width` columns (2) or a vector (1). */
function readInts(a: unknown, k: number, width: 1 | 2): Int32Array {
  const what = `ranges[${k}] (${NAMES[k]})`;
  const expected = width === 2
    ? "an array of [start, end] pairs, shape (n, 2)"
    : "a vector of integers, shape (n)";
  let data: ArrayLike<number>, shape: readonly number[];
  if (ArrayBuffer.isView(a) && !(a instanceof DataView)) {
    data = a as unknown as ArrayLike<number>;
    shape = width === 2 ? [data.length / 2, 2] : [data.length];
  } else if (typeof a === "object" && a !== null && "data" in a && "shape" in a) {
    const nd = a as NDArray;
    data = nd.data;
    shape = nd.shape;
  } else if (Array.isArray(a)) {
    const flat: unknown[] = [];
    let ok = true;
    if (width === 2) {
      for (const row of a) {
        if (!Array.isArray(row) || row.length !== 2) ok = false;
        else flat.push(...row);
      }
    } else flat.push(...a);
    if (!ok) {
      const bad = a.findIndex((row) => !Array.isArray(row) || row.length !== 2);
      throw new TypeError(`The ${what} entry ${bad} is ${show(a[bad])}: expected ${expected}`);
    }
    data = flat as number[];
    shape = width === 2 ? [a.length, 2] : [a.length];
  } else {
    throw new TypeError(`The ${what} is ${show(a)}: expected ${expected}`);
  }
  const rightShape = width === 2
    ? shape.length === 2 && shape[1] === 2
    : shape.length === 1 || (shape.length === 2 && shape[1] === 1);
  if (!rightShape || !Number.isInteger(shape[0])) {
    throw new TypeError(`The ${what} has shape [${shape.join(", ")}]: expected ${expected}`);
  }
  const out = new Int32Array(data.length);
  for (let e = 0; e < data.length; e++) {
    const v = data[e];
    if (typeof v !== "number" || !Number.isInteger(v) || Math.abs(v) > 0x7fffffff) {
      const entry = width === 2 ? `${Math.floor(e / 2)}` : `${e}`;
      throw new TypeError(`The ${what} entry ${entry} holds ${show(v)}: expected integers`);
    }
    out[e] = v;
  }
  return out;
}

/** Checks one direction: blocks over `rows` rows, intervals over `terms` terms. */
function direction(
  arrs: Int32Array[],
  k0: number,
  rows: number,
  terms: number,
  iFirst: boolean,
): BlockRanges {
  const [r, s, t] = arrs;
  const [rowName, termName] = iFirst ? ["i", "j"] : ["j", "i"];
  const what = (k: number) => `ranges[${k}] (${NAMES[k]})`;
  const blocks = r.length / 2, intervals = t.length / 2;
  if (s.length !== blocks) {
    throw new TypeError(
      `The ${what(k0 + 1)} has ${s.length} entries but ${
        what(k0)
      } has ${blocks} blocks: expected one slice end per block`,
    );
  }
  let prevEnd = 0;
  for (let k = 0; k < blocks; k++) {
    const a = r[2 * k], b = r[2 * k + 1];
    if (a < 0 || a > b || b > rows) {
      throw new RangeError(
        `The ${
          what(k0)
        } entry ${k} is [${a}, ${b}]: expected 0 ≤ start ≤ end ≤ ${rows} (the number of ${rowName}-rows)`,
      );
    }
    if (a < prevEnd) {
      throw new RangeError(
        `The ${what(k0)} entry ${k} is [${a}, ${b}] but block ${
          k - 1
        } ends at ${prevEnd}: blocks must be sorted and disjoint`,
      );
    }
    prevEnd = b;
  }
  let prevSlice = 0;
  for (let k = 0; k < blocks; k++) {
    if (s[k] < prevSlice || s[k] > intervals) {
      throw new RangeError(
        `The ${what(k0 + 1)} entry ${k} is ${
          s[k]
        }: expected a non-decreasing slice end between ${prevSlice} and ${intervals} (the length of ${
          NAMES[k0 + 2]
        })`,
      );
    }
    for (let q = prevSlice; q < s[k]; q++) {
      const a = t[2 * q], b = t[2 * q + 1];
      if (a < 0 || a > b || b > terms) {
        throw new RangeError(
          `The ${
            what(k0 + 2)
          } entry ${q} is [${a}, ${b}]: expected 0 ≤ start ≤ end ≤ ${terms} (the number of ${termName}-rows)`,
        );
      }
      if (q > prevSlice && a < t[2 * q - 1]) {
        throw new RangeError(
          `The ${what(k0 + 2)} entry ${q} is [${a}, ${b}] but entry ${q - 1} of the same block ends at ${
            t[2 * q - 1]
          }: a block's intervals must be sorted and disjoint`,
        );
      }
    }
    prevSlice = s[k];
  }
  if (blocks > 0 ? s[blocks - 1] !== intervals : intervals !== 0) {
    throw new RangeError(
      `The ${what(k0 + 1)} ends at ${blocks > 0 ? s[blocks - 1] : 0} but ${
        what(k0 + 2)
      } has ${intervals} intervals: the last slice must end at its length`,
    );
  }
  return mergeAdjacent({ rows: r, slices: s, terms: t });
}

/**
 * The same pairs with each block's touching intervals joined ([0, 5) and [5, 9) into [0, 9)):
 * clusters sorted by label are often neighbours in memory too, and one long interval costs an
 * engine less than several short ones. The order of the terms, and so the results, is kept.
 */
function mergeAdjacent(r: BlockRanges): BlockRanges {
  const terms: number[] = [], slices = new Int32Array(r.slices.length);
  let s0 = 0;
  for (let k = 0; k < r.slices.length; k++) {
    const first = terms.length;
    for (let q = s0; q < r.slices[k]; q++) {
      const a = r.terms[2 * q], b = r.terms[2 * q + 1];
      if (a === b) continue;
      if (terms.length > first && terms[terms.length - 1] === a) terms[terms.length - 1] = b;
      else terms.push(a, b);
    }
    slices[k] = terms.length / 2;
    s0 = r.slices[k];
  }
  return { rows: r.rows, slices, terms: Int32Array.from(terms) };
}

/**
 * Reads and checks KeOps's ranges for a problem of M i-rows and N j-rows: a `TypeError` for a
 * wrong kind or shape of array, a `RangeError` naming the array and its first bad entry for
 * bounds, order and slices.
 *
 * @example
 * ```ts
 * import { checkRanges } from "./ranges.ts";
 * import assert from "node:assert/strict";
 * // Rows 0..1 see terms 0..2; rows 2..3 see term 3; and the same pairs seen from j.
 * const r = checkRanges([[[0, 2], [2, 4]], [1, 2], [[0, 3], [3, 4]], [[0, 3], [3, 4]], [1, 2], [[0, 2], [2, 4]]], 4, 4);
 * assert.ok(r.i.terms.join() === "0,3,3,4" && r.j.slices.join() === "1,2");
 * // A block's touching intervals are joined: the same pairs, in the same order.
 * const m = checkRanges([[[0, 4]], [2], [[0, 1], [1, 4]], [[0, 4]], [1], [[0, 4]]], 4, 4);
 * assert.ok(m.i.terms.join() === "0,4" && m.i.slices.join() === "1");
 * let err: unknown;
 * try { checkRanges([[[0, 5]], [1], [[0, 4]], [[0, 4]], [1], [[0, 4]]], 4, 4); } catch (e) { err = e; }
 * assert.ok(err instanceof RangeError && /ranges_i/.test((err as Error).message));
 * ```
 */
export function checkRanges(ranges: unknown, M: number, N: number): CheckedRanges {
  if (!Array.isArray(ranges) || ranges.length !== 6) {
    throw new TypeError(
      `The ranges are ${
        show(ranges)
      }: expected KeOps's 6-tuple [ranges_i, slices_i, redranges_j, ranges_j, slices_j, redranges_i]`,
    );
  }
  const arrs = ranges.map((a, k) => readInts(a, k, k % 3 === 1 ? 1 : 2));
  return {
    i: direction(arrs.slice(0, 3), 0, M, N, true),
    j: direction(arrs.slice(3, 6), 3, N, M, false),
  };
}

/**
 * Whether a value looks like a ranges 6-tuple (an array of six arrays; `checkRanges` checks the
 * rest at each call, where the sizes are known).
 *
 * @example
 * ```ts
 * import { isRangesLike } from "./ranges.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isRangesLike([[], [], [], [], [], []]) && !isRangesLike([[0, 1]]));
 * ```
 */
export function isRangesLike(x: unknown): x is Ranges {
  return Array.isArray(x) && x.length === 6;
}

/**
 * The ranges of the transposed problem (pykeops's `swap_axes`): the last three arrays first.
 *
 * @example
 * ```ts
 * import { swapAxes } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const r = swapAxes([[[0, 1]], [1], [[0, 2]], [[0, 2]], [1], [[0, 1]]]);
 * assert.ok(JSON.stringify(r[0]) === "[[0,2]]" && JSON.stringify(r[2]) === "[[0,1]]");
 * ```
 */
export function swapAxes(ranges: Ranges): Ranges {
  if (!isRangesLike(ranges)) {
    throw new TypeError(`swapAxes expects KeOps's ranges 6-tuple, got ${show(ranges)}`);
  }
  return [ranges[3], ranges[4], ranges[5], ranges[0], ranges[1], ranges[2]];
}
