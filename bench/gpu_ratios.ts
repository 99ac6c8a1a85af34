/**
 * The WebGPU engine's generated kernels against hand-written WGSL (`gpu_hand.ts`) for the same
 * job on the same adapter, in one run: after a warm-up of both, the two alternate, round by
 * round, and each side's median is taken (the machines are shared and noisy). Every figure is
 * a whole call (upload, dispatch, read-back), and the results of both sides are compared.
 *
 *     deno run -A bench/gpu_ratios.ts [rounds]        (default 5 rounds)
 *
 * Jobs: the Gaussian sum in D = 3, square (M = N = 8192) and with few rows (M = 64,
 * N = 2^18); ArgKMin K = 10 of SqDist in D = 64 (M = N = 4096); Exp(−g·SqDist)·b in D = 784
 * (M = N = 1024). Also the first call at D = 784 (shader generation and pipeline creation
 * included), and the nanoseconds per pair of the two Gaussian shapes, per whole call and at
 * the margin (between two sizes of each shape).
 *
 * @module
 */

import { Genred, type NDArray, ndarray } from "../mod.ts";
import { gpuDevice } from "../backends/webgpu/device.ts";
import { pipelineStats } from "../backends/webgpu/engine.ts";
import { gaussian, gaussian784, type HandJob, knn64 } from "./gpu_hand.ts";

const rounds = Number(Deno.args[0] ?? 5);
let seed = 13;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const fill = (n: number) => Float32Array.from({ length: n }, rand);

const info = await gpuDevice();
if (!info) {
  throw new Error(
    "No WebGPU adapter: install mesa-vulkan-drivers (lavapipe) or run where there is a GPU",
  );
}
const device = info.device;

interface Job {
  name: string;
  pairs: number;
  hand: HandJob;
  ours: () => Promise<NDArray>;
  /** The largest relative difference between the two sides' outputs (indices: mismatches). */
  compare(h: Float32Array | Int32Array, o: NDArray): string;
}

const relDiff = (h: Float32Array | Int32Array, o: NDArray) => {
  let worst = 0;
  for (let i = 0; i < h.length; i++) {
    worst = Math.max(
      worst,
      Math.abs(o.data[i] - h[i]) / Math.max(1e-30, Math.abs(h[i])),
    );
  }
  return `max rel. difference ${worst.toExponential(1)}`;
};

function gaussJob(
  name: string,
  M: number,
  N: number,
  chunks: number,
  wg: number,
): Job {
  const X = fill(M * 3), Y = fill(N * 3), B = fill(N);
  const g = Genred("Exp(-SqDist(x,y))*b", [
    "x = Vi(3)",
    "y = Vj(3)",
    "b = Vj(1)",
  ], { axis: 1 });
  const args = [ndarray(X, [M, 3]), ndarray(Y, [N, 3]), ndarray(B, [N, 1])];
  return {
    name,
    pairs: M * N,
    hand: gaussian(X, Y, B, chunks, wg),
    ours: () => g(...args, { backend: "gpu" }) as Promise<NDArray>,
    compare: relDiff,
  };
}

const jobs: Job[] = [
  gaussJob("Gaussian sum, M = N = 8192, D = 3 (square)", 8192, 8192, 1, 64),
  // Few rows: one workgroup of 8 invocations × 8 rows, so the hand kernel splits j into 8
  // chunks (32,768 terms each, within llvmpipe's loop cap) and adds them in a second pass.
  gaussJob(
    "Gaussian sum, few rows: M = 64, N = 2^18, D = 3",
    64,
    2 ** 18,
    8,
    8,
  ),
];
{
  const M = 4096, N = 4096, D = 64;
  const X = fill(M * D), Y = fill(N * D);
  const g = Genred("SqDist(x,y)", [`x = Vi(${D})`, `y = Vj(${D})`], {
    reduction: "ArgKMin",
    k: 10,
    axis: 1,
  });
  const args = [ndarray(X, [M, D]), ndarray(Y, [N, D])];
  jobs.push({
    name: "kNN, ArgKMin K = 10 of SqDist, M = N = 4096, D = 64",
    pairs: M * N,
    hand: knn64(X, Y),
    ours: () => g(...args, { backend: "gpu" }) as Promise<NDArray>,
    compare: (h, o) => {
      let miss = 0;
      for (let i = 0; i < h.length; i++) miss += h[i] === o.data[i] ? 0 : 1;
      return `${miss} of ${h.length} indices differ`;
    },
  });
}
const M784 = 1024, D784 = 784;
const X784 = fill(M784 * D784), Y784 = fill(M784 * D784), B784 = fill(M784);
const g784 = Genred(
  "Exp(-g*SqDist(x,y))*b",
  [`x = Vi(${D784})`, `y = Vj(${D784})`, "b = Vj(1)", "g = Pm(1)"],
  {
    axis: 1,
  },
);
const args784 = [
  ndarray(X784, [M784, D784]),
  ndarray(Y784, [M784, D784]),
  ndarray(B784, [M784, 1]),
  ndarray(Float32Array.of(1 / D784), [1]),
];
jobs.push({
  name: "Exp(-g*SqDist(x,y))*b, M = N = 1024, D = 784",
  pairs: M784 * M784,
  hand: gaussian784(X784, Y784, B784, 1 / D784),
  ours: () => g784(...args784, { backend: "gpu" }) as Promise<NDArray>,
  compare: relDiff,
});

// The first call at D = 784: nothing of it generated or compiled before.
const compiledBefore = pipelineStats().compileMs;
let t0 = performance.now();
await jobs[3].ours();
const first784 = performance.now() - t0;
const compile784 = pipelineStats().compileMs - compiledBefore;

const median = (t: number[]) => [...t].sort((p, q) => p - q)[Math.floor(t.length / 2)];
console.log(
  `adapter: ${info.description}${
    info.fallback ? " (software fallback adapter)" : ""
  }; float32; ${rounds} rounds`,
);
console.log(`| job | generated | hand-written | ratio | results |`);
console.log(`|---|---|---|---|---|`);
const perPair: number[] = [];
const medians: number[] = [];
for (const job of jobs) {
  const h0 = await job.hand.run(device), o0 = await job.ours(); // warm-up, and the comparison
  const th: number[] = [], to: number[] = [];
  for (let r = 0; r < rounds; r++) {
    t0 = performance.now();
    await job.hand.run(device);
    th.push(performance.now() - t0);
    t0 = performance.now();
    await job.ours();
    to.push(performance.now() - t0);
  }
  const [mh, mo] = [median(th), median(to)];
  perPair.push((mo * 1e6) / job.pairs);
  medians.push(mo);
  console.log(
    `| ${job.name} | ${mo.toFixed(0)} ms | ${mh.toFixed(0)} ms | **${(mo / mh).toFixed(2)}** | ${
      job.compare(h0, o0)
    } |`,
  );
}
console.log(
  `\nfirst call at D = 784: ${first784.toFixed(0)} ms, of which ${
    compile784.toFixed(0)
  } ms creating its shader modules and pipelines (a cached call: ${medians[3].toFixed(0)} ms)`,
);
// Per pair, whole calls and at the margin: a call also pays the runtime's fixed latency (about
// 11 ms on this adapter to map a buffer), so the cost of more pairs is measured between two
// sizes of each shape, interleaved.
const bigger = [
  gaussJob("square 16384", 16384, 16384, 1, 64),
  gaussJob("few rows 2^20", 64, 2 ** 20, 8, 8),
];
const tb: number[][] = [[], []];
for (const j of bigger) await j.ours();
for (let r = 0; r < rounds; r++) {
  for (const [k, j] of bigger.entries()) {
    t0 = performance.now();
    await j.ours();
    tb[k].push(performance.now() - t0);
  }
}
const margin = bigger.map((j, k) => ((median(tb[k]) - medians[k]) * 1e6) / (j.pairs - jobs[k].pairs));
console.log(
  `generated Gaussian sum per pair, whole calls: square ${perPair[0].toFixed(2)} ns, few rows ${
    perPair[1].toFixed(2)
  } ns (${(perPair[1] / perPair[0]).toFixed(2)}× the square)`,
);
console.log(
  `  at the margin (M = N = 8192 → 16384; N = 2^18 → 2^20): square ${margin[0].toFixed(2)} ns, few rows ${
    margin[1].toFixed(2)
  } ns (${(margin[1] / margin[0]).toFixed(2)}× the square)`,
);
