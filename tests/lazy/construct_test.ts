/**
 * pykeops's construction: `LazyTensor(x)` reads the role from the shape; `Vi`/`Vj`/`Pm` refuse
 * pykeops's layout instead of reading it differently; symbolic variables `Vi(ind, dim)` make
 * reductions into routines (with gradients) that take the arrays in position order. Results
 * against dense computations written here.
 */

import assert from "node:assert/strict";
import { Genred, LazyTensor, ndarray, Pm, Vi, Vj } from "../../mod.ts";
import { BACKENDS } from "../_backends.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";

const M = 6, N = 8, D = 3;
const r = rng(31);
const f32 = (a: Float64Array) => a.map(Math.fround);
const x = f32(uniform(r, M * D)), y = f32(uniform(r, N * D)), b = f32(uniform(r, N));
const sq = (i: number, j: number) => {
  let s = 0;
  for (let c = 0; c < D; c++) s += (x[i * D + c] - y[j * D + c]) ** 2;
  return s;
};
/** Σ_j exp(−s·|x_i − y_j|²) b_j, densely. */
const gauss = (s: number) =>
  Array.from(
    { length: M },
    (_, i) => Array.from({ length: N }, (_, j) => Math.exp(-s * sq(i, j)) * b[j]).reduce((p, q) => p + q),
  );

for (const backend of BACKENDS) {
  Deno.test(`LazyTensor(x): (M, 1, D) is Vi, (1, N, D) is Vj, (D) and (1, 1, D) parameters (${backend})`, async () => {
    const xi = LazyTensor(ndarray(Float32Array.from(x), [M, 1, D]));
    const yj = LazyTensor(ndarray(Float32Array.from(y), [1, N, D]));
    const bj = LazyTensor(ndarray(Float32Array.from(b), [1, N, 1]));
    const s = LazyTensor(ndarray(Float32Array.of(0.5), [1, 1, 1]));
    assert.deepEqual(xi.sub(yj).shape, [M, N, D]);
    const out = await xi.sqdist(yj).mul(s).neg().exp().mul(bj).sum(1, { backend });
    assert.deepEqual(out.shape, [M, 1]);
    assertClose(out.data, gauss(0.5), { rtol: 1e-5, atol: 1e-6 });
    // (D) parameter, a number, and the axis form for 2-D arrays.
    const out2 = await LazyTensor(ndarray(Float32Array.from(x), [M, D]), 0)
      .sqdist(LazyTensor(ndarray(Float32Array.from(y), [N, D]), 1))
      .mul(LazyTensor([0.5])).neg().exp().mul(LazyTensor(ndarray(Float32Array.from(b), [N, 1]), 1))
      .sum(1, { backend });
    assertClose(out2.data, gauss(0.5), { rtol: 1e-5, atol: 1e-6 });
    assert.equal(LazyTensor(2).formula, "IntCst(2)");
    assert.equal(LazyTensor(0.25).formula, "Var(0,1,2)");
  });
}

Deno.test("LazyTensor(x): batch dimensions lead, nested arrays are reshaped like NDArrays", async () => {
  // (B, M, 1, D) and (B, 1, N, D) with B = 2: each batch element its own points.
  const xb = [[[[0]], [[1]]], [[[2]], [[3]]]], yb = [[[[0], [1], [5]]], [[[2], [2], [9]]]];
  const nn = await LazyTensor(xb).sqdist(LazyTensor(yb)).argmin(2);
  assert.deepEqual(nn.shape, [2, 2, 1]);
  assert.deepEqual(Array.from(nn.data), [0, 1, 0, 0]);
});

Deno.test("LazyTensor(x): a shape with no axis of 1 says which axis should be 1", async () => {
  await assertThrowsClass(
    () => LazyTensor(ndarray(new Float32Array(24), [2, 4, 3])),
    TypeError,
    /axis 1 \(of size 4\) should be 1 for an i-variable.*axis 0 \(of size 2\) should be 1 for a j-variable/,
  );
  await assertThrowsClass(() => LazyTensor([[1, 2], [3, 4]]), TypeError, /needs an axis, as pykeops/);
  await assertThrowsClass(() => LazyTensor([[[1]]], 0), TypeError, /drop the axis/);
  await assertThrowsClass(
    () => LazyTensor([1], 3 as 0),
    TypeError,
    /axis must be 0 \(Vi\), 1 \(Vj\) or 2 \(Pm\), got 3/,
  );
  // Vi refuses pykeops's layout rather than reading a batch of one-row variables.
  await assertThrowsClass(
    () => Vi(ndarray(new Float32Array(6), [2, 1, 3])),
    TypeError,
    /pykeops's layout \(…, M, 1, D\).*pass shape \[2,3\]/,
  );
  await assertThrowsClass(() => Vj([[[1, 2]], [[3, 4]]]), TypeError, /Vj got an array of shape \[2,1,2\]/);
});

for (const backend of BACKENDS) {
  Deno.test(`symbolic variables: a reduction is a routine of the arrays in position order, with grad (${backend})`, async () => {
    const K = Vi(0, D).sqdist(Vj(1, D)).mul(Pm(3, 1)).neg().exp().mul(Vj(2, 1));
    // Numbered by the positions given (b at 2, s at 3), not in join order.
    assert.equal(K.formula, "(Exp(Minus((SqDist(Var(0,3,0),Var(1,3,1)) * Var(3,1,2)))) * Var(2,1,1))");
    const routine = K.sum(1);
    assert.equal(typeof routine, "function");
    const X = ndarray(Float32Array.from(x), [M, D]), Y = ndarray(Float32Array.from(y), [N, D]);
    const B = ndarray(Float32Array.from(b), [N, 1]), S = ndarray(Float32Array.of(0.5), [1]);
    assertClose((await routine(X, Y, B, S, { backend })).data, gauss(0.5), { rtol: 1e-5, atol: 1e-6 });
    // The gradient with respect to x (position 0): against the dense formula.
    const e = f32(uniform(rng(4), M));
    const gx = await routine.grad(0)(X, Y, B, S, ndarray(Float32Array.from(e), [M, 1]), { backend });
    const want = new Float64Array(M * D);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const k = Math.exp(-0.5 * sq(i, j)) * b[j] * e[i];
        for (let c = 0; c < D; c++) want[i * D + c] += -2 * 0.5 * (x[i * D + c] - y[j * D + c]) * k;
      }
    }
    assertClose(gx.data, want, { rtol: 1e-4, atol: 1e-5 });
    // By its label, as the variable was built.
    assertClose(
      (await routine.grad("Vi(0,3)")(X, Y, B, S, ndarray(Float32Array.from(e), [M, 1]), { backend })).data,
      want,
      {
        rtol: 1e-4,
        atol: 1e-5,
      },
    );
  });
}

Deno.test("symbolic variables: positions and mixing are checked", async () => {
  await assertThrowsClass(
    () => Vi(0, 3).sqdist(Vj(2, 3)).sum(1),
    TypeError,
    /No symbolic variable is at position 1/,
  );
  await assertThrowsClass(
    () => Vi(0, 3).sqdist(Vj(0, 3)).sum(1),
    TypeError,
    /Position 0 is declared twice: as Vi\(0,3\) and as Vj\(0,3\)/,
  );
  await assertThrowsClass(() => Vi(0, 1).sub(Vj([[1]])).sum(1), TypeError, /mixes symbolic variables/);
  await assertThrowsClass(() => Vi(-1, 3), TypeError, /position must be a non-negative integer, got -1/);
  await assertThrowsClass(() => Vj(0, 0), TypeError, /dimension must be a positive integer, got 0/);
  await assertThrowsClass(() => Vi(0, 1).sum(1, { backend: "cpu" }), TypeError, /give its call options/);
});

Deno.test("errors inside a LazyTensor formula name the variables as they were built", async () => {
  await assertThrowsClass(
    () => Vi([[1, 2, 3]]).add(Vj([[1, 2]])),
    TypeError,
    /Add expects arguments of one dimension or of dimension 1, got "Vi\(3\)" of dimension 3 and "Vj\(2\)" of dimension 2/,
  );
  await assertThrowsClass(
    () => Vi(0, 3).sub(Vj(1, 2)),
    TypeError,
    /"Vi\(0,3\)" of dimension 3 and "Vj\(1,2\)" of dimension 2/,
  );
  // Arguments are named by role and position, not "argument 2".
  const K = Vi([[0], [1]]).sub(Vj([[0], [1], [2]])).square();
  const routine = Vi(0, 1).sub(Vj(1, 1)).square().sum(1);
  await assertThrowsClass(() => routine([[0], [1]], [[0, 1]]), TypeError, /"Vj\(1,1\)" has shape \[1,2\]/);
  assert.ok(K);
  // And Genred's by alias.
  await assertThrowsClass(
    () => Genred("x + y", ["x = Vi(3)", "y = Vj(2)"]),
    TypeError,
    /"x" of dimension 3 and "y" of dimension 2/,
  );
});
