/**
 * The formula compiler's rule table: for every evaluated operation of `formula/ops.ts`, the
 * instructions computing its components from its arguments' (each component a v128 of L output
 * rows). Dimensions are known when the code is generated, so vector operations (Sum, Concat,
 * Elem, TensorDot, …) only pick, combine or reorder component values: they cost nothing at run
 * time beyond their arithmetic. The `Record` type makes the compiler reject a missing operation;
 * `null` marks the operations this engine leaves to the Rust engine.
 *
 * Semantics follow the float64 reference exactly where it decides a case (strict comparisons
 * with the first extremum winning, NaN through Sign/Step/ReLU as its comparisons give,
 * Rsqrt(0) = 0, SinXDivX(0) = 1, XLogX(0) = 0, Round halves away from zero, sums from −0).
 *
 * @module
 */

import type { Node } from "../../formula/tree.ts";
import { tensorDotTables } from "../../formula/ops_tensordot.ts";
import type { Evaluated } from "../wasm/opcodes.ts";
import type { Emitter, V } from "./emit.ts";
import { asinAcos, atan, atan2, exp, log, pow, powInt, sinCos } from "./simd_math.ts";

/** A rule: the components of `n` from its arguments' components (a scalar argument has one). */
export type Rule = (e: Emitter, args: readonly (readonly V[])[], n: Node) => V[];

/** Applies a scalar function component by component, broadcasting arguments of dimension 1. */
function pointwise(f: (e: Emitter, a: readonly V[], n: Node) => V): Rule {
  return (e, args, n) =>
    Array.from({ length: n.dim }, (_, c) => f(e, args.map((a) => (a.length === 1 ? a[0] : a[c])), n));
}

const p0 = (n: Node) => (n.params as number[])[0];
const p1 = (n: Node) => (n.params as number[])[1];

/** mask ? 1 : 0 as a float. */
const one = (e: Emitter, mask: V) => e.and(mask, e.cst(1));

/** Strict first-extremum search over the components (index and value). */
function extremum(e: Emitter, a: readonly V[], max: boolean): [V, V] {
  let best = a[0], at = e.cst(0);
  for (let k = 1; k < a.length; k++) {
    const better = max ? e.bin(e.t.gt, a[k], best) : e.bin(e.t.lt, a[k], best);
    best = e.sel(a[k], best, better);
    at = e.sel(e.cst(k), at, better);
  }
  return [best, at];
}

/**
 * The rules.
 *
 * @example
 * ```ts
 * import { RULES } from "./ops.ts";
 * import { Emitter, F32X4 } from "./emit.ts";
 * import { make } from "../../formula/ops.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4), a = [e.v(), e.v(), e.v()];
 * const n = make("Sum", [make("Var", [], [0, 3, 0])], []);
 * assert.ok(RULES.Sum!(e, [a], n).length === 1 && RULES.BSpline === null);
 * ```
 */
export const RULES: Record<Evaluated, Rule | null> = {
  Abs: pointwise((e, [a]) => e.un(e.t.abs, a)),
  Acos: pointwise((e, [a]) => asinAcos(e, a, true)),
  Asin: pointwise((e, [a]) => asinAcos(e, a, false)),
  Atan: pointwise((e, [a]) => atan(e, a)),
  Cos: pointwise((e, [a]) => sinCos(e, a, true)),
  Sin: pointwise((e, [a]) => sinCos(e, a, false)),
  Exp: pointwise((e, [a]) => exp(e, a)),
  Log: pointwise((e, [a]) => log(e, a)),
  Floor: pointwise((e, [a]) => e.un(e.t.floor, a)),
  Inv: pointwise((e, [a]) => e.div(e.cst(1), a)),
  Minus: pointwise((e, [a]) => e.un(e.t.neg, a)),
  ReLU: pointwise((e, [a]) => e.sel(e.cst(0), a, e.bin(e.t.lt, a, e.cst(0)))),
  Rsqrt: pointwise((e, [a]) =>
    e.sel(e.cst(0), e.div(e.cst(1), e.un(e.t.sqrt, a)), e.bin(e.t.eq, a, e.cst(0)))
  ),
  Sign: pointwise((e, [a]) => {
    const t = e.t;
    return e.sel(e.cst(1), e.sel(e.cst(-1), e.cst(0), e.bin(t.lt, a, e.cst(0))), e.bin(t.gt, a, e.cst(0)));
  }),
  SinXDivX: pointwise((e, [a]) => e.sel(e.cst(1), e.div(sinCos(e, a, false), a), e.bin(e.t.eq, a, e.cst(0)))),
  Sqrt: pointwise((e, [a]) => e.un(e.t.sqrt, a)),
  Square: pointwise((e, [a]) => e.mul(a, a)),
  Step: pointwise((e, [a]) => e.sel(e.cst(0), e.cst(1), e.bin(e.t.lt, a, e.cst(0)))),
  XLogX: pointwise((e, [a]) => e.sel(e.cst(0), e.mul(a, log(e, a)), e.bin(e.t.eq, a, e.cst(0)))),
  Pow: pointwise((e, [a], n) => powInt(e, a, p0(n))),
  Round: pointwise((e, [a], n) => {
    const t = e.t, s = Math.pow(10, p0(n));
    const y = e.mul(a, e.cst(s)), tr = e.un(t.trunc, y);
    const half = e.bin(t.ge, e.un(t.abs, e.sub(y, tr)), e.cst(0.5));
    const signed = e.or(e.and(y, e.cst(-0)), e.cst(1)); // ±1 with y's sign
    // A select, not tr + (0 or ±1): −0 + 0 would lose the sign of a zero that rounds to −0.
    return e.div(e.sel(e.add(tr, signed), tr, half), e.cst(s));
  }),
  ClampInt: pointwise((e, [a], n) => {
    const lo = e.cst(p0(n)), hi = e.cst(p1(n));
    return e.sel(lo, e.sel(hi, a, e.bin(e.t.gt, a, hi)), e.bin(e.t.lt, a, lo));
  }),
  DiffClampInt: pointwise((e, [a], n) =>
    one(e, e.and(e.bin(e.t.ge, a, e.cst(p0(n))), e.bin(e.t.le, a, e.cst(p1(n)))))
  ),
  Add: pointwise((e, [a, b]) => e.add(a, b)),
  Subtract: pointwise((e, [a, b]) => e.sub(a, b)),
  Mult: pointwise((e, [a, b]) => e.mul(a, b)),
  Divide: pointwise((e, [a, b]) => e.div(a, b)),
  Atan2: pointwise((e, [a, b]) => atan2(e, a, b)),
  Powf: pointwise((e, [a, b]) => pow(e, a, b)),
  Equal: pointwise((e, [a, b]) => one(e, e.bin(e.t.eq, a, b))),
  NotEqual: pointwise((e, [a, b]) => one(e, e.bin(e.t.ne, a, b))),
  LessThan: pointwise((e, [a, b]) => one(e, e.bin(e.t.lt, a, b))),
  LessOrEqual: pointwise((e, [a, b]) => one(e, e.bin(e.t.le, a, b))),
  // Clamp tests x < a first, then x > b (KeOps's order).
  Clamp: pointwise((e, [x, a, b]) => e.sel(a, e.sel(b, x, e.bin(e.t.gt, x, b)), e.bin(e.t.lt, x, a))),
  IfElse: pointwise((e, [x, a, b]) => e.sel(a, b, e.bin(e.t.ge, x, e.cst(0)))),

  // Sums start from −0, the identity of IEEE addition: −0 + a₀ = a₀ exactly.
  Sum: (e, [a]) => [a.slice(1).reduce((s, v) => e.add(s, v), a[0])],
  SumT: (_e, [a], n) => Array(n.dim).fill(a[0]),
  Concat: (_e, [a, b]) => [...a, ...b],
  Elem: (_e, [a], n) => [a[p0(n)]],
  ElemT: (e, [a], n) => Array.from({ length: n.dim }, (_, c) => (c === p1(n) ? a[0] : e.cst(0))),
  Extract: (_e, [a], n) => a.slice(p0(n), p0(n) + n.dim),
  ExtractT: (e, [a], n) =>
    Array.from({ length: n.dim }, (_, c) => (c >= p0(n) && c < p0(n) + a.length ? a[c - p0(n)] : e.cst(0))),
  Max: (e, [a]) => [extremum(e, a, true)[0]],
  Min: (e, [a]) => [extremum(e, a, false)[0]],
  ArgMax: (e, [a]) => [extremum(e, a, true)[1]],
  ArgMin: (e, [a]) => [extremum(e, a, false)[1]],
  // OneHot rounds half up, (int)(f + 0.5); an index out of range gives all zeros.
  OneHot: (e, [a], n) => {
    const k = e.un(e.t.trunc, e.add(a[0], e.cst(0.5)));
    return Array.from({ length: n.dim }, (_, c) => one(e, e.bin(e.t.eq, k, e.cst(c))));
  },
  TensorDot: (e, [f, g], n) => {
    const { fo, go, fc, gc } = tensorDotTables(n);
    return Array.from(fo, (bf, q) => {
      if (fc.length === 0) return e.cst(-0);
      let s = e.mul(f[bf + fc[0]], g[go[q] + gc[0]]);
      for (let c = 1; c < fc.length; c++) s = e.add(s, e.mul(f[bf + fc[c]], g[go[q] + gc[c]]));
      return s;
    });
  },
  BSpline: null,
  SoftDTW_SqDist: null,
  GradSoftDTW_SqDist: null,
};
