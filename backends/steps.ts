/**
 * Computations that run either synchronously or asynchronously from one body of code. A
 * driver, a routine or a call is written once as a generator that yields what it waits for (a
 * promise, or a plain value); `runAsync` awaits each yielded value, `runSync` hands plain values
 * straight back and refuses a promise. The synchronous path (what TensorFlow.js ops and
 * `a = K @ b` as a value need) then shares every line of layout, validation and shaping with
 * the asynchronous one instead of copying it.
 *
 * @module
 */

/** A computation that may wait: it yields values or promises and returns a T. */
export type Steps<T> = Generator<unknown, T, unknown>;

/**
 * Waits for a value inside a computation: `const v = yield* wait(p)`.
 *
 * @example
 * ```ts
 * import { runSync, wait } from "./steps.ts";
 * import assert from "node:assert/strict";
 * assert.ok(runSync((function* () { return 1 + (yield* wait(2)); })()) === 3);
 * ```
 */
export function* wait<T>(x: T | Promise<T>): Generator<unknown, T, unknown> {
  return (yield x) as T;
}

/**
 * Runs a computation to its end, awaiting what it yields (a rejection is thrown into it).
 *
 * @example
 * ```ts
 * import { runAsync, wait } from "./steps.ts";
 * import assert from "node:assert/strict";
 * const out = await runAsync((function* () { return 1 + (yield* wait(Promise.resolve(2))); })());
 * assert.ok(out === 3);
 * ```
 */
export async function runAsync<T>(g: Steps<T>): Promise<T> {
  let step = g.next();
  while (!step.done) {
    let value: unknown, failed = false;
    try {
      value = await step.value;
    } catch (e) {
      failed = true;
      value = e;
    }
    step = failed ? g.throw(value) : g.next(value);
  }
  return step.value;
}

/**
 * Runs a computation to its end on the calling thread; a step that would wait for a promise
 * is a bug of the synchronous path (it was meant to yield only values), reported as an Error.
 *
 * @example
 * ```ts
 * import { runSync, wait } from "./steps.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => runSync((function* () { return yield* wait(Promise.resolve(1)); })()));
 * ```
 */
export function runSync<T>(g: Steps<T>): T {
  let step = g.next();
  while (!step.done) {
    if (step.value instanceof Promise) {
      step.value.catch(() => {});
      const e = new Error("Internal error: a synchronous computation waited for a promise");
      step = g.throw(e);
      continue;
    }
    step = g.next(step.value);
  }
  return step.value;
}
