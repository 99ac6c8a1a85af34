/**
 * Symbolic differentiation, and the lowering of formulas to primitives.
 *
 * `lower(f)` replaces every derived operation by its expansion and every differential operator
 * by a plain formula, so that engines only ever see primitives (element-wise and vector ops,
 * variables, constants).
 *
 * `vjp(f, v, e)` is reverse-mode differentiation, [∂_v f]ᵀ·e, KeOps's `Grad(f, v, e)`:
 *
 *     cot[f] = e
 *     for n in nodes depending on v, parents before children:
 *       for each argument a of n: cot[a] += rule_n(cot[n])_a      (the table's rule)
 *     return cot[v]
 *
 * Nodes are identified by their printed form, so a sub-formula used twice is differentiated once.
 * The forward derivative `Diff(f, v, u)` is the adjoint of that linear map, obtained by
 * differentiating ⟨vjp(f, v, t), u⟩ with respect to a temporary variable t; `Divergence`,
 * `Laplacian` and `GradMatrix` are built from `Diff` and `Grad` with one-hot directions.
 *
 * @module
 */

import { keyOf, type Node } from "./tree.ts";
import { make, opDef } from "./ops.ts";
import { add, addAll, intCst, mul, sum, zero } from "./build.ts";
import { printFormula } from "./print.ts";

function sameVar(a: Node, v: Node): boolean {
  return a.op === "Var" && a.params[0] === v.params[0] && a.params[2] === v.params[2];
}

let tempCount = 0;
/** A fresh temporary variable (category 3, negative index) for symbolic constructions. */
export function tempVar(dim: number): Node {
  return make("Var", [], [-(++tempCount), dim, 3]);
}

/** Whether formula `f` depends on variable `v`. */
export function dependsOn(f: Node, v: Node, memo = new Map<string, boolean>()): boolean {
  const k = keyOf(f);
  let r = memo.get(k);
  if (r === undefined) {
    r = sameVar(f, v) || f.args.some((a) => dependsOn(a, v, memo));
    memo.set(k, r);
  }
  return r;
}

/**
 * [∂_v f]ᵀ·e for a lowered formula f (primitives only); the result has v's dimension.
 *
 * @example
 * ```ts
 * import { make } from "./ops.ts";
 * import { vjp } from "./grad.ts";
 * import { printFormula } from "./print.ts";
 * import assert from "node:assert/strict";
 * const x = make("Var", [], [0, 1, 0]);
 * const e = make("Var", [], [1, 1, 0]);
 * const g = vjp(make("Exp", [x], []), x, e);
 * assert.ok(printFormula(g) === "(Var(1,1,0) * Exp(Var(0,1,0)))");
 * ```
 */
export function vjp(f: Node, v: Node, e: Node): Node {
  if (v.op !== "Var") {
    throw new TypeError(`Grad differentiates with respect to a variable, got ${printFormula(v)}`);
  }
  const memo = new Map<string, boolean>();
  if (!dependsOn(f, v, memo)) return zero(v.dim);
  // Topological order (children first) of the nodes that depend on v.
  const order: Node[] = [];
  const seen = new Set<string>();
  const visit = (n: Node) => {
    const k = keyOf(n);
    if (seen.has(k) || !dependsOn(n, v, memo)) return;
    seen.add(k);
    n.args.forEach(visit);
    order.push(n);
  };
  visit(f);
  const cot = new Map<string, Node[]>([[keyOf(f), [e]]]);
  let result: Node = zero(v.dim);
  for (let idx = order.length - 1; idx >= 0; idx--) {
    const n = order[idx];
    const parts = cot.get(keyOf(n));
    if (!parts) continue;
    const c = addAll(parts, n.dim);
    if (sameVar(n, v)) {
      result = c;
      continue;
    }
    const contributions = argCotangents(n, c);
    n.args.forEach((a, k) => {
      const ck = contributions[k];
      if (!ck || !dependsOn(a, v, memo)) return;
      if (typeof ck === "string") throw new TypeError(`Cannot differentiate ${n.op}: ${ck}`);
      const list = cot.get(keyOf(a)) ?? [];
      list.push(ck);
      cot.set(keyOf(a), list);
    });
  }
  return result;
}

/** The cotangents of n's arguments given n's cotangent c, from the table's rule. */
function argCotangents(n: Node, c: Node): (Node | null | string)[] {
  const def = opDef(n.op);
  switch (def.kind) {
    case "elementwise": {
      if (def.d === "zero") return [];
      return def.d(n).map((d, k) => {
        if (!d) return null;
        const ck = mul(c, d);
        return n.args[k].dim === 1 && ck.dim > 1 ? sum(ck) : ck;
      });
    }
    case "vector":
      if (def.vjp === "zero") return [];
      if (typeof def.vjp === "string") throw new TypeError(`Cannot differentiate ${n.op}: ${def.vjp}`);
      return def.vjp(n, c);
    default:
      throw new TypeError(`Cannot differentiate ${n.op} before lowering`);
  }
}

/** A one-hot constant vector of dimension d with its 1 at k. */
function oneHot(d: number, k: number): Node {
  return d === 1 ? intCst(1) : make("ElemT", [intCst(1)], [d, k]);
}

/** d_v f · u: the forward derivative, as the adjoint of the reverse one. */
export function jvp(f: Node, v: Node, u: Node): Node {
  const t = tempVar(f.dim);
  const linear = sum(mul(vjp(f, v, t), u)); // ⟨[∂_v f]ᵀ t, u⟩ = ⟨t, ∂_v f · u⟩
  return vjp(linear, t, intCst(1));
}

const lowered = new WeakMap<Node, Node>();

/**
 * The formula with derived operations expanded and differential operators computed: only
 * primitives remain.
 */
export function lower(n: Node): Node {
  const hit = lowered.get(n);
  if (hit) return hit;
  const def = opDef(n.op);
  let out: Node;
  if (def.kind === "leaf") out = n;
  else if (def.kind === "derived") out = lower(def.expand(n.args, n.params));
  else if (def.kind === "symbolic") out = lowerSymbolic(n);
  else {
    const args = n.args.map(lower);
    out = args.every((a, k) => a === n.args[k]) ? n : make(n.op, args, n.params);
  }
  lowered.set(n, out);
  return out;
}

function lowerSymbolic(n: Node): Node {
  const [f, v] = [lower(n.args[0]), n.args[1]];
  switch (n.op) {
    case "Grad":
      return lower(vjp(f, v, lower(n.args[2])));
    case "Diff":
      return lower(jvp(f, v, lower(n.args[2])));
    case "Divergence":
      return divergence(f, v);
    case "Laplacian":
      return divergence(lower(vjp(f, v, intCst(1))), v);
    case "GradMatrix": {
      const rows = [...Array(f.dim).keys()].map((k) => lower(vjp(f, v, oneHot(f.dim, k))));
      return rows.reduce((a, b) => make("Concat", [a, b], []));
    }
  }
  throw new TypeError(`Unknown differential operator ${n.op}`);
}

/** Σ_k ∂f_k/∂v_k = Σ_k Elem(d_v f · e_k, k). */
function divergence(f: Node, v: Node): Node {
  let acc: Node = zero(1);
  for (let k = 0; k < v.dim; k++) {
    const col = lower(jvp(f, v, oneHot(v.dim, k)));
    acc = add(acc, v.dim === 1 ? col : make("Elem", [col], [k]));
  }
  return acc;
}
