/**
 * The TensorFlow.js wrapper's gradients, through `tf.grad`, against the same losses written
 * densely in TensorFlow.js (the M×N matrix formed, which these small sizes allow), on each
 * TensorFlow.js backend: Sum, LogSumExp, SumSoftMaxWeight, Min and KMin, with respect to
 * i-variables, j-variables and parameters; second order; and `Genred` as LazyTensors.
 */

import assert from "node:assert/strict";
import { Genred, Pm, Vi, Vj } from "@keops-ts/keops/tfjs";
import { BACKENDS, tf, useBackend, values } from "./_setup.ts";
import { Genred as coreGenred } from "@keops-ts/keops";
import { assertClose, rng, uniform } from "../_helpers.ts";

const M = 23, N = 17, D = 3;
const r = rng(1414);
const f32 = (a: Float64Array) => Float32Array.from(a);
const X = f32(uniform(r, M * D)),
  Y = f32(uniform(r, N * D)),
  B = f32(uniform(r, N * 2)),
  C = f32(uniform(r, M * 2));
const CK = f32(uniform(r, M * 3));

/** |x_i − y_j|², densely: (M, N). */
function sqdist(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.sum(tf.square(tf.sub(tf.expandDims(x, 1), tf.expandDims(y, 0))), 2);
}

interface Case {
  name: string;
  /** Whether the loss uses b (tf.grad refuses an argument that does not reach the loss). */
  usesB: boolean;
  /** The loss with this library, and densely; over (x, y, b, s). */
  keops(x: tf.Tensor, y: tf.Tensor, b: tf.Tensor, s: tf.Tensor): tf.Scalar;
  dense(x: tf.Tensor, y: tf.Tensor, b: tf.Tensor, s: tf.Tensor): tf.Scalar;
}

const c = () => tf.tensor2d(C, [M, 2], "float32");
const c1 = () => tf.slice(c(), [0, 0], [M, 1]);
const ck = () => tf.tensor2d(CK, [M, 3], "float32");
/** ⟨w, t⟩: every loss below is one weighted sum of a reduction's output. */
const dot = (w: tf.Tensor, t: tf.Tensor) => tf.sum(tf.mul(w, t)) as tf.Scalar;
const K = (x: tf.Tensor, y: tf.Tensor, s: tf.Tensor) => Vi(x).sqdist(Vj(y)).mul(Pm(s));
const CASES: Case[] = [
  {
    name: "Sum",
    usesB: true,
    keops: (x, y, b, s) => dot(c(), K(x, y, s).neg().exp().mul(Vj(b)).sum(1) as tf.Tensor),
    dense: (x, y, b, s) => dot(c(), tf.matMul(tf.exp(tf.neg(tf.mul(sqdist(x, y), s))), b)),
  },
  {
    name: "LogSumExp",
    usesB: false,
    keops: (x, y, _b, s) => dot(c1(), K(x, y, s).neg().logsumexp(1) as tf.Tensor),
    dense: (x, y, _b, s) => dot(c1(), tf.logSumExp(tf.neg(tf.mul(sqdist(x, y), s)), 1, true)),
  },
  {
    name: "SumSoftMaxWeight",
    usesB: true,
    keops: (x, y, b, s) => dot(c(), K(x, y, s).neg().sumsoftmaxweight(Vj(b), 1) as tf.Tensor),
    dense: (x, y, b, s) => dot(c(), tf.matMul(tf.softmax(tf.neg(tf.mul(sqdist(x, y), s)), 1), b)),
  },
  {
    name: "Min",
    usesB: false,
    keops: (x, y, _b, s) => dot(c1(), K(x, y, s).min(1) as tf.Tensor),
    dense: (x, y, _b, s) => dot(c1(), tf.min(tf.mul(sqdist(x, y), s), 1, true)),
  },
  {
    name: "KMin",
    usesB: false,
    keops: (x, y, _b, s) => dot(ck(), K(x, y, s).kmin(3, 1) as tf.Tensor),
    dense: (x, y, _b, s) => {
      // The 3 smallest per row, selected by a one-hot mask from constant copies of the data
      // (TopK has no gradient in TensorFlow.js).
      const d = tf.mul(sqdist(x, y), s);
      const idx = tf.topk(tf.neg(sqdist(tf.tensor2d(X, [M, D]), tf.tensor2d(Y, [N, D]))), 3).indices;
      const mask = tf.oneHot(idx, N); // (M, 3, N)
      return dot(ck(), tf.sum(tf.mul(mask, tf.expandDims(d, 1)), 2)); // the picked values, (M, 3)
    },
  },
];

const inputs = () => [
  tf.tensor2d(X, [M, D], "float32"),
  tf.tensor2d(Y, [N, D], "float32"),
  tf.tensor2d(B, [N, 2], "float32"),
  tf.tensor1d([0.7], "float32"),
];

for (const backend of BACKENDS) {
  for (const cs of CASES) {
    Deno.test(`tfjs ${backend}: the ${cs.name} loss and its gradients in x, y, b and a parameter equal dense TensorFlow.js's`, async () => {
      await useBackend(backend);
      const all = inputs();
      const full = (f: Case["keops"]) => (...a: tf.Tensor[]) => {
        const args: tf.Tensor[] = [...all];
        at.forEach((k, q) => (args[k] = a[q]));
        return f(args[0], args[1], args[2], args[3]);
      };
      // The arguments differentiated: x, y, s, and b where the loss uses it.
      const at = cs.usesB ? [0, 1, 2, 3] : [0, 1, 3];
      const ts = at.map((k) => all[k]);
      const [vk, gk] = tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads(full(cs.keops))(ts);
        return [value, grads];
      }) as unknown as [tf.Scalar, tf.Tensor[]];
      const [vd, gd] = tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads(full(cs.dense))(ts);
        return [value, grads];
      }) as unknown as [tf.Scalar, tf.Tensor[]];
      assertClose(await values(vk), await values(vd), {
        rtol: 1e-4,
        atol: 1e-4,
        what: `${cs.name} value`,
      });
      for (let q = 0; q < at.length; q++) {
        assert.deepEqual(gk[q].shape, ts[q].shape);
        assertClose(await values(gk[q]), await values(gd[q]), {
          rtol: 2e-3,
          atol: 2e-4,
          what: `${cs.name} d/d${"xybs"[at[q]]}`,
        });
      }
      tf.dispose([vk, vd, ...gk, ...gd, ...all]);
    });
  }

  Deno.test(`tfjs ${backend}: second order (the gradient of a gradient) equals finite differences of the gradient`, async () => {
    await useBackend(backend);
    const [x, y] = inputs();
    const v = tf.tensor2d(f32(uniform(r, M * D)), [M, D], "float32");
    // A Hessian-vector product H·v = d/dx ⟨∇ₓ L(x), v⟩, L = Σ_i Σ_j e^{-|x_i - y_j|²}, against
    // (∇L(x + hv) − ∇L(x − hv)) / 2h of the dense gradient. (TensorFlow.js's own dense second
    // order of this loss disagrees with both here: its expandDims/broadcast chain is not a
    // reference for second derivatives.)
    const Lk = (x: tf.Tensor) => tf.sum(Vi(x).sqdist(Vj(y)).neg().exp().sum(1) as tf.Tensor);
    const Ld = (x: tf.Tensor) => tf.sum(tf.exp(tf.neg(sqdist(x, y))));
    const hk = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.grad(Lk)(x), v)))(x);
    const h = 1e-2;
    const fd = tf.div(
      tf.sub(
        tf.grad(Ld)(tf.add(x, tf.mul(h, v))),
        tf.grad(Ld)(tf.sub(x, tf.mul(h, v))),
      ),
      2 * h,
    );
    assertClose(await values(hk), await values(fd), {
      rtol: 5e-3,
      atol: 2e-3,
      what: "Hessian-vector product",
    });
    tf.dispose([x, y, v, hk, fd]);
  });

  Deno.test(`tfjs ${backend}: Genred's routines, pairs of values and indices, and tf.grads through them`, async () => {
    await useBackend(backend);
    const [x, y, b] = inputs();
    const g = Genred("Exp(-SqDist(x,y))*b", [
      "x = Vi(3)",
      "y = Vj(3)",
      "b = Vj(2)",
    ], { axis: 1 });
    const out = g(x, y, b) as tf.Tensor;
    assert.deepEqual(out.shape, [M, 2]);
    assertClose(
      await values(out),
      await values(tf.matMul(tf.exp(tf.neg(sqdist(x, y))), b)),
      {
        rtol: 1e-4,
        atol: 1e-5,
      },
    );
    const pair = Genred("SqDist(x,y)", ["x = Vi(3)", "y = Vj(3)"], {
      reduction: "Min_ArgMin",
      axis: 1,
    });
    const [mv, mi] = pair(x, y) as [tf.Tensor, tf.Tensor];
    assert.ok(mv.dtype === "float32" && mi.dtype === "int32");
    const d = sqdist(x, y);
    assertClose(await values(mv), await values(tf.min(d, 1)), {
      rtol: 1e-4,
      atol: 1e-5,
    });
    assert.deepEqual(
      Array.from(await values(mi)),
      Array.from(await values(tf.argMin(d, 1))),
    );
    // The values of a pair differentiate as Min's.
    const gx = tf.grad((x: tf.Tensor) => tf.sum((pair(x, y) as tf.Tensor[])[0]))(x);
    const gxd = tf.grad((x: tf.Tensor) => tf.sum(tf.min(sqdist(x, y), 1)))(x);
    assertClose(await values(gx), await values(gxd), {
      rtol: 2e-3,
      atol: 2e-4,
    });
    tf.dispose([x, y, b, out, mv, mi, d, gx, gxd]);
  });
}

for (const backend of BACKENDS) {
  Deno.test(`tfjs ${backend}: block-sparse ranges, and their gradients, as the core's oracle`, async () => {
    await useBackend(backend);
    const [x, y, b] = inputs();
    // Two blocks of rows, each seeing one interval of terms.
    const ranges = [
      [[0, 10], [10, M]],
      [1, 2],
      [[0, 9], [5, N]],
      [[0, 9], [9, N]],
      [1, 2],
      [[0, 10], [0, M]],
    ];
    const aliases = ["x = Vi(3)", "y = Vj(3)", "b = Vj(2)"];
    const g = Genred("Exp(-SqDist(x,y))*b", aliases, { axis: 1 });
    const core = coreGenred("Exp(-SqDist(x,y))*b", aliases, { axis: 1 });
    const host = [
      { data: X, shape: [M, D] },
      { data: Y, shape: [N, D] },
      { data: B, shape: [N, 2] },
    ];
    const out = g(x, y, b, { ranges: ranges as never }) as tf.Tensor;
    const want = await core(...host, {
      ranges: ranges as never,
      backend: "reference",
    });
    assertClose(await values(out), want.data, {
      rtol: 1e-4,
      atol: 1e-5,
      what: "ranged Sum",
    });
    const e = { data: C, shape: [M, 2] };
    const gx = tf.grad((x: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.tensor2d(C, [M, 2]),
          g(x, y, b, { ranges: ranges as never }) as tf.Tensor,
        ),
      )
    )(x);
    const gxWant = await core.grad("x")(...host, e, {
      ranges: ranges as never,
      backend: "reference",
    });
    assertClose(await values(gx), gxWant.data, {
      rtol: 2e-3,
      atol: 2e-4,
      what: "ranged d/dx",
    });
    tf.dispose([x, y, b, out, gx]);
  });
}
