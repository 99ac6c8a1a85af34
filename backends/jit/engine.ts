/**
 * The "cpu" backend's compiling engine: at a plan's first call, a WebAssembly module is
 * generated for it (`codegen.ts`), compiled once, and cached with the plan. It runs on the
 * calling thread (its own memory) or on the CPU engine's worker threads (their shared memory).
 *
 * Where generating code at run time is refused (Cloudflare Workers: "Wasm code generation
 * disallowed by embedder"), and for the few operations without a rule here (BSpline, SoftDTW),
 * the Rust engine of `backends/wasm/` runs the plan instead: `jitBackend` falls back to it.
 *
 * @module
 */

import type { Backend, CompiledReduction, ReduceInputs, ReducePlan } from "../backend.ts";
import { type Executor, runChunked } from "../wasm/driver.ts";
import { runRanged } from "../wasm/ranged.ts";
import { serialQueue } from "../wasm/engine.ts";
import { wantedThreads, withThreads, withThreadsSync } from "../wasm/threads.ts";
import { generate, type JitCode, NotCompiled } from "./codegen.ts";
import { type JitExecutor, runJit, runJitSync } from "./driver.ts";
import { HOST_FUNCTIONS, type HostName } from "./emit.ts";

/** What generated modules import besides memory: JavaScript's exact float64 Math. */
const HOST = Object.fromEntries(Object.keys(HOST_FUNCTIONS).map((k) => [k, Math[k as HostName]]));

let allowed: boolean | undefined;

/**
 * Whether this runtime compiles WebAssembly generated at run time (an empty module is tried once).
 *
 * @example
 * ```ts
 * import { codegenAllowed } from "./engine.ts";
 * import assert from "node:assert/strict";
 * assert.ok(typeof codegenAllowed() === "boolean");
 * ```
 */
export function codegenAllowed(): boolean {
  if (allowed === undefined) {
    try {
      new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
      allowed = true;
    } catch {
      allowed = false;
    }
  }
  return allowed;
}

/**
 * Overrides whether run-time code generation is allowed (false: every plan goes to the Rust
 * engine, as under an embedder that refuses it), or restores detection with undefined;
 * returns the old setting. For tests.
 *
 * @example
 * ```ts
 * import { codegenAllowed, setCodegenAllowed } from "./engine.ts";
 * import assert from "node:assert/strict";
 * const old = setCodegenAllowed(false);
 * assert.ok(codegenAllowed() === false);
 * setCodegenAllowed(old);
 * ```
 */
export function setCodegenAllowed(on: boolean | undefined): boolean | undefined {
  const old = allowed;
  allowed = on;
  return old;
}

/** The calling thread's memory for generated code (grown as needed, never shared). */
let memory: WebAssembly.Memory | undefined;
/**
 * The synchronous path's memory: its own, since an asynchronous run on `memory` may be
 * suspended between two blocks of terms when a synchronous run comes.
 */
let syncMemory: WebAssembly.Memory | undefined;
const onMain = serialQueue();

/**
 * Below this many pairs a call stays on the calling thread: a call on the workers costs about
 * half a millisecond of messages here, which two threads win back from about a millisecond
 * of work (two million pairs of the fastest reductions).
 */
const THREAD_MIN_PAIRS = 1 << 21;

let nextKey = 1;

/** A plan's compiled module, its instance on the calling thread, and its key for the workers. */
class Compiled {
  readonly key = nextKey++;
  private modules: Partial<Record<"true" | "false", Promise<WebAssembly.Module>>> = {};
  private instance?: Promise<WebAssembly.Instance>;
  private syncModule?: WebAssembly.Module;
  private sharedSync?: WebAssembly.Module;
  private syncInstance?: WebAssembly.Instance;
  readonly code: JitCode;
  constructor(code: JitCode) {
    this.code = code;
  }
  module(shared: boolean): Promise<WebAssembly.Module> {
    return this.modules[`${shared}`] ??= WebAssembly.compile(this.code.bytes(shared));
  }
  /** The shared-memory build for the workers, compiled synchronously (for synchronous calls). */
  sharedModuleSync(): WebAssembly.Module {
    return this.sharedSync ??= new WebAssembly.Module(this.code.bytes(true));
  }
  local(mem: WebAssembly.Memory): Promise<WebAssembly.Instance> {
    return this.instance ??= this.module(false).then((m) =>
      WebAssembly.instantiate(m, { env: { memory: mem, ...HOST } })
    );
  }
  /** The instance of the synchronous path (its own memory), compiled synchronously. */
  localSync(mem: WebAssembly.Memory): WebAssembly.Instance {
    this.syncModule ??= new WebAssembly.Module(this.code.bytes(false));
    return this.syncInstance ??= new WebAssembly.Instance(this.syncModule, { env: { memory: mem, ...HOST } });
  }
}

/** Whether a run goes to the workers: problems that pay for them. */
function usesThreads(c: Compiled, inputs: ReduceInputs): boolean {
  const pairs = inputs.M * inputs.N * inputs.batch.reduce((a, b) => a * b, 1);
  const threads = wantedThreads();
  return threads > 1 && pairs >= THREAD_MIN_PAIRS && inputs.M >= 2 * c.code.G * threads;
}

/** Generated code on the workers: their executor, with the plan's module and key. */
function onWorkers(x: Executor, c: Compiled, module: WebAssembly.Module): JitExecutor {
  return {
    memory: x.memory,
    heapBase: x.heapBase,
    threads: x.threads,
    exec: (headers, chunk, counter) =>
      x.exec(headers, headers.map(() => 0), chunk, { key: c.key, module, counter }),
    execRanged: (headers, table, counter) =>
      x.execRanged(headers, headers.map(() => 0), table, counter, { key: c.key, module, counter }),
  };
}

/** Runs one compiled plan, on the workers when the problem pays for them. */
async function run(c: Compiled, plan: ReducePlan, inputs: ReduceInputs) {
  if (usesThreads(c, inputs)) {
    return await withThreads(
      async (x) => runJit(onWorkers(x, c, await c.module(true)), c.code, plan, inputs),
      () => alone(c, plan, inputs),
    );
  }
  return await alone(c, plan, inputs);
}

/** Runs one compiled plan synchronously: on the workers (the calling thread waiting) when it pays. */
function runNow(c: Compiled, plan: ReducePlan, inputs: ReduceInputs) {
  if (usesThreads(c, inputs)) {
    return withThreadsSync(
      (x) => runJitSync(onWorkers(x, c, c.sharedModuleSync()), c.code, plan, inputs),
      () => aloneSync(c, plan, inputs),
    );
  }
  return aloneSync(c, plan, inputs);
}

/** Runs one compiled plan on the calling thread. */
function alone(c: Compiled, plan: ReducePlan, inputs: ReduceInputs) {
  return onMain(async () => {
    memory ??= new WebAssembly.Memory({ initial: 16 });
    const inst = await c.local(memory);
    return runJit(onCallingThread(inst, memory), c.code, plan, inputs);
  });
}

/** An executor of a generated module's instance on the calling thread, over its memory. */
function onCallingThread(inst: WebAssembly.Instance, mem: WebAssembly.Memory): JitExecutor {
  const go = inst.exports.run as (h: number) => void;
  return {
    memory: mem,
    heapBase: 0,
    threads: 1,
    exec: (headers, chunk) => headers.forEach((h) => runChunked(go, mem, h, chunk)),
    execRanged: (headers, table, counter) => headers.forEach((h) => runRanged(go, mem, h, table, counter)),
  };
}

/** Runs one compiled plan on the calling thread, synchronously. */
function aloneSync(c: Compiled, plan: ReducePlan, inputs: ReduceInputs) {
  const mem = syncMemory ??= new WebAssembly.Memory({ initial: 16 });
  return runJitSync(onCallingThread(c.localSync(mem), mem), c.code, plan, inputs);
}

/**
 * The compiling CPU engine as a backend, falling back to `fallback` (the Rust engine) for plans
 * it does not compile and where code generation is refused.
 *
 * @example
 * ```ts
 * import { jitBackend } from "./engine.ts";
 * import { wasmBackend } from "../wasm/engine.ts";
 * import assert from "node:assert/strict";
 * assert.ok(jitBackend(wasmBackend()).name === "cpu");
 * ```
 */
export function jitBackend(fallback: Backend, name = "cpu"): Backend {
  return {
    name,
    compile(plan: ReducePlan): CompiledReduction {
      if (!codegenAllowed()) return fallback.compile(plan);
      let code: JitCode;
      try {
        code = generate(plan);
      } catch (e) {
        if (e instanceof NotCompiled) return fallback.compile(plan);
        throw e;
      }
      const c = new Compiled(code);
      let other: CompiledReduction | undefined;
      // Checked again at each call: an embedder may refuse generated code only later.
      return {
        run: (inputs) =>
          codegenAllowed() ? run(c, plan, inputs) : (other ??= fallback.compile(plan)).run(inputs),
        runSync: (inputs) =>
          codegenAllowed() ? runNow(c, plan, inputs) : (other ??= fallback.compile(plan)).runSync!(inputs),
      };
    },
  };
}
