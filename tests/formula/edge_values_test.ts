// KeOps's edge values (section 9 of the reference), forward and gradient.
import { Genred, type NDArray, ndarray } from "../../mod.ts";
import { assertClose } from "../_helpers.ts";

async function at(formula: string, x: number[], dim = 1): Promise<number[]> {
  const g = Genred(formula, [`x = Vi(${dim})`], { axis: 1 });
  const out = (await g(ndarray(Float64Array.from(x), [x.length / dim, dim]))) as NDArray;
  return Array.from(out.data);
}

Deno.test("edge values of the element-wise operations match KeOps", async () => {
  assertClose(await at("Rsqrt(x)", [0, 4]), [0, 0.5]);
  assertClose(await at("SinXDivX(x)", [0]), [1]);
  assertClose(await at("XLogX(x)", [0]), [0]);
  assertClose(await at("Sign(x)", [0, -0, -2, 3]), [0, 0, -1, 1]);
  assertClose(await at("Step(x)", [0, -1e-300]), [1, 0]);
  assertClose(await at("ReLU(x)", [0, -1]), [0, 0]);
  assertClose(await at("IfElse(x, 7, 8)", [0, -1e-300]), [7, 8]);
  assertClose(await at("Round(x, 0)", [2.5, -2.5, 0.5, -0.5, 1.5, 0.49999999999999994]), [
    3,
    -3,
    1,
    -1,
    2,
    0,
  ]);
  assertClose(await at("Round(x, 1)", [0.25, -0.35]), [0.3, -0.4]);
  assertClose(await at("OneHot(x, 3)", [1.5, 0.49, 5]), [0, 0, 1, 1, 0, 0, 0, 0, 0]);
  assertClose(await at("Clamp(x, 1, 0)", [0.5, 2, -1]), [1, 0, 1]); // a > b: KeOps's test order
  assertClose(await at("ClampInt(x, -1, 1)", [-1, 1, 0.5]), [-1, 1, 0.5]);
  assertClose(await at("Mod(x, 3, 0)", [-1, 7]), [2, 1]);
  assertClose(await at("ArgMin(x) + 10 * ArgMax(x)", [1, 0, 0, 2, 2], 5), [1 + 10 * 3]);
});

Deno.test("gradients at the edges: ReLU'(0) = 1, Sqrt'(0) = Abs'(0) = Norm2'(0) = 0", async () => {
  assertClose(await at("Grad(ReLU(x), x, 1)", [0, -1]), [1, 0]);
  assertClose(await at("Grad(Sqrt(x), x, 1)", [0]), [0]);
  assertClose(await at("Grad(Abs(x), x, 1)", [0]), [0]);
  assertClose(await at("Grad(Norm2(x), x, 1)", [0, 0], 2), [0, 0]);
  assertClose(await at("Grad(Normalize(x), x, x)", [0, 0], 2), [0, 0]);
  assertClose(await at("Grad(ClampInt(x, -1, 1), x, 1)", [-1, 1, 2]), [1, 1, 0]);
  assertClose(await at("Grad(Min(x), x, 1)", [2, 1, 1], 3), [0, 1, 0]); // the first minimum
});
