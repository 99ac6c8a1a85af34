/**
 * Dimension rules shared by the entries of the operation table, with `TypeError`s and
 * `RangeError`s that name the arguments (by alias when they are variables) and their dimensions.
 *
 * @module
 */

import { depthOf, type Node, type Param } from "./tree.ts";
import { printFormula } from "./print.ts";

/** A short name for a node in messages: its alias, or its (truncated) formula. */
export function describe(n: Node): string {
  if (n.label) return `"${n.label}"`;
  // Shallow formulas are printed whole; deeper ones by their operation only, since printing a
  // tree with shared sub-formulas can take time exponential in its depth.
  if (depthOf(n) > 8) return `${n.op}(…)`;
  const text = printFormula(n);
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
}

/** KeOps's broadcasting rule: every argument of dimension D or 1; the output has dimension D. */
export function sameOr1(args: readonly Node[], _p: readonly Param[], name: string): number {
  const d = Math.max(...args.map((a) => a.dim));
  for (const a of args) {
    if (a.dim !== d && a.dim !== 1) {
      const list = args.map((x) => `${describe(x)} of dimension ${x.dim}`).join(" and ");
      throw new TypeError(
        `${name} expects arguments of one dimension or of dimension 1, got ${list}`,
      );
    }
  }
  return d;
}

/** The rule of an operation whose output dimension is always d. */
export function fixed(d: number) {
  return () => d;
}

/** Both arguments of one dimension, which is the output's. */
export function sameDims(args: readonly Node[], _p: readonly Param[], name: string): number {
  if (args[0].dim !== args[1].dim) {
    throw new TypeError(
      `${name} expects arguments of equal dimensions, got ${describe(args[0])} of dimension ${
        args[0].dim
      } and ${describe(args[1])} of dimension ${args[1].dim}`,
    );
  }
  return args[0].dim;
}

/** Requires node n to have dimension d. */
export function requireDim(n: Node, d: number, name: string, what: string) {
  if (n.dim !== d) {
    throw new TypeError(
      `${name} expects ${what} of dimension ${d}, got ${describe(n)} of dimension ${n.dim}`,
    );
  }
}

/** Requires an integer parameter in [lo, hi]. */
export function requireRange(v: number, lo: number, hi: number, name: string, what: string) {
  if (!(v >= lo && v <= hi)) {
    throw new RangeError(`${name} expects ${what} between ${lo} and ${hi}, got ${v}`);
  }
}
