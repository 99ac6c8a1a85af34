/**
 * A Gaussian mixture fitted by EM, as KeOps's tutorial's model (isotropic components in 2-D):
 * with L_ij = log w_j − log(2πσ_j²) − |x_i − μ_j|²/(2σ_j²), the E-step is a LogSumExp over
 * the components (the log-likelihood) and the responsibilities r_ij = exp(L_ij − lse_i); the
 * M-step sums over the points: N_j = Σ_i r_ij, μ_j = Σ_i r_ij x_i / N_j,
 * σ_j² = Σ_i r_ij |x_i − μ_j|² / (2 N_j), w_j = N_j / N. Checks the log-likelihood against a
 * plain loop, and that EM never decreases it; writes the fit (examples/out/gmm.svg).
 *
 *     deno task example gmm [--small]
 *
 * @module
 */

import { ndarray, Vi, Vj } from "../mod.ts";
import { blobs, check, Plot, random, SMALL, total } from "./_common.ts";

const r = random(3);
const N = SMALL ? 2000 : 50_000, C = 4, iterations = 30;
const x = blobs(r, N, [0.2, 0.2, 0.8, 0.3, 0.5, 0.8, 0.25, 0.7], 0.07);
const mu = Float32Array.from({ length: 2 * C }, () => 0.3 + 0.4 * r());
const s2 = new Float32Array(C).fill(0.05), w = new Float32Array(C).fill(1 / C);
const X = ndarray(x, [N, 2]);

/** The terms L_ij of the current parameters, as a LazyTensor. */
const terms = () => {
  const a = Float32Array.from(
    w,
    (wj, j) => Math.log(wj) - Math.log(2 * Math.PI * s2[j]),
  );
  const b = Float32Array.from(s2, (v) => 1 / (2 * v));
  return Vj(ndarray(a, [C, 1])).sub(
    Vi(X).sqdist(Vj(ndarray(mu, [C, 2]))).mul(Vj(ndarray(b, [C, 1]))),
  );
};
const history: number[] = [];
const t0 = performance.now();
for (let it = 0; it < iterations; it++) {
  const L = terms();
  const lse = await L.logsumexp(1); // (N, 1): log Σ_j exp L_ij
  history.push(total(lse.data));
  const R = L.sub(Vi(lse)).exp(); // responsibilities
  const Nj = (await R.sum(0)).data, Sx = (await R.mul(Vi(X)).sum(0)).data;
  for (let j = 0; j < C; j++) {
    mu[2 * j] = Sx[2 * j] / Nj[j];
    mu[2 * j + 1] = Sx[2 * j + 1] / Nj[j];
  }
  const Sd = (await R.mul(Vi(X).sqdist(Vj(ndarray(mu, [C, 2])))).sum(0)).data;
  for (let j = 0; j < C; j++) {
    s2[j] = Math.max(1e-6, Sd[j] / (2 * Nj[j]));
    w[j] = Nj[j] / N;
  }
}
const ms = performance.now() - t0;
console.log(
  `Gaussian mixture, N = ${N}, ${C} components, ${iterations} EM steps: ${ms.toFixed(0)} ms, log-likelihood ${
    history[history.length - 1].toFixed(1)
  }`,
);

// The log-likelihood of the final parameters, by a plain loop.
const final = total((await terms().logsumexp(1)).data);
let plain = 0;
for (let i = 0; i < N; i++) {
  let p = 0;
  for (let j = 0; j < C; j++) {
    const d = (x[2 * i] - mu[2 * j]) ** 2 + (x[2 * i + 1] - mu[2 * j + 1]) ** 2;
    p += w[j] / (2 * Math.PI * s2[j]) * Math.exp(-d / (2 * s2[j]));
  }
  plain += Math.log(p);
}
check(
  Math.abs(final - plain) <= 1e-4 * Math.abs(plain),
  `the log-likelihood ${final.toFixed(2)} is a plain loop's (${plain.toFixed(2)})`,
);
const drops = history.slice(1).filter((v, k) => v < history[k] - 1e-3 * Math.abs(history[k]));
check(drops.length === 0, "EM never decreased the log-likelihood");

const plot = new Plot([-0.1, 1.1, -0.1, 1.1]).points(
  x.subarray(0, 2 * Math.min(N, 20000)),
  undefined,
  1,
  "#1f77b4",
);
for (let j = 0; j < C; j++) {
  plot.circle(mu[2 * j], mu[2 * j + 1], 2 * Math.sqrt(s2[j]), "#d62728");
}
await plot.write(
  "gmm.svg",
  `Gaussian mixture by EM: ${C} components (circles: 2σ)`,
);
