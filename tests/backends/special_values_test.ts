// Formulas the differential fuzzer found engines to get wrong: constant sub-expressions that
// overflow, divide by zero or give NaN, a negated negative constant, atan2 at its edges, NaN
// terms in LogSumExp, signed zeros, many variables, indices left on the GPU. Every engine
// against the float64 oracle, values and special values alike.
import assert from "node:assert/strict";
import { fromGpu, Genred, type NDArray, ndarray, type ReductionName, toGpu } from "../../mod.ts";
import { BACKENDS, GPU } from "../_backends.ts";
import { assertClose } from "../_helpers.ts";

type Engine = "cpu" | "gpu";
const ENGINES = BACKENDS.filter((b): b is Engine => b !== "reference");

/** Runs a Genred on an engine and on the reference; the same values (∞ and NaN included). */
async function same(
  backend: Engine,
  formula: string,
  aliases: string[],
  args: number[][][],
  opts: { reduction?: ReductionName; formula2?: string } = {},
) {
  const g = Genred(formula, aliases, { axis: 1, ...opts });
  const arrays = args.map((a) => ndarray(Float32Array.from(a.flat()), [a.length, a[0].length]));
  const got = (await g(...arrays, { backend })) as NDArray;
  const ref = (await g(...arrays, { backend: "reference" })) as NDArray;
  assertClose(got.data, ref.data, { rtol: 2e-6, atol: 1e-6, what: `${formula} on ${backend}` });
  return { got, ref };
}

// No zero among the x: the reference computes in float64, where e^100·0 is 0, not ∞·0 = NaN.
const X = [[0.5], [1.5], [-2]], Y = [[0.25], [-1]];
const xy = ["x = Vi(1)", "y = Vj(1)"];

for (const backend of ENGINES) {
  Deno.test(`${backend}: constant sub-expressions that overflow, divide by zero or give NaN`, async () => {
    for (
      const f of [
        "Exp(IntCst(100)) * x",
        "Log(Zero(1)) + x",
        "Sqrt(IntCst(-1)) + x",
        "XLogX(IntCst(0)) + x",
        "x / Zero(1)",
        "Inv(Zero(1)) * y",
        "SinXDivX(IntCst(0)) * x",
        "-RatCst(-1,7) * x",
        "-IntCst(-3) + Minus(RatCst(-2,3)) * y",
        "1e39 * x",
      ]
    ) {
      await same(backend, f, xy, [X, Y]);
    }
    await same(backend, "SinXDivX(IntCst(0)) * x", xy, [X, Y], { reduction: "Max" });
  });

  Deno.test(`${backend}: atan2 at signed zeros, infinities and NaN follows Math.atan2`, async () => {
    const edges = [0, -0, 1, -1, 1e-30, -1e-30, Infinity, -Infinity, NaN];
    const xs = edges.map((v) => [v]);
    for (const y of edges) {
      const { got } = await same(backend, "Atan2(x, y)", xy, [xs, [[y]]]);
      got.data.forEach((v, k) => {
        const want = Math.fround(Math.atan2(edges[k], y));
        assert.ok(Object.is(v, want) || Math.abs(v - want) <= 4e-7, `atan2(${edges[k]}, ${y}) = ${v}`);
      });
    }
    await same(backend, "Square(Atan2(x, x) + x) + 2", xy, [[[0], [1]], Y], { reduction: "LogSumExp" });
  });

  Deno.test(`${backend}: a NaN term makes LogSumExp NaN; −∞ terms count for nothing`, async () => {
    const { got } = await same(backend, "Log(x * y)", xy, [[[2], [-1], [1]], [[0], [1]]], {
      reduction: "LogSumExp",
    });
    assert.ok(Number.isNaN(got.data[1]), `row of a NaN term: ${got.data[1]}`);
    assert.equal(got.data[2], 0, "row of a −∞ term and a 0");
    await same(backend, "Log(x) * y", xy, [[[2], [-1]], [[1], [2]]], {
      reduction: "LogSumExpWeight",
      formula2: "y",
    });
  });

  Deno.test(`${backend}: sums keep the sign of a zero`, async () => {
    const { got } = await same(backend, "Inv(Sum(-x)) * y", ["x = Vi(2)", "y = Vj(1)"], [[[0, 0]], [[1]]]);
    assert.equal(got.data[0], -Infinity);
  });

  Deno.test(`${backend}: a formula of 40 variables`, async () => {
    const aliases = Array.from({ length: 40 }, (_, k) => `v${k} = Vi(1)`);
    const args = Array.from({ length: 40 }, (_, k) => [[k], [k * 0.5 - 3]]);
    const { got } = await same(backend, aliases.map((_, k) => `v${k}`).join(" + "), aliases, args);
    assert.deepEqual(Array.from(got.data), [780, 780 * 0.5 - 120]);
  });
}

Deno.test({
  name: "[gpu] indices left on the GPU read back as int32",
  ignore: !GPU,
  fn: async () => {
    const g = Genred("SqDist(x,y)", xy, { reduction: "ArgMin", axis: 1 });
    const pair = Genred("SqDist(x,y)", xy, { reduction: "Min_ArgMin", axis: 1 });
    const x = await toGpu(ndarray(Float32Array.of(0, 1, 2), [3, 1]));
    const y = await toGpu(ndarray(Float32Array.of(2, 0.9), [2, 1]));
    const out = await g(x, y, { backend: "gpu", output: "gpu" });
    const back = await fromGpu(out as never);
    assert.ok(back.data instanceof Int32Array);
    assert.deepEqual(Array.from(back.data), [1, 1, 0]);
    const [v, i] = (await pair(x, y, { backend: "gpu", output: "gpu" })) as unknown as never[];
    assert.ok((await fromGpu(v)).data instanceof Float32Array);
    assert.deepEqual(Array.from((await fromGpu(i)).data), [1, 1, 0]);
  },
});
