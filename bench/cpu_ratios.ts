/**
 * The CPU engine against the plain TypeScript loops, measured in one run (the machines are
 * shared and noisy, so only ratios within a run mean anything):
 * `deno run -A bench/cpu_ratios.ts [M]` (default M = N = 20000, D = 3, float32).
 * Prints, per workload, the median time of each contender and its speed-up over the loop.
 *
 * @module
 */

import { Genred, getThreads, type NDArray, ndarray, setThreads, shutdownThreads } from "../mod.ts";
import { gaussGradX, gaussSum, knn } from "./plain_loops.ts";

const M = Number(Deno.args[0] ?? 20000), N = M;
let seed = 11;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const fill = (n: number) => Float32Array.from({ length: n }, rand);
const X = fill(M * 3), Y = fill(N * 3), B = fill(N), E = fill(M);
const x = ndarray(X, [M, 3]),
  y = ndarray(Y, [N, 3]),
  b = ndarray(B, [N, 1]),
  e = ndarray(E, [M, 1]);
const aliases = ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"];
const gauss = Genred("Exp(-SqDist(x,y))*b", aliases, { axis: 1 });
const grad = gauss.grad("x");
const argk = Genred("SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], {
  reduction: "ArgKMin",
  k: 10,
  axis: 1,
});

async function median(f: () => unknown, runs: number): Promise<number> {
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return times.sort((p, q) => p - q)[Math.floor(runs / 2)];
}

const all = getThreads();
const rows: string[] = [];
async function workload(
  name: string,
  plain: () => unknown,
  engine: () => Promise<unknown>,
) {
  await engine(); // compile and warm up
  const tPlain = await median(plain, 3);
  setThreads(1);
  await engine();
  const tOne = await median(engine, 3);
  setThreads(all);
  await engine();
  const tAll = await median(engine, 3);
  const mpairs = (M * N) / 1e3; // pairs per millisecond / 1000 = millions of pairs per second
  rows.push(
    `| ${name} | ${tPlain.toFixed(0)} ms (${(mpairs / tPlain).toFixed(0)} M pairs/s) | ` +
      `${tOne.toFixed(0)} ms, **${(tPlain / tOne).toFixed(2)}×** | ` +
      `${tAll.toFixed(0)} ms, **${(tPlain / tAll).toFixed(2)}×** |`,
  );
  console.log(rows[rows.length - 1]);
}

console.log(
  `M = N = ${M}, D = 3, float32, ${all} threads; ${Deno.build.os} ${Deno.build.arch}, Deno ${Deno.version.deno}`,
);
console.log(
  "| workload | plain TypeScript loop | cpu, 1 thread | cpu, all threads |",
);
console.log("|---|---|---|---|");
await workload(
  "Gaussian sum `Exp(-SqDist(x,y))*b`",
  () => gaussSum(X, Y, B, M, N),
  () => gauss(x, y, b),
);
await workload("ArgKMin, K = 10", () => knn(X, Y, M, N, 10), () => argk(x, y));
await workload(
  "gradient of the Gaussian sum in x",
  () => gaussGradX(X, Y, B, E, M, N),
  () => grad(x, y, b, e) as Promise<NDArray>,
);
shutdownThreads();
