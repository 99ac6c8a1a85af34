/**
 * Which engine runs a call: `backend: "auto" | "cpu" | "gpu" | "reference"`.
 *
 * "cpu" is the WASM SIMD engine, "gpu" the WebGPU engine, "reference" the float64 interpreter
 * that every engine is tested against (slow, for tests and debugging). "auto" takes the GPU
 * only when it is a hardware adapter and the data is float32; otherwise the CPU.
 *
 * @module
 */

import type { Backend, DType } from "./backend.ts";
import { referenceBackend } from "./reference.ts";
import { wasmBackend } from "./wasm/engine.ts";
import { webgpuBackend } from "./webgpu/engine.ts";
import { gpuDevice } from "./webgpu/device.ts";
import { show } from "../formula/errors.ts";

/** The backends a call may ask for. */
export type BackendChoice = "auto" | "cpu" | "gpu" | "reference";

const reference = referenceBackend();
const cpu = wasmBackend();
const gpu = webgpuBackend();

/** Whether "auto" may use the GPU: a hardware adapter (not a software fallback). */
function hardwareGpu(): Promise<boolean> {
  return gpuDevice().then((d) => !!d && !d.fallback, () => false);
}

/**
 * The engine for a call.
 *
 * @example
 * ```ts
 * import { selectBackend } from "./select.ts";
 * console.assert((await selectBackend("cpu", "float32")).name === "cpu");
 * ```
 */
export async function selectBackend(choice: BackendChoice | undefined, dtype: DType): Promise<Backend> {
  switch (choice ?? "auto") {
    case "auto":
      return dtype === "float32" && (await hardwareGpu()) ? gpu : cpu;
    case "cpu":
      return cpu;
    case "reference":
      return reference;
    case "gpu":
      return gpu;
  }
  throw new TypeError(
    `Unknown backend ${show(choice)}: expected "auto", "cpu", "gpu" or "reference"`,
  );
}
