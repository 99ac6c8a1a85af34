/**
 * The one table of operations of the formula language.
 *
 * Every name a formula may use is defined here exactly once: its arity (formula arguments and
 * static integer parameters), its dimension rule, its reference math in float64 and its gradient.
 * Kinds of entries:
 *
 * - `elementwise`: a scalar function applied component-wise with KeOps's broadcasting (every
 *   argument has dimension D or 1) and one partial derivative per argument, as a formula;
 * - `vector`: a function of whole vectors (Sum, Elem, TensorDot, …) with a vector-Jacobian rule;
 * - `derived`: a composition of other operations (`SqDist(f,g) = Sum(Square(f-g))`); it needs no
 *   math, gradient or backend code of its own: engines see its expansion;
 * - `leaf`: variables and constants;
 * - `symbolic`: `Grad`, `Diff`, `Laplacian`, `Divergence`, `GradMatrix`, replaced by formulas
 *   before evaluation (see `grad.ts`).
 *
 * @module
 */

import { depthOf, type Node, type Param, recordDepth } from "./tree.ts";
import { checkInt, LIMITS } from "./limits.ts";
import { add, div, intCst, mul, neg, ratCst, sub, sum, un } from "./build.ts";
import { tensorDotDim, tensorDotEval, tensorDotVjp } from "./ops_tensordot.ts";
import { bsplineEval, softDtwEval, softDtwGradEval } from "./ops_special.ts";
import { complexOps } from "./ops_complex.ts";
import { describe, fixed, requireDim, requireRange, sameDims, sameOr1 } from "./_dims.ts";

/** Kinds of static parameters: an integer, an integer list written `[2, 3]`, or a float. */
export type ParamKind = "int" | "list" | "float";

/**
 * A vector-Jacobian rule: the cotangent of each argument; null when it contributes nothing; a
 * string (the reason) when the gradient with respect to that argument does not exist.
 */
export type VjpRule = (n: Node, e: Node) => (Node | null | string)[];

interface Common {
  /** Number of formula arguments. */
  readonly arity: number;
  /** Kinds of the static parameters that follow the formula arguments. */
  readonly params: readonly ParamKind[];
  /** How many trailing parameters may be left out. */
  readonly optional?: number;
  /** Internal operations cannot be written in formula text. */
  readonly internal?: boolean;
  /** Infix symbol used by the printer, e.g. `"+"` prints `(a + b)`. */
  readonly infix?: string;
  /** Dimension rule: the output dimension, or a `TypeError` naming the culprits. */
  readonly dim: (args: readonly Node[], params: readonly Param[], name: string) => number;
}

/** Component-wise operation. `d` gives ∂op/∂arg_k as formulas; null means "no gradient" (0). */
export interface ElementwiseOp extends Common {
  readonly kind: "elementwise";
  readonly scalar: (a: number, b: number, c: number, p: readonly Param[]) => number;
  readonly d: ((n: Node) => (Node | null)[]) | "zero";
}

/** Whole-vector operation: `eval` writes `dim` values at `out[o]` from arguments at `a[k][ao[k]]`. */
export interface VectorOp extends Common {
  readonly kind: "vector";
  readonly eval: (
    out: Float64Array,
    o: number,
    a: readonly Float64Array[],
    ao: readonly number[],
    n: Node,
  ) => void;
  readonly vjp: VjpRule | "zero" | string;
}

/** An operation defined as a composition of others. */
export interface DerivedOp extends Common {
  readonly kind: "derived";
  readonly expand: (args: readonly Node[], params: readonly Param[]) => Node;
}

/** A variable or a constant. */
export interface LeafOp extends Common {
  readonly kind: "leaf";
}

/** A differential operator, lowered to a plain formula by `grad.ts`. */
export interface SymbolicOp extends Common {
  readonly kind: "symbolic";
}

/** One entry of the table. */
export type OpDef = ElementwiseOp | VectorOp | DerivedOp | LeafOp | SymbolicOp;

// ---------------------------------------------------------------------------------------------
// Builders of table entries

function elementwise(
  arity: number,
  scalar: ElementwiseOp["scalar"],
  d: ElementwiseOp["d"],
  extra: Partial<Common> = {},
): ElementwiseOp {
  return { kind: "elementwise", arity, params: [], dim: sameOr1, scalar, d, ...extra };
}

function unary(scalar: (a: number) => number, d: ((f: Node, n: Node) => Node) | "zero"): ElementwiseOp {
  return elementwise(1, (a) => scalar(a), d === "zero" ? "zero" : (n) => [d(n.args[0], n)]);
}

function derived(
  arity: number,
  params: ParamKind[],
  dim: Common["dim"],
  expand: DerivedOp["expand"],
  optional = 0,
): DerivedOp {
  return { kind: "derived", arity, params, dim, expand, optional };
}

const leaf = (params: ParamKind[], dim: Common["dim"]): LeafOp => ({
  kind: "leaf",
  arity: 0,
  params,
  dim,
});

const int = (p: Param) => p as number;
const list = (p: Param) => p as readonly number[];

/** C's round(): halves go away from zero (numpy rounds them to even). */
function roundAway(x: number): number {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

const lt = (f: Node, g: Node) => un("LessThan", f, g);

// ---------------------------------------------------------------------------------------------
// The table

/** Every operation of the formula language, by its KeOps name. */
export const OPS = {
  // ---- leaves --------------------------------------------------------------------------------
  Var: leaf(["int", "int", "int"], (_a, p) => int(p[1])),
  IntCst: leaf(["int"], fixed(1)),
  RatCst: leaf(["int", "int"], fixed(1)),
  Zero: leaf(["int"], (_a, p) => int(p[0])),
  /** A float literal (a keops-ts extension): prints as the number itself. */
  Cst: { ...leaf(["float"], fixed(1)), internal: true },

  // ---- element-wise, one argument ------------------------------------------------------------
  Abs: unary(Math.abs, (f) => un("Sign", f)),
  Acos: unary(Math.acos, (f) => neg(un("Rsqrt", sub(intCst(1), un("Square", f))))),
  Asin: unary(Math.asin, (f) => un("Rsqrt", sub(intCst(1), un("Square", f)))),
  Atan: unary(Math.atan, (f) => un("Inv", add(intCst(1), un("Square", f)))),
  Cos: unary(Math.cos, (f) => neg(un("Sin", f))),
  Sin: unary(Math.sin, (f) => un("Cos", f)),
  Exp: unary(Math.exp, (_f, n) => n),
  Log: unary(Math.log, (f) => un("Inv", f)),
  Floor: unary(Math.floor, "zero"),
  Inv: unary((a) => 1 / a, (f) => neg(un("Inv", un("Square", f)))),
  Minus: unary((a) => -a, () => intCst(-1)),
  ReLU: unary((a) => (a < 0 ? 0 : a), (f) => un("Step", f)),
  Rsqrt: unary(
    (a) => (a === 0 ? 0 : 1 / Math.sqrt(a)),
    (_f, n) => mul(ratCst(-1, 2), un("Pow", n, 3)),
  ),
  Sign: unary((a) => (a > 0 ? 1 : a < 0 ? -1 : 0), "zero"),
  SinXDivX: unary(
    (a) => (a === 0 ? 1 : Math.sin(a) / a),
    (f) => sub(div(un("Cos", f), f), div(un("Sin", f), un("Square", f))),
  ),
  Sqrt: unary(Math.sqrt, (f) => mul(ratCst(1, 2), un("Rsqrt", f))),
  Square: unary((a) => a * a, (f) => mul(intCst(2), f)),
  Step: unary((a) => (a < 0 ? 0 : 1), "zero"),
  XLogX: unary((a) => (a === 0 ? 0 : a * Math.log(a)), (f) => add(un("Log", f), intCst(1))),

  // ---- element-wise with integer parameters --------------------------------------------------
  Pow: {
    ...elementwise(1, (a, _b, _c, p) => Math.pow(a, int(p[0])), (n) => {
      const m = int(n.params[0]);
      return [mul(intCst(m), m === 1 ? intCst(1) : un("Pow", n.args[0], m - 1))];
    }),
    params: ["int"],
  },
  Round: {
    ...elementwise(1, (a, _b, _c, p) => {
      const s = Math.pow(10, int(p[0]));
      return roundAway(a * s) / s;
    }, "zero"),
    params: ["int"],
  },
  ClampInt: {
    ...elementwise(1, (a, _b, _c, p) => {
      const lo = int(p[0]), hi = int(p[1]);
      return a < lo ? lo : a > hi ? hi : a;
    }, (n) => [un("DiffClampInt", n.args[0], n.params[0], n.params[1])]),
    params: ["int", "int"],
  },
  DiffClampInt: {
    ...elementwise(1, (a, _b, _c, p) => (a >= int(p[0]) && a <= int(p[1]) ? 1 : 0), "zero"),
    params: ["int", "int"],
  },

  // ---- element-wise, two or three arguments --------------------------------------------------
  Add: elementwise(2, (a, b) => a + b, () => [intCst(1), intCst(1)], { infix: "+" }),
  Subtract: elementwise(2, (a, b) => a - b, () => [intCst(1), intCst(-1)], { infix: "-" }),
  Mult: elementwise(2, (a, b) => a * b, (n) => [n.args[1], n.args[0]], { infix: "*" }),
  Divide: elementwise(2, (a, b) => a / b, (n) => {
    const [f, g] = n.args;
    return [un("Inv", g), neg(div(f, un("Square", g)))];
  }, { infix: "/" }),
  Atan2: elementwise(2, Math.atan2, (n) => {
    const [f, g] = n.args;
    const r2 = add(un("Square", f), un("Square", g));
    return [div(g, r2), neg(div(f, r2))];
  }),
  Powf: elementwise(2, Math.pow, (n) => {
    const [f, g] = n.args;
    return [mul(g, un("Powf", f, sub(g, intCst(1)))), mul(un("Log", f), n)];
  }),
  Equal: elementwise(2, (a, b) => (a === b ? 1 : 0), "zero"),
  NotEqual: elementwise(2, (a, b) => (a !== b ? 1 : 0), "zero"),
  LessThan: elementwise(2, (a, b) => (a < b ? 1 : 0), "zero"),
  LessOrEqual: elementwise(2, (a, b) => (a <= b ? 1 : 0), "zero"),
  // Clamp tests f < a first, then f > b (KeOps's order, which decides the case a > b).
  Clamp: elementwise(3, (x, a, b) => (x < a ? a : x > b ? b : x), (n) => {
    const [f, a, b] = n.args;
    const below = lt(f, a), above = lt(b, f);
    const notBelow = sub(intCst(1), below);
    return [mul(notBelow, sub(intCst(1), above)), below, mul(notBelow, above)];
  }),
  IfElse: elementwise(3, (x, a, b) => (x >= 0 ? a : b), (n) => {
    const step = un("Step", n.args[0]);
    return [null, step, sub(intCst(1), step)];
  }),

  // ---- vector operations ---------------------------------------------------------------------
  Sum: {
    kind: "vector",
    arity: 1,
    params: [],
    dim: fixed(1),
    eval: (out, o, a, ao, n) => {
      // From −0, the identity of IEEE addition (0 + −0 would lose the sign of a sum of −0s).
      let s = -0;
      for (let k = 0; k < n.args[0].dim; k++) s += a[0][ao[0] + k];
      out[o] = s;
    },
    vjp: (n, e) => [un("SumT", e, n.args[0].dim)],
  },
  SumT: {
    kind: "vector",
    arity: 1,
    params: ["int"],
    dim: (args, p, name) => {
      requireDim(args[0], 1, name, "an argument");
      return int(p[0]);
    },
    eval: (out, o, a, ao, n) => out.fill(a[0][ao[0]], o, o + n.dim),
    vjp: (_n, e) => [sum(e)],
  },
  Concat: {
    kind: "vector",
    arity: 2,
    params: [],
    dim: (args) => args[0].dim + args[1].dim,
    eval: (out, o, a, ao, n) => {
      const d0 = n.args[0].dim, d1 = n.args[1].dim;
      for (let k = 0; k < d0; k++) out[o + k] = a[0][ao[0] + k];
      for (let k = 0; k < d1; k++) out[o + d0 + k] = a[1][ao[1] + k];
    },
    vjp: (n, e) => {
      const d0 = n.args[0].dim;
      return [un("Extract", e, 0, d0), un("Extract", e, d0, n.args[1].dim)];
    },
  },
  Elem: {
    kind: "vector",
    arity: 1,
    params: ["int"],
    dim: (args, p, name) => {
      requireRange(int(p[0]), 0, args[0].dim - 1, name, "an index");
      return 1;
    },
    eval: (out, o, a, ao, n) => {
      out[o] = a[0][ao[0] + int(n.params[0])];
    },
    vjp: (n, e) => [un("ElemT", e, n.args[0].dim, n.params[0])],
  },
  ElemT: {
    kind: "vector",
    arity: 1,
    params: ["int", "int"],
    dim: (args, p, name) => {
      requireDim(args[0], 1, name, "an argument");
      requireRange(int(p[0]), 1, Infinity, name, "a dimension");
      requireRange(int(p[1]), 0, int(p[0]) - 1, name, "an index");
      return int(p[0]);
    },
    eval: (out, o, a, ao, n) => {
      out.fill(0, o, o + n.dim);
      out[o + int(n.params[1])] = a[0][ao[0]];
    },
    vjp: (n, e) => [un("Elem", e, n.params[1])],
  },
  Extract: {
    kind: "vector",
    arity: 1,
    params: ["int", "int"],
    dim: (args, p, name) => {
      requireRange(int(p[0]), 0, args[0].dim - 1, name, "a start");
      requireRange(int(p[1]), 1, args[0].dim - int(p[0]), name, "a length");
      return int(p[1]);
    },
    eval: (out, o, a, ao, n) => {
      const s = int(n.params[0]);
      for (let k = 0; k < n.dim; k++) out[o + k] = a[0][ao[0] + s + k];
    },
    vjp: (n, e) => [un("ExtractT", e, n.params[0], n.args[0].dim)],
  },
  ExtractT: {
    kind: "vector",
    arity: 1,
    params: ["int", "int"],
    dim: (args, p, name) => {
      requireRange(int(p[0]), 0, int(p[1]) - args[0].dim, name, "a start");
      return int(p[1]);
    },
    eval: (out, o, a, ao, n) => {
      const s = int(n.params[0]);
      out.fill(0, o, o + n.dim);
      for (let k = 0; k < n.args[0].dim; k++) out[o + s + k] = a[0][ao[0] + k];
    },
    vjp: (n, e) => [un("Extract", e, n.params[0], n.args[0].dim)],
  },
  // In-formula reductions over the vector: strict comparisons, so the first extremum wins.
  Max: {
    kind: "vector",
    arity: 1,
    params: [],
    dim: fixed(1),
    eval: (out, o, a, ao, n) => {
      out[o] = a[0][ao[0] + argExtremum(a[0], ao[0], n.args[0].dim, 1)];
    },
    vjp: (n, e) => [mul(un("OneHot", un("ArgMax", n.args[0]), n.args[0].dim), e)],
  },
  Min: {
    kind: "vector",
    arity: 1,
    params: [],
    dim: fixed(1),
    eval: (out, o, a, ao, n) => {
      out[o] = a[0][ao[0] + argExtremum(a[0], ao[0], n.args[0].dim, -1)];
    },
    vjp: (n, e) => [mul(un("OneHot", un("ArgMin", n.args[0]), n.args[0].dim), e)],
  },
  ArgMax: {
    kind: "vector",
    arity: 1,
    params: [],
    dim: fixed(1),
    eval: (out, o, a, ao, n) => {
      out[o] = argExtremum(a[0], ao[0], n.args[0].dim, 1);
    },
    vjp: "zero",
  },
  ArgMin: {
    kind: "vector",
    arity: 1,
    params: [],
    dim: fixed(1),
    eval: (out, o, a, ao, n) => {
      out[o] = argExtremum(a[0], ao[0], n.args[0].dim, -1);
    },
    vjp: "zero",
  },
  // OneHot rounds half up, as KeOps's (int)(f+0.5); an index out of range gives all zeros.
  OneHot: {
    kind: "vector",
    arity: 1,
    params: ["int"],
    dim: (args, p, name) => {
      requireDim(args[0], 1, name, "an argument");
      requireRange(int(p[0]), 1, Infinity, name, "a dimension");
      return int(p[0]);
    },
    eval: (out, o, a, ao, n) => {
      out.fill(0, o, o + n.dim);
      const k = Math.trunc(a[0][ao[0]] + 0.5);
      if (k >= 0 && k < n.dim) out[o + k] = 1;
    },
    vjp: "zero",
  },
  TensorDot: {
    kind: "vector",
    arity: 2,
    params: ["list", "list", "list", "list", "list"],
    optional: 1,
    dim: tensorDotDim,
    eval: tensorDotEval,
    vjp: tensorDotVjp,
  },
  BSpline: {
    kind: "vector",
    arity: 2,
    params: ["int"],
    dim: (args, p, name) => {
      requireDim(args[1], 1, name, "a point x");
      const order = int(p[0]);
      requireRange(order, 0, args[0].dim - 2, name, "an order");
      return args[0].dim - order - 1;
    },
    eval: bsplineEval,
    vjp: "BSpline has no gradient (as in KeOps)",
  },
  SoftDTW_SqDist: {
    kind: "vector",
    arity: 3,
    params: [],
    dim: (args, _p, name) => {
      requireDim(args[2], 1, name, "a parameter gamma");
      return 1;
    },
    eval: softDtwEval,
    vjp: (n, e) => {
      const [x, y] = n.args;
      const g = make("GradSoftDTW_SqDist", n.args, []);
      return [
        mul(e, un("Extract", g, 0, x.dim)),
        mul(e, un("Extract", g, x.dim, y.dim)),
        "SoftDTW_SqDist has no gradient with respect to gamma (as in KeOps)",
      ];
    },
  },
  /** Internal: the gradient of SoftDTW_SqDist with respect to [x, y]. */
  GradSoftDTW_SqDist: {
    kind: "vector",
    internal: true,
    arity: 3,
    params: [],
    dim: (args) => args[0].dim + args[1].dim,
    eval: softDtwGradEval,
    vjp: "SoftDTW_SqDist has no second-order gradient (as in KeOps)",
  },

  // ---- derived operations --------------------------------------------------------------------
  SqNorm2: derived(1, [], fixed(1), ([f]) => sum(un("Square", f))),
  SqDist: derived(2, [], (a, p, name) => (sameOr1(a, p, name), 1), ([f, g]) => sum(un("Square", sub(f, g)))),
  Norm2: derived(1, [], fixed(1), ([f]) => un("Sqrt", sum(un("Square", f)))),
  Normalize: derived(1, [], (a) => a[0].dim, ([f]) => mul(un("Rsqrt", sum(un("Square", f))), f)),
  Scalprod: {
    ...derived(
      2,
      [],
      (a, p, name) => (a[0].dim === 1 || a[1].dim === 1 ? sameOr1(a, p, name) : sameDims(a, p, name), 1),
      ([f, g]) => sum(mul(f, g)),
    ),
    infix: "|",
  },
  SqNormDiag: derived(
    2,
    [],
    (a, p, name) => (sameOr1(a, p, name), 1),
    ([s, f]) => sum(mul(s, un("Square", f))),
  ),
  SqNormIso: derived(2, [], (a, _p, name) => (requireDim(a[0], 1, name, "a weight"), 1), (
    [s, f],
  ) => mul(s, sum(un("Square", f)))),
  SymSqNorm: derived(2, [], (a, _p, name) => {
    requireDim(a[0], a[1].dim * a[1].dim, name, "a matrix");
    return 1;
  }, ([A, x]) => sum(mul(A, un("TensorProd", x, x)))),
  WeightedSqNorm: derived(2, [], (a, _p, name) => {
    const [s, f] = a;
    if (s.dim !== 1 && s.dim !== f.dim && s.dim !== f.dim * f.dim) {
      throw new TypeError(
        `${name} expects a weight of dimension 1, ${f.dim} or ${f.dim * f.dim}, got ${
          describe(s)
        } of dimension ${s.dim}`,
      );
    }
    return 1;
  }, ([s, f]) => weightedSqNorm(s, f)),
  WeightedSqDist: derived(3, [], (a) => {
    make("WeightedSqNorm", [a[0], make("Subtract", [a[1], a[2]], [])], []);
    return 1;
  }, ([s, f, g]) => weightedSqNorm(s, sub(f, g))),
  MatVecMult: derived(2, [], (a, _p, name) => {
    const [A, b] = a;
    if (A.dim % b.dim !== 0) {
      throw new TypeError(
        `${name} expects a matrix whose dimension is a multiple of the vector's, got ${
          describe(A)
        } of dimension ${A.dim} and ${describe(b)} of dimension ${b.dim}`,
      );
    }
    return A.dim / b.dim;
  }, ([A, b]) => make("TensorDot", [A, b], [[A.dim / b.dim, b.dim], [b.dim], [1], [0]])),
  VecMatMult: derived(2, [], (a, _p, name) => {
    const [b, A] = a;
    if (A.dim % b.dim !== 0) {
      throw new TypeError(
        `${name} expects a matrix whose dimension is a multiple of the vector's, got ${
          describe(b)
        } of dimension ${b.dim} and ${describe(A)} of dimension ${A.dim}`,
      );
    }
    return A.dim / b.dim;
  }, ([b, A]) => make("TensorDot", [b, A], [[b.dim], [b.dim, A.dim / b.dim], [0], [0]])),
  TensorProd: derived(
    2,
    [],
    (a) => a[0].dim * a[1].dim,
    ([f, g]) => make("TensorDot", [f, g], [[f.dim], [g.dim], [], []]),
  ),
  Kron: derived(2, ["list", "list"], (a, p, name) => {
    const [df, dg] = [list(p[0]), list(p[1])];
    if (df.length !== dg.length) {
      throw new TypeError(
        `${name} expects shape lists of equal lengths, got [${df}] and [${dg}]`,
      );
    }
    return tensorDotDim(a, [df, dg, [], []], name);
  }, ([f, g], p) => {
    const r = list(p[0]).length;
    const perm = [...Array(r).keys()].flatMap((s) => [2 * s]).concat(
      [...Array(r).keys()].map((s) => 2 * s + 1),
    );
    return make("TensorDot", [f, g], [p[0], p[1], [], [], perm]);
  }),
  Mod: derived(3, [], sameOr1, ([f, n, d]) => sub(f, mul(n, un("Floor", div(sub(f, d), n))))),
  IntInv: derived(0, ["int"], (_a, p, name) => {
    if (int(p[0]) === 0) throw new RangeError(`${name} expects a nonzero integer, got 0`);
    return 1;
  }, (_a, p) => ratCst(1, int(p[0]))),

  // ---- complex operations (derived: see ops_complex.ts) --------------------------------------
  ...complexOps(),

  // ---- differential operators (lowered by grad.ts) -------------------------------------------
  Grad: {
    kind: "symbolic",
    arity: 3,
    params: [],
    dim: (a, _p, name) => {
      requireVar(a[1], name);
      requireDim(a[2], a[0].dim, name, "a gradient input e (the formula's dimension)");
      return a[1].dim;
    },
  },
  Diff: {
    kind: "symbolic",
    arity: 3,
    params: [],
    dim: (a, _p, name) => {
      requireVar(a[1], name);
      requireDim(a[2], a[1].dim, name, "a direction u (the variable's dimension)");
      return a[0].dim;
    },
  },
  Divergence: {
    kind: "symbolic",
    arity: 2,
    params: [],
    dim: (a, _p, name) => {
      requireVar(a[1], name);
      requireDim(a[0], a[1].dim, name, "a formula (the variable's dimension)");
      return 1;
    },
  },
  Laplacian: {
    kind: "symbolic",
    arity: 2,
    params: [],
    dim: (a, _p, name) => {
      requireVar(a[1], name);
      requireDim(a[0], 1, name, "a scalar formula");
      return 1;
    },
  },
  GradMatrix: {
    kind: "symbolic",
    arity: 2,
    params: [],
    dim: (a, _p, name) => (requireVar(a[1], name), a[0].dim * a[1].dim),
  },
} satisfies Record<string, OpDef>;

/** The name of an operation of the table. */
export type OpName = keyof typeof OPS;

/** Whether `name` is an operation of the table (own property, so `"constructor"` is not). */
export function isOp(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, name);
}

/** The table entry of an operation. */
export function opDef(name: string): OpDef {
  if (!isOp(name)) throw new TypeError(`Unknown operation "${name}"`);
  return OPS[name] as OpDef;
}

function requireVar(v: Node, name: string) {
  if (v.op !== "Var") {
    throw new TypeError(
      `${name} differentiates with respect to a variable, got ${describe(v)}`,
    );
  }
}

function argExtremum(a: Float64Array, o: number, d: number, sign: 1 | -1): number {
  let best = 0;
  for (let k = 1; k < d; k++) {
    if (sign * a[o + k] > sign * a[o + best]) best = k;
  }
  return best;
}

function weightedSqNorm(s: Node, f: Node): Node {
  if (s.dim === 1) return mul(s, sum(un("Square", f)));
  if (s.dim === f.dim) return sum(mul(s, un("Square", f)));
  return sum(mul(s, un("TensorProd", f, f)));
}

/**
 * Builds a node, checking the operation's arity, its parameters (32-bit integers), its
 * dimension rule, and the limits of depth and dimension (`limits.ts`). This is the only
 * constructor of nodes; it does no algebraic simplification.
 */
export function make(op: string, args: readonly Node[], params: readonly Param[], label?: string): Node {
  const def = opDef(op);
  if (args.length !== def.arity) {
    throw new TypeError(`${op} expects ${def.arity} formula arguments, got ${args.length}`);
  }
  const min = def.params.length - (def.optional ?? 0);
  if (params.length < min || params.length > def.params.length) {
    throw new TypeError(
      `${op} expects ${def.params.length} integer parameters, got ${params.length}`,
    );
  }
  if (op !== "Cst") {
    params.forEach((p, k) => {
      if (Array.isArray(p)) p.forEach((v, q) => checkInt(v, `Parameter ${k + 1} of ${op}, entry ${q + 1},`));
      else checkInt(p as number, `Parameter ${k + 1} of ${op}`);
    });
  }
  let depth = 0;
  for (const a of args) depth = Math.max(depth, depthOf(a));
  if (++depth > LIMITS.maxDepth) {
    throw new RangeError(
      `The formula nests deeper than ${LIMITS.maxDepth} levels, the limit (LIMITS.maxDepth)`,
    );
  }
  const dim = def.dim(args, params, op);
  if (!Number.isInteger(dim) || dim < 1) {
    throw new TypeError(`${op} would have dimension ${dim}: dimensions must be positive integers`);
  }
  if (dim > LIMITS.maxDim) {
    throw new RangeError(
      `${op} would have dimension ${dim}, more than ${LIMITS.maxDim}, the limit (LIMITS.maxDim)`,
    );
  }
  const node: Node = label === undefined ? { op, args, params, dim } : { op, args, params, dim, label };
  recordDepth(node, depth);
  return node;
}
