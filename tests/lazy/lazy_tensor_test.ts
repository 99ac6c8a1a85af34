// LazyTensor: formulas built by the methods, shapes, reductions against dense loops, and the
// differential operators on values.
import assert from "node:assert/strict";
import { type LazyTensor, type NDArray, ndarray, Pm, Vi, Vj } from "../../mod.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";

const r = rng(42);
const M = 6, N = 9;
const X = uniform(r, M * 2, 0, 1), Y = uniform(r, N * 2, 0, 1);
const x = () => Vi(ndarray(X, [M, 2])), y = () => Vj(ndarray(Y, [N, 2]));
const d2 = (i: number, j: number) => (X[2 * i] - Y[2 * j]) ** 2 + (X[2 * i + 1] - Y[2 * j + 1]) ** 2;

Deno.test("the seed's squared-distance matrix prints as in KeOps, with its shape", () => {
  const D = x().sub(y()).pow(2).sum(-1);
  assert.equal(D.formula, "Sum(Square((Var(0,2,0) - Var(1,2,1))))");
  assert.deepEqual(D.shape, [M, N]);
  assert.equal(
    String(D),
    `KeOps LazyTensor\n    formula: Sum(Square((Var(0,2,0) - Var(1,2,1))))\n    shape: (${M}, ${N})`,
  );
  assert.deepEqual(x().sub(y()).shape, [M, N, 2]);
});

Deno.test("methods build KeOps's formulas; integers are IntCst, floats are parameters", () => {
  const a = Vi([[1, 2, 3]]), b = Vj([[4, 5, 6]]);
  const cases: [LazyTensor, string][] = [
    [a.add(b), "(Var(0,3,0) + Var(1,3,1))"],
    [a.mul(2), "(Var(0,3,0) * IntCst(2))"],
    [a.mul(0.5), "(Var(0,3,0) * Var(1,1,2))"],
    [a.div(b), "(Var(0,3,0) / Var(1,3,1))"],
    [a.neg(), "Minus(Var(0,3,0))"],
    [a.pow(2), "Square(Var(0,3,0))"],
    [a.pow(3), "Pow(Var(0,3,0),3)"],
    [a.pow(0.5), "Sqrt(Var(0,3,0))"],
    [a.pow(-0.5), "Rsqrt(Var(0,3,0))"],
    [a.pow(1.5), "Powf(Var(0,3,0),Var(1,1,2))"],
    [a.dot(b), "(Var(0,3,0) | Var(1,3,1))"],
    [a.clamp(0, 1), "ClampInt(Var(0,3,0),0,1)"],
    [a.clamp(0.25, 0.75), "Clamp(Var(0,3,0),Var(1,1,2),Var(2,1,2))"],
    [a.elem(1), "Elem(Var(0,3,0),1)"],
    [a.extract(1, 2), "Extract(Var(0,3,0),1,2)"],
    [a.sqdist(b), "SqDist(Var(0,3,0),Var(1,3,1))"],
    [a.weightedSqdist(b, Pm([1, 2, 3])), "WeightedSqNorm(Var(2,3,2),(Var(0,3,0) - Var(1,3,1)))"],
    [a.eq(b), "Equal(Var(0,3,0),Var(1,3,1))"],
    [a.lt(b), "LessThan(Var(0,3,0),Var(1,3,1))"],
    [a.mod(2), "Mod(Var(0,3,0),IntCst(2),IntCst(0))"],
    [a.kron(b, [3], [3]), "Kron(Var(0,3,0),Var(1,3,1),[3],[3])"],
    [a.t(), "Var(0,3,1)"],
  ];
  for (const [t, text] of cases) assert.equal(t.formula, text);
});

Deno.test("argmin, argKmin, min, kmin and their pairs match dense loops; dim selects the axis", async () => {
  const D = x().sqdist(y());
  const nnJ = Array.from(
    { length: M },
    (_, i) => [...Array(N).keys()].reduce((b, j) => (d2(i, j) < d2(i, b) ? j : b), 0),
  );
  assert.deepEqual(Array.from((await D.argmin(1)).data), nnJ);
  const nnI = Array.from(
    { length: N },
    (_, j) => [...Array(M).keys()].reduce((b, i) => (d2(i, j) < d2(b, j) ? i : b), 0),
  );
  assert.deepEqual(Array.from((await D.argmin(0)).data), nnI);
  const [mins, args] = await D.minArgmin(1);
  assertClose(mins.data, nnJ.map((j, i) => d2(i, j)), { rtol: 1e-6 });
  assert.deepEqual(Array.from(args.data), nnJ);
  const k3 = Array.from(
    { length: M },
    (_, i) => [...Array(N).keys()].sort((a, b) => d2(i, a) - d2(i, b)).slice(0, 3),
  );
  assert.deepEqual(Array.from((await D.argKmin(3, 1)).data), k3.flat());
  assertClose((await D.kmin(3, 1)).data, k3.flatMap((js, i) => js.map((j) => d2(i, j))), { rtol: 1e-6 });
  const [kv, ki] = await D.kminArgKmin(3, 1);
  assert.deepEqual(Array.from(ki.data), k3.flat());
  assert.deepEqual(kv.shape, [M, 3]);
  assertClose(
    (await D.max(1)).data,
    Array.from({ length: M }, (_, i) => Math.max(...[...Array(N).keys()].map((j) => d2(i, j)))),
    { rtol: 1e-6 },
  );
  await assertThrowsClass(() => D.sum(2), RangeError, /must be 0 \(over i\) or 1 \(over j\).*got 2/);
});

Deno.test("matvec, logsumexp and sumsoftmaxweight match dense loops", async () => {
  const b = uniform(r, N);
  const K = x().sqdist(y()).neg().exp();
  const Kb = (await K.matvec(Array.from(b))) as NDArray;
  assert.deepEqual(Kb.shape, [M]);
  const dense = Array.from(
    { length: M },
    (_, i) => [...Array(N).keys()].reduce((s, j) => s + Math.exp(-d2(i, j)) * b[j], 0),
  );
  assertClose(Kb.data, dense, { rtol: 1e-5 });
  const Kb2 = await K.matvec(Array.from(b, (v) => [v]));
  assert.deepEqual(Kb2.shape, [M, 1]);
  const lse = await x().sqdist(y()).neg().logsumexp(1);
  assertClose(
    lse.data,
    Array.from(
      { length: M },
      (_, i) => Math.log([...Array(N).keys()].reduce((s, j) => s + Math.exp(-d2(i, j)), 0)),
    ),
    { rtol: 1e-5 },
  );
  const w = Vj(Array.from(b, (v) => [v]));
  const sm = await x().sqdist(y()).neg().sumsoftmaxweight(w, 1);
  const norm = Array.from(
    { length: M },
    (_, i) => [...Array(N).keys()].reduce((s, j) => s + Math.exp(-d2(i, j)), 0),
  );
  assertClose(sm.data, dense.map((v, i) => v / norm[i]), { rtol: 1e-5 });
});

Deno.test("batched LazyTensors reduce per batch element", async () => {
  const xb = Vi(ndarray(Float64Array.of(0, 1, 10, 11), [2, 2, 1]));
  const yb = Vj(ndarray(Float64Array.of(0, 1, 2, 10, 12, 14), [2, 3, 1]));
  const D = xb.sqdist(yb);
  assert.deepEqual(D.shape, [2, 2, 3]);
  const nn = await D.argmin(2);
  assert.deepEqual(nn.shape, [2, 2, 1]);
  assert.deepEqual(Array.from(nn.data), [0, 1, 0, 0]);
  const s = await D.sum(1);
  assert.deepEqual(s.shape, [2, 3, 1]);
  assertClose(s.data, [1, 1, 5, 1, 5, 25]);
});

Deno.test("grad, diff, divergence, laplacian and gradMatrix give the calculus results", async () => {
  const P = [[0.1, 0.2, 0.3], [0.5, -0.4, 0.2]], Q = [[0.3, -0.1, 0.2]];
  const p = ndarray(Float64Array.from(P.flat()), [2, 3]), q = ndarray(Float64Array.from(Q.flat()), [1, 3]);
  const xi = Vi(p), yj = Vj(q);
  const g = xi.sqdist(yj).neg().exp();
  const r2 = P.map((row) => row.reduce((s, v, k) => s + (v - Q[0][k]) ** 2, 0));
  // Laplacian of e^{-r²} in 3-D: (4r² − 6) e^{-r²}.
  assertClose((await g.laplacian(xi).sum(1)).data, r2.map((v) => (4 * v - 6) * Math.exp(-v)), {
    rtol: 1e-12,
  });
  // Diff in direction u: −2⟨x − y, u⟩ e^{-r²}.
  const u = [1, 2, -1];
  const du = await g.diff(xi, Pm(u)).sum(1);
  assertClose(
    du.data,
    P.map((row, i) => -2 * row.reduce((s, v, k) => s + (v - Q[0][k]) * u[k], 0) * Math.exp(-r2[i])),
    { rtol: 1e-6 },
  );
  // Grad with e = 1: −2(x − y) e^{-r²}.
  const gr = await g.grad(xi, 1).sum(1);
  assertClose(gr.data, P.flatMap((row, i) => row.map((v, k) => -2 * (v - Q[0][k]) * Math.exp(-r2[i]))), {
    rtol: 1e-12,
  });
  // Divergence of (x − y) is 3; gradMatrix of x² is diag(2x), flattened.
  assertClose((await xi.sub(yj).divergence(xi).sum(1)).data, [3, 3]);
  const jac = await xi.square().gradMatrix(xi).sum(1);
  assertClose(jac.data, P.flatMap((row) => [2 * row[0], 0, 0, 0, 2 * row[1], 0, 0, 0, 2 * row[2]]));
  await assertThrowsClass(
    () => g.grad(xi.add(1), 1),
    TypeError,
    /LazyTensor.grad differentiates with respect to a variable/,
  );
});

Deno.test("solve gives a with (α·Id + K) a = b", async () => {
  const pts = Array.from({ length: 12 }, (_, k) => [Math.cos(k), Math.sin(2 * k)]);
  const b = pts.map((_, k) => [k % 3, 1]);
  const K = Vi(pts).sqdist(Vj(pts)).neg().exp();
  const alpha = 0.5;
  const a = await K.solve(ndarray(Float64Array.from(b.flat()), [12, 2]), { alpha, eps: 1e-10 });
  assert.deepEqual(a.shape, [12, 2]);
  const resid = pts.flatMap((p, i) =>
    [0, 1].map((c) =>
      alpha * a.data[i * 2 + c] +
      pts.reduce(
        (s, q, j) => s + Math.exp(-((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2)) * a.data[j * 2 + c],
        0,
      ) - b[i][c]
    )
  );
  assertClose(resid, new Array(24).fill(0), { atol: 1e-8 });
});
