/**
 * Worker threads on every runtime that has them, behind one small interface: Web Workers where
 * there is a `Worker` global (Deno, Bun, browsers), Node's `worker_threads` otherwise (reached
 * through `process.getBuiltinModule`, so no import statement names a Node module and bundles
 * for the browser stay clean). Both run the same worker program, given as source text; in Node
 * a prelude gives it the `self.onmessage` / `self.postMessage` of a Web Worker.
 *
 * `threadSupport()` says whether threads can run here, and if not, why (no shared memory, a page
 * without cross-origin isolation, no workers).
 *
 * @module
 */

/** One worker: messages in and out, and its end. */
export interface Port {
  send(message: unknown): void;
  /** Sets the handlers of the next messages and of the worker's failure (replacing earlier ones). */
  listen(onMessage: (data: unknown) => void, onError: (e: Error) => void): void;
  terminate(): void;
}

/** What threads this runtime offers: a way to start workers, or the reason there is none. */
export type ThreadSupport =
  | { readonly ok: true; readonly kind: "web" | "node"; spawn(source: string): Port }
  | { readonly ok: false; readonly reason: string };

/** Node's `worker_threads`, as far as it is used here. */
interface NodeWorkers {
  Worker: new (source: string, options: { eval: true }) => {
    postMessage(m: unknown): void;
    on(event: "message" | "error" | "exit", f: (x: never) => void): void;
    removeAllListeners(event?: string): void;
    terminate(): void;
    unref(): void;
  };
}

/** The prelude that gives a Node worker a Web Worker's `self`. */
const NODE_PRELUDE = `const { parentPort } = require("node:worker_threads");
const self = {
  postMessage: (m) => parentPort.postMessage(m),
  set onmessage(f) { parentPort.on("message", (data) => f({ data })); },
};
`;

function webPort(source: string): Port {
  const w = new Worker("data:text/javascript," + encodeURIComponent(source), { type: "module" });
  // Idle workers never keep Deno's process alive.
  (w as unknown as { unref?: () => void }).unref?.();
  return {
    send: (m) => w.postMessage(m),
    listen(onMessage, onError) {
      w.onmessage = (e: MessageEvent) => onMessage(e.data);
      w.onmessageerror = () => onError(new Error("a message could not be read"));
      w.onerror = (e) => {
        e.preventDefault?.();
        // A worker refused by a Content-Security-Policy fails with an event and no message.
        onError(
          new Error(e.message || "the worker could not start (a Content-Security-Policy may forbid it)"),
        );
      };
    },
    terminate: () => w.terminate(),
  };
}

function nodePort(workers: NodeWorkers, source: string): Port {
  const w = new workers.Worker(NODE_PRELUDE + source, { eval: true });
  w.unref();
  let fail: (e: Error) => void = () => {};
  // One error and exit listener for the worker's life, forwarding to the current handler.
  w.on("error", (e: never) => fail(e as Error));
  w.on("exit", (code: never) => fail(new Error(`the worker exited (code ${code})`)));
  let current: ((data: unknown) => void) | undefined;
  w.on("message", (d: never) => current?.(d));
  return {
    send: (m) => w.postMessage(m),
    listen(onMessage, onError) {
      current = onMessage;
      fail = onError;
    },
    terminate() {
      fail = () => {};
      w.terminate();
    },
  };
}

/**
 * Whether this runtime can run the engine on worker threads, and how.
 *
 * @example
 * ```ts
 * import { threadSupport } from "./ports.ts";
 * import assert from "node:assert/strict";
 * const t = threadSupport();
 * assert.ok(t.ok ? t.kind === "web" || t.kind === "node" : t.reason.length > 0);
 * ```
 */
export function threadSupport(): ThreadSupport {
  if (override) return override();
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  // (A page without isolation has no SharedArrayBuffer either: that is the reason to give.)
  if (g.crossOriginIsolated === false) {
    return {
      ok: false,
      reason:
        "the page is not cross-origin isolated (shared memory needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)",
    };
  }
  if (typeof g.SharedArrayBuffer !== "function") {
    return { ok: false, reason: "this runtime has no SharedArrayBuffer" };
  }
  if (typeof g.Worker === "function") return { ok: true, kind: "web", spawn: webPort };
  const workers = g.process?.getBuiltinModule?.("node:worker_threads") as NodeWorkers | undefined;
  if (workers?.Worker) return { ok: true, kind: "node", spawn: (s) => nodePort(workers, s) };
  return { ok: false, reason: "this runtime has no workers (no Worker global, no worker_threads)" };
}

let override: (() => ThreadSupport) | undefined;

/**
 * Replaces what `threadSupport` reports (undefined: the runtime's own again); returns the old
 * replacement. For tests, which play a runtime whose workers cannot start or fail.
 *
 * @example
 * ```ts
 * import { setThreadSupport, threadSupport } from "./ports.ts";
 * import assert from "node:assert/strict";
 * const old = setThreadSupport(() => ({ ok: false, reason: "no workers in this test" }));
 * assert.ok(!threadSupport().ok);
 * setThreadSupport(old);
 * ```
 */
export function setThreadSupport(f: (() => ThreadSupport) | undefined): (() => ThreadSupport) | undefined {
  const old = override;
  override = f;
  return old;
}
