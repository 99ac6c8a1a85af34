/**
 * KeOps's accuracy options of sums (dtype_acc, use_double_acc, sum_scheme) on every engine, on
 * a sum whose float32 direct sum visibly loses accuracy: four million terms near 1.2, whose
 * running total in float32 has an ulp of 0.5 and rounds each term away. The exact sum of the
 * float32 terms is computed here in float64.
 */

import assert from "node:assert/strict";
import { Genred, KernelSolve, ndarray, Vj } from "../../mod.ts";
import { BACKENDS } from "../_backends.ts";
import { assertThrowsClass, rng } from "../_helpers.ts";

const N = (1 << 22) + 12345;
const r = rng(8);
const b = Float32Array.from({ length: N }, () => 1.2 + 0.01 * (r() - 0.5));
let exact = 0;
for (const v of b) exact += v;
const B = ndarray(b, [N, 1]);
const rel = (x: number) => Math.abs(x - exact) / exact;

for (const backend of BACKENDS) {
  Deno.test(`accuracy: Sum of 4M float32 terms by scheme and accumulator (${backend})`, async () => {
    const sum = (o: object) => Genred("b", ["b = Vj(1)"], { axis: 1, ...o })(B, { backend });
    const errs: Record<string, number> = {};
    for (
      const [name, o] of [
        ["auto", {}],
        ["block_sum", { sum_scheme: "block_sum" }],
        ["direct_sum", { sum_scheme: "direct_sum" }],
        ["kahan_scheme", { sum_scheme: "kahan_scheme" }],
        ["float64", { dtype_acc: "float64" }],
        ["use_double_acc", { use_double_acc: true }],
      ] as const
    ) errs[name] = rel((await sum(o)).data[0]);
    const all = JSON.stringify(errs);
    for (const k of ["kahan_scheme", "float64", "use_double_acc"]) assert.ok(errs[k] < 2e-7, `${k}: ${all}`);
    for (const k of ["auto", "block_sum"]) assert.ok(errs[k] < 1e-4, `${k}: ${all}`);
    // The float32 direct sum is what the options are for: on the GPU it visibly loses digits;
    // the CPU engines add into float64 totals whatever the scheme.
    if (backend === "gpu") {
      assert.ok(errs.direct_sum > 1e-5 && errs.direct_sum > 1000 * errs.kahan_scheme, `direct_sum: ${all}`);
    } else assert.ok(errs.direct_sum < 1e-4, `direct_sum: ${all}`);
  });

  Deno.test(`accuracy: LogSumExp of 4M terms with float64 accumulation (${backend})`, async () => {
    const lse = (o: object) =>
      Genred("Log(b)", ["b = Vj(1)"], { axis: 1, reduction: "LogSumExp", ...o })(B, { backend });
    // log Σ b_j: its error is the relative error of the sum (float32 output: an ulp is 1e-6).
    const want = Math.log(exact);
    assert.ok(Math.abs((await lse({ dtype_acc: "float64" })).data[0] - want) < 3e-6);
    assert.ok(Math.abs((await lse({})).data[0] - want) < 1e-4);
  });
}

Deno.test("accuracy options: KernelSolve and LazyTensor take them; bad ones are errors naming them", async () => {
  const s = await Vj(B).sum(1, { sum_scheme: "kahan_scheme", backend: "cpu" });
  assert.ok(rel(s.data[0]) < 2e-7);
  const ks = KernelSolve("Exp(-SqDist(x,y))*a", ["x = Vi(1)", "y = Vj(1)", "a = Vj(1)"], "a", {
    axis: 1,
    dtype_acc: "float64",
  });
  const sol = await ks([[0], [1]], [[0], [1]], [[1], [1]], { alpha: 0.5 });
  assert.ok(sol.info.converged);
  await assertThrowsClass(
    () => Genred("b", ["b = Vj(1)"], { dtype_acc: "float16" as "auto" }),
    TypeError,
    /Unknown dtype_acc "float16"/,
  );
  await assertThrowsClass(
    () => Genred("b", ["b = Vj(1)"], { sum_scheme: "pairwise" as "auto" }),
    TypeError,
    /Unknown sum_scheme "pairwise"/,
  );
  await assertThrowsClass(
    () => Genred("b", ["b = Vj(1)"], { use_double_acc: true, dtype_acc: "float32" }),
    TypeError,
    /use_double_acc asks for float64 accumulators but dtype_acc is "float32"/,
  );
  await assertThrowsClass(
    () => Genred("b", ["b = Vj(1)"], { reduction: "ArgMin", sum_scheme: "kahan_scheme" }),
    TypeError,
    /The ArgMin reduction takes no dtype_acc/,
  );
  await assertThrowsClass(
    () => Genred("b", ["b = Vj(1)"], { dtype_acc: "float32" })(ndarray(Float64Array.of(1), [1, 1])),
    TypeError,
    /dtype_acc "float32" is for float32 data/,
  );
  await assertThrowsClass(() => Vj(B).sum(0, { sum_scheme: 1 } as never), TypeError, /Unknown sum_scheme 1/);
  await assertThrowsClass(
    () => KernelSolve("a", ["a = Vj(1)"], "a", { tolerance: 1 } as never),
    TypeError,
    /Unknown KernelSolve option "tolerance"/,
  );
});

Deno.test("reduction aliases: SoftMax is SumSoftMaxWeight, MinArgMin is Min_ArgMin", async () => {
  const x = [[0], [1]], y = [[0], [2], [3]], w = [[1], [2], [3]];
  const soft = Genred("-SqDist(x,y)", ["x = Vi(1)", "y = Vj(1)", "w = Vj(1)"], {
    axis: 1,
    reduction: "SoftMax",
    formula2: "w",
  });
  const soft2 = Genred("-SqDist(x,y)", ["x = Vi(1)", "y = Vj(1)", "w = Vj(1)"], {
    axis: 1,
    reduction: "SumSoftMaxWeight",
    formula2: "w",
  });
  const e = (d: number) => Math.exp(-d);
  const want0 = (e(0) * 1 + e(4) * 2 + e(9) * 3) / (e(0) + e(4) + e(9));
  const a = await soft(x, y, w), a2 = await soft2(x, y, w);
  assert.ok(Math.abs(a.data[0] - want0) < 1e-6);
  assert.deepEqual(Array.from(a.data), Array.from(a2.data));
  const [v, i] = await Genred("SqDist(x,y)", ["x = Vi(1)", "y = Vj(1)"], { axis: 1, reduction: "MinArgMin" })(
    x,
    y,
  );
  assert.deepEqual([Array.from(v.data), Array.from(i.data)], [[0, 1], [0, 0]]);
  await assertThrowsClass(
    () => Genred("x", ["x = Vi(1)"], { reduction: "Softmax" as "Sum" }),
    TypeError,
    /Unknown reduction "Softmax".*aliases SoftMax/,
  );
});
