/**
 * The seed workloads of KeOps's tutorial, end to end on the default backend: nearest neighbours,
 * a kernel product in D = 10 and its gradient, a LogSumExp reduction, a batch of kernel sums and
 * a kernel solve. Run with `deno task demo`.
 *
 * @module
 */

import { Genred, type NDArray, ndarray, Vi, Vj } from "./mod.ts";

/** A seeded uniform generator, so the demo prints the same numbers every time. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(2026);
const rand = (...shape: number[]) =>
  ndarray(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, random), shape);
const randn = (...shape: number[]) =>
  ndarray(
    Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () =>
      Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())),
    shape,
  );
const head = (a: NDArray, n = 6) =>
  `[${Array.from(a.data.slice(0, n), (v) => +v.toPrecision(5)).join(", ")}, …]`;

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await f();
  console.log(`    (${label}: ${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  return out;
}

console.log("keops-ts demo: the seed workloads on the default backend\n");

// 1. Nearest neighbours: s_i = argmin_j |x_i - y_j|² over 2-D points, without the M×N matrix.
{
  const M = 10000, N = 20000;
  const x_i = Vi(rand(M, 2)), y_j = Vj(rand(N, 2));
  const D_ij = x_i.sub(y_j).pow(2).sum(-1);
  console.log("1. Nearest neighbours in the unit square");
  console.log(String(D_ij).replace(/^/gm, "   "));
  const s_i = await timed("argmin over j", () => D_ij.argmin(1));
  console.log(`   s_i has shape (${s_i.shape}) and starts ${head(s_i, 10)}\n`);
}

// 2. A Laplacian (exponential) kernel product in D = 10, and its gradient with respect to x.
{
  const M = 10000, N = 10000, D = 10;
  const x = randn(M, D), y = randn(N, D), b = randn(N, 4);
  const K_ij = Vi(x).sub(Vj(y)).pow(2).sum(-1).sqrt().neg().exp();
  console.log("2. Kernel product a_i = Σ_j exp(-|x_i - y_j|) b_j in D = 10");
  const a_i = await timed("K @ b", () => K_ij.matvec(b));
  console.log(`   a_i has shape (${a_i.shape}) and starts ${head(a_i)}`);
  // The gradient of Σ_i |a_i|² with respect to x is grad(a)·e with e = 2a.
  const conv = Genred("Exp(-Norm2(x - y)) * b", [`x = Vi(${D})`, `y = Vj(${D})`, "b = Vj(4)"], { axis: 1 });
  const e = ndarray(a_i.data.map((v) => 2 * v), [M, 4]);
  const g_i = await timed("gradient", () => conv.grad("x")(x, y, b, e));
  console.log(`   g_i = ∂(Σ|a_i|²)/∂x has shape (${g_i.shape}) and starts ${head(g_i)}\n`);
}

// 3. The LogSumExp reduction of the Genred example: c_i = log Σ_j exp((p - a_j)² exp(x_i + y_j)).
{
  const M = 3000, N = 5000; // the sizes of KeOps's example
  const routine = Genred("Square(p-a)*Exp(x+y)", ["x = Vi(1)", "y = Vj(1)", "a = Vj(1)", "p = Pm(1)"], {
    reduction: "LogSumExp",
    axis: 1,
  });
  console.log("3. LogSumExp reduction (stable: running maximum)");
  const args = [rand(M, 1), rand(N, 1), rand(N, 1), rand(1)];
  const c = await timed("LogSumExp", () => routine(...args));
  console.log(`   c has shape (${c.shape}) and starts ${head(c)}`);
  const g = await timed("gradient", () => routine.grad("y")(...args, rand(M, 1)));
  console.log(`   its gradient with respect to y has shape (${g.shape})\n`);
}

// 4. A batch of Gaussian kernel sums: batch dimensions in front.
{
  const B = 4, M = 2000, N = 2000;
  const x = Vi(rand(B, M, 3)), y = Vj(rand(B, N, 3)), b = Vj(rand(B, N, 1));
  const K = x.sqdist(y).mul(-10).exp();
  console.log(`4. A batch of ${B} Gaussian kernel sums`);
  const s = await timed("batched sum", () => K.mul(b).sum(2));
  console.log(
    `   output shape (${s.shape}), first of each batch: ${
      [0, 1, 2, 3].map((k) => s.data[k * M].toPrecision(5)).join(", ")
    }\n`,
  );
}

// 5. A kernel solve: (α·Id + K) a = b by conjugate gradient.
{
  const N = 2000;
  const x = rand(N, 2), b = rand(N, 1);
  const K = Vi(x).sqdist(Vj(x)).mul(-50).exp();
  console.log("5. Kernel solve (0.1·Id + K) a = b by conjugate gradient");
  const a = await timed("solve", () => K.solve(b, { alpha: 0.1 }));
  const Ka = await K.matvec(a);
  let r2 = 0, b2 = 0;
  for (let i = 0; i < N; i++) {
    r2 += (Ka.data[i] + 0.1 * a.data[i] - b.data[i]) ** 2;
    b2 += b.data[i] ** 2;
  }
  console.log(`   a has shape (${a.shape}); relative residual ${Math.sqrt(r2 / b2).toExponential(2)}`);
}
