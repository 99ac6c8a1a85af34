/**
 * A smoke test of the CPU engine for any runtime (`bun tests/smoke/smoke.ts`; Node runs the
 * bundle that `.ci/run` makes of it): a Gaussian kernel sum and an ArgKMin on a few hundred
 * points, checked against plain loops. Exits non-zero on a mismatch.
 *
 * @module
 */

import { Genred, getThreads, type NDArray, ndarray, shutdownThreads } from "../../mod.ts";
import { threadJobs, threadsUnavailable } from "../../backends/wasm/threads.ts";

declare const process: { exitCode?: number; versions?: Record<string, string> } | undefined;

const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? "bun"
  : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
  ? "deno"
  : `node ${typeof process !== "undefined" ? process.versions?.node : "?"}`;

let seed = 5;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
// Large enough (M·N over two million pairs) to take the threaded path where there is one.
const M = 1600, N = 1500;
const X = Float32Array.from({ length: M * 3 }, rand), Y = Float32Array.from({ length: N * 3 }, rand);
const B = Float32Array.from({ length: N }, rand);

const gauss = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
const sum = (await gauss(ndarray(X, [M, 3]), ndarray(Y, [N, 3]), ndarray(B, [N, 1]))) as NDArray;
const argk = Genred("SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], { reduction: "ArgKMin", k: 5, axis: 1 });
const nn = (await argk(ndarray(X, [M, 3]), ndarray(Y, [N, 3]))) as NDArray;
const threads = getThreads(), jobs = threadJobs(), why = threadsUnavailable();
shutdownThreads();

const d2 = (i: number, j: number) =>
  (X[3 * i] - Y[3 * j]) ** 2 + (X[3 * i + 1] - Y[3 * j + 1]) ** 2 + (X[3 * i + 2] - Y[3 * j + 2]) ** 2;
let worst = 0, wrong = 0;
for (let i = 0; i < M; i++) {
  let s = 0;
  for (let j = 0; j < N; j++) s += Math.exp(-d2(i, j)) * B[j];
  worst = Math.max(worst, Math.abs(sum.data[i] - s) / Math.abs(s));
  const order = [...Array(N).keys()].sort((p, q) => d2(i, p) - d2(i, q) || p - q).slice(0, 5);
  if (order.some((j, k) => nn.data[i * 5 + k] !== j)) wrong++;
}
// Where the runtime has threads (and the machine more than one core), the calls used them.
const threadsOk = threads === 1 || jobs > 0;
const ok = worst < 1e-5 && wrong === 0 && threadsOk;
console.log(
  `${runtime}: Gaussian sum worst relative error ${
    worst.toExponential(2)
  }, ArgKMin rows wrong ${wrong}, ${threads} threads (${jobs} jobs on them${why ? `; ${why}` : ""}): ${
    ok ? "ok" : "FAILED"
  }`,
);
if (!ok) {
  if (typeof process !== "undefined") process.exitCode = 1;
  else throw new Error("smoke test failed");
}
