/**
 * The engines a backend-parametrised suite runs on: the float64 reference (checked against
 * dense computations written in the tests), the two CPU engines, and the WebGPU engine when this
 * runtime has an adapter (lavapipe in CI). With CI=true a missing adapter fails the run.
 *
 * @module
 */

const adapter = await (globalThis.navigator as Navigator | undefined)?.gpu?.requestAdapter?.();
if (!adapter && Deno.env.get("CI") === "true") {
  throw new Error("CI=true but no WebGPU adapter: install mesa-vulkan-drivers and libvulkan1");
}

/** Whether the WebGPU engine can run here. */
export const GPU = !!adapter;

/**
 * Backends every operation and reduction test runs on: both CPU engines ("cpu" compiles each
 * plan to its own module, "cpu-rust" is the Rust engine it falls back to).
 */
export const BACKENDS =
  (GPU ? ["reference", "cpu", "cpu-rust", "gpu"] : ["reference", "cpu", "cpu-rust"]) as (
    | "reference"
    | "cpu"
    | "cpu-rust"
    | "gpu"
  )[];

/** The backends with float64 (WGSL has none). */
export const F64_BACKENDS = BACKENDS.filter((b) => b !== "gpu");

/** One of them. */
export type TestBackend = "reference" | "cpu" | "cpu-rust" | "gpu";
