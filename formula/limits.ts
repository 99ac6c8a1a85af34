/**
 * The documented limits of formulas. Past any of them a `RangeError` names the limit, so that a
 * service that accepts formulas from its users never crashes on them, runs out of stack or
 * memory, or compiles for minutes.
 *
 * - `maxFormulaLength`: characters of formula text (a formula string or an alias list entry).
 * - `maxDepth`: levels of a formula tree, and of nested parentheses, calls and unary signs in its
 *   text. Every pass over a tree (parse, print, lower, differentiate, compile) is linear in its
 *   size; the depth bound keeps the recursive ones within any JavaScript stack.
 * - `maxNodes`: distinct nodes of one compiled reduction (after lowering and differentiation).
 * - `maxDim`: components of any vector (a variable, a constant, an intermediate).
 * - Integer parameters (`Pow(x, n)`, `Elem(x, m)`, `IntCst(n)`, …) are 32-bit signed integers.
 *
 * @example
 * ```ts
 * import { LIMITS } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * assert.ok(LIMITS.maxDepth >= 400 && LIMITS.maxDim >= 4096);
 * ```
 *
 * @module
 */

/**
 * The limits; see the module documentation.
 *
 * @example
 * ```ts
 * import { Genred, LIMITS } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * // A formula deeper than the limit is a RangeError that names it, not a stack overflow.
 * const deep = "Exp(".repeat(LIMITS.maxDepth + 1) + "x" + ")".repeat(LIMITS.maxDepth + 1);
 * assert.throws(() => Genred(deep, ["x = Vi(1)"]), RangeError);
 * ```
 */
export const LIMITS = {
  maxFormulaLength: 1_000_000,
  maxDepth: 400,
  maxNodes: 1_000_000,
  maxDim: 65536,
  minInt: -2147483648,
  maxInt: 2147483647,
} as const;

/** Throws the RangeError of an integer parameter outside the 32-bit range. */
export function checkInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v < LIMITS.minInt || v > LIMITS.maxInt) {
    throw new RangeError(
      `${what} is ${v}: expected an integer from ${LIMITS.minInt} to ${LIMITS.maxInt} (a 32-bit integer)`,
    );
  }
}
