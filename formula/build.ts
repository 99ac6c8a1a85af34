/**
 * Smart constructors for the formulas that the gradient rules and expansions produce.
 *
 * They apply the few simplifications that keep derivative formulas small (drop zeros, drop
 * multiplications by one, fold double negations) and keep KeOps's broadcasting: a result always
 * has the dimension of the unsimplified operation.
 *
 * @module
 */

import type { Node, Param } from "./tree.ts";
import { make } from "./ops.ts";

/** `IntCst(n)`. */
export const intCst = (n: number): Node => make("IntCst", [], [n]);
/** `RatCst(p,q)`. */
export const ratCst = (p: number, q: number): Node => make("RatCst", [], [p, q]);
/** `Zero(d)`. */
export const zero = (d: number): Node => make("Zero", [], [d]);

/** Builds `op(args…, params…)` where args are the leading node arguments. */
export function un(op: string, ...rest: (Node | Param)[]): Node {
  const args = rest.filter((r): r is Node => typeof r === "object" && !Array.isArray(r));
  const params = rest.filter((r): r is Param => typeof r === "number" || Array.isArray(r));
  return make(op, args, params);
}

/** Whether the node is identically zero. */
export function isZero(n: Node): boolean {
  return n.op === "Zero" || (n.op === "IntCst" && n.params[0] === 0);
}

function isInt(n: Node, v: number): boolean {
  return n.op === "IntCst" && n.params[0] === v;
}

/** `a` broadcast to dimension d (a has dimension d or 1). */
export function broadcast(a: Node, d: number): Node {
  if (a.dim === d) return a;
  return isZero(a) ? zero(d) : make("SumT", [a], [d]);
}

/** f + g. */
export function add(a: Node, b: Node): Node {
  const d = Math.max(a.dim, b.dim);
  if (isZero(a)) return broadcast(b, d);
  if (isZero(b)) return broadcast(a, d);
  return make("Add", [a, b], []);
}

/** f − g. */
export function sub(a: Node, b: Node): Node {
  const d = Math.max(a.dim, b.dim);
  if (isZero(b)) return broadcast(a, d);
  if (isZero(a)) return broadcast(neg(b), d);
  return make("Subtract", [a, b], []);
}

/** −f. */
export function neg(a: Node): Node {
  if (isZero(a)) return a;
  if (a.op === "Minus") return a.args[0];
  if (a.op === "IntCst") return intCst(-(a.params[0] as number));
  return make("Minus", [a], []);
}

/** f · g. */
export function mul(a: Node, b: Node): Node {
  const d = Math.max(a.dim, b.dim);
  // Check the dimensions even when the product simplifies away.
  if (a.dim !== b.dim && a.dim !== 1 && b.dim !== 1) return make("Mult", [a, b], []);
  if (isZero(a) || isZero(b)) return zero(d);
  if (isInt(a, 1)) return broadcast(b, d);
  if (isInt(b, 1)) return broadcast(a, d);
  if (isInt(a, -1)) return broadcast(neg(b), d);
  if (isInt(b, -1)) return broadcast(neg(a), d);
  // SumT(s, D)·v = s·v for v of dimension D: the scalar broadcasts by itself.
  if (a.op === "SumT" && b.dim === a.dim) return mul(a.args[0], b);
  if (b.op === "SumT" && a.dim === b.dim) return mul(a, b.args[0]);
  return make("Mult", [a, b], []);
}

/** f / g. */
export function div(a: Node, b: Node): Node {
  if (isZero(a)) return zero(Math.max(a.dim, b.dim));
  if (isInt(b, 1)) return broadcast(a, Math.max(a.dim, b.dim));
  return make("Divide", [a, b], []);
}

/** Σ_k f_k (the identity on dimension 1). */
export function sum(a: Node): Node {
  if (a.dim === 1) return a;
  if (isZero(a)) return zero(1);
  return make("Sum", [a], []);
}

/** Sums of at least this many terms are added as balanced trees (see `pairwise`). */
export const LONG_SUM = 64;

/**
 * Combines a non-empty list pairwise, level by level, into a balanced tree: its depth grows as
 * the logarithm of the list's length, so that long sums (generated formulas, the many
 * contributions to one gradient) never meet LIMITS.maxDepth.
 *
 * @example
 * ```ts
 * import { pairwise } from "./build.ts";
 * import assert from "node:assert/strict";
 * assert.ok(pairwise(["a", "b", "c", "d", "e"], (x, y) => `(${x}${y})`) === "(((ab)(cd))e)");
 * ```
 */
export function pairwise<T>(items: readonly T[], combine: (a: T, b: T) => T): T {
  let level = [...items];
  while (level.length > 1) {
    const next: T[] = [];
    for (let k = 0; k + 1 < level.length; k += 2) next.push(combine(level[k], level[k + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/** Sum of a list of formulas of one dimension d; `Zero(d)` when empty; balanced when long. */
export function addAll(terms: Node[], d: number): Node {
  if (terms.length < LONG_SUM) return terms.reduce((acc, t) => add(acc, t), zero(d));
  return add(zero(d), pairwise(terms, add));
}
