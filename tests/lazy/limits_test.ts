// Bad input the fuzzer found uncaught, and the documented limits: every one a library error
// class with a sentence-case message naming the culprit or the limit, never a crash.
import { fromGpu, Genred, LIMITS, ndarray, setDevice, toGpu, UnsupportedError, Vi, Vj } from "../../mod.ts";
import { assertThrowsClass } from "../_helpers.ts";
import { GPU } from "../_backends.ts";
import assert from "node:assert/strict";

const xy = ["x = Vi(1)", "y = Vj(1)"];

Deno.test("one index is one variable: two dimensions or two categories are a TypeError", async () => {
  await assertThrowsClass(
    () => Genred("Var(0,3,0) + Var(0,3,1)", []),
    TypeError,
    /Variable index 0 is used as/,
  );
  await assertThrowsClass(() => Genred("Sum(Var(0,3,0)) + Sum(Var(0,2,0))", []), TypeError, /index 0/);
});

Deno.test("integer parameters are 32-bit; dimensions and text have limits", async () => {
  await assertThrowsClass(() => Genred("Pow(x, 4294967297)", xy), RangeError, /32-bit integer/);
  await assertThrowsClass(() => Genred("x ** 1e10", xy), RangeError, /32-bit integer/);
  await assertThrowsClass(() => Genred("Sum(Zero(4294967296))", xy), RangeError, /32-bit integer/);
  await assertThrowsClass(() => Genred("Sum(Zero(100000000)) * x", xy), RangeError, /LIMITS\.maxDim/);
  await assertThrowsClass(
    () => Genred("x".repeat(LIMITS.maxFormulaLength + 1), xy),
    RangeError,
    /maxFormulaLength/,
  );
});

Deno.test("nesting past the limit is a RangeError, never a stack overflow", async () => {
  await assertThrowsClass(
    () => Genred("(".repeat(2000) + "x" + ")".repeat(2000), xy),
    RangeError,
    /maxDepth/,
  );
  await assertThrowsClass(() => Genred("-".repeat(10000) + "x", xy), RangeError, /maxDepth/);
  await assertThrowsClass(
    () => Genred("Exp(".repeat(3000) + "x" + ")".repeat(3000), xy),
    RangeError,
    /maxDepth/,
  );
  await assertThrowsClass(() => Genred("x" + "+".repeat(1e5), xy), SyntaxError, /expected a formula/);
  await assertThrowsClass(() => Genred("x" + "+".repeat(1e6), xy), RangeError, /maxFormulaLength/);
  let t = Vi([[1]]).add(Vj([[2]]));
  await assertThrowsClass(
    () => {
      for (let k = 0; k < 2 * LIMITS.maxDepth; k++) t = t.exp();
    },
    RangeError,
    /maxDepth/,
  );
});

Deno.test("a long sum is a balanced tree: 3,000 terms compile and agree with the plain sum", async () => {
  const f = Array.from({ length: 3000 }, (_, k) => `x*${k % 7}`).join(" + ") + " - y";
  const g = Genred(f, xy, { axis: 1 });
  const out = await g(ndarray(Float64Array.of(1, 2), [2, 1]), ndarray(Float64Array.of(0.5), [1, 1]), {
    backend: "cpu",
  });
  let s = 0;
  for (let k = 0; k < 3000; k++) s += k % 7;
  assert.deepEqual(Array.from(out.data as Float64Array), [s - 0.5, 2 * s - 0.5]);
});

Deno.test("argument shapes must be lists of non-negative integers", async () => {
  const g = Genred("x*y", xy, { axis: 1 });
  const y = ndarray(Float32Array.of(1), [1, 1]);
  for (const shape of [[2.5, 2], ["2", 2], [true, 2], [-1, 1]]) {
    await assertThrowsClass(
      () => g({ data: new Float32Array(5), shape } as never, y),
      TypeError,
      /argument "x" has shape .*non-negative integers/,
    );
  }
  const cyclic: unknown[] = [];
  cyclic[0] = cyclic;
  await assertThrowsClass(() => g(cyclic as never, y), RangeError, /nests arrays more than 32 deep/);
});

Deno.test("helpers check their arguments before they change anything", async () => {
  await assertThrowsClass(() => toGpu(null as never), TypeError, /argument of toGpu must be an NDArray/);
  await assertThrowsClass(() => fromGpu({} as never), TypeError, /argument of fromGpu must be a GpuArray/);
  await assertThrowsClass(
    () => setDevice("x" as never),
    TypeError,
    /device given to setDevice must be a GPUDevice/,
  );
  await assertThrowsClass(
    () => setDevice(undefined, { fallbak: true } as never),
    TypeError,
    /Unknown setDevice option/,
  );
  await assertThrowsClass(
    () => Vi([[1]]).grad("x" as never, Vi([[1]])),
    TypeError,
    /differentiates with respect to a variable/,
  );
  if (GPU) {
    // The failed setDevice left the GPU usable.
    const out = await Genred("x*y", xy, { axis: 1 })([[1], [2]], [[3]], { backend: "gpu" });
    assert.deepEqual(Array.from(out.data as Float32Array), [3, 6]);
  }
});

Deno.test({
  name: "[gpu] a formula past the GPU's registers is an UnsupportedError naming the CPU",
  ignore: !GPU,
  fn: async () => {
    await assertThrowsClass(
      () =>
        Genred("Elem(Zero(40000) + x, 3) * Elem(Zero(40000) + Exp(x), 5) * y", xy, { axis: 1 })(
          [[1]],
          [[1]],
          { backend: "gpu" },
        ),
      UnsupportedError,
      /registers .*backend "cpu"/,
    );
  },
});
