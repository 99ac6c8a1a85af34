// The WASM engine ("cpu") against the float64 oracle: every reduction in float32 and float64,
// sizes that are not multiples of the tile or of the lanes, M or N of 1, K = N, batches, and
// inputs streamed through the engine in blocks.
import assert from "node:assert/strict";
import { Genred, type NDArray, ndarray, type ReductionName } from "../../mod.ts";
import { setBlockBytes, TILE } from "../../backends/wasm/driver.ts";
import { assertClose, rng, uniform } from "../_helpers.ts";

type Out = NDArray | [NDArray, NDArray];
const parts = (o: Out) => (Array.isArray(o) ? o : [o]);

async function compare(
  g: ReturnType<typeof Genred>,
  args: NDArray[],
  f32: boolean,
  what: string,
  atol32 = 1e-6,
) {
  const cpu = parts(await g(...args, { backend: "cpu" }) as Out);
  const ref = parts(await g(...args, { backend: "reference" }) as Out);
  cpu.forEach((o, k) => {
    assert.deepEqual(o.shape, ref[k].shape, what);
    if (o.data instanceof Int32Array) assert.deepEqual(Array.from(o.data), Array.from(ref[k].data), what);
    else {assertClose(
        o.data,
        ref[k].data,
        f32 ? { rtol: 4e-6, atol: atol32, what } : { rtol: 1e-12, atol: 1e-13, what },
      );}
  });
}

const REDUCTIONS: [ReductionName, { k?: number; formula2?: string }][] = [
  ["Sum", {}],
  ["Min", {}],
  ["Max", {}],
  ["ArgMin", {}],
  ["ArgMax", {}],
  ["Min_ArgMin", {}],
  ["Max_ArgMax", {}],
  ["KMin", { k: 4 }],
  ["ArgKMin", { k: 4 }],
  ["KMin_ArgKMin", { k: 4 }],
  ["LogSumExp", {}],
  ["LogSumExp", { formula2: "Exp(b)" }],
  ["LogSumExpWeight", { formula2: "Exp(b)" }],
  ["SumSoftMaxWeight", { formula2: "b" }],
  ["Max_SumShiftExp", {}],
  ["Max_SumShiftExpWeight", { formula2: "b" }],
];

for (const dtype of ["float32", "float64"] as const) {
  for (const [M, N] of [[37, 1000], [1, TILE + 1], [5, 1], [4, 3]]) {
    Deno.test(`[cpu] every reduction in ${dtype} matches the oracle (M=${M}, N=${N})`, async () => {
      const r = rng(M * 1000 + N);
      // Integer-valued points: distances are exact in float32, so indices agree exactly, ties included.
      const ints = (n: number) => Float64Array.from({ length: n }, () => Math.floor(r() * 6) - 3);
      const cast = (a: Float64Array) => (dtype === "float32" ? Float32Array.from(a) : a);
      const x = ndarray(cast(ints(M * 3)), [M, 3]), y = ndarray(cast(ints(N * 3)), [N, 3]);
      const b = ndarray(cast(uniform(r, N * 2)), [N, 2]);
      for (const [red, opts] of REDUCTIONS) {
        if (opts.k && opts.k > N) continue;
        const scalar = red.startsWith("LogSumExp") || red.startsWith("Max_Sum") || red === "SumSoftMaxWeight";
        const formula = scalar ? "-SqDist(x,y) / 8 + Elem(b, 0)" : "(x - y) * Elem(b, 1)";
        const aliases = ["x = Vi(3)", "y = Vj(3)", "b = Vj(2)"];
        await compare(
          Genred(formula, aliases, { reduction: red, axis: 1, ...opts }),
          [x, y, b],
          dtype === "float32",
          `${red} ${JSON.stringify(opts)}`,
        );
        if (
          !red.includes("Arg") && !red.startsWith("Min") && !red.startsWith("Max") && !red.includes("KMin")
        ) {
          await compare(
            Genred(formula, aliases, { reduction: red, axis: 0, ...opts }),
            [x, y, b],
            dtype === "float32",
            `${red} axis 0`,
          );
        }
      }
    });
  }
}

Deno.test("[cpu] the Gaussian kernel sum and its gradients match the oracle in float32 (N = 2000)", async () => {
  const r = rng(77);
  const M = 301, N = 2000;
  const x = ndarray(Float32Array.from(uniform(r, M * 3)), [M, 3]);
  const y = ndarray(Float32Array.from(uniform(r, N * 3)), [N, 3]);
  const b = ndarray(Float32Array.from(uniform(r, N)), [N, 1]);
  const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
  await compare(g, [x, y, b], true, "sum");
  const e = ndarray(Float32Array.from(uniform(r, M)), [M, 1]);
  // Gradients are sums of terms of both signs: float32 rounding of 2000 terms of size ~1
  // leaves an absolute error of a few 1e-6 however small the result.
  for (const v of ["x", "y", "b"]) await compare(g.grad(v), [x, y, b, e], true, `grad ${v}`, 1e-5);
});

Deno.test("[cpu] batches broadcast as on the oracle", async () => {
  const r = rng(78);
  const x = ndarray(uniform(r, 2 * 1 * 5 * 2), [2, 1, 5, 2]);
  const y = ndarray(uniform(r, 1 * 3 * 7 * 2), [1, 3, 7, 2]);
  const p = ndarray(uniform(r, 2 * 3 * 1, 0.5, 1), [2, 3, 1]);
  const g = Genred("Exp(-p*SqDist(x,y))", ["x = Vi(2)", "y = Vj(2)", "p = Pm(1)"], { axis: 1 });
  await compare(g, [x, y, p], false, "batch");
  await compare(
    Genred("SqDist(x,y)", ["x = Vi(2)", "y = Vj(2)"], { reduction: "ArgKMin", k: 2, axis: 0 }),
    [x, y],
    false,
    "batch argkmin",
  );
});

Deno.test("[cpu] inputs streamed in blocks of rows and terms give the unblocked results", async () => {
  const r = rng(79);
  const M = 700, N = 3000;
  const x = ndarray(Float32Array.from(uniform(r, M * 3)), [M, 3]);
  const y = ndarray(Float32Array.from(uniform(r, N * 3)), [N, 3]);
  const b = ndarray(Float32Array.from(uniform(r, N)), [N, 1]);
  const cases: [string, ReductionName, number?][] = [
    ["Exp(-SqDist(x,y))*b", "Sum"],
    ["SqDist(x,y) - b", "ArgKMin", 5],
    ["-SqDist(x,y) * b", "LogSumExp"],
    ["SqDist(x,y)", "Min_ArgMin"],
  ];
  const whole: Out[] = [];
  for (const [f, red, k] of cases) {
    whole.push(
      await Genred(f, ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { reduction: red, axis: 1, k })(
        x,
        y,
        b,
      ) as Out,
    );
  }
  const old = setBlockBytes(100 * 12, 1000 * 16); // about 100 rows and 1000 terms per block
  try {
    for (const [q, [f, red, k]] of cases.entries()) {
      const out = parts(
        await Genred(f, ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { reduction: red, axis: 1, k })(
          x,
          y,
          b,
        ) as Out,
      );
      out.forEach((o, c) =>
        assert.deepEqual(Array.from(o.data), Array.from(parts(whole[q])[c].data), `${red} part ${c}`)
      );
    }
  } finally {
    setBlockBytes(...old);
  }
});
