/**
 * Kernel interpolation, as KeOps's tutorial: noisy samples b_i = f(x_i) + noise of
 * f(t) = t + sin(6t)/2 at N points, the coefficients a of (αI + K) a = b with the Gaussian kernel
 * K_ij = exp(−|x_i − x_j|²/(2σ²)) by `solve` (conjugate gradient, K applied matrix-free), and the
 * interpolant t ↦ Σ_j K(t, x_j) a_j on a grid. Checks the residual of the solve with a dense
 * matrix at the small size, and the fit against f; writes the curve (examples/out/interpolation.svg).
 *
 *     deno task example interpolation [--small]
 *
 * @module
 */

import { ndarray, Vi, Vj } from "../mod.ts";
import { check, normal, Plot, random, SMALL } from "./_common.ts";

const r = random(4);
const N = SMALL ? 500 : 10_000, sigma = 0.1, alpha = 0.5;
const f = (t: number) => t + 0.5 * Math.sin(6 * t);
const x = Float64Array.from({ length: N }, () => r());
const b = Float64Array.from(x, (t) => f(t) + 0.1 * normal(r));
const X = ndarray(x, [N, 1]), B = ndarray(b, [N, 1]);
const g = 1 / (2 * sigma * sigma);

const t0 = performance.now();
const K = Vi(X).sqdist(Vj(X)).mul(-g).exp();
const a = await K.solve(B, { alpha, eps: 1e-8 });
const grid = Float64Array.from({ length: 200 }, (_, k) => k / 199);
const fit = (await Vi(ndarray(grid, [200, 1])).sqdist(Vj(X)).mul(-g).exp().matvec(a))
  .data;
const ms = performance.now() - t0;
console.log(
  `kernel interpolation, N = ${N}: solve in ${a.info.iterations} iterations (converged: ${a.info.converged}), ${
    ms.toFixed(0)
  } ms with the prediction`,
);

check(a.info.converged, "the conjugate gradient converged");
if (N <= 2000) {
  // The residual ‖(αI + K) a − b‖ with K written out (small size only: N² values).
  let worst = 0;
  for (let i = 0; i < N; i++) {
    let s = alpha * a.data[i];
    for (let j = 0; j < N; j++) {
      s += Math.exp(-g * (x[i] - x[j]) ** 2) * a.data[j];
    }
    worst = Math.max(worst, Math.abs(s - b[i]));
  }
  check(
    worst < 1e-6,
    `the dense residual of the solve is ${worst.toExponential(1)}`,
  );
}
// The ridge shrinks the interpolant a little; away from the edges it follows f within the noise.
const inner = [...grid.keys()].filter((k) => grid[k] > 0.1 && grid[k] < 0.9);
const err = Math.max(...inner.map((k) => Math.abs(fit[k] - f(grid[k]))));
check(
  err < 0.2,
  `the interpolant follows f within ${err.toFixed(3)} on [0.1, 0.9]`,
);

await new Plot([0, 1, -0.2, 1.6]).points(
  Array.from(x.subarray(0, 2000)).flatMap((t, i) => [t, b[i]]),
  undefined,
  1.2,
  "#1f77b4",
)
  .line(grid, Array.from(grid, f), "#2ca02c", 1.5)
  .line(grid, fit, "#d62728", 2)
  .write(
    "interpolation.svg",
    `Kernel interpolation of ${N} noisy samples (red), f in green`,
  );
