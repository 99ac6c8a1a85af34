// Genred: argument validation (every error names the alias), dtypes, shapes, batch dimensions.
import assert from "node:assert/strict";
import { Genred, type NDArray, ndarray, UnsupportedError } from "../../mod.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";
import { BACKENDS } from "../_backends.ts";

const gauss = () => Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });

function denseGauss(x: ArrayLike<number>, y: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number) {
  return Array.from({ length: M }, (_, i) => {
    let s = 0;
    for (let j = 0; j < N; j++) {
      let d2 = 0;
      for (let k = 0; k < 3; k++) d2 += (x[i * 3 + k] - y[j * 3 + k]) ** 2;
      s += Math.exp(-d2) * b[j];
    }
    return s;
  });
}

Deno.test("float32 in gives float32 out, float64 in gives float64 out; plain arrays follow the typed ones", async () => {
  const r = rng(1);
  const x = uniform(r, 12), y = uniform(r, 15), b = uniform(r, 5);
  const expected = denseGauss(x, y, b, 4, 5);
  const o64 = (await gauss()(ndarray(x, [4, 3]), ndarray(y, [5, 3]), ndarray(b, [5, 1]))) as NDArray;
  assert.ok(o64.data instanceof Float64Array);
  assertClose(o64.data, expected);
  const f = (a: Float64Array) => Float32Array.from(a);
  const o32 = (await gauss()(ndarray(f(x), [4, 3]), ndarray(f(y), [5, 3]), ndarray(f(b), [5, 1]))) as NDArray;
  assert.ok(o32.data instanceof Float32Array);
  assertClose(o32.data, denseGauss(f(x), f(y), f(b), 4, 5), { rtol: 1e-6, atol: 1e-7 });
  const nested = Array.from({ length: 5 }, (_, j) => [b[j]]);
  const mixed = (await gauss()(ndarray(x, [4, 3]), ndarray(y, [5, 3]), nested)) as NDArray;
  assert.ok(mixed.data instanceof Float64Array);
  assertClose(mixed.data, expected);
});

Deno.test("wrong argument counts, shapes, dims and dtypes are errors naming the alias", async () => {
  const x = [[0, 0, 0], [1, 1, 1]], y = [[0, 0, 0]], b = [[1]];
  await assertThrowsClass(() => gauss()(x, y), TypeError, /expects 3 arguments \(x, y, b\), got 2/);
  await assertThrowsClass(() => gauss()(x, y, b, b), TypeError, /expects 3 arguments/);
  await assertThrowsClass(
    () => gauss()([[0, 0], [1, 1]], y, b),
    TypeError,
    /argument "x" has shape \[2,2\]: expected \(…batch, rows, 3\)/,
  );
  await assertThrowsClass(() => gauss()([0, 0, 0], y, b), TypeError, /argument "x" has shape \[3\]/);
  await assertThrowsClass(
    () => gauss()(x, y, [[1], [2]]),
    TypeError,
    /argument "b" has 2 rows but "y" has 1/,
  );
  await assertThrowsClass(() => gauss()(x, y, [[1, 2]]), TypeError, /argument "b" has shape \[1,2\]/);
  await assertThrowsClass(
    () => gauss()(ndarray(new Float64Array(6), [2, 3]), ndarray(new Float32Array(3), [1, 3]), b),
    TypeError,
    /argument "y" is float32 but earlier arguments are float64/,
  );
  await assertThrowsClass(
    () => gauss()(ndarray(new Int32Array(6), [2, 3]), y, b),
    TypeError,
    /argument "x" holds int32 data/,
  );
  await assertThrowsClass(
    () => gauss()(x, [[0, 0, "a"]] as unknown as number[][], b),
    TypeError,
    /argument "y" contains "a"/,
  );
  await assertThrowsClass(
    () => gauss()(x, [[0, 0, 0], [1, 1]], b),
    TypeError,
    /argument "y" is a ragged nested array/,
  );
  await assertThrowsClass(
    () => gauss()(x, "y" as unknown as number[][], b),
    TypeError,
    /argument "y" is a string/,
  );
  await assertThrowsClass(
    () => gauss()(x, new Float32Array(3) as unknown as number[][], b),
    TypeError,
    /a bare Float32Array/,
  );
  await assertThrowsClass(
    () => gauss()(x, y, b, { backend: "tpu" as "cpu" }),
    TypeError,
    /Unknown backend "tpu"/,
  );
  await assertThrowsClass(
    () => gauss()(x, y, b, { bogus: 1 } as never),
    TypeError,
    /Unknown call option "bogus"/,
  );
  // KeOps's upper-case backend names are the same engines.
  const [lower, upper] = [
    await gauss()(x, y, b, { backend: "cpu" }),
    await gauss()(x, y, b, { backend: "CPU" }),
  ];
  assert.deepEqual([...upper.data], [...lower.data]);
  await assertThrowsClass(
    () => gauss()(x, ndarray(new Float32Array(0), [0, 3]), ndarray(new Float32Array(0), [0, 1])),
    RangeError,
    /argument "y" has no rows/,
  );
  await assertThrowsClass(() => ndarray([1, 2, 3], [2, 2]), RangeError, /from 3 values with shape \[2,2\]/);
});

Deno.test('float64 on "gpu" is an UnsupportedError naming the way out; "cpu" and "auto" run', async () => {
  const args = [[[0, 0, 0]], [[0, 0, 0]], [[2]]];
  const f64 = args.map((a) => ndarray(Float64Array.from(a.flat()), [1, a[0].length]));
  await assertThrowsClass(
    () => gauss()(...f64, { backend: "gpu" }),
    UnsupportedError,
    /"gpu" backend .* use backend "cpu"/,
  );
  for (const backend of ["cpu", "auto"] as const) {
    const out = (await gauss()(...args, { backend })) as NDArray;
    assertClose(out.data, [2]);
  }
});

Deno.test("batch dimensions broadcast as numpy, prepend to the output, and must agree", async () => {
  const r = rng(2);
  const B = 3, M = 4, N = 5;
  const x = uniform(r, B * M * 3), y = uniform(r, N * 3), b = uniform(r, B * N);
  const out = (await gauss()(ndarray(x, [B, M, 3]), ndarray(y, [1, N, 3]), ndarray(b, [B, N, 1]))) as NDArray;
  assert.deepEqual(out.shape, [B, M, 1]);
  const expected = Array.from(
    { length: B },
    (_, k) => denseGauss(x.subarray(k * M * 3), y, b.subarray(k * N), M, N),
  ).flat();
  assertClose(out.data, expected);
  // A 2-D argument counts as having batch dims of size 1.
  const out2 = (await gauss()(ndarray(x, [B, M, 3]), ndarray(y, [N, 3]), ndarray(b, [B, N, 1]))) as NDArray;
  assertClose(out2.data, expected);
  await assertThrowsClass(
    () => gauss()(ndarray(x, [B, M, 3]), ndarray(uniform(r, 2 * N * 3), [2, N, 3]), ndarray(b, [B, N, 1])),
    TypeError,
    /argument "y" has batch dimension 0 of size 2, but another argument has 3/,
  );
  // Parameters with batch dims.
  const scaled = Genred("Exp(-p*SqDist(x,y))", ["x = Vi(1)", "y = Vj(1)", "p = Pm(1)"], { axis: 1 });
  const s = (await scaled(
    ndarray(Float64Array.of(0, 0), [1, 2, 1]),
    [[[1]]],
    ndarray(Float64Array.of(1, 2), [2, 1]),
  )) as NDArray;
  assert.deepEqual(s.shape, [2, 2, 1]);
  assertClose(s.data, [Math.exp(-1), Math.exp(-1), Math.exp(-2), Math.exp(-2)]);
});

Deno.test("Var(ind,dim,cat) in the formula completes the aliases, explicit positions are honoured", async () => {
  const g = Genred("Square(p-Var(2,1,1))*Exp(-SqNorm2(y-x))", ["x = Vi(0,1)", "y = Vj(1,1)", "p = Pm(3,1)"], {
    axis: 1,
  });
  const out = (await g([[0], [1]], [[1], [2]], [[3], [5]], [2])) as NDArray;
  const expected = [0, 1].map((x) =>
    [[1, 3], [2, 5]].reduce((s, [y, a]) => s + (2 - a) ** 2 * Math.exp(-((y - x) ** 2)), 0)
  );
  assertClose(out.data, expected, { rtol: 1e-6 });
});

Deno.test("the seed LogSumExp example runs and matches log of the Sum of Exp", async () => {
  const r = rng(4);
  const M = 30, N = 50;
  const [x, y, a] = [uniform(r, M, 0, 1), uniform(r, N, 0, 1), uniform(r, N, 0, 1)];
  const p = Float64Array.of(0.3);
  const aliases = ["x = Vi(1)", "y = Vj(1)", "a = Vj(1)", "p = Pm(1)"];
  const args = [ndarray(x, [M, 1]), ndarray(y, [N, 1]), ndarray(a, [N, 1]), ndarray(p, [1])];
  const c =
    (await Genred("Square(p-a)*Exp(x+y)", aliases, { reduction: "LogSumExp", axis: 1 })(...args)) as NDArray;
  const c2 = (await Genred("Exp(Square(p-a)*Exp(x+y))", aliases, { axis: 1 })(...args)) as NDArray;
  assertClose(c.data, Array.from(c2.data, Math.log));
});

Deno.test("wide rows: D = 64 with 1,100 j-rows (70,400 floats of y) on every backend", async () => {
  // Wide j-variables over many rows: llvmpipe once read the j-rows past about 2^15 floats of
  // a binding wrongly, so the GPU engine blocks j on software adapters. Expected values: dense
  // float64 loops over the same float32 inputs.
  const M = 64, N = 1100, D = 64, K = 5;
  const r = rng(64);
  const x = Float32Array.from(uniform(r, M * D, 0, 0.3)), y = Float32Array.from(uniform(r, N * D, 0, 0.3));
  const d2 = (i: number, j: number) => {
    let s = 0;
    for (let c = 0; c < D; c++) s += (x[i * D + c] - y[j * D + c]) ** 2;
    return s;
  };
  const kmin = Array.from({ length: M }, (_, i) => {
    const ds = Array.from({ length: N }, (_, j) => d2(i, j)).sort((a, b) => a - b);
    return ds.slice(0, K);
  }).flat();
  const sums = Array.from({ length: M }, (_, i) => {
    let s = 0;
    for (let j = 0; j < N; j++) s += Math.exp(-d2(i, j));
    return s;
  });
  const aliases = [`x = Vi(${D})`, `y = Vj(${D})`];
  const knn = Genred("SqDist(x,y)", aliases, { reduction: "KMin", k: K, axis: 1 });
  const sum = Genred("Exp(-SqDist(x,y))", aliases, { reduction: "Sum", axis: 1 });
  for (const backend of BACKENDS) {
    const args = [ndarray(x, [M, D]), ndarray(y, [N, D])] as const;
    const got = (await knn(...args, { backend })) as NDArray;
    assertClose(got.data, kmin, { rtol: 2e-6, atol: 2e-6, what: `KMin on ${backend}` });
    const s = (await sum(...args, { backend })) as NDArray;
    assertClose(s.data, sums, { rtol: 2e-6, atol: 0, what: `Sum on ${backend}` });
  }
});
