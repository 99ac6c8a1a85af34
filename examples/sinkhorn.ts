/**
 * Entropic optimal transport by Sinkhorn's iterations in the log domain, as KeOps's tutorial:
 * between uniform measures on x (N points) and y (M points), with C_ij = |x_i − y_j|²/2,
 *
 *     f_i = −ε log Σ_j b_j exp((g_j − C_ij)/ε),   g_j = −ε log Σ_i a_i exp((f_i − C_ij)/ε),
 *
 * each a LogSumExp reduction. Checks the potentials against the same iterations written as
 * plain loops at the small size and the plan's marginals; writes the clouds and where each
 * point of x is sent (examples/out/sinkhorn.svg).
 *
 *     deno task example sinkhorn [--small]
 *
 * @module
 */

import { ndarray, Vi, Vj } from "../mod.ts";
import { blobs, check, Plot, random, SMALL } from "./_common.ts";

const r = random(5);
const N = SMALL ? 300 : 5000,
  M = SMALL ? 400 : 6000,
  eps = 0.01,
  iterations = 50;
const x = blobs(r, N, [0.25, 0.3, 0.3, 0.7], 0.06),
  y = blobs(r, M, [0.75, 0.5, 0.7, 0.2], 0.07);
const X = ndarray(x, [N, 2]), Y = ndarray(y, [M, 2]);
const logA = -Math.log(N), logB = -Math.log(M);
const C = Vi(X).sqdist(Vj(Y)).mul(0.5);

let f = new Float32Array(N), g = new Float32Array(M);
const t0 = performance.now();
for (let it = 0; it < iterations; it++) {
  const lf = await Vj(ndarray(g, [M, 1])).sub(C).mul(1 / eps).add(logB)
    .logsumexp(1);
  f = Float32Array.from(lf.data, (v) => -eps * v);
  const lg = await Vi(ndarray(f, [N, 1])).sub(C).mul(1 / eps).add(logA)
    .logsumexp(0);
  g = Float32Array.from(lg.data, (v) => -eps * v);
}
const ms = performance.now() - t0;
const cost = f.reduce((s, v) => s + v / N, 0) +
  g.reduce((s, v) => s + v / M, 0);
console.log(
  `Sinkhorn, N = ${N}, M = ${M}, ε = ${eps}, ${iterations} iterations: ${ms.toFixed(0)} ms, OT cost ${
    cost.toFixed(5)
  }`,
);

// The plan P_ij = a_i b_j exp((f_i + g_j − C_ij)/ε): its rows sum to a_i after the g-update
// up to the iterations' convergence, its columns to b_j exactly.
const P = Vi(ndarray(f, [N, 1])).add(Vj(ndarray(g, [M, 1]))).sub(C).mul(1 / eps)
  .add(logA + logB).exp();
const cols = (await P.sum(0)).data, rows = (await P.sum(1)).data;
const colErr = Math.max(...Array.from(cols, (v) => Math.abs(v * M - 1)));
const rowErr = Math.max(...Array.from(rows, (v) => Math.abs(v * N - 1)));
check(
  colErr < 1e-3,
  `the plan's columns sum to b (worst relative error ${colErr.toExponential(1)})`,
);
check(
  rowErr < 0.05,
  `its rows sum to a (worst relative error ${rowErr.toExponential(1)})`,
);
if (SMALL) {
  // The same iterations as plain loops (log-sum-exp with a running maximum), in float64.
  let F = new Float64Array(N), G = new Float64Array(M);
  const c = (i: number, j: number) => 0.5 * ((x[2 * i] - y[2 * j]) ** 2 + (x[2 * i + 1] - y[2 * j + 1]) ** 2);
  const lse = (v: number[]) => {
    const m = Math.max(...v);
    return m + Math.log(v.reduce((s, t) => s + Math.exp(t - m), 0));
  };
  for (let it = 0; it < iterations; it++) {
    F = Float64Array.from(
      { length: N },
      (_, i) => -eps * lse(Array.from(G, (gj, j) => (gj - c(i, j)) / eps + logB)),
    );
    G = Float64Array.from(
      { length: M },
      (_, j) => -eps * lse(Array.from(F, (fi, i) => (fi - c(i, j)) / eps + logA)),
    );
  }
  const worst = Math.max(...Array.from(f, (v, i) => Math.abs(v - F[i])));
  check(
    worst < 1e-4,
    `the potentials f are the plain loops' within ${worst.toExponential(1)}`,
  );
}

// Where each point goes: the barycentre Σ_j P_ij y_j / Σ_j P_ij.
const to = (await P.mul(Vj(Y)).sum(1)).data;
const plot = new Plot([0, 1, 0, 1]);
for (let i = 0; i < Math.min(N, 400); i++) {
  plot.segment(
    x[2 * i],
    x[2 * i + 1],
    to[2 * i] / rows[i],
    to[2 * i + 1] / rows[i],
  );
}
await plot.points(
  x.subarray(0, 2 * Math.min(N, 5000)),
  undefined,
  1.5,
  "#1f77b4",
)
  .points(y.subarray(0, 2 * Math.min(M, 5000)), undefined, 1.5, "#d62728")
  .write(
    "sinkhorn.svg",
    `Sinkhorn transport, ε = ${eps}: where points of x (blue) go`,
  );
