/**
 * Which engine runs a call: `backend: "auto" | "cpu" | "gpu"`.
 *
 * In this release "cpu" (and so "auto") is the float64 reference engine, results returned in the
 * inputs' dtype; the WASM SIMD engine and the WebGPU engine plug in here as they land.
 *
 * @module
 */

import type { Backend, DType } from "./backend.ts";
import { referenceBackend } from "./reference.ts";
import { UnsupportedError } from "../lazy/errors.ts";

/** The backends a call may ask for. */
export type BackendChoice = "auto" | "cpu" | "gpu";

const reference = referenceBackend();

/**
 * The engine for a call.
 *
 * @example
 * ```ts
 * import { selectBackend } from "./select.ts";
 * console.assert(selectBackend("auto", "float32").name === "reference");
 * ```
 */
export function selectBackend(choice: BackendChoice | undefined, _dtype: DType): Backend {
  switch (choice ?? "auto") {
    case "auto":
    case "cpu":
      return reference;
    case "gpu":
      throw new UnsupportedError(
        'The "gpu" backend (WebGPU) is not available in this version of keops-ts: use backend "cpu" or "auto"',
      );
  }
  throw new TypeError(`Unknown backend ${JSON.stringify(choice)}: expected "auto", "cpu" or "gpu"`);
}
