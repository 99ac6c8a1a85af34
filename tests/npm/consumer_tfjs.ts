// A consumer of the npm package's TensorFlow.js entry, with TensorFlow.js installed beside it as
// its peer: type-checked (strict) and run by Node. A gradient through a reduction, against the
// same loss written densely; exits non-zero on a wrong result.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Vi, Vj } from "@keops-ts/keops/tfjs";

await tf.setBackend("cpu");
const x = tf.randomNormal([200, 3], 0, 1, "float32", 1), y = tf.randomNormal([150, 3], 0, 1, "float32", 2);
const keops = (x: tf.Tensor) => tf.sum(Vi(x).sqdist(Vj(y)).neg().exp().sum(1) as tf.Tensor);
const dense = (x: tf.Tensor) =>
  tf.sum(tf.exp(tf.neg(tf.sum(tf.square(tf.sub(tf.expandDims(x, 1), tf.expandDims(y, 0))), 2))));
const a = tf.grad(keops)(x).dataSync(), b = tf.grad(dense)(x).dataSync();
for (let k = 0; k < a.length; k++) {
  assert.ok(Math.abs(a[k] - b[k]) <= 1e-4 + 1e-3 * Math.abs(b[k]), `${k}: ${a[k]} vs ${b[k]}`);
}
console.log(
  "npm package, TensorFlow.js entry: the gradient through a reduction equals dense TensorFlow.js's",
);
