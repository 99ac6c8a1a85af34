/**
 * KeOps's Gaussian-mixture tutorial with TensorFlow.js's autograd: a mixture of M Gaussians
 * (centers μ_j, precisions Γ_j = A_j·A_jᵀ/2, weights softmax(w)_j) fitted to N points by
 * `tf.train.adam` on the negative log-likelihood plus the tutorial's sparsity prior,
 *
 *     L = −mean_i log Σ_j exp(−(x_i − μ_j)ᵀ Γ_j (x_i − μ_j) + log w_j + ½ log det(2Γ_j) − log 2π)
 *         + s · mean_j √w_j,
 *
 * the log-likelihoods by a LogSumExp reduction over j (`@keops-ts/keops/tfjs`), everything
 * else (the determinants, the softmax, A·Aᵀ) by TensorFlow.js, which differentiates it all:
 * no hand-written chain rule. It checks itself: the loss falls, and the fitted mixture explains
 * the data about as well as the mixture that generated it.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { Vi, Vj } from "@keops-ts/keops/tfjs";

/** The model's parameters, as TensorFlow.js variables. */
export interface Mixture {
  mu: tf.Variable;
  A: tf.Variable;
  w: tf.Variable;
}

/** A mixture of M components in 2-D, initialised on M of the points. */
export function mixture(x: tf.Tensor2D, M: number, seed = 3): Mixture {
  const N = x.shape[0];
  const idx = tf.tensor1d(
    Array.from({ length: M }, (_, k) => Math.floor(((k + 0.5) / M) * N) % N),
    "int32",
  );
  return {
    mu: tf.variable(
      tf.add(
        tf.gather(x, idx),
        tf.randomNormal([M, 2], 0, 0.01, "float32", seed),
      ),
    ),
    A: tf.variable(tf.mul(tf.eye(2).reshape([1, 2, 2]).tile([M, 1, 1]), 2)),
    w: tf.variable(tf.zeros([M])),
  };
}

/** (Γ_j flattened, log w_j + ½ log det(2Γ_j) − log 2π): the j-variables of the reduction. */
function terms(m: Mixture): [tf.Tensor, tf.Tensor] {
  const M = m.w.shape[0];
  const gamma = tf.div(tf.matMul(m.A, m.A, false, true), 2).reshape([M, 4]);
  const [a, b, c, d] = tf.unstack(m.A.reshape([M, 4]), 1);
  const logDet = tf.log(tf.abs(tf.sub(tf.mul(a, d), tf.mul(b, c)))); // ½ log det(2Γ) = log |det A|
  const lw = tf.add(tf.sub(tf.logSoftmax(m.w), Math.log(2 * Math.PI)), logDet)
    .reshape([M, 1]);
  return [gamma, lw];
}

/** The tutorial's loss, its log-likelihoods by a LogSumExp reduction (never N×M in memory). */
export function loss(x: tf.Tensor2D, m: Mixture, sparsity: number): tf.Scalar {
  const [gamma, lw] = terms(m);
  const D_ij = Vi(x).sub(Vj(m.mu)).weightedSqnorm(Vj(gamma));
  const ll = D_ij.neg().add(Vj(lw)).logsumexp(1) as tf.Tensor;
  return tf.add(
    tf.neg(tf.mean(ll)),
    tf.mul(sparsity, tf.mean(tf.sqrt(tf.softmax(m.w)))),
  ) as tf.Scalar;
}

/** The same loss written densely in TensorFlow.js: the N×M matrix of exponents formed. */
export function denseLoss(
  x: tf.Tensor2D,
  m: Mixture,
  sparsity: number,
): tf.Scalar {
  const [gamma, lw] = terms(m);
  const M = m.w.shape[0];
  const diff = tf.sub(tf.expandDims(x, 1), tf.expandDims(m.mu, 0)); // (N, M, 2)
  const G = gamma.reshape([1, M, 2, 2]);
  const q = tf.sum(
    tf.mul(tf.expandDims(diff, 3), tf.mul(G, tf.expandDims(diff, 2))),
    [2, 3],
  ); // (N, M)
  const ll = tf.logSumExp(tf.add(tf.neg(q), lw.reshape([1, M])), 1);
  return tf.add(
    tf.neg(tf.mean(ll)),
    tf.mul(sparsity, tf.mean(tf.sqrt(tf.softmax(m.w)))),
  ) as tf.Scalar;
}

/** N points from a known mixture of three Gaussians; and its mean log-likelihood (dense). */
export function data(N: number, seed = 1): { x: tf.Tensor2D; trueLL: tf.Scalar } {
  const centers = [[-1.5, 0], [1.5, 0.5], [0, 2]], scale = [0.35, 0.5, 0.3];
  const k = tf.tensor1d(Array.from({ length: N }, (_, i) => i % 3), "int32");
  const c = tf.gather(tf.tensor2d(centers), k),
    s = tf.gather(tf.tensor1d(scale), k).reshape([N, 1]);
  const x = tf.add(
    c,
    tf.mul(s, tf.randomNormal([N, 2], 0, 1, "float32", seed)),
  ) as tf.Tensor2D;
  // log p(x) = log Σ_k (1/3) N(x; c_k, s_k² I), densely.
  const d2 = tf.sum(
    tf.square(
      tf.sub(tf.expandDims(x, 1), tf.expandDims(tf.tensor2d(centers), 0)),
    ),
    2,
  );
  const s2 = tf.square(tf.tensor1d(scale)).reshape([1, 3]);
  const logp = tf.logSumExp(
    tf.sub(
      tf.sub(
        tf.neg(tf.div(d2, tf.mul(2, s2))),
        tf.log(tf.mul(2 * Math.PI, s2)),
      ),
      Math.log(3),
    ),
    1,
  );
  return { x, trueLL: tf.mean(logp) as tf.Scalar };
}

// Run as a script, or by `deno task example gmm_tfjs`, not when the bench imports the model.
if (import.meta.main || ["gmm_tfjs", "all"].includes(Deno.args[0])) {
  const small = Deno.args.includes("--small");
  await tf.setBackend("cpu");
  const N = small ? 600 : 10_000,
    M = 6,
    sparsity = 0.5,
    steps = small ? 150 : 300;
  const { x, trueLL: ll } = data(N);
  const trueLL = (await ll.data())[0];
  const m = mixture(x, M);
  const opt = tf.train.adam(0.05);
  const first = loss(x, m, sparsity).dataSync()[0];
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    tf.dispose(opt.minimize(() => loss(x, m, sparsity), true) ?? []);
  }
  const ms = performance.now() - t0;
  const last = loss(x, m, sparsity).dataSync()[0];
  const penalty = tf.tidy(() => tf.mul(sparsity, tf.mean(tf.sqrt(tf.softmax(m.w)))).dataSync()[0]);
  const fittedLL = penalty - last;
  console.log(
    `GMM, N = ${N}, M = ${M}: loss ${first.toFixed(3)} → ${last.toFixed(3)} in ${steps} Adam steps (${
      (ms / steps).toFixed(1)
    } ms/step); mean log-likelihood ${fittedLL.toFixed(3)} (generating mixture: ${trueLL.toFixed(3)})`,
  );
  if (!(last < first)) {
    throw new Error(`the loss did not fall: ${first} → ${last}`);
  }
  if (!(fittedLL > trueLL - 0.15)) {
    throw new Error(
      `the fit explains the data worse than expected: ${fittedLL} vs ${trueLL}`,
    );
  }
  // One gradient against the dense loss's, at the fitted parameters.
  const vars = [m.mu, m.A, m.w];
  const gk = tf.grads((mu, A, w) => loss(x, { mu, A, w } as unknown as Mixture, sparsity))(vars);
  const gd = tf.grads((mu, A, w) => denseLoss(x, { mu, A, w } as unknown as Mixture, sparsity))(vars);
  gk.forEach((g, k) => {
    const a = g.dataSync(), b = gd[k].dataSync();
    for (let q = 0; q < a.length; q++) {
      if (Math.abs(a[q] - b[q]) > 1e-3 + 1e-2 * Math.abs(b[q])) {
        throw new Error(`gradient ${k}[${q}]: ${a[q]} vs dense ${b[q]}`);
      }
    }
  });
  console.log("gradients at the fit equal dense TensorFlow.js's");
}
