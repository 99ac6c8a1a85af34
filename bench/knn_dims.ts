/**
 * `deno run --allow-read --allow-env bench/knn_dims.ts [M]`: kNN (ArgKMin, K = 10) of the squared
 * distance in high dimensions (D = 64, 256, 784; M = N = 2000 by default), one thread: the plain
 * loop (components in an inner loop, as a user writes it for large D; float64 sums), "cpu" and
 * "cpu-rust", interleaved, medians of 3 after a warm-up. Prints M pairs/s and the speed-ups.
 *
 * @module
 */

import { Genred, ndarray, setThreads, shutdownThreads } from "../mod.ts";

const M = Number(Deno.args[0] ?? 2000), N = M, K = 10;
let seed = 3;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;

/** The K nearest y_j of each x_i by insertion into a sorted list, ties to the smaller index. */
function plainKnn(x: Float32Array, y: Float32Array, D: number): Int32Array {
  const out = new Int32Array(M * K),
    dist = new Float64Array(K),
    idx = new Int32Array(K);
  for (let i = 0; i < M; i++) {
    dist.fill(Infinity);
    idx.fill(0);
    const xo = i * D;
    for (let j = 0; j < N; j++) {
      const yo = j * D;
      let d2 = 0;
      for (let c = 0; c < D; c++) {
        const d = x[xo + c] - y[yo + c];
        d2 += d * d;
      }
      if (!(d2 < dist[K - 1])) continue;
      let p = K - 1;
      while (p > 0 && d2 < dist[p - 1]) {
        dist[p] = dist[p - 1];
        idx[p] = idx[p - 1];
        p--;
      }
      dist[p] = d2;
      idx[p] = j;
    }
    out.set(idx, i * K);
  }
  return out;
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
async function time(f: () => unknown) {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

setThreads(1);
console.log(
  `M = N = ${M}, K = ${K}, float32, one thread; Deno ${Deno.version.deno}`,
);
console.log(
  "| D | plain loop M pairs/s | cpu | cpu-rust | first call of cpu |",
);
console.log("|---|---|---|---|---|");
for (const D of [64, 256, 784]) {
  const X = Float32Array.from({ length: M * D }, rand),
    Y = Float32Array.from({ length: N * D }, rand);
  const args = [ndarray(X, [M, D]), ndarray(Y, [N, D])];
  const g = Genred("SqDist(x,y)", [`x = Vi(${D})`, `y = Vj(${D})`], {
    reduction: "ArgKMin",
    k: K,
    axis: 1,
  });
  const first = await time(() => g(...args, { backend: "cpu" }));
  await g(...args, { backend: "cpu-rust" });
  const t: Record<string, number[]> = { plain: [], cpu: [], rust: [] };
  for (let r = 0; r < 3; r++) {
    t.plain.push(await time(() => plainKnn(X, Y, D)));
    t.cpu.push(await time(() => g(...args, { backend: "cpu" })));
    t.rust.push(await time(() => g(...args, { backend: "cpu-rust" })));
  }
  const mp = (ms: number) => ((M * N) / ms / 1e3).toFixed(1);
  const p = median(t.plain);
  const cell = (k: string) => `${mp(median(t[k]))}, **${(p / median(t[k])).toFixed(1)}×**`;
  console.log(
    `| ${D} | ${mp(p)} | ${cell("cpu")} | ${cell("rust")} | ${first.toFixed(0)} ms |`,
  );
}
shutdownThreads();
