/**
 * `deno bench`: the reference engine on the Gaussian kernel sum, next to the plain TypeScript
 * double loop a user would write (the baseline every engine is compared with).
 *
 * @module
 */

import { Genred, ndarray } from "../mod.ts";

const M = 1000, N = 1000;
let seed = 7;
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const X = Float32Array.from({ length: M * 3 }, rand), Y = Float32Array.from({ length: N * 3 }, rand);
const B = Float32Array.from({ length: N }, rand);
const gauss = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });

/** Σ_j exp(-|x_i - y_j|²) b_j by hand. */
export function plainLoop(
  x: Float32Array,
  y: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
): Float32Array {
  const out = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    const x0 = x[3 * i], x1 = x[3 * i + 1], x2 = x[3 * i + 2];
    let s = 0;
    for (let j = 0; j < n; j++) {
      const d0 = x0 - y[3 * j], d1 = x1 - y[3 * j + 1], d2 = x2 - y[3 * j + 2];
      s += Math.exp(-(d0 * d0 + d1 * d1 + d2 * d2)) * b[j];
    }
    out[i] = s;
  }
  return out;
}

Deno.bench("plain TypeScript loop, Gaussian sum, M = N = 1000", { group: "gauss", baseline: true }, () => {
  plainLoop(X, Y, B, M, N);
});

Deno.bench("reference engine, Gaussian sum, M = N = 1000", { group: "gauss" }, async () => {
  await gauss(ndarray(X, [M, 3]), ndarray(Y, [N, 3]), ndarray(B, [N, 1]), { backend: "cpu" });
});
