/**
 * Which engine runs a call: `backend: "auto" | "cpu" | "gpu" | "reference"`.
 *
 * "cpu" (and so "auto", until the WebGPU engine lands) is the WASM SIMD engine; "reference" is
 * the float64 interpreter that every engine is tested against (slow, for tests and debugging).
 *
 * @module
 */

import type { Backend, DType } from "./backend.ts";
import { referenceBackend } from "./reference.ts";
import { wasmBackend } from "./wasm/engine.ts";
import { UnsupportedError } from "../lazy/errors.ts";

/** The backends a call may ask for. */
export type BackendChoice = "auto" | "cpu" | "gpu" | "reference";

const reference = referenceBackend();
const cpu = wasmBackend();

/**
 * The engine for a call.
 *
 * @example
 * ```ts
 * import { selectBackend } from "./select.ts";
 * console.assert(selectBackend("auto", "float32").name === "cpu");
 * ```
 */
export function selectBackend(choice: BackendChoice | undefined, _dtype: DType): Backend {
  switch (choice ?? "auto") {
    case "auto":
    case "cpu":
      return cpu;
    case "reference":
      return reference;
    case "gpu":
      throw new UnsupportedError(
        'The "gpu" backend (WebGPU) is not available in this version of keops-ts: use backend "cpu" or "auto"',
      );
  }
  throw new TypeError(
    `Unknown backend ${JSON.stringify(choice)}: expected "auto", "cpu", "gpu" or "reference"`,
  );
}
