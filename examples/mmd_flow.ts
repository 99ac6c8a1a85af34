/**
 * A gradient flow of the maximum mean discrepancy, as KeOps's tutorial: particles x_i move down
 * the gradient of MMD²(x, y) = 1/N² Σ_ij k(x_i, x_j) − 2/(NM) Σ_ij k(x_i, y_j) + const with the
 * Gaussian kernel k, towards a target cloud y. The gradient in x_i,
 * 2/N² Σ_j ∇₁k(x_i, x_j) − 2/(NM) Σ_j ∇₁k(x_i, y_j), is the gradient routine of a Genred kernel
 * sum. Checks the first gradient against a plain loop and that the discrepancy falls; writes
 * the particles before and after (examples/out/mmd_flow.svg).
 *
 *     deno task example mmd_flow [--small]
 *
 * @module
 */

import { Genred, ndarray } from "../mod.ts";
import { blobs, check, Plot, random, SMALL, total } from "./_common.ts";

const r = random(6);
const N = SMALL ? 300 : 2000,
  M = SMALL ? 300 : 2000,
  sigma = 0.1,
  steps = 60,
  lr = 0.1;
const x0 = blobs(r, N, [0.2, 0.5], 0.05),
  y = blobs(r, M, [0.6, 0.3, 0.8, 0.7, 0.6, 0.8], 0.04);
const g = 1 / (2 * sigma * sigma);
// Σ_j k(x_i, z_j) b_j, and its gradient in x: Σ_j ∇₁k(x_i, z_j) b_j e_i.
const ksum = Genred(`Exp(-SqDist(x,z)*${g})*b`, [
  "x = Vi(2)",
  "z = Vj(2)",
  "b = Vj(1)",
], { axis: 1 });
const kgrad = ksum.grad("x");
const ones = (n: number) => ndarray(new Float32Array(n).fill(1), [n, 1]);

/** MMD² up to its constant (the y–y term), and its gradient in x. */
async function mmd(x: Float32Array) {
  const X = ndarray(x, [N, 2]), Y = ndarray(y, [M, 2]);
  const xx = total((await ksum(X, X, ones(N))).data) / (N * N);
  const xy = total((await ksum(X, Y, ones(M))).data) / (N * M);
  const gx = (await kgrad(X, X, ones(N), ones(N))).data,
    gy = (await kgrad(X, Y, ones(M), ones(N))).data;
  const grad = Float32Array.from(
    gx,
    (v, k) => (2 * v) / (N * N) - (2 * gy[k]) / (N * M),
  );
  return { loss: xx - 2 * xy, grad };
}

let x = x0.slice();
const first = await mmd(x);
// The first gradient by a plain loop.
{
  const kd = (ax: number, ay: number, bx: number, by: number, c: number) => {
    const d = (ax - bx) ** 2 + (ay - by) ** 2, k = Math.exp(-g * d);
    return -2 * g * (c === 0 ? ax - bx : ay - by) * k;
  };
  let worst = 0, scale = 0;
  for (let i = 0; i < Math.min(N, 50); i++) {
    for (let c = 0; c < 2; c++) {
      let s = 0;
      for (let j = 0; j < N; j++) {
        s += (2 * kd(x[2 * i], x[2 * i + 1], x[2 * j], x[2 * j + 1], c)) /
          (N * N);
      }
      for (let j = 0; j < M; j++) {
        s -= (2 * kd(x[2 * i], x[2 * i + 1], y[2 * j], y[2 * j + 1], c)) /
          (N * M);
      }
      worst = Math.max(worst, Math.abs(s - first.grad[2 * i + c]));
      scale = Math.max(scale, Math.abs(s));
    }
  }
  check(
    worst <= 1e-4 * scale,
    `the gradient is a plain loop's (worst difference ${(worst / scale).toExponential(1)} of its size)`,
  );
}
const t0 = performance.now();
let last = first;
for (let s = 0; s < steps; s++) {
  // Steps of N·lr: the gradient of each particle is O(1/N).
  x = Float32Array.from(x, (v, k) => v - lr * N * last.grad[k]);
  last = await mmd(x);
}
const ms = performance.now() - t0;
console.log(
  `MMD gradient flow, N = ${N} particles to M = ${M} targets, ${steps} steps: ${
    ms.toFixed(0)
  } ms, MMD² + const ${first.loss.toFixed(5)} → ${last.loss.toFixed(5)}`,
);
check(
  last.loss < first.loss - 0.1 * Math.abs(first.loss),
  "the discrepancy fell",
);

await new Plot([0, 1, 0, 1]).points(
  y.subarray(0, 2 * Math.min(M, 3000)),
  undefined,
  1.4,
  "#d62728",
)
  .points(x0.subarray(0, 2 * Math.min(N, 3000)), undefined, 1.2, "#aaaaaa")
  .points(x.subarray(0, 2 * Math.min(N, 3000)), undefined, 1.4, "#1f77b4")
  .write(
    "mmd_flow.svg",
    `MMD gradient flow: particles (grey → blue) towards the target (red)`,
  );
