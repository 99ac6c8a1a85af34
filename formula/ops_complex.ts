/**
 * KeOps's 17 complex operations, as derived entries of the table of operations: each is a
 * composition of real operations on the interleaved layout `[re0, im0, re1, im1, …]` (a complex
 * vector of n entries has dimension 2n). Engines never see them, only their expansions, so
 * every engine runs them, and their gradients are those of the real formulas: the real and
 * imaginary parts are independent real variables, as in KeOps.
 *
 *     re(z) = (z_0, z_2, …), im(z) = (z_1, z_3, …)    (Elem and a balanced tree of Concat)
 *     z·w   = (re z·re w − im z·im w) + i (re z·im w + im z·re w)
 *     z/w   = z·conj(w) / |w|²
 *     e^z   = e^{re z} (cos im z + i sin im z)
 *
 * A complex argument of dimension 2 (one complex number) broadcasts against longer ones.
 *
 * @module
 */

import type { Node, Param } from "./tree.ts";
import type { DerivedOp } from "./ops.ts";
import { add, div, isZero, mul, neg, pairwise, sub, sum, un, zero } from "./build.ts";
import { make } from "./ops.ts";
import { describe } from "./_dims.ts";

/** Requires a complex argument: an even dimension. */
function complexDim(n: Node, name: string, what = "a complex argument"): number {
  if (n.dim % 2 !== 0) {
    throw new TypeError(
      `${name} expects ${what} (interleaved [re, im, …], of even dimension), got ${
        describe(n)
      } of dimension ${n.dim}`,
    );
  }
  return n.dim;
}

/** Two complex arguments of one dimension, or one of them a single complex number (dimension 2). */
function complexPair(args: readonly Node[], _p: readonly Param[], name: string): number {
  const [f, g] = args;
  complexDim(f, name, "complex arguments");
  complexDim(g, name, "complex arguments");
  if (f.dim !== g.dim && f.dim !== 2 && g.dim !== 2) {
    throw new TypeError(
      `${name} expects complex arguments of one dimension, or one of dimension 2 (a complex number), got ${
        describe(f)
      } of dimension ${f.dim} and ${describe(g)} of dimension ${g.dim}`,
    );
  }
  return Math.max(f.dim, g.dim);
}

/** Component k of a real vector (its only one when it has dimension 1). */
function at(v: Node, k: number): Node {
  return v.dim === 1 ? v : isZero(v) ? zero(1) : un("Elem", v, k);
}

/** The real (offset 0) or imaginary (offset 1) parts of a complex vector, as a real vector. */
function part(z: Node, offset: 0 | 1): Node {
  if (isZero(z)) return zero(z.dim / 2);
  const n = z.dim / 2;
  return pairwise(
    Array.from({ length: n }, (_, k) => un("Elem", z, 2 * k + offset)),
    (a, b) => make("Concat", [a, b], []),
  );
}
function re(z: Node): Node {
  return part(z, 0);
}
function im(z: Node): Node {
  return part(z, 1);
}

/** The complex vector of real parts a and imaginary parts b (n components, or 1 broadcast). */
function complex(a: Node, b: Node): Node {
  const n = Math.max(a.dim, b.dim);
  if (isZero(a) && isZero(b)) return zero(2 * n);
  return pairwise(
    Array.from({ length: n }, (_, k) => make("Concat", [at(a, k), at(b, k)], [])),
    (x, y) => make("Concat", [x, y], []),
  );
}

function entry(
  arity: number,
  dim: DerivedOp["dim"],
  expand: DerivedOp["expand"],
  params: DerivedOp["params"] = [],
) {
  return { kind: "derived", arity, params, dim, expand } as const satisfies DerivedOp;
}

function half(a: readonly Node[], _p: readonly Param[], name: string): number {
  return complexDim(a[0], name) / 2;
}
function same(a: readonly Node[], _p: readonly Param[], name: string): number {
  return complexDim(a[0], name);
}
function double(a: readonly Node[]): number {
  return 2 * a[0].dim;
}

/**
 * The complex operations, keyed by KeOps's names (spread into `OPS`). A function, and every
 * helper here a function declaration: `ops.ts` calls it while this module may not have run yet
 * (the two import each other).
 *
 * @example
 * ```ts
 * import { make } from "./ops.ts";
 * import assert from "node:assert/strict";
 * // (1 + 2i)(3 + 4i) = −5 + 10i, as a formula of constants: ComplexMult expands to real ops.
 * const z = make("ComplexMult", [make("Var", [], [0, 2, 0]), make("Var", [], [1, 2, 1])], []);
 * assert.ok(z.dim === 2 && z.op === "ComplexMult");
 * ```
 */
export function complexOps() {
  return {
    ComplexReal: entry(1, half, ([z]) => re(z)),
    ComplexImag: entry(1, half, ([z]) => im(z)),
    Real2Complex: entry(1, double, ([f]) => complex(f, zero(f.dim))),
    Imag2Complex: entry(1, double, ([f]) => complex(zero(f.dim), f)),
    Conj: entry(1, same, ([z]) => complex(re(z), neg(im(z)))),
    ComplexSquareAbs: entry(1, half, ([z]) => add(un("Square", re(z)), un("Square", im(z)))),
    ComplexAbs: entry(1, half, ([z]) => un("Sqrt", add(un("Square", re(z)), un("Square", im(z))))),
    ComplexAngle: entry(1, half, ([z]) => un("Atan2", im(z), re(z))),
    ComplexAdd: entry(2, complexPair, ([z, w]) => complex(add(re(z), re(w)), add(im(z), im(w)))),
    ComplexSubtract: entry(2, complexPair, ([z, w]) => complex(sub(re(z), re(w)), sub(im(z), im(w)))),
    ComplexMult: entry(2, complexPair, ([z, w]) => {
      const [a, b, c, d] = [re(z), im(z), re(w), im(w)];
      return complex(sub(mul(a, c), mul(b, d)), add(mul(a, d), mul(b, c)));
    }),
    ComplexDivide: entry(2, complexPair, ([z, w]) => {
      const [a, b, c, d] = [re(z), im(z), re(w), im(w)];
      const den = add(un("Square", c), un("Square", d));
      return complex(div(add(mul(a, c), mul(b, d)), den), div(sub(mul(b, c), mul(a, d)), den));
    }),
    // A real scalar times a complex vector, in either order: the product of every component.
    ComplexRealScal: entry(2, (a, _p, name) => {
      const [s, z] = a[0].dim === 1 && a[1].dim !== 1 ? [a[0], a[1]] : [a[1], a[0]];
      if (s.dim !== 1) {
        throw new TypeError(
          `${name} expects a real scalar (dimension 1) and a complex vector, got ${
            describe(a[0])
          } of dimension ${a[0].dim} and ${describe(a[1])} of dimension ${a[1].dim}`,
        );
      }
      return complexDim(z, name, "a complex vector");
    }, ([f, g]) => mul(f, g)),
    ComplexExp: entry(1, same, ([z]) => {
      const e = un("Exp", re(z)), b = im(z);
      return complex(mul(e, un("Cos", b)), mul(e, un("Sin", b)));
    }),
    ComplexExp1j: entry(1, double, ([f]) => complex(un("Cos", f), un("Sin", f))),
    ComplexSum: entry(
      1,
      (a, _p, name) => (complexDim(a[0], name), 2),
      ([z]) => complex(sum(re(z)), sum(im(z))),
    ),
    ComplexSumT: entry(1, (a, p, name) => {
      if (a[0].dim !== 2) {
        throw new TypeError(
          `${name} expects a complex number (dimension 2), got ${describe(a[0])} of dimension ${a[0].dim}`,
        );
      }
      const d = p[0] as number;
      if (!(d >= 2 && d % 2 === 0)) {
        throw new RangeError(`${name} expects an even output dimension of at least 2, got ${d}`);
      }
      return d;
    }, ([z], p) => {
      const n = (p[0] as number) / 2;
      return n === 1 ? z : complex(un("SumT", re(z), n), un("SumT", im(z), n));
    }, ["int"]),
  };
}
