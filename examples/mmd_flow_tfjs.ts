/**
 * A kernel MMD flow with TensorFlow.js's optimizers: particles y, a trainable `tf.Variable`,
 * are moved by `tf.train.adam` to lower the squared maximum mean discrepancy to a target cloud
 * x under a Gaussian kernel k(a, b) = exp(−|a − b|² / 2σ²),
 *
 *     MMD²(x, y) = mean_ij k(x_i, x_j) − 2 mean_ij k(x_i, y_j) + mean_ij k(y_i, y_j),
 *
 * each mean a Sum reduction of `@keops-ts/keops/tfjs` (differentiated by TensorFlow.js through
 * the library's symbolic gradients). It checks itself: the discrepancy falls fivefold, and the
 * final one equals the dense computation's.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { Vi, Vj } from "@keops-ts/keops/tfjs";

const small = Deno.args.includes("--small");
await tf.setBackend("cpu");
const N = small ? 300 : 5000, steps = small ? 150 : 200, s2 = 2 * 0.5 ** 2;
// The target: a ring; the particles start as a blob beside it.
const theta = tf.mul(tf.randomUniform([N, 1], 0, 2 * Math.PI, "float32", 7), 1);
const x = tf.concat([tf.cos(theta), tf.sin(theta)], 1);
const y = tf.variable(
  tf.add(tf.randomNormal([N, 2], 0, 0.3, "float32", 8), tf.tensor1d([2.5, 0])),
);
const k = (a: tf.Tensor, b: tf.Tensor) =>
  tf.mean(Vi(a).sqdist(Vj(b)).mul(1 / s2).neg().exp().sum(1) as tf.Tensor);
const mmd = () => tf.add(tf.sub(k(x, x), tf.mul(2, k(x, y))), k(y, y)).mul(1 / N) as tf.Scalar;
const first = mmd().dataSync()[0];
const opt = tf.train.adam(0.05);
const t0 = performance.now();
for (let s = 0; s < steps; s++) tf.dispose(opt.minimize(mmd, true) ?? []);
const ms = performance.now() - t0;
const last = mmd().dataSync()[0];
console.log(
  `MMD flow, N = ${N}: MMD² ${first.toExponential(3)} → ${last.toExponential(3)} in ${steps} Adam steps (${
    (ms / steps).toFixed(1)
  } ms/step)`,
);
if (!(last < first / 10)) {
  throw new Error(`the discrepancy did not fall tenfold: ${first} → ${last}`);
}
if (small) {
  const dense = (a: tf.Tensor, b: tf.Tensor) =>
    tf.mean(
      tf.sum(
        tf.exp(
          tf.neg(
            tf.div(
              tf.sum(
                tf.square(tf.sub(tf.expandDims(a, 1), tf.expandDims(b, 0))),
                2,
              ),
              s2,
            ),
          ),
        ),
        1,
      ),
    );
  const d = tf.add(tf.sub(dense(x, x), tf.mul(2, dense(x, y))), dense(y, y)).mul(1 / N)
    .dataSync()[0];
  if (Math.abs(d - last) > 1e-4 * Math.abs(first)) {
    throw new Error(`MMD² ${last} vs dense ${d}`);
  }
  console.log("the final discrepancy equals the dense computation's");
}
