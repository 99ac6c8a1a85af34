// The compiled CPU engine's two code paths and its fallback: without relaxed SIMD (plain
// multiply and add, as on runtimes that lack it) it matches the float64 oracle on the fused
// patterns and every reduction family; where code generation is refused, "cpu" gives the Rust
// engine's results bit for bit; plans it does not compile (BSpline) run on the Rust engine.
import assert from "node:assert/strict";
import { Genred, type NDArray, ndarray, type ReductionName } from "../../mod.ts";
import { setRelaxedSimd } from "../../backends/jit/emit.ts";
import { setCodegenAllowed } from "../../backends/jit/engine.ts";
import { generate } from "../../backends/jit/codegen.ts";
import { assertClose, rng, uniform } from "../_helpers.ts";
import { make } from "../../formula/ops.ts";
import { REDUCTIONS } from "../../formula/reductions.ts";

const ALIASES = ["x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "g = Pm(1)"];
const CASES: [string, ReductionName, { k?: number; formula2?: string }][] = [
  ["Exp(-g*SqDist(x,y))*b", "Sum", {}],
  ["(IntCst(1)+Sqrt(g*SqDist(x,y)))*Exp(-Sqrt(g*SqDist(x,y)))*Elem(b,0)", "Sum", {}],
  ["Rsqrt(IntCst(1)+g*SqDist(x,y))*Elem(b,0) + x*Elem(b,1)", "Sum", {}],
  ["Log(IntCst(2)+Sin(x-y))*Atan(y)*Cos(x)", "Sum", {}],
  ["SqDist(x,y)", "ArgKMin", { k: 5 }],
  ["SqDist(x,y) - Elem(b,0)", "Min_ArgMin", {}],
  ["Elem(b,0) - SqDist(x,y)*g", "LogSumExp", {}],
  ["Elem(b,0) - SqDist(x,y)*g", "SumSoftMaxWeight", { formula2: "b" }],
];

function data(f32: boolean, M: number, N: number) {
  const r = rng(M * 7 + N);
  const cast = (a: Float64Array) => (f32 ? Float32Array.from(a) : a);
  return [
    ndarray(cast(uniform(r, M * 3, 0, 1)), [M, 3]),
    ndarray(cast(uniform(r, N * 3)), [N, 3]),
    // Positive weights: sums without cancellation, so float32's relative error stays small.
    ndarray(cast(uniform(r, N * 2, 0, 1)), [N, 2]),
    ndarray(cast(Float64Array.of(0.7)), [1, 1]),
  ];
}

const parts = (o: unknown) => (Array.isArray(o) ? o : [o]) as NDArray[];

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`[cpu] without relaxed SIMD, every fused pattern and reduction family matches the oracle (${dtype})`, async () => {
    const f32 = dtype === "float32";
    const args = data(f32, 45, 300);
    const old = setRelaxedSimd(false);
    try {
      for (const [formula, reduction, opts] of CASES) {
        const g = Genred(formula, ALIASES, { reduction, axis: 1, ...opts });
        const got = parts(await g(...args, { backend: "cpu" }));
        const want = parts(await g(...args, { backend: "reference" }));
        got.forEach((o, k) => {
          if (o.data instanceof Int32Array) {
            assert.deepEqual(Array.from(o.data), Array.from(want[k].data), formula);
          } else {
            assertClose(
              o.data,
              want[k].data,
              f32 ? { rtol: 4e-6, atol: 1e-6, what: formula } : {
                rtol: 1e-12,
                atol: 1e-13,
                what: formula,
              },
            );
          }
        });
      }
    } finally {
      setRelaxedSimd(old);
    }
  });
}

Deno.test("[cpu] high-dimensional sums of products run as loops over components and match the oracle", async () => {
  // D = 100: twelve blocks of 8 components and a tail of 4, for kNN, a kernel sum and a dot product.
  const r = rng(100), M = 37, N = 150, D = 100;
  const x = ndarray(Float32Array.from(uniform(r, M * D)), [M, D]),
    y = ndarray(Float32Array.from(uniform(r, N * D)), [N, D]);
  const b = ndarray(Float32Array.from(uniform(r, N, 0, 1)), [N, 1]);
  const al = [`x = Vi(${D})`, `y = Vj(${D})`, "b = Vj(1)"];
  const knn = Genred("SqDist(x,y)", al.slice(0, 2), { reduction: "ArgKMin", k: 3, axis: 1 });
  const got = (await knn(x, y, { backend: "cpu" })) as NDArray,
    want = (await knn(x, y, { backend: "reference" })) as NDArray;
  assert.deepEqual(Array.from(got.data), Array.from(want.data));
  for (const formula of ["Exp(-SqDist(x,y)/IntCst(40))*b", "(x|y)*b"]) {
    const g = Genred(formula, al, { axis: 1 });
    const o = (await g(x, y, b, { backend: "cpu" })) as NDArray,
      w = (await g(x, y, b, { backend: "reference" })) as NDArray;
    assertClose(o.data, w.data, { rtol: 2e-5, atol: 1e-5, what: formula });
  }
});

Deno.test("[cpu] where code generation is refused, the Rust engine's results, bit for bit", async () => {
  const args = data(true, 40, 200);
  const old = setCodegenAllowed(false);
  try {
    for (const [formula, reduction, opts] of CASES) {
      const g = Genred(formula, ALIASES, { reduction, axis: 1, ...opts });
      const got = parts(await g(...args, { backend: "cpu" }));
      const rust = parts(await g(...args, { backend: "cpu-rust" }));
      got.forEach((o, k) => assert.deepEqual(Array.from(o.data), Array.from(rust[k].data), formula));
    }
  } finally {
    setCodegenAllowed(old);
  }
});

Deno.test("the generated module is valid WebAssembly, shared and unshared, and holds no formula text", () => {
  // Exp(−SqDist(x, y)) for x = Vi(3), y = Vj(3), straight from the formula layer.
  const x = make("Var", [], [0, 3, 0]), y = make("Var", [], [1, 3, 1]);
  const sq = make("Sum", [make("Square", [make("Subtract", [x, y], [])], [])], []);
  const code = generate({
    reduction: REDUCTIONS.Sum,
    dims: { D: 1, K: 0, Dw: 1 },
    dtype: "float32",
    formulas: [make("Exp", [make("Minus", [sq], [])], [])],
  });
  for (const shared of [false, true]) {
    const bytes = code.bytes(shared);
    assert.ok(WebAssembly.validate(bytes), `shared = ${shared}`);
    const text = new TextDecoder().decode(bytes);
    assert.ok(!text.includes("SqDist") && !text.includes("Exp"), "no formula text in the module");
  }
});
