/**
 * The TensorFlow.js wrapper's memory, errors and optimizers, on each TensorFlow.js backend: no
 * tensor leaked by a reduction and its gradient in a `tf.tidy`, nor by a call that fails; bad
 * input refused with the library's error classes; `tf.train.adam` and `tf.variableGrads`
 * lowering a kernel loss; and, on webgpu, no byte through the host.
 */

import assert from "node:assert/strict";
import { Genred, KernelSolve, UnsupportedError, Vi, Vj } from "@keops-ts/keops/tfjs";
import { gpuTraffic } from "../../backends/webgpu/engine.ts";
import { BACKENDS, tf, useBackend, values } from "./_setup.ts";
import { assertThrowsClass } from "../_helpers.ts";

for (const backend of BACKENDS) {
  Deno.test(`tfjs ${backend}: a reduction and its gradient in a tf.tidy leave no tensor behind`, async () => {
    await useBackend(backend);
    const x = tf.randomNormal([40, 3]), y = tf.randomNormal([30, 3]);
    const loss = (x: tf.Tensor) => tf.sum(Vi(x).sqdist(Vj(y)).neg().logsumexp(1) as tf.Tensor);
    tf.tidy(() => tf.valueAndGrad(loss)(x)); // once, for whatever a first call sets up
    const before = tf.memory().numTensors;
    const kept = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad(loss)(x);
      return tf.add(tf.sum(grad), value);
    });
    assert.equal(tf.memory().numTensors, before + 1); // only what the tidy returned
    assert.ok(Number.isFinite((await values(kept))[0]));
    kept.dispose();
    assert.equal(tf.memory().numTensors, before);
    // A call that fails leaks nothing either.
    await assertThrowsClass(
      () => tf.tidy(() => Vi(tf.zeros([4, 2])).sqdist(Vj(y)).sum(1)),
      TypeError,
      /dimension|shape/,
    );
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y]);
  });

  Deno.test(`tfjs ${backend}: bad input gets the library's errors, naming the alias`, async () => {
    await useBackend(backend);
    const g = Genred("SqDist(x,y)", ["x = Vi(2)", "y = Vj(2)"], { axis: 1 });
    const x = tf.zeros([3, 2]), y = tf.zeros([4, 2]);
    await assertThrowsClass(
      () => g(tf.zeros([3, 5]), y),
      TypeError,
      /"x" has shape \[3,5\]: expected \(…batch, rows, 2\)/,
    );
    await assertThrowsClass(
      () => g(tf.zeros([3, 2], "int32"), y),
      TypeError,
      /"x" is a int32 tensor: expected float32/,
    );
    const gone = tf.zeros([3, 2]);
    gone.dispose();
    await assertThrowsClass(
      () => g(gone, y),
      TypeError,
      /"x" is a disposed tf.Tensor/,
    );
    await assertThrowsClass(
      () => g(x),
      TypeError,
      /expects 2 tensors \(x, y\), got 1/,
    );
    await assertThrowsClass(
      () => g(x, [[1, 2]] as never),
      TypeError,
      /"y" is .*: expected a tf.Tensor/,
    );
    await assertThrowsClass(
      () => g(x, y, { backnd: "cpu" } as never),
      TypeError,
      /Unknown .*backnd/,
    );
    await assertThrowsClass(
      () => g(x, y, { backend: "tpu" } as never),
      TypeError,
      /Unknown backend "tpu"/,
    );
    tf.dispose([x, y]);
  });

  Deno.test(`tfjs ${backend}: tf.train.adam and tf.variableGrads lower a kernel loss`, async () => {
    await useBackend(backend);
    // Pull a cloud y towards x: minimise −Σ_ij e^{−|x_i − y_j|²} (a kernel attraction).
    const x = tf.add(tf.randomNormal([60, 2], 0, 0.3, "float32", 1), 2);
    const y = tf.variable(tf.randomNormal([40, 2], 0, 0.3, "float32", 2));
    const loss = () =>
      tf.neg(
        tf.sum(Vi(x).sqdist(Vj(y)).neg().exp().sum(1) as tf.Tensor),
      ) as tf.Scalar;
    const first = (await values(loss()))[0];
    const opt = tf.train.adam(0.1);
    for (let k = 0; k < 30; k++) tf.dispose(opt.minimize(loss, true) ?? []);
    const last = (await values(loss()))[0];
    assert.ok(last < first * 1.5 && last < first, `loss ${first} → ${last}`);
    const { value, grads } = tf.variableGrads(loss);
    assert.deepEqual(grads[y.name].shape, [40, 2]);
    tf.dispose([x, y, value, ...Object.values(grads)]);
    opt.dispose();
  });
}

Deno.test("tfjs webgpu: the reduction reads the tensors' buffers and leaves its output on the device", async () => {
  if (!BACKENDS.includes("webgpu")) return;
  await useBackend("webgpu");
  const x = tf.randomNormal([50, 3]), y = tf.randomNormal([70, 3]);
  tf.tidy(() => tf.sum(x)); // tensors on the GPU
  const before = gpuTraffic();
  const out = Vi(x).sqdist(Vj(y)).neg().exp().sum(1) as tf.Tensor;
  const after = gpuTraffic();
  assert.deepEqual(after, before); // nothing uploaded from the host, nothing read back
  const dense = tf.sum(
    tf.exp(
      tf.neg(
        tf.sum(tf.square(tf.sub(tf.expandDims(x, 1), tf.expandDims(y, 0))), 2),
      ),
    ),
    1,
  );
  const a = await values(out), b = await values(dense);
  for (let k = 0; k < 50; k++) {
    assert.ok(Math.abs(a[k] - b[k]) < 1e-4 * Math.max(1, Math.abs(b[k])));
  }
  tf.dispose([x, y, out, dense]);
});

for (const backend of BACKENDS) {
  Deno.test(`tfjs ${backend}: KernelSolve on tensors solves, and differentiates by the implicit function theorem`, async () => {
    await useBackend(backend);
    const solve = KernelSolve(
      "Exp(-SqDist(x,y))*a",
      ["x = Vi(1)", "y = Vj(1)", "a = Vj(1)"],
      "a",
      {
        axis: 1,
      },
    );
    const x = tf.tensor2d([[0], [0.5], [1.5], [3]]),
      b = tf.tensor2d([[1], [2], [0], [1]]);
    // (On webgpu the number of steps is given: the residual cannot be read synchronously.)
    const opts = {
      alpha: 0.3,
      eps: 1e-7,
      ...(backend === "webgpu" ? { maxIterations: 12 } : {}),
    };
    const A = tf.add(
      tf.mul(0.3, tf.eye(4)),
      tf.exp(tf.neg(tf.square(tf.sub(x, tf.transpose(x))))),
    );
    const a = solve(x, x, b, opts);
    const residual = tf.sub(tf.matMul(A, a), b);
    assert.ok(Math.max(...Array.from(await values(tf.abs(residual)))) < 1e-4);
    // d/db Σ a = A⁻¹ 1 (A symmetric), densely.
    const db = tf.grad((b: tf.Tensor) => tf.sum(solve(x, x, b, opts)))(b);
    const ones = tf.ones([4, 1]);
    const check = tf.sub(tf.matMul(A, db), ones); // A·(d/db) = 1
    assert.ok(Math.max(...Array.from(await values(tf.abs(check)))) < 1e-3);
    tf.dispose([x, b, A, a, residual, db, ones, check]);
    if (backend === "webgpu") {
      await assertThrowsClass(
        () => solve(x, x, b, { alpha: 0.3 }),
        UnsupportedError,
        /maxIterations/,
      );
    }
  });
}
