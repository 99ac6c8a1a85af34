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
 * import { UnsupportedError } from "./errors.ts";
 * const err = new UnsupportedError("Backend \"gpu\" is not available yet: use backend \"cpu\"");
 * console.assert(err instanceof Error && err.name === "UnsupportedError");
 * ```
 */
export class UnsupportedError extends Error {
  /** Builds the error with its message. */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedError";
  }
}
