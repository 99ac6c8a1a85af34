/**
 * Complex LazyTensors and formulas against dense complex arithmetic written here, on every
 * engine; a gradient with respect to a complex variable (real and imaginary parts independent)
 * against finite differences; and the errors of odd dimensions.
 */

import assert from "node:assert/strict";
import { ComplexPm, ComplexVi, ComplexVj, Genred, ndarray, Vi, Vj } from "../../mod.ts";
import { BACKENDS, F64_BACKENDS } from "../_backends.ts";
import { assertClose, assertThrowsClass, rng, uniform } from "../_helpers.ts";

type C = [number, number];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cdiv = (a: C, b: C): C => {
  const d = b[0] ** 2 + b[1] ** 2;
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
};
const cexp = (a: C): C => [Math.exp(a[0]) * Math.cos(a[1]), Math.exp(a[0]) * Math.sin(a[1])];

const M = 7, N = 9, n = 2;
const r = rng(23);
const f32 = (a: Float64Array) => a.map(Math.fround);
const z = f32(uniform(r, M * 2 * n)), w = f32(uniform(r, N * 2 * n, 0.3, 1)), p = f32(uniform(r, 2));
const x = f32(uniform(r, M)), y = f32(uniform(r, N));
const entry = (
  v: ArrayLike<number>,
  row: number,
  k: number,
): C => [v[(row * n + k) * 2], v[(row * n + k) * 2 + 1]];

for (const backend of BACKENDS) {
  Deno.test(`ComplexLazyTensor: Σ_j (z_i·w_j + p) / w_j · e^{i x_i y_j}, and real parts (${backend})`, async () => {
    const Z = ComplexVi(ndarray(Float32Array.from(z), [M, 2 * n]));
    const W = ComplexVj(ndarray(Float32Array.from(w), [N, 2 * n]));
    const P = ComplexPm(ndarray(Float32Array.from(p), [2]));
    const phase = Vi(ndarray(Float32Array.from(x), [M, 1])).mul(Vj(ndarray(Float32Array.from(y), [N, 1])))
      .exp1j();
    const K = Z.mul(W).add(P).div(W).mul(phase);
    const out = await K.sum(1, { backend });
    assert.deepEqual(out.shape, [M, 2 * n]);
    const want: number[] = [];
    for (let i = 0; i < M; i++) {
      for (let k = 0; k < n; k++) {
        let s: C = [0, 0];
        for (let j = 0; j < N; j++) {
          const zw = cmul(entry(z, i, k), entry(w, j, k));
          const t = cmul(cdiv([zw[0] + p[0], zw[1] + p[1]], entry(w, j, k)), [
            Math.cos(x[i] * y[j]),
            Math.sin(x[i] * y[j]),
          ]);
          s = [s[0] + t[0], s[1] + t[1]];
        }
        want.push(...s);
      }
    }
    assertClose(out.data, want, { rtol: 1e-4, atol: 1e-4 });
    // Real-valued results: |e^{z}|, angle, real and imaginary parts, conj.
    const real = await Z.exp().abs().add(Z.conj().imag).add(Z.angle()).mul(W.real).sum(1, { backend });
    const wantReal: number[] = [];
    for (let i = 0; i < M; i++) {
      for (let k = 0; k < n; k++) {
        const zz = entry(z, i, k), e = cexp(zz);
        let s = 0;
        for (let j = 0; j < N; j++) {
          s += (Math.hypot(e[0], e[1]) - zz[1] + Math.atan2(zz[1], zz[0])) * entry(w, j, k)[0];
        }
        wantReal.push(s);
      }
    }
    assertClose(real.data, wantReal, { rtol: 1e-4, atol: 1e-4 });
    // A real scalar scales every entry; sum over the vector (ComplexSum) and repeat (ComplexSumT).
    const scal = await Z.mul(Vj(ndarray(Float32Array.from(y), [N, 1]))).sum().repeat(3).sum(1, { backend });
    const tot = y.reduce((a, b) => a + b, 0);
    const wantScal = Array.from({ length: M }, (_, i) => {
      const s = [0, 1].map((c) => [0, 1].reduce((a, k) => a + entry(z, i, k)[c], 0) * tot);
      return [s[0], s[1], s[0], s[1], s[0], s[1]];
    }).flat();
    assertClose(scal.data, wantScal, { rtol: 1e-4, atol: 1e-4 });
  });
}

for (const backend of F64_BACKENDS) {
  Deno.test(`complex formulas: the gradient with respect to a complex variable (${backend})`, async () => {
    // F = Re(z_i · conj(w_j)) · |w_j|; its gradient in z and in w, against central differences.
    const g = Genred("ComplexReal(ComplexMult(z, Conj(w))) * ComplexAbs(w)", ["z = Vi(2)", "w = Vj(2)"], {
      axis: 1,
    });
    const Z = Float64Array.from(z.subarray(0, M * 2)), W = Float64Array.from(w.subarray(0, N * 2));
    const e = uniform(rng(2), M);
    const E = ndarray(e, [M, 1]);
    const value = (zz: Float64Array, ww: Float64Array) => {
      let s = 0;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          const t = cmul([zz[2 * i], zz[2 * i + 1]], [ww[2 * j], -ww[2 * j + 1]]);
          s += e[i] * t[0] * Math.hypot(ww[2 * j], ww[2 * j + 1]);
        }
      }
      return s;
    };
    const fd = (which: "z" | "w") => {
      const base = which === "z" ? Z : W;
      return Array.from(base, (_, k) => {
        const h = 1e-6, up = Float64Array.from(base), dn = Float64Array.from(base);
        up[k] += h;
        dn[k] -= h;
        return which === "z"
          ? (value(up, W) - value(dn, W)) / (2 * h)
          : (value(Z, up) - value(Z, dn)) / (2 * h);
      });
    };
    const args = [ndarray(Z, [M, 2]), ndarray(W, [N, 2]), E] as const;
    assertClose((await g.grad("z")(...args, { backend })).data, fd("z"), { rtol: 1e-6, atol: 1e-7 });
    assertClose((await g.grad("w")(...args, { backend })).data, fd("w"), { rtol: 1e-6, atol: 1e-7 });
  });
}

Deno.test("complex: odd dimensions are errors that name them", async () => {
  await assertThrowsClass(
    () => ComplexVi([[1, 2, 3]]),
    TypeError,
    /ComplexVi expects interleaved.*dimension 3/,
  );
  await assertThrowsClass(
    () => Genred("ComplexMult(z, w)", ["z = Vi(3)", "w = Vj(2)"]),
    TypeError,
    /ComplexMult expects complex arguments.*"z" of dimension 3/,
  );
  await assertThrowsClass(
    () => Genred("ComplexAdd(z, w)", ["z = Vi(4)", "w = Vj(6)"]),
    TypeError,
    /ComplexAdd expects complex arguments of one dimension, or one of dimension 2.*"z" of dimension 4 and "w" of dimension 6/,
  );
  await assertThrowsClass(
    () => Genred("ComplexSumT(w, 5)", ["w = Vj(2)"]),
    RangeError,
    /even output dimension.*got 5/,
  );
  await assertThrowsClass(
    () => Genred("ComplexReal(x)", ["x = Vi(1)"]),
    TypeError,
    /ComplexReal expects a complex argument/,
  );
});
