/**
 * `deno task bench`: the engines on the seed workloads next to the plain TypeScript loops (the
 * baselines), float32, D = 3. For the figures at M = N = 20000, run
 * `deno run -A bench/cpu_ratios.ts`.
 *
 * @module
 */

import { Genred, ndarray, shutdownThreads } from "../mod.ts";
import { gaussSum, knn } from "./plain_loops.ts";

let seed = 7;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const fill = (n: number) => Float32Array.from({ length: n }, rand);
const gauss = Genred("Exp(-SqDist(x,y))*b", [
  "x = Vi(3)",
  "y = Vj(3)",
  "b = Vj(1)",
], { axis: 1 });
const argk = Genred("SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], {
  reduction: "ArgKMin",
  k: 10,
  axis: 1,
});

for (
  const [M, backends] of [[1000, ["reference", "cpu"]], [4000, [
    "cpu",
  ]]] as const
) {
  const N = M;
  const X = fill(M * 3), Y = fill(N * 3), B = fill(N);
  const x = ndarray(X, [M, 3]), y = ndarray(Y, [N, 3]), b = ndarray(B, [N, 1]);
  Deno.bench(
    `plain TypeScript loop, Gaussian sum, M = N = ${M}`,
    { group: `gauss ${M}`, baseline: true },
    () => {
      gaussSum(X, Y, B, M, N);
    },
  );
  for (const backend of backends) {
    Deno.bench(`${backend}, Gaussian sum, M = N = ${M}`, {
      group: `gauss ${M}`,
    }, async () => {
      await gauss(x, y, b, { backend });
    });
  }
  Deno.bench(`plain TypeScript loop, 10 nearest neighbours, M = N = ${M}`, {
    group: `knn ${M}`,
    baseline: true,
  }, () => {
    knn(X, Y, M, N, 10);
  });
  for (const backend of backends) {
    Deno.bench(`${backend}, ArgKMin K = 10, M = N = ${M}`, {
      group: `knn ${M}`,
    }, async () => {
      await argk(x, y, { backend });
    });
  }
}

globalThis.addEventListener("unload", () => shutdownThreads());
