/**
 * Block-sparse reductions (`ranges`): every reduction on every engine against dense float64
 * computations over the kept pairs written here, including rows in no block, empty blocks,
 * one-row blocks, blocks of terms split over streaming blocks and rounds, threads, batches,
 * gradients, KernelSolve and LazyTensor; and the errors of malformed ranges.
 */

import assert from "node:assert/strict";
import { Genred, KernelSolve, LazyTensor, ndarray, setThreads, shutdownThreads, Vi, Vj } from "../../mod.ts";
import { getThreads } from "../../backends/wasm/threads.ts";
import { setBlockBytes, setPairsPerCall } from "../../backends/wasm/driver.ts";
import { setJitBlockBytes } from "../../backends/jit/driver.ts";
import { setGpuBlockRows } from "../../backends/webgpu/engine.ts";
import { BACKENDS, F64_BACKENDS, GPU } from "../_backends.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";
import { randomRanges, type Ranges6 } from "../_ranges.ts";

const M = 41, N = 57, D = 2;
const r0 = rng(7);
// Values exact in float32, so that the dense float64 sums see what every engine sees.
const f32 = (a: Float64Array) => a.map(Math.fround);
const x = f32(uniform(r0, M * D)),
  y = f32(uniform(r0, N * D)),
  bj = f32(uniform(r0, N)),
  ai = f32(uniform(r0, M));
const { ranges, keep } = randomRanges(rng(11), M, N);
const X = ndarray(Float32Array.from(x), [M, D]), Y = ndarray(Float32Array.from(y), [N, D]);
const B = ndarray(Float32Array.from(bj), [N, 1]), A = ndarray(Float32Array.from(ai), [M, 1]);
/** The formula's value at a pair: −|x_i − y_j|² + b_j. */
const f = (i: number, j: number) => {
  let s = 0;
  for (let c = 0; c < D; c++) s += (x[i * D + c] - y[j * D + c]) ** 2;
  return -s + bj[j];
};
const kept = (i: number) => Array.from({ length: N }, (_, j) => j).filter((j) => keep(i, j));

/** Dense results per row over the kept pairs, by reduction. */
const dense: Record<string, (i: number) => number[]> = {
  Sum: (i) => [kept(i).reduce((s, j) => s + f(i, j), 0)],
  Min: (i) => [Math.min(...kept(i).map((j) => f(i, j)))],
  Max: (i) => [Math.max(...kept(i).map((j) => f(i, j)))],
  ArgMin: (i) => {
    const js = kept(i);
    return [js.length ? js.reduce((b, j) => (f(i, j) < f(i, b) ? j : b), js[0]) : 0];
  },
  ArgMax: (i) => {
    const js = kept(i);
    return [js.length ? js.reduce((b, j) => (f(i, j) > f(i, b) ? j : b), js[0]) : 0];
  },
  KMin: (i) => {
    const v = kept(i).map((j) => f(i, j)).sort((a, b) => a - b);
    return [0, 1, 2].map((k) => v[k] ?? Infinity);
  },
  ArgKMin: (i) => {
    const js = kept(i).sort((a, b) => f(i, a) - f(i, b) || a - b);
    return [0, 1, 2].map((k) => js[k] ?? 0);
  },
  LogSumExp: (i) => {
    const v = kept(i).map((j) => f(i, j));
    if (!v.length) return [-Infinity];
    const m = Math.max(...v);
    return [m + Math.log(v.reduce((s, t) => s + Math.exp(t - m), 0))];
  },
  SumSoftMaxWeight: (i) => {
    const js = kept(i);
    if (!js.length) return [NaN];
    const m = Math.max(...js.map((j) => f(i, j)));
    const w = js.map((j) => Math.exp(f(i, j) - m));
    return [js.reduce((s, j, t) => s + w[t] * bj[j], 0) / w.reduce((s, t) => s + t, 0)];
  },
};

const denseAll = (red: string) =>
  Float64Array.from(Array.from({ length: M }, (_, i) => dense[red](i)).flat());

for (const backend of BACKENDS) {
  Deno.test(`ranges: every reduction over the kept pairs (${backend})`, async () => {
    const tol = backend === "gpu" ? { rtol: 1e-4, atol: 1e-4 } : { rtol: 1e-5, atol: 1e-5 };
    for (const red of Object.keys(dense)) {
      const k = red.includes("K") ? 3 : undefined;
      const formula2 = red === "SumSoftMaxWeight" ? "b" : undefined;
      const g = Genred("-SqDist(x,y)+b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], {
        reduction: red as "Sum",
        axis: 1,
        k,
        formula2,
      });
      const out = await g(X, Y, B, { backend, ranges });
      const got = Array.isArray(out) ? out[0] : out;
      const want = denseAll(red);
      if (red === "SumSoftMaxWeight") {
        // Rows in no block: 0/0 on every engine.
        for (let i = 0; i < M; i++) {
          if (!kept(i).length) assert.ok(Number.isNaN(got.data[i]), `${red} row ${i}`);
        }
        const live = [...Array(M).keys()].filter((i) => kept(i).length);
        assertClose(live.map((i) => got.data[i]), live.map((i) => want[i]), { ...tol, what: red });
      } else if (red.startsWith("Arg")) assert.deepEqual(Array.from(got.data), Array.from(want), red);
      else assertClose(got.data, want, { ...tol, what: red });
    }
  });
}

for (const backend of F64_BACKENDS) {
  Deno.test(`ranges: axis 0 uses the last three arrays, float64 (${backend})`, async () => {
    const g = Genred("Exp(-SqDist(x,y))*a", ["x = Vi(2)", "y = Vj(2)", "a = Vi(1)"], { axis: 0 });
    const X64 = ndarray(x, [M, D]), Y64 = ndarray(y, [N, D]), A64 = ndarray(ai, [M, 1]);
    const out = await g(X64, Y64, A64, { backend, ranges });
    const want = Array.from({ length: N }, (_, j) => {
      let s = 0;
      for (let i = 0; i < M; i++) {
        if (!keep(i, j)) continue;
        let d = 0;
        for (let c = 0; c < D; c++) d += (x[i * D + c] - y[j * D + c]) ** 2;
        s += Math.exp(-d) * ai[i];
      }
      return s;
    });
    assertClose(out.data, want, { rtol: 1e-12, atol: 1e-12 });
  });
}

/** Σ_j exp(−|x_i − y_j|²) b_j over the kept pairs, densely. */
const gaussDense = () =>
  Array.from({ length: M }, (_, i) =>
    kept(i).reduce((s, j) => {
      let d = 0;
      for (let c = 0; c < D; c++) d += (x[i * D + c] - y[j * D + c]) ** 2;
      return s + Math.exp(-d) * bj[j];
    }, 0));

Deno.test("ranges: streamed blocks of rows and terms, calls of few pairs, and threads", async () => {
  const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], { axis: 1 });
  const want = gaussDense();
  const oldRust = setBlockBytes(64, 96), oldJit = setJitBlockBytes(160, 160), oldPairs = setPairsPerCall(20);
  const oldGpu = setGpuBlockRows(13, 17), threads = getThreads();
  try {
    for (const backend of BACKENDS) {
      for (const t of backend.startsWith("cpu") ? [1, 2] : [1]) {
        setThreads(t);
        const out = await g(X, Y, B, { backend, ranges });
        assertClose(out.data, want, { rtol: 1e-5, atol: 1e-5, what: `${backend}, ${t} threads` });
      }
    }
  } finally {
    setBlockBytes(...oldRust);
    setJitBlockBytes(...oldJit);
    setPairsPerCall(oldPairs);
    setGpuBlockRows(...oldGpu);
    setThreads(threads);
  }
});

Deno.test("ranges: the same ranges for every batch element", async () => {
  const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], { axis: 1 });
  const b2 = new Float32Array(2 * N);
  b2.set(bj);
  b2.set(bj.map((v) => 2 * v), N);
  for (const backend of BACKENDS) {
    const out = await g(X, Y, ndarray(b2, [2, N, 1]), { backend, ranges });
    assert.deepEqual(out.shape, [2, M, 1]);
    const want = gaussDense();
    assertClose(out.data, [...want, ...want.map((v) => 2 * v)], { rtol: 1e-5, atol: 1e-5, what: backend });
  }
});

for (const backend of BACKENDS) {
  Deno.test(`ranges: gradients with respect to i-, j-variables and parameters (${backend})`, async () => {
    const g = Genred("Exp(-SqDist(x,y)*s)*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)", "s = Pm(1)"], {
      axis: 1,
    });
    const e = f32(uniform(rng(3), M));
    const S = ndarray(Float32Array.of(0.75), [1]), E = ndarray(Float32Array.from(e), [M, 1]);
    const s = 0.75;
    const wantX = new Float64Array(M * D), wantY = new Float64Array(N * D), wantB = new Float64Array(N);
    let wantS = 0;
    for (let i = 0; i < M; i++) {
      for (const j of kept(i)) {
        let d = 0;
        for (let c = 0; c < D; c++) d += (x[i * D + c] - y[j * D + c]) ** 2;
        const k = Math.exp(-d * s) * bj[j] * e[i];
        for (let c = 0; c < D; c++) {
          const dx = -2 * s * (x[i * D + c] - y[j * D + c]) * k;
          wantX[i * D + c] += dx;
          wantY[j * D + c] -= dx;
        }
        wantB[j] += Math.exp(-d * s) * e[i];
        wantS += -d * k;
      }
    }
    const tol = { rtol: 1e-4, atol: 1e-4 };
    assertClose((await g.grad("x")(X, Y, B, S, E, { backend, ranges })).data, wantX, { ...tol, what: "x" });
    assertClose((await g.grad("y")(X, Y, B, S, E, { backend, ranges })).data, wantY, { ...tol, what: "y" });
    assertClose((await g.grad("b")(X, Y, B, S, E, { backend, ranges })).data, wantB, { ...tol, what: "b" });
    assertClose((await g.grad("s")(X, Y, B, S, E, { backend, ranges })).data, [wantS], { ...tol, what: "s" });
  });
}

Deno.test("ranges: LazyTensor.withRanges for reductions, matvec and solve; KernelSolve", async () => {
  // A symmetric block-diagonal kernel: clusters [0, 20) and [20, 41) only see themselves.
  const sym: Ranges6 = [[[0, 20], [20, M]], [1, 2], [[0, 20], [20, M]], [[0, 20], [20, M]], [1, 2], [
    [0, 20],
    [20, M],
  ]];
  const blockOf = (i: number) => (i < 20 ? 0 : 1);
  const Kd = (i: number, j: number) => {
    let d = 0;
    for (let c = 0; c < D; c++) d += (x[i * D + c] - x[j * D + c]) ** 2;
    return blockOf(i) === blockOf(j) ? Math.exp(-d) : 0;
  };
  const K = Vi(X).sqdist(Vj(X)).neg().exp();
  const Ks = K.withRanges(sym);
  assert.ok(Ks instanceof LazyTensor);
  for (const backend of BACKENDS) {
    const mv = await Ks.matvec(A, { backend });
    const want = Array.from({ length: M }, (_, i) => ai.reduce((s, a, j) => s + Kd(i, j) * a, 0));
    assertClose(mv.data, want, { rtol: 1e-5, atol: 1e-5, what: `matvec ${backend}` });
    const sum = await Ks.sum(1, { backend });
    assertClose(sum.data, Array.from({ length: M }, (_, i) => ai.reduce((s, _a, j) => s + Kd(i, j), 0)), {
      rtol: 1e-5,
      atol: 1e-5,
      what: `sum ${backend}`,
    });
  }
  // (αI + K) a = b with the block-diagonal K: checked by its residual, computed densely.
  const alpha = 0.5;
  const residual = (sol: ArrayLike<number>) =>
    Math.max(...Array.from({ length: M }, (_, i) => {
      let s = alpha * sol[i];
      for (let j = 0; j < M; j++) s += Kd(i, j) * sol[j];
      return Math.abs(s - ai[i]);
    }));
  for (const backend of F64_BACKENDS) {
    const A64 = ndarray(ai, [M, 1]), X64 = ndarray(x, [M, D]);
    const sol = await Vi(X64).sqdist(Vj(X64)).neg().exp().withRanges(sym).solve(A64, {
      alpha,
      backend,
      eps: 1e-12,
    });
    assert.ok(residual(sol.data) < 1e-8, `LazyTensor.solve ${backend}: ${residual(sol.data)}`);
    const ks = KernelSolve("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], "b", { axis: 1 });
    const sol2 = await ks(X64, X64, A64, { alpha, backend, ranges: sym, eps: 1e-12 });
    assert.ok(residual(sol2.data) < 1e-8, `KernelSolve ${backend}: ${residual(sol2.data)}`);
  }
  if (GPU) {
    // float32 on the GPU: the conjugate gradient on the device, K p block-sparse there too.
    const ks = KernelSolve("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], "b", { axis: 1 });
    const sol = await ks(X, X, A, { alpha, backend: "gpu", ranges: sym, eps: 1e-6 });
    assert.ok(sol.info.converged && residual(sol.data) < 1e-4, `KernelSolve gpu: ${residual(sol.data)}`);
  }
});

Deno.test("ranges: typed arrays and NDArrays of int32 are taken as nested arrays are", async () => {
  const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], { axis: 1 });
  const asNd = ranges.map((a, k) =>
    k % 3 === 1
      ? ndarray(Int32Array.from(a as number[]), [(a as number[]).length])
      : ndarray(Int32Array.from((a as number[][]).flat()), [(a as number[][]).length, 2])
  ) as unknown as Ranges6;
  const out = await g(X, Y, B, { backend: "reference", ranges: asNd });
  assertClose(out.data, gaussDense(), { rtol: 1e-6, atol: 1e-6 });
});

Deno.test("ranges: malformed ranges name the array and the first bad entry", async () => {
  const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], { axis: 1 });
  const ok: Ranges6 = [[[0, 2], [2, M]], [1, 2], [[0, 3], [3, N]], [[0, N]], [1], [[0, M]]];
  const call = (r: unknown) => () => g(X, Y, B, { backend: "reference", ranges: r as Ranges6 });
  const mod = (k: number, v: unknown) => ok.map((a, q) => (q === k ? v : a));
  await assertThrowsClass(call([1, 2, 3]), TypeError, /6-tuple/);
  await assertThrowsClass(call(mod(0, [[0, 2, 4]])), TypeError, /ranges_i.*entry 0/);
  await assertThrowsClass(
    call(mod(0, [[0, 2], [1, M]])),
    RangeError,
    /ranges_i.*entry 1 is \[1, 41\].*sorted/,
  );
  await assertThrowsClass(call(mod(0, [[0, 2], [2, M + 1]])), RangeError, /ranges_i.*entry 1.*≤ 41/);
  await assertThrowsClass(call(mod(1, [3, 2])), RangeError, /slices_i.*entry 0 is 3/);
  await assertThrowsClass(call(mod(1, [1, 1])), RangeError, /slices_i.*ends at 1.*2 intervals/);
  await assertThrowsClass(call(mod(1, [1])), TypeError, /slices_i.*1 entries.*2 blocks/);
  await assertThrowsClass(call(mod(2, [[0, 3], [3, N + 2]])), RangeError, /redranges_j.*entry 1.*≤ 57/);
  await assertThrowsClass(call(mod(2, [[3, 2], [3, N]])), RangeError, /redranges_j.*entry 0 is \[3, 2\]/);
  await assertThrowsClass(call(mod(5, [[0, 1.5]])), TypeError, /redranges_i.*entry 0 holds 1.5/);
  await assertThrowsClass(
    call([[[0, 2]], [2], [[0, 5], [4, 9]], [[0, N]], [1], [[0, M]]]),
    RangeError,
    /redranges_j.*entry 1 is \[4, 9\].*sorted and disjoint/,
  );
  await assertThrowsClass(
    () => g(X, Y, B, { backend: "reference", ranges: ok, bogus: 1 } as never),
    TypeError,
    /Unknown call option "bogus"/,
  );
});

if (GPU) {
  Deno.test("ranges: the GPU spreads long intervals over rounds (software adapter cap)", async () => {
    // One block of every row over all terms, cut by the GPU into rounds on a software adapter.
    const n = 70000, m = 3;
    const r = rng(5);
    const yy = uniform(r, n), xx = uniform(r, m);
    const g = Genred("Exp(-SqDist(x,y))", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 });
    const all: Ranges6 = [[[0, m]], [2], [[0, 30000], [30000, n]], [[0, n]], [1], [[0, m]]];
    const out = await g(ndarray(Float32Array.from(xx), [m, 1]), ndarray(Float32Array.from(yy), [n, 1]), {
      backend: "gpu",
      ranges: all,
    });
    const want = Array.from(xx, (xi) => yy.reduce((s, yj) => s + Math.exp(-((xi - yj) ** 2)), 0));
    assertClose(out.data, want, { rtol: 1e-4, atol: 1e-3 });
  });
}

Deno.test("ranges: worker threads claim the pieces (large enough to use them)", async () => {
  const r = rng(17);
  const m = 1001, n = 2100;
  const xx = ndarray(Float32Array.from(uniform(r, m * 3)), [m, 3]);
  const yy = ndarray(Float32Array.from(uniform(r, n * 3)), [n, 3]);
  const bb = ndarray(Float32Array.from(uniform(r, n)), [n, 1]);
  const big = randomRanges(rng(19), m, n).ranges;
  const threads = getThreads();
  try {
    for (const [f, red] of [["Exp(-SqDist(x,y))*b", "Sum"], ["SqDist(x,y)+b", "ArgMin"]] as const) {
      const g = Genred(f, ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { reduction: red, axis: 1 });
      const want = await g(xx, yy, bb, { backend: "reference", ranges: big });
      for (const backend of ["cpu", "cpu-rust"] as const) {
        setThreads(2);
        const out = await g(xx, yy, bb, { backend, ranges: big });
        if (red === "ArgMin") {
          assert.deepEqual(Array.from(out.data), Array.from(want.data), `${backend} ${red}`);
        } else assertClose(out.data, want.data, { rtol: 1e-5, atol: 1e-5, what: `${backend} ${red}` });
      }
    }
  } finally {
    setThreads(threads);
    shutdownThreads();
  }
});

for (const backend of BACKENDS) {
  Deno.test(`ranges: empty ranges give every row the neutral value (${backend})`, async () => {
    const none: Ranges6 = [[], [], [], [], [], []];
    const want: Record<string, number> = {
      Sum: 0,
      Min: Infinity,
      Max: -Infinity,
      ArgMin: 0,
      LogSumExp: -Infinity,
    };
    for (const [red, v] of Object.entries(want)) {
      const g = Genred("-SqDist(x,y)+b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], {
        reduction: red as "Sum",
        axis: 1,
      });
      const out = await g(X, Y, B, { backend, ranges: none });
      assert.deepEqual(Array.from(out.data), new Array(M).fill(v), `${red} on ${backend}`);
    }
    // Blocks that hold no interval: the same.
    const idle: Ranges6 = [[[0, M]], [0], [], [[0, N]], [0], []];
    const g = Genred("-SqDist(x,y)+b", ["x = Vi(2)", "y = Vj(2)", "b = Vj(1)"], { axis: 1 });
    assert.deepEqual(Array.from((await g(X, Y, B, { backend, ranges: idle })).data), new Array(M).fill(0));
  });
}
