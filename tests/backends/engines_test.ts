// Every real engine ("cpu", and "gpu" where there is an adapter) against the float64 oracle:
// every reduction in float32 (and float64 on the CPU), sizes that are not multiples of the tile
// or of the lanes, M or N of 1, K = N, batches, and inputs streamed through in blocks.
import assert from "node:assert/strict";
import { Genred, type NDArray, ndarray, type ReductionName } from "../../mod.ts";
import { setBlockBytes, TILE } from "../../backends/wasm/driver.ts";
import { setGpuBlockRows } from "../../backends/webgpu/engine.ts";
import { setJitBlockBytes } from "../../backends/jit/driver.ts";
import { BACKENDS } from "../_backends.ts";
import { assertClose, rng, uniform } from "../_helpers.ts";

type Engine = "cpu" | "cpu-rust" | "gpu";
const ENGINES = BACKENDS.filter((b): b is Engine => b !== "reference");
type Out = NDArray | [NDArray, NDArray];
const parts = (o: Out) => (Array.isArray(o) ? o : [o]);

async function compare(
  backend: Engine,
  g: ReturnType<typeof Genred>,
  args: NDArray[],
  f32: boolean,
  what: string,
  atol32 = 1e-6,
) {
  const got = parts(await g(...args, { backend }) as Out);
  const ref = parts(await g(...args, { backend: "reference" }) as Out);
  got.forEach((o, k) => {
    assert.deepEqual(o.shape, ref[k].shape, what);
    if (o.data instanceof Int32Array) assert.deepEqual(Array.from(o.data), Array.from(ref[k].data), what);
    else {
      const rtol = backend === "gpu" ? 2e-5 : 4e-6;
      assertClose(
        o.data,
        ref[k].data,
        f32 ? { rtol, atol: atol32, what } : { rtol: 1e-12, atol: 1e-13, what },
      );
    }
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

for (const backend of ENGINES) {
  for (const dtype of ["float32", "float64"] as const) {
    if (backend === "gpu" && dtype === "float64") continue;
    for (const [M, N] of [[37, 1000], [1, TILE + 1], [5, 1], [4, 3], [70, 65]]) {
      Deno.test(`[${backend}] every reduction in ${dtype} matches the oracle (M=${M}, N=${N})`, async () => {
        const r = rng(M * 1000 + N);
        // Integer-valued points: distances are exact in float32, so indices agree exactly, ties included.
        const ints = (n: number) => Float64Array.from({ length: n }, () => Math.floor(r() * 6) - 3);
        const cast = (a: Float64Array) => (dtype === "float32" ? Float32Array.from(a) : a);
        const x = ndarray(cast(ints(M * 3)), [M, 3]), y = ndarray(cast(ints(N * 3)), [N, 3]);
        const b = ndarray(cast(uniform(r, N * 2)), [N, 2]);
        for (const [red, opts] of REDUCTIONS) {
          if (opts.k && opts.k > N) continue;
          const scalar = red.startsWith("LogSumExp") || red.startsWith("Max_Sum") ||
            red === "SumSoftMaxWeight";
          const formula = scalar ? "-SqDist(x,y) / 8 + Elem(b, 0)" : "(x - y) * Elem(b, 1)";
          const aliases = ["x = Vi(3)", "y = Vj(3)", "b = Vj(2)"];
          await compare(
            backend,
            Genred(formula, aliases, { reduction: red, axis: 1, ...opts }),
            [x, y, b],
            dtype === "float32",
            `${red} ${JSON.stringify(opts)}`,
          );
          if (
            !red.includes("Arg") && !red.startsWith("Min") && !red.startsWith("Max") && !red.includes("KMin")
          ) {
            await compare(
              backend,
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
}

for (const backend of ENGINES) {
  Deno.test(`[${backend}] the Gaussian kernel sum and its gradients match the oracle in float32 (N = 2000)`, async () => {
    const r = rng(77);
    const M = 301, N = 2000;
    const x = ndarray(Float32Array.from(uniform(r, M * 3)), [M, 3]);
    const y = ndarray(Float32Array.from(uniform(r, N * 3)), [N, 3]);
    const b = ndarray(Float32Array.from(uniform(r, N)), [N, 1]);
    const g = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
    await compare(backend, g, [x, y, b], true, "sum");
    const e = ndarray(Float32Array.from(uniform(r, M)), [M, 1]);
    // Gradients are sums of terms of both signs: float32 rounding of 2000 terms of size ~1
    // leaves an absolute error of a few 1e-6 however small the result.
    for (const v of ["x", "y", "b"]) await compare(backend, g.grad(v), [x, y, b, e], true, `grad ${v}`, 1e-5);
  });

  Deno.test(`[${backend}] batches broadcast as on the oracle`, async () => {
    const r = rng(78);
    const f32 = (a: Float64Array) => Float32Array.from(a);
    const x = ndarray(f32(uniform(r, 2 * 1 * 5 * 2)), [2, 1, 5, 2]);
    const y = ndarray(f32(uniform(r, 1 * 3 * 7 * 2)), [1, 3, 7, 2]);
    const p = ndarray(f32(uniform(r, 2 * 3 * 1, 0.5, 1)), [2, 3, 1]);
    const g = Genred("Exp(-p*SqDist(x,y))", ["x = Vi(2)", "y = Vj(2)", "p = Pm(1)"], { axis: 1 });
    await compare(backend, g, [x, y, p], true, "batch");
    const argk = Genred("SqDist(x,y)", ["x = Vi(2)", "y = Vj(2)"], { reduction: "ArgKMin", k: 2, axis: 0 });
    await compare(backend, argk, [x, y], true, "batch argkmin");
  });

  Deno.test(`[${backend}] inputs streamed in blocks of rows and terms give the unblocked results`, async () => {
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
    const run = (f: string, red: ReductionName, k?: number) =>
      Genred(f, ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { reduction: red, axis: 1, k })(x, y, b, {
        backend,
      }) as Promise<Out>;
    const whole: Out[] = [];
    for (const [f, red, k] of cases) whole.push(await run(f, red, k));
    // About 100 rows and 1000 terms per block.
    const restore = backend === "cpu"
      ? setJitBlockBytes(100 * (12 + 8 * 10), 1000 * 16)
      : backend === "cpu-rust"
      ? setBlockBytes(100 * 12, 1000 * 16)
      : setGpuBlockRows(100, 1000);
    try {
      for (const [q, [f, red, k]] of cases.entries()) {
        parts(await run(f, red, k)).forEach((o, c) => {
          const want = parts(whole[q])[c].data;
          if (backend !== "gpu" || o.data instanceof Int32Array) {
            assert.deepEqual(Array.from(o.data), Array.from(want), `${red} part ${c}`);
          } else {
            // The GPU's tiles and chunks of j move with the blocks: equal up to rounding.
            assertClose(o.data, want, { rtol: 1e-5, atol: 1e-7, what: red });
          }
        });
      }
    } finally {
      if (backend === "cpu") setJitBlockBytes(...restore);
      else if (backend === "cpu-rust") setBlockBytes(...restore);
      else setGpuBlockRows(...restore);
    }
  });
}
