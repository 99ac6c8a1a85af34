// KernelSolve: (α·Id + K) a = b by conjugate gradient, checked by the residual computed densely.
import assert from "node:assert/strict";
import { Genred, KernelSolve, type NDArray, ndarray, Vi, Vj } from "../../mod.ts";
import { conjugateGradient } from "../../lazy/solve.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";
import { BACKENDS, GPU } from "../_backends.ts";
import { gpuTraffic } from "../../backends/webgpu/engine.ts";

/** (α·Id + K) a − b for K_ij = exp(−g·|x_i − x_j|²) on points of 2 coordinates, densely in float64. */
function residual(
  x: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  g: number,
  alpha: number,
) {
  const N = b.length;
  return Array.from({ length: N }, (_, i) => {
    let s = alpha * a[i];
    for (let j = 0; j < N; j++) {
      s += Math.exp(-g * ((x[2 * i] - x[2 * j]) ** 2 + (x[2 * i + 1] - x[2 * j + 1]) ** 2)) * a[j];
    }
    return s - b[i];
  });
}

Deno.test("KernelSolve solves the Gaussian system of KeOps's example", async () => {
  const r = rng(8);
  const N = 40, g = 2, alpha = 0.1;
  const x = uniform(r, N * 2), b = uniform(r, N);
  const solve = KernelSolve(
    "Exp(-g*SqDist(x,y))*a",
    ["x = Vi(2)", "y = Vj(2)", "a = Vj(1)", "g = Pm(1)"],
    "a",
    { axis: 1 },
  );
  assert.equal(solve.formula, "(Exp((Minus(Var(3,1,2)) * SqDist(Var(0,2,0),Var(1,2,1)))) * Var(2,1,1))");
  const X = ndarray(x, [N, 2]);
  const a = await solve(X, X, ndarray(b, [N, 1]), [g], { alpha, eps: 1e-12 });
  assertClose(residual(x, a.data, b, g, alpha), new Array(N).fill(0), { atol: 1e-9 });
});

Deno.test("conjugate gradient stops at once on b = 0 and solves a small SPD system", async () => {
  let calls = 0;
  const apply = (v: Float64Array) => (calls++, Promise.resolve(Float64Array.from(v)));
  const zero = await conjugateGradient(apply, new Float64Array(3), 0, 1e-6);
  assertClose(zero.a, [0, 0, 0]);
  assert.equal(calls, 0);
  assert.deepEqual(zero.info, { iterations: 0, residual: 0, converged: true });
  const A = [[4, 1, 0], [1, 3, 1], [0, 1, 2]];
  const mv = (v: Float64Array) =>
    Promise.resolve(Float64Array.from(A.map((row) => row.reduce((s, x, k) => s + x * v[k], 0))));
  const { a: sol, info } = await conjugateGradient(mv, Float64Array.of(1, 2, 3), 0, 1e-14);
  assert.ok(
    info.converged && info.iterations <= 4 && info.residual < 1e-13 * Math.sqrt(3),
    JSON.stringify(info),
  );
  assertClose(A.map((row) => row.reduce((s, x, k) => s + x * sol[k], 0)), [1, 2, 3], { atol: 1e-10 });
});

Deno.test("KernelSolve refuses an unknown that is not a reduced variable", async () => {
  const aliases = ["x = Vi(2)", "y = Vj(2)", "a = Vj(1)"];
  await assertThrowsClass(
    () => KernelSolve("Exp(-SqDist(x,y))*a", aliases, "q", { axis: 1 }),
    TypeError,
    /"q" is not one of the aliases/,
  );
  await assertThrowsClass(
    () => KernelSolve("Exp(-SqDist(x,y))*a", aliases, "x", { axis: 1 }),
    TypeError,
    /must be indexed by the reduced axis \(Vj\)/,
  );
});

Deno.test({
  name: "[gpu] KernelSolve on the GPU (its vectors on the device) leaves a small residual",
  ignore: !GPU,
}, async () => {
  const r = rng(9);
  const N = 300, g = 2, alpha = 0.5;
  const x = uniform(r, N * 2), b = uniform(r, N);
  const solve = KernelSolve(
    "Exp(-g*SqDist(x,y))*a",
    ["x = Vi(2)", "y = Vj(2)", "a = Vj(1)", "g = Pm(1)"],
    "a",
    {
      axis: 1,
    },
  );
  const X = ndarray(Float32Array.from(x), [N, 2]);
  const before = gpuTraffic();
  const a = await solve(X, X, ndarray(Float32Array.from(b), [N, 1]), [g], {
    alpha,
    eps: 1e-5,
    backend: "gpu",
  });
  const after = gpuTraffic();
  assert.ok(a.data instanceof Float32Array && a.shape[0] === N);
  // The residual, densely in float64, against float32's precision.
  const worst = Math.max(...residual(x, a.data, b, g, alpha).map(Math.abs));
  assert.ok(worst < 1e-3, `residual ${worst}`);
  // No product K p was read back: the solution alone leaves the device.
  assert.equal(after.readBack - before.readBack, 0);
});

Deno.test({
  name: "[gpu] solves and reductions in flight at once each return what they return alone",
  ignore: !GPU,
}, async () => {
  const r = rng(10);
  const N = 120;
  const solve = KernelSolve("Exp(-SqDist(x,y))*a", ["x = Vi(2)", "y = Vj(2)", "a = Vj(1)"], "a", { axis: 1 });
  const sum = Genred("Exp(-SqDist(x,y))*a", ["x = Vi(2)", "y = Vj(2)", "a = Vj(1)"], { axis: 1 });
  const X = [0, 1, 2].map(() => ndarray(Float32Array.from(uniform(r, N * 2)), [N, 2]));
  const B = ndarray(Float32Array.from(uniform(r, N)), [N, 1]);
  const opts = { alpha: 0.5, eps: 1e-5, backend: "gpu" as const };
  const alone = [
    await solve(X[0], X[0], B, opts),
    await solve(X[1], X[1], B, opts),
    (await sum(X[2], X[2], B, { backend: "gpu" })) as NDArray,
  ];
  const together = await Promise.all([
    solve(X[0], X[0], B, opts),
    solve(X[1], X[1], B, opts),
    sum(X[2], X[2], B, { backend: "gpu" }) as Promise<NDArray>,
  ]);
  together.forEach((t, k) => assert.deepEqual([...t.data], [...alone[k].data]));
});

Deno.test("a solve refuses unknown options, and output, naming them", async () => {
  const solve = KernelSolve("Exp(-SqDist(x,y))*a", ["x = Vi(1)", "y = Vj(1)", "a = Vj(1)"], "a", { axis: 1 });
  const p = [[0], [1], [3]];
  await assertThrowsClass(
    () => solve(p, p, [[1], [1], [1]], { alpha: 0.1, tolerance: 1e-3 } as never),
    TypeError,
    /Unknown solve option "tolerance"/,
  );
  await assertThrowsClass(
    () => solve(p, p, [[1], [1], [1]], { output: "gpu" } as never),
    TypeError,
    /Unknown solve option "output"/,
  );
  const K = Vi(ndarray(Float64Array.of(0, 1, 3), [3, 1])).sqdist(
    Vj(ndarray(Float64Array.of(0, 1, 3), [3, 1])),
  )
    .mul(-1).exp();
  await assertThrowsClass(
    () => K.solve(ndarray(Float64Array.of(1, 1, 1), [3, 1]), { iterations: 5 } as never),
    TypeError,
    /Unknown solve option "iterations"/,
  );
});

Deno.test("a solve reports its iterations, residual and convergence (pykeops's cv_info)", async () => {
  const r = rng(41);
  const n = 30;
  const pts = Float32Array.from(uniform(r, n * 2));
  const rhs = Float32Array.from(uniform(r, n));
  const solve = KernelSolve("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], "b", { axis: 1 });
  const X = ndarray(pts, [n, 2]), B = ndarray(rhs, [n, 1]);
  for (const backend of BACKENDS.filter((b) => b !== "reference")) {
    const done = await solve(X, X, B, { alpha: 0.5, backend, eps: 1e-4 });
    assert.ok(done.info.converged && done.info.iterations > 0, `${backend}: ${JSON.stringify(done.info)}`);
    assert.ok(done.info.residual < Math.sqrt(n) * 1e-4, `${backend}: ${JSON.stringify(done.info)}`);
    // Two iterations are not enough: the solve says so, and returns the iterate it reached.
    const cut = await solve(X, X, B, { alpha: 0.5, backend, eps: 1e-6, maxIterations: 2 });
    assert.deepEqual([cut.info.iterations, cut.info.converged], [2, false], backend);
    assert.ok(cut.info.residual > Math.sqrt(n) * 1e-6, backend);
  }
  await assertThrowsClass(
    () => solve(X, X, B, { maxIterations: -1 }),
    RangeError,
    /maxIterations must be an integer ≥ 0, got -1/,
  );
  await assertThrowsClass(
    () => solve(X, X, B, { alpha: NaN }),
    RangeError,
    /alpha must be a finite number ≥ 0, got NaN/,
  );
  await assertThrowsClass(() => solve(X, X, B, { eps: "1" } as never), RangeError, /eps must be/);
});
