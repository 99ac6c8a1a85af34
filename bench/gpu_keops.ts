/**
 * KeOps's published table on a real GPU: the Gaussian kernel sum `Exp(-SqDist(x,y))*b` at
 * M = N = 10⁴, 10⁵, 10⁶ (D = 3, float32), and kNN (ArgKMin, K = 10, D = 3) on 10⁶ points,
 * next to KeOps's RTX 2080 Ti figures (0.7 ms, 15 ms, 1.39 s). Whole calls (upload, run,
 * read back), median of 3 after a warm-up.
 *
 *     deno run -A bench/gpu_keops.ts [largest size]      (default 10⁶; 10⁴ on a software adapter)
 *
 * Prints a Markdown table naming the adapter.
 *
 * @module
 */

import { Genred, ndarray } from "../mod.ts";
import { gpuDevice } from "../backends/webgpu/device.ts";

const info = await gpuDevice();
if (!info) throw new Error("No WebGPU adapter here");
const largest = Number(Deno.args[0] ?? (info.fallback ? 1e4 : 1e6));
let seed = 5;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const fill = (n: number) => Float32Array.from({ length: n }, rand);
const median = (t: number[]) => [...t].sort((p, q) => p - q)[Math.floor(t.length / 2)];

async function time(f: () => Promise<unknown>): Promise<number> {
  await f();
  const t: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

const gauss = Genred("Exp(-SqDist(x,y))*b", [
  "x = Vi(3)",
  "y = Vj(3)",
  "b = Vj(1)",
], { axis: 1 });
const knn = Genred("SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], {
  reduction: "ArgKMin",
  k: 10,
  axis: 1,
});
const KEOPS: Record<number, string> = {
  1e4: "0.7 ms",
  1e5: "15 ms",
  1e6: "1.39 s",
};
const fmt = (
  ms: number,
) => (ms < 1000 ? `${ms.toFixed(ms < 10 ? 2 : 0)} ms` : `${(ms / 1000).toFixed(2)} s`);

console.log(
  `adapter: ${info.description}${info.fallback ? " (software fallback adapter)" : ""}; float32, D = 3\n`,
);
console.log("| job | keops-ts (this device) | KeOps, RTX 2080 Ti |");
console.log("|---|---|---|");
for (const n of [1e4, 1e5, 1e6].filter((n) => n <= largest)) {
  const x = ndarray(fill(n * 3), [n, 3]),
    y = ndarray(fill(n * 3), [n, 3]),
    b = ndarray(fill(n), [n, 1]);
  const t = await time(() => gauss(x, y, b, { backend: "gpu" }));
  console.log(
    `| Gaussian sum, M = N = ${n.toExponential(0)} | ${fmt(t)} | ${KEOPS[n]} |`,
  );
}
{
  const n = Math.min(largest, 1e6);
  const x = ndarray(fill(n * 3), [n, 3]);
  const t = await time(() => knn(x, x, { backend: "gpu" }));
  console.log(
    `| kNN, ArgKMin K = 10, M = N = ${n.toExponential(0)} | ${fmt(t)} | — |`,
  );
}
