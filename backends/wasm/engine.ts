/**
 * The "cpu" backend: the Rust-compiled WASM SIMD engine of `wasm-cpu/`, loaded from the bytes
 * embedded in `engine_bytes.ts` (no file access, no network: it works in Deno, Bun, Node and
 * browsers). Programs are compiled once per plan; a call runs on the worker threads when they
 * are available and the problem is large enough to pay for them, else on the calling thread.
 *
 * @module
 */

import type { Backend, CompiledReduction, ReduceInputs, ReducePlan } from "../backend.ts";
import { compile } from "./compile.ts";
import { type EngineExports, type Executor, runChunked, runProgram, runProgramSync } from "./driver.ts";
import { runRanged } from "./ranged.ts";
import { wantedThreads, withThreads, withThreadsSync } from "./threads.ts";
import { engineBytes } from "./bytes.ts";
import { show, UnsupportedError } from "../../formula/errors.ts";

/** The ABI version this driver speaks (checked against the module's). */
export const ABI_VERSION = 1;

let modulePromise: Promise<WebAssembly.Module> | undefined;

/** What the engine imports from its host: exact sin and cos for very large angles. */
export function hostImports(): Record<string, (x: number) => number> {
  return { host_sin: Math.sin, host_cos: Math.cos };
}

/**
 * The compiled engine module: the one given to `setEngineModule`, or compiled once per process
 * from the embedded bytes. Where the runtime refuses to compile WebAssembly at run time
 * (Cloudflare Workers, Vercel Edge), an `UnsupportedError` names the way out.
 */
export function engineModule(): Promise<WebAssembly.Module> {
  if (!modulePromise) {
    modulePromise = WebAssembly.compile(engineBytes(false)).catch((e) => {
      modulePromise = undefined;
      throw new UnsupportedError(
        `This runtime refuses to compile WebAssembly at run time (${
          (e as Error)?.message ?? e
        }): import "@keops-ts/keops/edge", whose engine is a static .wasm import, or give the engine to setEngineModule`,
      );
    });
  }
  return modulePromise;
}

/**
 * Gives the CPU engine its WebAssembly module, compiled by the runtime from the package's
 * `engine.wasm` (a static import, which is how edge runtimes such as Cloudflare Workers take
 * WebAssembly): the engine then never compiles bytes at run time. The `/edge` entry point of the
 * npm package does this.
 *
 * @example
 * ```ts
 * import { setEngineModule } from "@keops-ts/keops";
 * import { engineBytes } from "./bytes.ts";
 * import assert from "node:assert/strict";
 * const module = new WebAssembly.Module(engineBytes(false)); // where a runtime allows it
 * setEngineModule(module);
 * assert.ok(WebAssembly.Module.exports(module).some((e) => e.name === "run"));
 * ```
 */
export function setEngineModule(module: WebAssembly.Module): void {
  if (!(module instanceof WebAssembly.Module)) {
    throw new TypeError(
      `setEngineModule expects a WebAssembly.Module (the package's engine.wasm), got ${show(module)}`,
    );
  }
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  if (!exports.includes("run") || !exports.includes("abi_version")) {
    throw new TypeError(
      "The module given to setEngineModule is not keops-ts's engine (no run and abi_version exports)",
    );
  }
  modulePromise = Promise.resolve(module);
  syncModule = module;
  main = undefined;
  mainSync = undefined;
}

/** A fresh engine instance (its own linear memory). */
export async function engineInstance(): Promise<EngineExports> {
  const inst = await WebAssembly.instantiate(await engineModule(), { env: hostImports() });
  const ex = inst.exports as unknown as EngineExports;
  if (ex.abi_version() !== ABI_VERSION) {
    throw new Error(`The WASM engine speaks ABI ${ex.abi_version()}, this driver ${ABI_VERSION}: rebuild it`);
  }
  return ex;
}

let main: Promise<EngineExports> | undefined;

let syncModule: WebAssembly.Module | undefined;
let mainSync: EngineExports | undefined;

/**
 * The synchronous path's engine instance: its own memory (an asynchronous run on the other
 * may be suspended between blocks), from a module compiled synchronously once.
 */
function engineInstanceSync(): EngineExports {
  if (mainSync) return mainSync;
  try {
    syncModule ??= new WebAssembly.Module(engineBytes(false));
  } catch (e) {
    throw new UnsupportedError(
      `This runtime refuses to compile WebAssembly at run time (${
        (e as Error)?.message ?? e
      }): import "@keops-ts/keops/edge", whose engine is a static .wasm import, or give the engine to setEngineModule`,
    );
  }
  const ex = new WebAssembly.Instance(syncModule, { env: hostImports() }).exports as unknown as EngineExports;
  if (ex.abi_version() !== ABI_VERSION) {
    throw new Error(`The WASM engine speaks ABI ${ex.abi_version()}, this driver ${ABI_VERSION}: rebuild it`);
  }
  return mainSync = ex;
}

/**
 * A first-in, first-out lock: `serial(job)` starts job once every job given before it has
 * settled. A run lays its inputs, registers and outputs out from the heap base of one memory
 * and awaits in between, so two runs on one memory must never overlap.
 *
 * @example
 * ```ts
 * import { serialQueue } from "./engine.ts";
 * import assert from "node:assert/strict";
 * const serial = serialQueue(), log: number[] = [];
 * const slow = serial(async () => { await new Promise((r) => setTimeout(r, 5)); log.push(1); });
 * const fast = serial(async () => { log.push(2); });
 * await Promise.all([slow, fast]);
 * assert.ok(log.join() === "1,2");
 * ```
 */
export function serialQueue(): <T>(job: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(job: () => Promise<T>) => {
    const run = tail.then(job);
    tail = run.catch(() => {});
    return run;
  };
}

/** The calling thread's instance runs one call at a time. */
const onMain = serialQueue();

/** Below this many pairs a call stays on the calling thread (threads cost a round trip). */
const THREAD_MIN_PAIRS = 1 << 20;

/** Whether a run goes to the threads: problems that pay for them (and where they cannot run, alone). */
function usesThreads(inputs: ReduceInputs): boolean {
  const pairs = inputs.M * inputs.N * inputs.batch.reduce((a, b) => a * b, 1);
  const T = wantedThreads();
  return T > 1 && pairs >= THREAD_MIN_PAIRS && inputs.M >= 2 * T;
}

/** An executor of one engine instance on the calling thread (one thread, the engine's own stack). */
function onCallingThread(ex: EngineExports): Executor {
  return {
    memory: ex.memory!,
    heapBase: ex.__heap_base.value as number,
    threads: 1,
    stackBytes: 0,
    exec: (h, _, chunk) => runChunked((at) => ex.run(at), ex.memory!, h[0], chunk),
    execRanged: (h, _, table, counter) => runRanged((at) => ex.run(at), ex.memory!, h[0], table, counter),
  };
}

/**
 * The WASM SIMD engine as a backend.
 *
 * @example
 * ```ts
 * import { wasmBackend } from "./engine.ts";
 * import assert from "node:assert/strict";
 * assert.ok(wasmBackend().name === "cpu-rust");
 * ```
 */
export function wasmBackend(): Backend {
  return {
    name: "cpu-rust",
    compile(plan: ReducePlan): CompiledReduction {
      const prog = compile(plan.formulas);
      return {
        async run(inputs) {
          const alone = () =>
            onMain(async () => {
              main ??= engineInstance();
              const ex = await main;
              return runProgram(onCallingThread(ex), prog, plan, inputs);
            });
          if (usesThreads(inputs)) return await withThreads((x) => runProgram(x, prog, plan, inputs), alone);
          return await alone();
        },
        runSync(inputs) {
          const alone = () => runProgramSync(onCallingThread(engineInstanceSync()), prog, plan, inputs);
          if (usesThreads(inputs)) {
            return withThreadsSync((x) => runProgramSync(x, prog, plan, inputs), alone);
          }
          return alone();
        },
      };
    },
  };
}
