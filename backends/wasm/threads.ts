/**
 * The worker threads of the CPU engine: one worker per thread (a Web Worker, or Node's
 * `worker_threads`: `ports.ts`), all running the shared-memory build of the engine on one
 * `WebAssembly.Memory({ shared: true })`, each with its own stack. The main thread lays out the
 * memory and splits the output rows; the workers only run.
 *
 * Where threads cannot run (no shared memory, a page without cross-origin isolation, workers
 * refused by a Content-Security-Policy), a call runs on the calling thread instead, after one
 * warning that says why, and `getThreads()` says 1. A worker that fails takes its pool down, so
 * the next call starts afresh (or, when starting is what fails, stays on the calling thread).
 *
 * A synchronous call (`routine.sync`, the TensorFlow.js entry) uses the workers too when their
 * pool is started and idle and the calling thread may block (not a browser's main thread): it
 * posts the runs and waits in `Atomics.wait` for the workers' counts in shared memory
 * (`withThreadsSync`).
 *
 * Idle workers are terminated after a delay (500 ms by default, `setThreads(n, { idleMs })`, on
 * a timer that does not keep the process alive), so scripts exit promptly; the next call large
 * enough for threads starts them again. Small problems never start them.
 *
 * @module
 */

import { engineBytes } from "./bytes.ts";
import { type Executor, runChunked, runClaimed } from "./driver.ts";
import { runRanged } from "./ranged.ts";
import { hostImports, serialQueue } from "./engine.ts";
import { checkOptions, show } from "../../formula/errors.ts";
import { HOST_FUNCTIONS } from "../jit/emit.ts";
import { type Port, threadSupport } from "./ports.ts";

/**
 * The worker's whole program, plain JavaScript run from a data: URL (so that no file or network
 * permission is needed, and it works the same from a local checkout, JSR or a bundle):
 *
 *     init {module, memory}  -> instantiate the shared build on the memory -> "ready"
 *                               (with the host's Math.sin and Math.cos, as engine.ts)
 *     run {header, stackTop, chunk} -> set the thread's stack, run the header's rows in
 *                               calls of chunk.rows rows (runChunked, from driver.ts)    -> "done"
 *     run {header, chunk, jit: {key, module?, counter}} -> a module generated for a plan
 *                               (`backends/jit/`, instantiated on the memory once per key,
 *                               sent once), its rows claimed chunk by chunk (runClaimed)
 */
const WORKER_SOURCE = `
const runChunked = (${runChunked.toString()});
const runClaimed = (${runClaimed.toString()});
const runRanged = (${runRanged.toString()});
const HOST = Object.fromEntries(${JSON.stringify(Object.keys(HOST_FUNCTIONS))}.map((k) => [k, Math[k]]));
const jit = new Map();
let ex, memory;
// A run of a synchronous call (m.signal set) answers through shared memory, since the calling
// thread is blocked in Atomics.wait: [done, failed, started] at m.signal. Others answer by message.
const finish = (m, error) => {
  if (m.signal === undefined) {
    self.postMessage(error === undefined ? { type: "done" } : { type: "error", message: error });
    return;
  }
  const a = new Int32Array(memory.buffer);
  if (error !== undefined) Atomics.add(a, (m.signal >> 2) + 1, 1);
  Atomics.add(a, m.signal >> 2, 1);
  Atomics.notify(a, m.signal >> 2);
};
self.onmessage = async (e) => {
  const m = e.data;
  if (m.signal !== undefined) {
    const a = new Int32Array(memory.buffer);
    Atomics.add(a, (m.signal >> 2) + 2, 1);
    Atomics.notify(a, (m.signal >> 2) + 2);
  }
  try {
    if (m.type === "init") {
      memory = m.memory;
      const env = { memory, host_sin: Math.sin, host_cos: Math.cos };
      const inst = await WebAssembly.instantiate(m.module, { env });
      ex = inst.exports;
      self.postMessage({ type: "ready" });
    } else if (m.jit) {
      let inst = jit.get(m.jit.key);
      if (!inst && m.jit.module) {
        inst = await WebAssembly.instantiate(m.jit.module, { env: { memory, ...HOST } });
        jit.set(m.jit.key, inst);
      }
      if (m.ranged) runRanged((h) => inst.exports.run(h), memory, m.header, m.ranged.table, m.ranged.counter);
      else runClaimed((h) => inst.exports.run(h), memory, m.header, m.chunk, m.jit.counter);
      finish(m);
    } else if (m.ranged) {
      ex.__stack_pointer.value = m.stackTop;
      runRanged((h) => ex.run(h), memory, m.header, m.ranged.table, m.ranged.counter);
      finish(m);
    } else {
      ex.__stack_pointer.value = m.stackTop;
      runChunked((h) => ex.run(h), memory, m.header, m.chunk);
      finish(m);
    }
  } catch (err) {
    const message = String(err && err.message || err);
    if (m.type === "init" || !memory) self.postMessage({ type: "error", message });
    else finish(m, message);
  }
};`;

let idleMs = 500;
const STACK_BYTES = 256 << 10;

let requested: number | undefined;
let jobsRun = 0;
/** Why threads cannot run here, once starting them failed (until `setThreads` is called again). */
let broken: string | undefined;
let warned = false;

/** Options of `setThreads`. */
export interface ThreadOptions {
  /**
   * Milliseconds an idle pool of workers waits for the next call before it stops (default
   * 500; `Infinity` keeps it, as a server that answers requests seconds apart may want).
   */
  idleMs?: number;
}

/**
 * Sets how many threads the CPU engine uses (default: one per core); 1 runs on the calling
 * thread only.
 *
 * @example
 * ```ts
 * import { getThreads, setThreads } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * setThreads(1);
 * assert.ok(getThreads() === 1);
 * ```
 */
export function setThreads(n: number, options: ThreadOptions = {}): void {
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new RangeError(`The number of CPU threads must be an integer between 1 and 256, got ${show(n)}`);
  }
  checkOptions(options, ["idleMs"], "setThreads");
  const idle = options.idleMs;
  if (idle !== undefined && !(typeof idle === "number" && idle >= 0 && !Number.isNaN(idle))) {
    throw new RangeError(
      `The option idleMs must be a number of milliseconds ≥ 0 (or Infinity), got ${show(idle)}`,
    );
  }
  if (idle !== undefined) idleMs = idle;
  // A new setting tries the workers again, and may warn again.
  broken = undefined;
  warned = false;
  // One thread runs on the calling thread and leaves the pool to its idle timer, so that going
  // back to the same count of threads soon after costs no restart.
  if (pool && n > 1 && pool.size !== n) shutdownThreads();
  requested = n;
}

/** The threads asked for: `setThreads`'s, or one per core. */
export function wantedThreads(): number {
  return requested ?? cores();
}

/** The cores of this machine: `navigator.hardwareConcurrency`, or Node's os module before Node 21. */
function cores(): number {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const n = g.navigator?.hardwareConcurrency ??
    g.process?.getBuiltinModule?.("node:os")?.availableParallelism?.();
  return Math.max(1, typeof n === "number" ? n : 1);
}

/**
 * The number of threads the CPU engine uses: the threads asked for where they can run here,
 * else 1.
 *
 * @example
 * ```ts
 * import { getThreads, setThreads } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const before = getThreads();
 * setThreads(1);
 * assert.equal(getThreads(), 1);
 * setThreads(before);
 * ```
 */
export function getThreads(): number {
  return threadsAvailable() ? wantedThreads() : 1;
}

/** Why this runtime cannot run the engine on worker threads, or undefined when it can. */
export function threadsUnavailable(): string | undefined {
  const t = threadSupport();
  return t.ok ? broken : t.reason;
}

/**
 * How many jobs have run on worker threads since the start (to check that a runtime uses them).
 *
 * @example
 * ```ts
 * import { threadJobs } from "./threads.ts";
 * import assert from "node:assert/strict";
 * assert.ok(threadJobs() >= 0);
 * ```
 */
export function threadJobs(): number {
  return jobsRun;
}

/** Whether this runtime can run the engine on worker threads. */
export function threadsAvailable(): boolean {
  return threadsUnavailable() === undefined;
}

function warnOnce(reason: string) {
  if (warned) return;
  warned = true;
  console.warn(
    `keops-ts: the CPU engine runs on the calling thread only, because ${reason}. Results are the same; setThreads(1) silences this.`,
  );
}

interface Pool {
  size: number;
  memory: WebAssembly.Memory;
  heapBase: number;
  /** Where a synchronous call's workers count their finished runs, failures and starts (int32s). */
  signal: number;
  workers: Port[];
  /** Jobs share the pool's memory, so they run one at a time. */
  serial: <T>(job: () => Promise<T>) => Promise<T>;
  /** Jobs given and not yet settled. */
  active: number;
  /** The keys of the generated modules each worker has been sent. */
  sent: Set<number>[];
  timer?: ReturnType<typeof setTimeout>;
}

let pool: Pool | undefined;
let starting: Promise<Pool> | undefined;

/** The rejections of the messages in flight: a terminated worker never answers them. */
const inFlight = new Set<(e: Error) => void>();

/** A worker's failure (as opposed to an error of the computation it reports). */
class WorkerFailure extends Error {}

function ask(w: Port, msg: unknown): Promise<void> {
  let fail!: (e: Error) => void;
  const answer = new Promise<void>((resolve, reject) => {
    fail = reject;
    w.listen(
      (data) => {
        const d = data as { type: string; message?: string };
        if (d.type === "error") reject(new Error(`A CPU engine thread failed: ${d.message}`));
        else resolve();
      },
      (e) => reject(new WorkerFailure(`A CPU engine thread failed: ${e.message}`)),
    );
    w.send(msg);
  });
  inFlight.add(fail);
  return answer.finally(() => inFlight.delete(fail));
}

async function start(size: number): Promise<Pool> {
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 65536, shared: true });
  // The main thread's instance initialises the memory's data once and gives __heap_base.
  const module = await WebAssembly.compile(engineBytes(true));
  const inst = await WebAssembly.instantiate(module, { env: { memory, ...hostImports() } });
  const heapBase = (inst.exports.__heap_base as WebAssembly.Global).value as number;
  const support = threadSupport();
  if (!support.ok) throw new WorkerFailure(support.reason);
  const workers: Port[] = [];
  try {
    for (let t = 0; t < size; t++) workers.push(support.spawn(WORKER_SOURCE));
    await Promise.all(workers.map((w) => ask(w, { type: "init", module, memory })));
  } catch (e) {
    workers.forEach((w) => w.terminate());
    throw e instanceof WorkerFailure ? e : new WorkerFailure((e as Error)?.message ?? String(e));
  }
  // Below the drivers' layout: the words of synchronous calls.
  const signal = Math.ceil(heapBase / 16) * 16;
  return {
    size,
    memory,
    heapBase: signal + 16,
    signal,
    workers,
    serial: serialQueue(),
    active: 0,
    sent: workers.map(() => new Set()),
  };
}

/**
 * Terminates the worker threads (they restart on the next call large enough for them); calls in
 * flight on them fail.
 *
 * @example
 * ```ts
 * import { getThreads, shutdownThreads } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * shutdownThreads(); // e.g. before a script's end, so that no worker keeps it waiting
 * assert.ok(getThreads() >= 1); // the setting stays
 * ```
 */
export function shutdownThreads(): void {
  if (pool) {
    clearTimeout(pool.timer);
    pool.workers.forEach((w) => w.terminate());
  }
  pool = undefined;
  starting = undefined;
  for (const fail of inFlight) fail(new Error("The CPU engine threads were shut down during a call"));
}

function scheduleIdle(p: Pool) {
  clearTimeout(p.timer);
  if (idleMs === Infinity) return;
  p.timer = setTimeout(() => {
    if (pool === p && p.active === 0) shutdownThreads();
  }, idleMs);
  // deno-lint-ignore no-explicit-any
  const D = (globalThis as any).Deno;
  if (D?.unrefTimer) D.unrefTimer(p.timer);
}

/**
 * Makes the pool of the wanted size (starting it if need be); false where it cannot start, after
 * one warning saying why.
 */
async function poolReady(): Promise<boolean> {
  const size = wantedThreads();
  if (pool && pool.size === size) return true;
  starting ??= start(size);
  let p: Pool;
  try {
    p = await starting;
  } catch (e) {
    starting = undefined;
    broken = `its worker threads could not start (${(e as Error)?.message ?? e})`;
    warnOnce(broken);
    return false;
  }
  if (pool !== p) {
    pool = p;
    starting = undefined;
  }
  return true;
}

/** The message of one run on worker t, with the generated module the first time it meets it. */
function runMessage(
  p: Pool,
  t: number,
  header: number,
  extra: Record<string, unknown>,
  jit?: { readonly key: number; readonly module: WebAssembly.Module; readonly counter: number },
): Record<string, unknown> {
  const first = jit && !p.sent[t].has(jit.key);
  if (first) p.sent[t].add(jit.key);
  const job = jit && { key: jit.key, module: first ? jit.module : undefined, counter: jit.counter };
  return { type: "run", header, ...extra, jit: job };
}

/** How one run's messages reach every worker (and how its end is awaited). */
type Post = (
  headers: readonly number[],
  extra: (t: number) => Record<string, unknown>,
  jit?: { readonly key: number; readonly module: WebAssembly.Module; readonly counter: number },
) => void | Promise<void>;

/** The executor of a pool: its memory and threads, each run sent to every worker by `post`. */
function poolExecutor(p: Pool, post: Post): Executor {
  return {
    memory: p.memory,
    heapBase: p.heapBase,
    threads: p.size,
    stackBytes: STACK_BYTES,
    exec: (headers, stacks, chunk, jit) => post(headers, (t) => ({ stackTop: stacks[t], chunk }), jit),
    execRanged: (headers, stacks, table, counter, jit) =>
      post(headers, (t) => ({ stackTop: stacks[t], ranged: { table, counter } }), jit),
  };
}

let blocking: boolean | undefined;

/** Whether this thread may block in `Atomics.wait` (a browser's main thread may not). */
function canBlock(): boolean {
  if (blocking === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // not equal: returns at once
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

/**
 * `withThreads` for a synchronous call: the worker threads run the job's runs while the calling
 * thread waits for them in `Atomics.wait` (they answer through shared memory, not messages,
 * which a blocked thread cannot receive). Only with a pool already started and idle, on a thread
 * that may block; otherwise `alone` runs, and an absent pool is started in the background for
 * later calls (starting takes messages, hence the event loop that a synchronous call holds).
 */
export function withThreadsSync<T>(job: (x: Executor) => T, alone: () => T): T {
  const why = threadsUnavailable();
  if (why) warnOnce(why);
  if (why || !canBlock()) return alone();
  const p = pool;
  if (!p || p.size !== wantedThreads()) {
    poolReady().then((ok) => ok && pool && pool.active === 0 && scheduleIdle(pool), () => {});
    return alone();
  }
  if (p.active > 0) return alone(); // an asynchronous job holds the pool's memory
  p.active++;
  clearTimeout(p.timer);
  jobsRun++;
  const words = p.signal >> 2;
  /** Blocks until word k reaches n; false if `ms` pass first (Infinity: no limit). */
  const until = (k: number, n: number, ms: number) => {
    const end = performance.now() + ms;
    for (;;) {
      const a = new Int32Array(p.memory.buffer); // (the memory may have grown)
      const v = Atomics.load(a, words + k);
      if (v >= n) return true;
      const left = end - performance.now();
      if (left <= 0) return false;
      Atomics.wait(a, words + k, v, Math.min(left, 1000));
    }
  };
  const post: Post = (headers, extra, jit) => {
    const a = new Int32Array(p.memory.buffer);
    for (const k of [0, 1, 2]) Atomics.store(a, words + k, 0);
    p.workers.forEach((w, t) => w.send(runMessage(p, t, headers[t], { ...extra(t), signal: p.signal }, jit)));
    // A worker that does not take its message at once is gone (its death reaches the event
    // loop, which this call holds): the pool goes and the call runs alone. One that took it
    // finishes, or reports its failure.
    if (!until(2, p.size, syncStartMs)) throw new WorkerFailure("a worker did not take its job");
    until(0, p.size, Infinity);
    if (Atomics.load(new Int32Array(p.memory.buffer), words + 1) > 0) {
      throw new Error("A CPU engine thread failed during a synchronous call");
    }
  };
  try {
    return job(poolExecutor(p, post));
  } catch (e) {
    if (!(e instanceof WorkerFailure)) throw e;
    if (pool === p) shutdownThreads();
    return alone();
  } finally {
    if (--p.active === 0 && pool === p) scheduleIdle(p);
  }
}

let syncStartMs = 5000;

/**
 * Sets how long a synchronous call waits for every worker to take its job before it gives the
 * pool up and runs alone (default 5 s; workers take a job within a millisecond); returns the
 * old value. For tests.
 *
 * @example
 * ```ts
 * import { setSyncStartTimeout } from "./threads.ts";
 * const old = setSyncStartTimeout(100);
 * setSyncStartTimeout(old);
 * ```
 */
export function setSyncStartTimeout(ms: number): number {
  const old = syncStartMs;
  syncStartMs = ms;
  return old;
}

/**
 * Runs `job` with an executor over the worker threads, one job at a time; or `alone` (the same
 * work on the calling thread) where threads cannot run, after one warning saying why. A worker
 * that fails to start, or fails during the job, takes the pool down and the call runs `alone`;
 * later calls start afresh, except that where starting failed they stay on the calling thread.
 */
export async function withThreads<T>(job: (x: Executor) => Promise<T>, alone: () => Promise<T>): Promise<T> {
  const why = threadsUnavailable();
  if (why) {
    warnOnce(why);
    return alone();
  }
  if (!(await poolReady())) return alone();
  const p = pool!;
  // Counted from now, so that the idle timer of an earlier job never stops the workers while
  // this one waits for its turn or runs.
  p.active++;
  clearTimeout(p.timer);
  /** Sends one run message to every worker (a generated module to each once: a copy costs). */
  const post: Post = (headers, extra, jit) =>
    Promise.all(p.workers.map((w, t) => ask(w, runMessage(p, t, headers[t], extra(t), jit)))).then(() => {});
  const run = p.serial(() => {
    clearTimeout(p.timer);
    jobsRun++;
    return job(poolExecutor(p, post));
  });
  run.catch(() => {}).finally(() => {
    if (--p.active === 0) scheduleIdle(p);
  });
  try {
    return await run;
  } catch (e) {
    if (!(e instanceof WorkerFailure)) throw e;
    // A worker died: its pool goes, and this call is run again on the calling thread.
    if (pool === p) shutdownThreads();
    return alone();
  }
}
