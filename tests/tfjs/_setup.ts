/**
 * TensorFlow.js's backends for the wrapper's tests: cpu and wasm always, webgpu where an adapter
 * exists (under CI=true its absence is a failure, as for the library's own GPU tests).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";

const entry = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
wasm.setWasmPaths(entry.slice(0, entry.lastIndexOf("/") + 1));

/** Whether this runtime has a WebGPU adapter. */
async function hasAdapter(): Promise<boolean> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return false;
  try {
    return !!(await gpu.requestAdapter());
  } catch {
    return false;
  }
}

const gpuHere = await hasAdapter();
if (!gpuHere && Deno.env.get("CI") === "true") {
  throw new Error(
    "CI=true but this runtime has no WebGPU adapter: the webgpu backend's tests cannot run",
  );
}

/** The TensorFlow.js backends to test on. */
export const BACKENDS: readonly string[] = gpuHere ? ["cpu", "wasm", "webgpu"] : ["cpu", "wasm"];

/** Makes `name` TensorFlow.js's backend. */
export async function useBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) {
    throw new Error(`TensorFlow.js's ${name} backend did not start`);
  }
  await tf.ready();
}

/** The values of a tensor (awaited: the webgpu backend reads back asynchronously). */
export async function values(t: tf.Tensor): Promise<Float32Array | Int32Array> {
  return (await t.data()) as Float32Array | Int32Array;
}

export { tf };
