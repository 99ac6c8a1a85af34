/**
 * Which engine runs a call: `backend: "auto" | "cpu" | "cpu-rust" | "gpu" | "reference"`.
 *
 * "cpu" is the WASM SIMD engine that compiles each plan to its own module (`backends/jit/`),
 * falling back to the Rust engine where run-time code generation is refused and for the few
 * operations it does not compile; "cpu-rust" is the Rust-compiled engine of `wasm-cpu/` itself,
 * the CPU reference for tiled reductions; "gpu" the WebGPU engine; "reference" the float64
 * interpreter that every engine is tested against (slow, for tests and debugging). "auto" takes
 * the GPU only when it is a hardware adapter, the data is float32 and the problem has at least
 * `AUTO_GPU_MIN_PAIRS` pairs; otherwise "cpu".
 *
 * @module
 */

import type { Backend, DType } from "./backend.ts";
import { referenceBackend } from "./reference.ts";
import { wasmBackend } from "./wasm/engine.ts";
import { jitBackend } from "./jit/engine.ts";
import { webgpuBackend } from "./webgpu/engine.ts";
import { hardwareAdapter } from "./webgpu/device.ts";
import { show } from "../formula/errors.ts";

/** The backends a call may ask for (KeOps's upper-case "CPU" and "GPU" too: any case is taken). */
export type BackendChoice =
  | "auto"
  | "cpu"
  | "cpu-rust"
  | "gpu"
  | "reference"
  | "AUTO"
  | "CPU"
  | "GPU";

/**
 * Below this many pairs (all batch elements together) "auto" takes the CPU without asking
 * for a GPU: a GPU call's fixed cost (submission, read-back: about a millisecond) is then
 * larger than the whole reduction on the CPU engine.
 */
export const AUTO_GPU_MIN_PAIRS = 1 << 20;

const reference = referenceBackend();
const rust = wasmBackend();
const cpu = jitBackend(rust);
const gpu = webgpuBackend();

/** Whether "auto" may use the GPU: a hardware adapter (not a software fallback), asked without a device. */
function hardwareGpu(): Promise<boolean> {
  return hardwareAdapter();
}

/**
 * The engine for a call.
 *
 * @example
 * ```ts
 * import { selectBackend } from "./select.ts";
 * import assert from "node:assert/strict";
 * assert.ok((await selectBackend("cpu", "float32")).name === "cpu");
 * assert.ok((await selectBackend("CPU", "float32")).name === "cpu"); // KeOps's spelling
 * ```
 */
export async function selectBackend(
  choice: BackendChoice | undefined,
  dtype: DType,
  pairs?: number,
): Promise<Backend> {
  const named = byName(choice);
  if (named) return named;
  // "auto": a small problem is done on the CPU before a GPU call's fixed cost is paid: no
  // adapter is asked for it at all.
  if (pairs !== undefined && pairs < AUTO_GPU_MIN_PAIRS) return cpu;
  return dtype === "float32" && (await hardwareGpu()) ? gpu : cpu;
}

/**
 * The engine of a synchronous call: as `selectBackend`, but "auto" is the CPU (a GPU's results
 * come back asynchronously; asking for an adapter is asynchronous too).
 *
 * @example
 * ```ts
 * import { selectBackendSync } from "./select.ts";
 * import assert from "node:assert/strict";
 * assert.ok(selectBackendSync("auto").name === "cpu");
 * ```
 */
export function selectBackendSync(choice: BackendChoice | undefined): Backend {
  return byName(choice) ?? cpu;
}

/** The engine a name asks for; undefined for "auto". KeOps's names are upper case: any case is taken. */
function byName(choice: BackendChoice | undefined): Backend | undefined {
  const name = typeof choice === "string" ? choice.toLowerCase() : choice;
  switch (name ?? "auto") {
    case "auto":
      return undefined;
    case "cpu":
      return cpu;
    case "cpu-rust":
      return rust;
    case "reference":
      return reference;
    case "gpu":
      return gpu;
  }
  throw new TypeError(
    `Unknown backend ${show(choice)}: expected "auto", "cpu", "cpu-rust", "gpu" or "reference"`,
  );
}
