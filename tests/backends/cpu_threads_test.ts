// The CPU engine on worker threads: the same results as on the calling thread, for row counts
// that do not divide among the threads and rows cut into many calls; the thread count is
// configurable and validated.
import assert from "node:assert/strict";
import {
  Genred,
  getThreads,
  type NDArray,
  ndarray,
  type ReductionName,
  setThreads,
  shutdownThreads,
} from "../../mod.ts";
import { threadsAvailable } from "../../backends/wasm/threads.ts";
import { setPairsPerCall } from "../../backends/wasm/driver.ts";
import { assertThrowsClass, rng, uniform } from "../_helpers.ts";

for (const backend of ["cpu", "cpu-rust"] as const) {
  Deno.test(`[${backend}] threads give the results of one thread`, async () => {
    assert.ok(threadsAvailable(), "Deno offers workers and shared memory");
    const r = rng(91);
    const M = 1001, N = 2100; // over a million pairs, rows not a multiple of the threads
    const x = ndarray(Float32Array.from(uniform(r, M * 3)), [M, 3]);
    const y = ndarray(Float32Array.from(uniform(r, N * 3)), [N, 3]);
    const b = ndarray(Float32Array.from(uniform(r, N)), [N, 1]);
    const cases: [string, ReductionName, number?][] = [
      ["Exp(-SqDist(x,y))*b", "Sum"],
      ["SqDist(x,y)", "ArgKMin", 10],
      ["-SqDist(x,y)", "LogSumExp"],
      ["SqDist(x,y) + b", "Min_ArgMin"],
    ];
    const before = getThreads();
    try {
      for (const [f, red, k] of cases) {
        const g = Genred(f, ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { reduction: red, axis: 1, k });
        setThreads(1);
        const one = [(await g(x, y, b, { backend })) as NDArray | [NDArray, NDArray]].flat();
        for (const t of [2, 3]) {
          setThreads(t);
          const many = [(await g(x, y, b, { backend })) as NDArray | [NDArray, NDArray]].flat();
          many.forEach((o, q) =>
            assert.deepEqual(Array.from(o.data), Array.from(one[q].data), `${red} with ${t} threads`)
          );
        }
        // Rows cut into calls of one and of seven rows, on one thread and on two.
        for (const [t, pairs] of [[1, 1], [2, 7 * N]]) {
          setThreads(t);
          const old = setPairsPerCall(pairs);
          try {
            const cut = [(await g(x, y, b, { backend })) as NDArray | [NDArray, NDArray]].flat();
            cut.forEach((o, q) =>
              assert.deepEqual(
                Array.from(o.data),
                Array.from(one[q].data),
                `${red} in calls of ${Math.max(1, Math.floor(pairs / N))} rows`,
              )
            );
          } finally {
            setPairsPerCall(old);
          }
        }
      }
    } finally {
      setThreads(before);
      shutdownThreads();
    }
  });
}

Deno.test("the thread count is validated", async () => {
  await assertThrowsClass(() => setThreads(0), RangeError, /between 1 and 256, got 0/);
  await assertThrowsClass(() => setThreads(1.5), RangeError, /got 1.5/);
});
