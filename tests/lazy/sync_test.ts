/**
 * The synchronous path (`routine.sync`, `LazyTensor.sync`): the same results as the float64
 * oracle for each family of reductions, gradients and block-sparse ranges, on both CPU engines,
 * at sizes that stream blocks; clear errors where no synchronous path exists; and a
 * synchronous call in the middle of an asynchronous one does not disturb it.
 */

import assert from "node:assert/strict";
import { Genred, ndarray, UnsupportedError, Vi, Vj } from "../../mod.ts";
import { setJitBlockBytes } from "../../backends/jit/driver.ts";
import { setBlockBytes } from "../../backends/wasm/driver.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";

const r = rng(14);
const M = 37, N = 53, D = 3;
const x = ndarray(uniform(r, M * D), [M, D]), y = ndarray(uniform(r, N * D), [N, D]);
const b = ndarray(uniform(r, N * 2), [N, 2]);
const e = ndarray(uniform(r, M * 2), [M, 2]);

const CASES: [string, string, Record<string, unknown>][] = [
  ["Sum", "Exp(-SqDist(x,y))*b", { reduction: "Sum" }],
  ["LogSumExp", "-SqDist(x,y)", { reduction: "LogSumExp" }],
  ["SumSoftMaxWeight", "-SqDist(x,y)", { reduction: "SumSoftMaxWeight", formula2: "b" }],
  ["ArgKMin", "SqDist(x,y)", { reduction: "ArgKMin", k: 4 }],
  ["Min_ArgMin", "SqDist(x,y)", { reduction: "Min_ArgMin" }],
];

for (const backend of ["cpu", "cpu-rust"] as const) {
  for (const [name, formula, opts] of CASES) {
    Deno.test(`sync ${name} on ${backend} equals the oracle`, async () => {
      const g = Genred(formula, ["x = Vi(3)", "y = Vj(3)", "b = Vj(2)"], { ...opts, axis: 1 } as never);
      const want = await g(x, y, b, { backend: "reference" });
      const got = g.sync(x, y, b, { backend });
      const pairs = Array.isArray(got) ? got : [got];
      const wants = Array.isArray(want) ? want : [want];
      pairs.forEach((p, k) => {
        assert.deepEqual(p.shape, wants[k].shape);
        assertClose(p.data, wants[k].data, { rtol: 1e-5, atol: 1e-6, what: name });
      });
    });
  }
}

Deno.test("sync gradients of a Sum and a LogSumExp equal the oracle's, with streamed blocks", async () => {
  const oldJ = setJitBlockBytes(1024, 1024), oldR = setBlockBytes(1024, 1024);
  try {
    for (const red of ["Sum", "LogSumExp"] as const) {
      const g = Genred(red === "Sum" ? "Exp(-SqDist(x,y))*b" : "-SqDist(x,y)*Sum(b)", [
        "x = Vi(3)",
        "y = Vj(3)",
        "b = Vj(2)",
      ], { reduction: red, axis: 1 });
      const ee = red === "Sum" ? e : ndarray(uniform(r, M), [M, 1]);
      for (const v of ["x", "y", "b"]) {
        const want = await g.grad(v)(x, y, b, ee, { backend: "reference" });
        for (const backend of ["cpu", "cpu-rust"] as const) {
          const got = g.grad(v).sync(x, y, b, ee, { backend });
          assertClose(got.data, want.data, { rtol: 1e-4, atol: 1e-5, what: `${red} grad ${v} ${backend}` });
        }
      }
    }
  } finally {
    setJitBlockBytes(...oldJ);
    setBlockBytes(...oldR);
  }
});

Deno.test("LazyTensor.sync: every reduction, matvec and ranges as the asynchronous calls", async () => {
  const K = Vi(x).sqdist(Vj(y));
  const G = K.neg().exp();
  const same = (a: { data: ArrayLike<number> }, w: { data: ArrayLike<number> }) =>
    assertClose(a.data, w.data, { rtol: 1e-5, atol: 1e-6 });
  same(G.sync.sum(1), await G.sum(1));
  same(G.sync.sum(0), await G.sum(0));
  same(K.sync.min(1), await K.min(1));
  same(K.sync.max(0), await K.max(0));
  same(K.sync.argmin(1), await K.argmin(1));
  same(K.sync.argmax(1), await K.argmax(1));
  same(K.sync.kmin(3, 1), await K.kmin(3, 1));
  same(K.sync.argKmin(3, 0), await K.argKmin(3, 0));
  const [v1, i1] = K.sync.kminArgKmin(2, 1), [v2, i2] = await K.kminArgKmin(2, 1);
  same(v1, v2);
  same(i1, i2);
  same(K.neg().sync.logsumexp(1), await K.neg().logsumexp(1));
  same(K.neg().sync.sumsoftmaxweight(Vj(b), 1), await K.neg().sumsoftmaxweight(Vj(b), 1));
  const flat = Array.from({ length: N }, (_, k) => k / N);
  const mv = G.sync.matvec(flat);
  assert.deepEqual(mv.shape, [M]);
  same(mv, await G.matvec(flat));
  const ranges = [[[0, 20], [20, M]], [1, 2], [[0, 30], [30, N]], [[0, 30], [30, N]], [1, 2], [
    [0, 20],
    [20, M],
  ]] as never;
  same(G.withRanges(ranges).sync.sum(1), await G.withRanges(ranges).sum(1, { backend: "reference" }));
});

Deno.test("sync: clear errors where there is no synchronous path", async () => {
  const g = Genred("SqDist(x,y)", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 });
  await assertThrowsClass(() => g.sync([[0]], [[1]], { backend: "gpu" }), UnsupportedError, /synchronous/);
  await assertThrowsClass(
    () => g.sync([[0]], [[1]], { backend: "tpu" as never }),
    TypeError,
    /Unknown backend/,
  );
  await assertThrowsClass(() => g.sync([[0]], [[1], [2]], [[3]]), TypeError, /expects 2 arguments/);
});

Deno.test("synchronous calls while an asynchronous one is suspended leave both right", async () => {
  const oldJ = setJitBlockBytes(512, 512);
  try {
    const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(2)"], { axis: 1 });
    // Many blocks of 64 terms (the smallest), so that the asynchronous run waits many times.
    const y = ndarray(uniform(r, 1000 * D), [1000, D]), b = ndarray(uniform(r, 1000 * 2), [1000, 2]);
    const want = await g(x, y, b, { backend: "reference" });
    const x2 = ndarray(uniform(r, M * D, 2, 3), [M, D]), want2 = await g(x2, y, b, { backend: "reference" });
    // The asynchronous run streams blocks of terms and waits (a microtask) between them; a
    // chain of microtasks makes synchronous calls in between, which run on their own memory.
    await g(x, y, b, { backend: "cpu" }); // compiled once: the run below waits only on microtasks
    const pending = g(x, y, b, { backend: "cpu" });
    let done = false, calls = 0;
    pending.finally(() => (done = true));
    const chain = async () => {
      while (!done && calls < 1000) {
        await null;
        const now = g.sync(x2, y, b, { backend: "cpu" });
        assertClose(now.data, want2.data, { rtol: 1e-5, atol: 1e-6 });
        calls++;
      }
    };
    await Promise.all([chain(), pending]);
    assertClose((await pending).data, want.data, { rtol: 1e-5, atol: 1e-6 });
    assert.ok(calls > 2 && calls < 1000, `${calls} synchronous calls ran during the asynchronous one`);
  } finally {
    setJitBlockBytes(...oldJ);
  }
});
