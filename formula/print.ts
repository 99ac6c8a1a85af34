/**
 * The printer of the canonical KeOps form: variables as `Var(ind,dim,cat)`, the five infix
 * operators `+ - * / |` parenthesised, everything else as `Name(args,params)`. Parsing a printed
 * formula gives back the same tree.
 *
 * @module
 */

import type { Node, Param } from "./tree.ts";
import { OPS } from "./ops.ts";

/** The text of a float literal that parses back to the same float (never mistaken for an int). */
export function formatFloat(v: number): string {
  const s = String(v);
  return /[.eE]/.test(s) || !Number.isFinite(v) ? s : s + ".0";
}

function formatParam(p: Param): string {
  return Array.isArray(p) ? `[${p.join(",")}]` : String(p);
}

/**
 * The canonical KeOps text of a formula tree.
 *
 * @example
 * ```ts
 * import { parseFormula, type VarSpec } from "./parse.ts";
 * import { printFormula } from "./print.ts";
 * import assert from "node:assert/strict";
 * const scope = new Map<string, VarSpec>([["x", { ind: 0, dim: 2, cat: 0 }], ["y", { ind: 1, dim: 2, cat: 1 }]]);
 * const tree = parseFormula("Sum((x-y)**2)", scope);
 * assert.ok(printFormula(tree) === "Sum(Square((Var(0,2,0) - Var(1,2,1))))");
 * ```
 */
export function printFormula(n: Node): string {
  if (n.op === "Cst") return formatFloat(n.params[0] as number);
  const infix = (OPS as Record<string, { infix?: string }>)[n.op]?.infix;
  if (infix && n.args.length === 2) {
    return `(${printFormula(n.args[0])} ${infix} ${printFormula(n.args[1])})`;
  }
  const parts = [...n.args.map(printFormula), ...n.params.map(formatParam)];
  return `${n.op}(${parts.join(",")})`;
}
