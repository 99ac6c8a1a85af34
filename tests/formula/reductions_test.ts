// Every reduction against a dense computation in the test: ties, K close to N, a reduced size
// of 1, both axes; and the properties tiled engines rely on (merges, block sums, running max).
import assert from "node:assert/strict";
import { Genred, type NDArray, ndarray } from "../../mod.ts";
import { foldTerms, type ReductionName, REDUCTIONS } from "../../formula/reductions.ts";
import { assertClose, assertThrowsClass, rng } from "../_helpers.ts";
import { BACKENDS, type TestBackend } from "../_backends.ts";

/** F_ij = x_i − y_j (D components) on integer-valued points, so that ties are frequent. */
function setup(M: number, N: number, D: number, seed: number, ints = true) {
  const r = rng(seed);
  const v = () => (ints ? Math.floor(r() * 4) : r() * 4 - 2);
  const x = Float64Array.from({ length: M * D }, v), y = Float64Array.from({ length: N * D }, v);
  const F = (i: number, j: number, d: number) => x[i * D + d] - y[j * D + d];
  return { x: ndarray(x, [M, D]), y: ndarray(y, [N, D]), F };
}

/** Dense K smallest (value, index) per column d of row i: stable sort by value, then index. */
function denseKmin(
  F: (i: number, j: number, d: number) => number,
  i: number,
  N: number,
  d: number,
  K: number,
) {
  const terms = Array.from({ length: N }, (_, j) => ({ v: F(i, j, d), j }));
  terms.sort((a, b) => a.v - b.v || a.j - b.j);
  return terms.slice(0, K);
}

let backend: TestBackend = "reference";
const run = (red: ReductionName, M: number, N: number, D: number, seed: number, k?: number) => {
  const { x: x64, y: y64, F } = setup(M, N, D, seed);
  // Integer-valued points: exact in float32, for the GPU, which has no float64.
  const f32 = (a: NDArray) => (backend === "gpu" ? ndarray(Float32Array.from(a.data), [...a.shape]) : a);
  const [x, y] = [f32(x64), f32(y64)];
  const g = Genred("x - y", [`x = Vi(${D})`, `y = Vj(${D})`], { reduction: red, axis: 1, k });
  return { out: g(x, y, { backend }), F };
};

for (const b of BACKENDS) {
  for (const [M, N, D] of [[5, 7, 1], [4, 9, 3], [3, 1, 2], [1, 300, 2]]) {
    Deno.test(`[${b}] Min, Max, ArgMin, ArgMax and the pairs match dense loops (M=${M}, N=${N}, D=${D}), ties to the first index`, async () => {
      backend = b;
      for (const [red, sign] of [["Min", 1], ["Max", -1]] as const) {
        const { F } = setup(M, N, D, M * N + D);
        const best = (i: number, d: number) => {
          let jb = 0;
          for (let j = 1; j < N; j++) if (sign * F(i, j, d) < sign * F(i, jb, d)) jb = j;
          return jb;
        };
        const idx = Array.from({ length: M * D }, (_, q) => best(Math.floor(q / D), q % D));
        const val = idx.map((j, q) => F(Math.floor(q / D), j, q % D));
        const v = (await run(red, M, N, D, M * N + D).out) as NDArray;
        assertClose(v.data, val);
        assert.deepEqual(v.shape, [M, D]);
        const a = (await run(`Arg${red}` as ReductionName, M, N, D, M * N + D).out) as NDArray;
        assert.ok(a.data instanceof Int32Array);
        assert.deepEqual(Array.from(a.data), idx);
        const [pv, pa] =
          (await run(`${red}_Arg${red}` as ReductionName, M, N, D, M * N + D).out) as unknown as NDArray[];
        assertClose(pv.data, val);
        assert.deepEqual(Array.from(pa.data), idx);
      }
    });

    for (const K of [1, Math.max(1, N - 1), N].filter((k) => k <= Math.min(N, 10))) {
      Deno.test(`[${b}] KMin, ArgKMin and KMin_ArgKMin with K=${K} match a stable sort (M=${M}, N=${N}, D=${D})`, async () => {
        backend = b;
        const { F } = setup(M, N, D, 7 * M + N + D);
        const vals: number[] = [], inds: number[] = [];
        for (let i = 0; i < M; i++) {
          const per = Array.from({ length: D }, (_, d) => denseKmin(F, i, N, d, K));
          for (let k = 0; k < K; k++) {
            for (let d = 0; d < D; d++) {
              vals.push(per[d][k].v);
              inds.push(per[d][k].j);
            }
          }
        }
        const shape = D === 1 ? [M, K] : [M, K, D];
        const v = (await run("KMin", M, N, D, 7 * M + N + D, K).out) as NDArray;
        assertClose(v.data, vals);
        assert.deepEqual(v.shape, shape);
        const a = (await run("ArgKMin", M, N, D, 7 * M + N + D, K).out) as NDArray;
        assert.deepEqual(Array.from(a.data), inds);
        const [pv, pa] = (await run("KMin_ArgKMin", M, N, D, 7 * M + N + D, K).out) as unknown as NDArray[];
        assertClose(pv.data, vals);
        assert.deepEqual(Array.from(pa.data), inds);
        assert.deepEqual(pa.shape, shape);
      });
    }
  }
}

Deno.test("K larger than the reduced size, or missing, is a RangeError naming K", async () => {
  const { x, y } = setup(3, 4, 1, 1);
  const g = Genred("x - y", ["x = Vi(1)", "y = Vj(1)"], { reduction: "ArgKMin", axis: 1, k: 5 });
  await assertThrowsClass(() => g(x, y), RangeError, /K = 5 is larger than the number of reduced terms, 4/);
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(1)"], { reduction: "KMin" }),
    RangeError,
    /needs k, a positive integer/,
  );
  await assertThrowsClass(() => Genred("x", ["x = Vi(1)"], { reduction: "KMin", k: 0 }), RangeError, /got 0/);
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(1)"], { reduction: "Sum", k: 2 }),
    TypeError,
    /takes no k/,
  );
});

Deno.test("Sum over both axes, and a reduced size of 1", async () => {
  const { x, y, F } = setup(4, 6, 2, 3, false);
  const expI = Array.from({ length: 8 }, (_, q) => {
    let s = 0;
    for (let j = 0; j < 6; j++) s += F(Math.floor(q / 2), j, q % 2);
    return s;
  });
  assertClose(((await Genred("x - y", ["x = Vi(2)", "y = Vj(2)"], { axis: 1 })(x, y)) as NDArray).data, expI);
  const expJ = Array.from({ length: 12 }, (_, q) => {
    let s = 0;
    for (let i = 0; i < 4; i++) s += F(i, Math.floor(q / 2), q % 2);
    return s;
  });
  const byJ = (await Genred("x - y", ["x = Vi(2)", "y = Vj(2)"])(x, y)) as NDArray;
  assert.deepEqual(byJ.shape, [6, 2]);
  assertClose(byJ.data, expJ);
  const one = (await Genred("x - y", ["x = Vi(2)", "y = Vj(2)"], { axis: 1 })(x, [[0.5, 0.25]])) as NDArray;
  assertClose(one.data, Array.from(x.data, (v, q) => v - (q % 2 ? 0.25 : 0.5)));
});

Deno.test("a formula without a j-variable reduces over N = 1; without an i-variable, M = 1 (as KeOps)", async () => {
  const s =
    (await Genred("x * 2", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 })([[1], [2]], [[5], [6], [7]])) as NDArray;
  assertClose(s.data, [2, 4]);
  const t =
    (await Genred("y * 2", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 })([[1], [2]], [[5], [6], [7]])) as NDArray;
  assert.deepEqual(t.shape, [1, 1]);
  assertClose(t.data, [36]);
});

Deno.test("LogSumExp is log Σ exp with a running max: no overflow at F = 1000, and weights", async () => {
  const x = [[1000], [-1000], [0]], y = [[0.5], [-0.25], [2]], w = [[1, 2], [3, 4], [0.5, 0.5]];
  const F = (i: number, j: number) => x[i][0] * y[j][0];
  const lse = (i: number, g: (j: number) => number) => {
    const m = Math.max(...y.map((_, j) => F(i, j)));
    return m + Math.log(y.reduce((s, _, j) => s + Math.exp(F(i, j) - m) * g(j), 0));
  };
  const f64 = (a: number[][]) => ndarray(Float64Array.from(a.flat()), [a.length, a[0].length]);
  const plain = (await Genred("x * y", ["x = Vi(1)", "y = Vj(1)"], { reduction: "LogSumExp", axis: 1 })(
    f64(x),
    f64(y),
  )) as NDArray;
  assertClose(plain.data, [0, 1, 2].map((i) => lse(i, () => 1)));
  for (const red of ["LogSumExp", "LogSumExpWeight"] as const) {
    const wt = (await Genred("x * y", ["x = Vi(1)", "y = Vj(1)", "w = Vj(2)"], {
      reduction: red,
      axis: 1,
      formula2: "w",
    })(
      f64(x),
      f64(y),
      f64(w),
    )) as NDArray;
    assert.deepEqual(wt.shape, [3, 2]);
    assertClose(wt.data, [0, 1, 2].flatMap((i) => [lse(i, (j) => w[j][0]), lse(i, (j) => w[j][1])]));
  }
  const soft = (await Genred("x * y", ["x = Vi(1)", "y = Vj(1)", "w = Vj(2)"], {
    reduction: "SumSoftMaxWeight",
    axis: 1,
    formula2: "w",
  })(
    f64(x),
    f64(y),
    f64(w),
  )) as NDArray;
  assertClose(
    soft.data,
    [0, 1, 2].flatMap((i) => [0, 1].map((c) => Math.exp(lse(i, (j) => w[j][c]) - lse(i, () => 1)))),
    { rtol: 1e-10 },
  );
  const raw = (await Genred("x * y", ["x = Vi(1)", "y = Vj(1)"], { reduction: "Max_SumShiftExp", axis: 1 })(
    f64(x),
    f64(y),
  )) as NDArray;
  assert.deepEqual(raw.shape, [3, 2]);
  assertClose(
    raw.data,
    [0, 1, 2].flatMap((i) => {
      const m = Math.max(...y.map((_, j) => F(i, j)));
      return [m, y.reduce((acc, _, j) => acc + Math.exp(F(i, j) - m), 0)];
    }),
  );
});

Deno.test("LogSumExp of a row of −∞ terms is −∞, not NaN", async () => {
  const out = (await Genred("Log(x * y)", ["x = Vi(1)", "y = Vj(1)"], { reduction: "LogSumExp", axis: 1 })(
    ndarray(Float64Array.of(0, 1), [2, 1]),
    ndarray(Float64Array.of(1, 2), [2, 1]),
  )) as NDArray;
  assert.equal(out.data[0], -Infinity);
  assertClose([out.data[1]], [Math.log(3)]);
});

Deno.test("merging partial accumulators in any blocking gives the sequential result (ties included)", () => {
  const r = rng(11);
  const terms = Float64Array.from({ length: 200 * 2 }, () => Math.floor(r() * 5));
  for (const name of ["Min_ArgMin", "Max_ArgMax", "KMin_ArgKMin", "Sum", "LogSumExp"] as const) {
    const dims = { D: name === "LogSumExp" ? 1 : 2, K: 7, Dw: 1 };
    const t = name === "LogSumExp" ? terms.subarray(0, 200) : terms;
    const w = new Float64Array(t.length).fill(1);
    const seq = foldTerms(REDUCTIONS[name], dims, t, { block: Infinity, weights: w });
    for (const block of [1, 3, 64]) {
      const tiled = foldTerms(REDUCTIONS[name], dims, t, { block, weights: w });
      assertClose(tiled.values, seq.values, { rtol: 1e-13, what: `${name} block ${block}` });
      assert.deepEqual(Array.from(tiled.indices), Array.from(seq.indices), `${name} block ${block}`);
    }
  }
});

Deno.test("block summation keeps a float32 Sum of a million terms within 1e-5 of float64", () => {
  const r = rng(5);
  const n = 1_000_000;
  const terms = Float64Array.from({ length: n }, () => Math.fround(r()));
  let exact = 0;
  for (const t of terms) exact += t;
  const dims = { D: 1, K: 0, Dw: 1 };
  const blocked = foldTerms(REDUCTIONS.Sum, dims, terms, { round: Math.fround }).values[0];
  assert.ok(
    Math.abs(blocked - exact) / exact < 1e-5,
    `blocked float32 sum off by ${Math.abs(blocked - exact) / exact}`,
  );
  // Without blocks, float32 accumulation drifts well past that bound: the blocks are what matter.
  const direct = foldTerms(REDUCTIONS.Sum, dims, terms, { round: Math.fround, block: Infinity }).values[0];
  assert.ok(Math.abs(direct - exact) / exact > 1e-5);
});

Deno.test("reduction options are validated", async () => {
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(1)"], { reduction: "Mean" as ReductionName }),
    TypeError,
    /Unknown reduction "Mean"/,
  );
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(1)"], { axis: 2 as 0 }),
    RangeError,
    /axis must be 0 or 1, got 2/,
  );
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(1)"], { reduction: "SumSoftMaxWeight" }),
    TypeError,
    /needs formula2/,
  );
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(1)"], { formula2: "x" }),
    TypeError,
    /takes no formula2/,
  );
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(2)"], { reduction: "LogSumExp" }),
    TypeError,
    /needs a scalar formula, got dimension 2/,
  );
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(1)"], { bogus: 1 } as never),
    TypeError,
    /Unknown Genred option "bogus"/,
  );
});
