/**
 * Small test helpers shared by the suites: a seeded generator, float comparisons with a
 * tolerance, and error assertions that check the class and the message.
 *
 * @module
 */

import assert from "node:assert/strict";

/** A seeded uniform generator in [0, 1) (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [lo, hi). */
export function uniform(r: () => number, n: number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** Asserts |a − b| ≤ atol + rtol·|b| element-wise (NaN matches NaN, ±∞ must be equal). */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-12, atol = 1e-12, what = "values" } = {},
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k], b = expected[k];
    if (Number.isNaN(b) && Number.isNaN(a)) continue;
    if (!Number.isFinite(b) || !Number.isFinite(a)) {
      assert.equal(a, b, `${what}[${k}]: ${a} ≠ ${b}`);
      continue;
    }
    assert.ok(Math.abs(a - b) <= atol + rtol * Math.abs(b), `${what}[${k}]: ${a} vs expected ${b}`);
  }
}

/** Asserts that `f` throws (or rejects with) an error of class `cls` whose message matches. */
export async function assertThrowsClass(
  f: () => unknown,
  cls: new (...a: never[]) => Error,
  pattern: RegExp,
): Promise<void> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `expected a ${cls.name} matching ${pattern}, nothing was thrown`);
  assert.ok(
    err instanceof cls,
    `expected a ${cls.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`,
  );
  assert.match((err as Error).message, pattern);
  // Sentence case: messages start with a capital letter.
  assert.match((err as Error).message, /^[A-Z"(]/, `message not in sentence case: ${(err as Error).message}`);
}

/** Row-major rows of a flat array. */
export function rows(data: ArrayLike<number>, d: number): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < data.length; k += d) out.push(Array.from({ length: d }, (_, c) => data[k + c]));
  return out;
}
