/**
 * The fuzzer's generator: random well-typed formulas drawn from the operation table itself (a
 * new operation is fuzzed the day it lands), every reduction, random sizes, batches and inputs.
 *
 *     node(depth):  a leaf (a variable or a constant), or
 *                   an operation of the table with random arguments and parameters, kept when
 *                   `make` accepts it (its own dimension rule decides), retried otherwise
 *     case(seed):   variables x = Vi(d), y = Vj(d'), maybe p = Pm(d''); F (and W); a reduction
 *                   with its k or formula2; M, N from 1 to 300; a batch shape; input values
 *
 * Everything follows from the seed, so a case is reproduced by its number alone.
 *
 * @module
 */

import { make, opDef, OPS } from "../../formula/ops.ts";
import { type Node, variablesOf } from "../../formula/tree.ts";
import { printFormula } from "../../formula/print.ts";
import { REDUCTIONS } from "../../formula/reductions.ts";
import type { ReductionName } from "../../mod.ts";
import { rng } from "../_helpers.ts";
import { randomRanges, type Ranges6 } from "../_ranges.ts";

/** A variable of a case: its alias and `Var` parameters. */
export interface FuzzVar {
  readonly name: string;
  readonly ind: number;
  readonly dim: number;
  readonly cat: 0 | 1 | 2;
}

/** One generated call: everything needed to run it and to print it. */
export interface FuzzCase {
  readonly seed: number;
  readonly vars: readonly FuzzVar[];
  readonly F: Node;
  readonly W?: Node;
  readonly reduction: ReductionName;
  readonly k?: number;
  readonly M: number;
  readonly N: number;
  readonly batch: readonly number[];
  /** Per variable, its own batch shape (each entry the case's or 1). */
  readonly varBatch: readonly (readonly number[])[];
  /** Per variable, values (float64, rounded to float32 so both dtypes see the same). */
  readonly values: readonly Float64Array[];
  /** Differentiate the routine with respect to this variable (its name), if any. */
  readonly grad?: string;
  /** Block-sparse ranges of the call, if any (formulas with both i- and j-variables only). */
  readonly ranges?: Ranges6;
}

/** A random source with the helpers the generator needs. */
export class Rand {
  private next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  float(): number {
    return this.next();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const LEAVES = new Set(["Var", "IntCst", "RatCst", "Zero", "Cst"]);
/** Every operation of the table that a formula can contain, leaves aside. */
export const FUZZED_OPS = Object.keys(OPS).filter((op) => !LEAVES.has(op));

/** A random integer parameter: small values, where the table's ranges live. */
function intParam(r: Rand): number {
  return r.chance(0.1) ? r.int(-3, -1) : r.int(0, 5);
}

function leaf(r: Rand, vars: readonly FuzzVar[], dim?: number): Node {
  const fit = vars.filter((v) => dim === undefined || v.dim === dim || r.chance(0.15));
  if (fit.length > 0 && r.chance(0.7)) {
    const v = r.pick(fit);
    return make("Var", [], [v.ind, v.dim, v.cat], v.name);
  }
  switch (r.int(0, 3)) {
    case 0:
      return make("IntCst", [], [r.int(-3, 3)]);
    case 1:
      return make("RatCst", [], [r.int(-5, 5), r.int(1, 7)]);
    case 2:
      return make("Zero", [], [dim ?? r.int(1, 3)]);
    default:
      return make("Cst", [], [Math.round((r.float() * 4 - 2) * 1000) / 1000]);
  }
}

/**
 * A random formula of at most `depth` levels over the variables; of dimension `dim` when given
 * (as often as the table allows: the last resort is a leaf of that dimension).
 */
export function randomNode(r: Rand, vars: readonly FuzzVar[], depth: number, dim?: number): Node {
  if (depth <= 1 || r.chance(0.25)) return leaf(r, vars, dim);
  for (let attempt = 0; attempt < 12; attempt++) {
    const op = r.pick(FUZZED_OPS);
    const def = opDef(op);
    // Complex operations take even dimensions (interleaved re, im), often one complex number.
    const complex = (op.startsWith("Complex") && op !== "ComplexExp1j" && op !== "ComplexRealScal") ||
      op === "Conj";
    const argDim = () =>
      complex
        ? (dim !== undefined && dim % 2 === 0 && r.chance(0.5) ? dim : r.pick([2, 2, 4]))
        : (r.chance(0.5) && dim !== undefined ? dim : r.chance(0.4) ? 1 : r.int(1, 5));
    const args: Node[] = [];
    for (let q = 0; q < def.arity; q++) {
      // Differential operators differentiate with respect to a variable (their second argument).
      if (def.kind === "symbolic" && q === 1) {
        const v = r.pick(vars);
        args.push(make("Var", [], [v.ind, v.dim, v.cat], v.name));
      } else args.push(randomNode(r, vars, depth - 1, argDim()));
    }
    const nParams = def.params.length - (def.optional && r.chance(0.5) ? def.optional : 0);
    // Lists (shapes, axes) from the arguments' dimensions and small indices: the values that
    // the shape rules of TensorDot and friends accept.
    const sizes = [...args.map((a) => a.dim), 0, 1];
    const params = op === "ComplexSumT"
      ? [r.pick([2, 4, 6])]
      : def.params.slice(0, nParams).map((kind) =>
        kind === "list" ? Array.from({ length: r.int(0, 2) }, () => r.pick(sizes)) : intParam(r)
      );
    try {
      const n = make(op, args, params);
      if (dim === undefined || n.dim === dim) return n;
    } catch (e) {
      if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
    }
  }
  return leaf(r, vars, dim);
}

const REDUCTION_NAMES = Object.keys(REDUCTIONS) as ReductionName[];

/** A value of an input: mostly in [−2, 2], sometimes a value where ops have edges or ties. */
function value(r: Rand): number {
  if (r.chance(0.08)) return r.pick([0, -0, 1, -1, 0.5, 2, 3, -3, 1e-3, 40]);
  return Math.fround(r.float() * 4 - 2);
}

/** The rows of a variable in a case: M for i-variables, N for j-variables, 1 for parameters. */
export function rowsOf(c: Pick<FuzzCase, "M" | "N">, v: FuzzVar): number {
  return v.cat === 0 ? c.M : v.cat === 1 ? c.N : 1;
}

/** The shape of variable q's array in a case: (batch, rows, dim), or (batch, dim) for parameters. */
export function shapeOf(c: FuzzCase, q: number): number[] {
  const v = c.vars[q];
  return v.cat === 2 ? [...c.varBatch[q], v.dim] : [...c.varBatch[q], rowsOf(c, v), v.dim];
}

/** The case of a seed. */
export function randomCase(seed: number, maxSize = 300): FuzzCase {
  const r = new Rand(seed);
  const vars: FuzzVar[] = [
    { name: "x", ind: 0, dim: r.int(1, 5), cat: 0 },
    { name: "y", ind: 1, dim: r.int(1, 5), cat: 1 },
  ];
  if (r.chance(0.4)) vars.push({ name: "p", ind: 2, dim: r.int(1, 3), cat: 2 });
  const reduction = r.pick(REDUCTION_NAMES);
  const def = REDUCTIONS[reduction];
  const depth = r.int(2, 5);
  let F = randomNode(r, vars, depth, def.family === "lse" ? 1 : r.chance(0.6) ? 1 : undefined);
  if (def.family === "lse" && F.dim !== 1) F = make("Sum", [F], []);
  const W = def.weight === "required" || (def.weight === "optional" && r.chance(0.5))
    ? randomNode(r, vars, r.int(1, 3), r.chance(0.6) ? 1 : undefined)
    : undefined;
  const big = r.chance(0.1);
  const M = big ? r.int(1, maxSize) : r.int(1, 40), N = big ? r.int(1, maxSize) : r.int(1, 40);
  const k = def.needsK ? r.int(1, Math.min(N, 5)) : undefined;
  const batch = r.chance(0.2) ? [r.int(1, 3)] : [];
  const varBatch = vars.map(() => batch.map((b) => (r.chance(0.3) ? 1 : b)));
  const size = (v: FuzzVar, b: readonly number[]) =>
    b.reduce((a, c) => a * c, 1) * rowsOf({ M, N }, v) * v.dim;
  const values = vars.map((v, q) => Float64Array.from({ length: size(v, varBatch[q]) }, () => value(r)));
  const gradOk = def.grad !== "none" && r.chance(0.2);
  const grad = gradOk ? r.pick(vars).name : undefined;
  // Ranges need the i- and the j-variable in the reduced formulas (they speak of M and N).
  const cats = new Set(variablesOf(...(W ? [F, W] : [F])).map((v) => v.params[2]));
  const ranges = cats.has(0) && cats.has(1) && r.chance(0.25)
    ? randomRanges(() => r.float(), M, N).ranges
    : undefined;
  return { seed, vars, F, W, reduction, k, M, N, batch, varBatch, values, grad, ranges };
}

/** The Genred arguments of a case: formula text, aliases and options. */
export function genredArgs(c: FuzzCase): {
  formula: string;
  aliases: string[];
  options: { reduction: ReductionName; axis: 1; k?: number; formula2?: string };
} {
  const kinds = ["Vi", "Vj", "Pm"];
  return {
    formula: printFormula(c.F),
    aliases: c.vars.map((v) => `${v.name} = ${kinds[v.cat]}(${v.dim})`),
    options: {
      reduction: c.reduction,
      axis: 1,
      ...(c.k !== undefined ? { k: c.k } : {}),
      ...(c.W ? { formula2: printFormula(c.W) } : {}),
    },
  };
}
