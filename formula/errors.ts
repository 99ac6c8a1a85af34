/**
 * The one error class of keops-ts that is not built into JavaScript.
 *
 * Everything else uses the built-in classes: `SyntaxError` for formula text, `TypeError` for a
 * wrong kind or dimension of argument, `RangeError` for a size or K out of range.
 *
 * @module
 */

/**
 * Thrown when a chosen backend lacks a feature (for instance float64 on WebGPU). The message
 * names the feature, the backend and the way out.
 *
 * @example
 * ```ts
 * import { UnsupportedError } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const err = new UnsupportedError("Backend \"gpu\" is not available yet: use backend \"cpu\"");
 * assert.ok(err instanceof Error && err.name === "UnsupportedError");
 * ```
 */
export class UnsupportedError extends Error {
  /** Builds the error with its message. */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedError";
  }
}

/**
 * A user's value as error messages show it: strings quoted (and cut at 40 characters),
 * numbers and booleans as they are, anything else by its kind. Never throws, whatever the
 * value (a symbol, an object without a prototype, a cyclic structure).
 *
 * @example
 * ```ts
 * import { show } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.ok(show("Sum") === '"Sum"' && show(Symbol("s")) === "a symbol" && show(2.5) === "2.5");
 * ```
 */
export function show(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x.length > 40 ? x.slice(0, 37) + "..." : x);
  if (typeof x === "number" || typeof x === "boolean" || typeof x === "bigint" || x == null) return String(x);
  if (typeof x === "symbol") return "a symbol";
  if (typeof x === "function") return "a function";
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  return "an object";
}

/**
 * Checks an options argument: an object (or undefined) whose keys are all known; a `TypeError`
 * naming the unknown key and the known ones otherwise.
 *
 * @example
 * ```ts
 * import { checkOptions } from "./errors.ts";
 * import assert from "node:assert/strict";
 * checkOptions({ axis: 1 }, ["axis", "k"], "Genred");
 * let err: unknown;
 * try { checkOptions({ axes: 1 }, ["axis", "k"], "Genred"); } catch (e) { err = e; }
 * assert.ok(err instanceof TypeError);
 * ```
 */
export function checkOptions(options: unknown, keys: readonly string[], what: string): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`The ${what} options must be an object, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) {
      throw new TypeError(
        `Unknown ${what} option ${show(key)}: expected ${keys.map((k) => `"${k}"`).join(", ")}`,
      );
    }
  }
}
