/**
 * The "cpu" backend: the Rust-compiled WASM SIMD engine of `wasm-cpu/`, loaded from the bytes
 * embedded in `engine_bytes.ts` (no file access, no network: it works in Deno, Bun, Node and
 * browsers). Programs are compiled once per plan; calls run on one engine instance per thread.
 *
 * @module
 */

import type { Backend, CompiledReduction, ReducePlan } from "../backend.ts";
import { compile } from "./compile.ts";
import { type EngineExports, runOnInstance } from "./driver.ts";
import { ENGINE_WASM_BASE64 } from "./engine_bytes.ts";

/** The ABI version this driver speaks (checked against the module's). */
export const ABI_VERSION = 1;

let modulePromise: Promise<WebAssembly.Module> | undefined;

/** The compiled engine module (compiled once per process). */
export function engineModule(): Promise<WebAssembly.Module> {
  if (!modulePromise) {
    const bin = atob(ENGINE_WASM_BASE64);
    const bytes = new Uint8Array(bin.length);
    for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
    modulePromise = WebAssembly.compile(bytes);
  }
  return modulePromise;
}

/** A fresh engine instance (its own linear memory). */
export async function engineInstance(): Promise<EngineExports> {
  const inst = await WebAssembly.instantiate(await engineModule(), {});
  const ex = inst.exports as unknown as EngineExports;
  if (ex.abi_version() !== ABI_VERSION) {
    throw new Error(`The WASM engine speaks ABI ${ex.abi_version()}, this driver ${ABI_VERSION}: rebuild it`);
  }
  return ex;
}

let main: Promise<EngineExports> | undefined;

/**
 * The WASM SIMD engine as a backend, single-threaded on the calling thread.
 *
 * @example
 * ```ts
 * import { wasmBackend } from "./engine.ts";
 * console.assert(wasmBackend().name === "cpu");
 * ```
 */
export function wasmBackend(): Backend {
  return {
    name: "cpu",
    compile(plan: ReducePlan): CompiledReduction {
      const prog = compile(plan.formulas);
      return {
        async run(inputs) {
          main ??= engineInstance();
          return runOnInstance(await main, prog, plan, inputs);
        },
      };
    },
  };
}
