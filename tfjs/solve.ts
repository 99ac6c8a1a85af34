/**
 * `KernelSolve` on tensors: (α·Id + K) a = b by conjugate gradient, K applied by the Sum
 * reduction as a TensorFlow.js op, and differentiable as pykeops's is, by the implicit
 * function theorem rather than through the iterations: for a cotangent ē of a,
 *
 *     ā = (α·Id + K)⁻¹ ē            (one more solve: K is symmetric)
 *     ∂/∂b = ā,   ∂/∂θ = −∂/∂θ ⟨ā, K_θ a⟩   for every other argument θ,
 *
 * the last being the gradient routine of K's reduction evaluated at the solution.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { type AccuracyOptions, Genred as coreGenred } from "../lazy/genred.ts";
import { KernelSolve as coreKernelSolve } from "../lazy/solve.ts";
import { parseAliases } from "../formula/parse.ts";
import { checkOptions, show, UnsupportedError } from "../formula/errors.ts";
import { type TfCallOptions, tfRoutine } from "./kernel.ts";

/** The options of a solve on tensors. */
export interface TfSolveOptions extends TfCallOptions {
  /** The ridge α; default 1e-10 as KeOps. */
  alpha?: number;
  /** The tolerance ε: stop when ‖r‖² < size(b)·ε²; default 1e-6 as KeOps. */
  eps?: number;
  /** A bound on the iterations; default 10 × size(b). */
  maxIterations?: number;
}

/** A kernel solver on tensors: one tensor per alias (b for the unknown's), the solution a back. */
export type TfKernelSolveRoutine = (
  ...args: Array<tf.Tensor | TfSolveOptions>
) => tf.Tensor;

/**
 * A kernel solver on tensors, as KeOps's `KernelSolve(formula, aliases, varinvalias, axis)`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { KernelSolve } from "@keops-ts/keops/tfjs";
 * import assert from "node:assert/strict";
 * await tf.setBackend("cpu");
 * const solve = KernelSolve("Exp(-SqDist(x,y))*a", ["x = Vi(1)", "y = Vj(1)", "a = Vj(1)"], "a", { axis: 1 });
 * const x = tf.tensor2d([[0], [1], [3]]), b = tf.tensor2d([[1], [2], [3]]);
 * const a = solve(x, x, b, { alpha: 0.5, eps: 1e-6 });
 * const db = tf.grad((b: tf.Tensor) => tf.sum(solve(x, x, b, { alpha: 0.5 })))(b); // (αI + K)⁻¹ 1
 * assert.deepEqual(a.shape, [3, 1]);
 * assert.deepEqual(db.shape, [3, 1]);
 * ```
 */
export function KernelSolve(
  formula: string,
  aliases: string[],
  varInvAlias: string,
  options: { axis?: 0 | 1 } & AccuracyOptions = {},
): TfKernelSolveRoutine {
  coreKernelSolve(formula, aliases, varInvAlias, options); // validates as the core does
  const { axis = 0, ...accuracy } = options;
  const K = tfRoutine(coreGenred(formula, aliases, { axis, ...accuracy }));
  const unknown = parseAliases(aliases).find((a) => a.name === varInvAlias)!.ind;
  return (...argsIn) => {
    const args = [...argsIn];
    let opts: TfSolveOptions = {};
    const last = args[args.length - 1];
    if (
      !(last instanceof tf.Tensor) && typeof last === "object" && last !== null
    ) {
      opts = args.pop() as TfSolveOptions;
    }
    checkOptions(
      opts,
      ["backend", "ranges", "alpha", "eps", "maxIterations"],
      "solve",
    );
    const { alpha = 1e-10, eps = 1e-6, maxIterations, ...call } = opts;
    for (const [name, v] of [["alpha", alpha], ["eps", eps]] as const) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        throw new RangeError(
          `The solve's ${name} must be a finite non-negative number, got ${show(v)}`,
        );
      }
    }
    // On webgpu the residual cannot be read synchronously: the iteration runs maxIterations
    // steps on the device, each step frozen once the residual is below the tolerance.
    const onDevice = tf.getBackend() === "webgpu";
    if (onDevice && maxIterations === undefined) {
      throw new UnsupportedError(
        "KernelSolve on TensorFlow.js's webgpu backend cannot read the residual synchronously: give maxIterations, the number of steps it then runs",
      );
    }
    const tensors = args as tf.Tensor[];
    const b = tensors[unknown];
    if (!(b instanceof tf.Tensor)) {
      throw new TypeError(`The argument "${varInvAlias}" is not a tf.Tensor`);
    }
    const maxIt = maxIterations ?? 10 * b.size;
    if (!Number.isSafeInteger(maxIt) || maxIt < 1) {
      throw new RangeError(
        `The solve's maxIterations must be a positive integer, got ${show(maxIterations)}`,
      );
    }
    const apply = (inputs: tf.Tensor[], v: tf.Tensor) =>
      tf.add(
        tf.mul(alpha, v),
        K(...inputs.map((t, k) => (k === unknown ? v : t)), call) as tf.Tensor,
      );
    const cgOnDevice = (inputs: tf.Tensor[], rhs: tf.Tensor): tf.Tensor => {
      let a = tf.zerosLike(rhs),
        r = tf.clone(rhs),
        p = tf.clone(rhs),
        rr = tf.sum(tf.square(r));
      const tol = rhs.size * eps * eps;
      for (let it = 0; it < maxIt; it++) {
        const next = tf.tidy(() => {
          const active = tf.greaterEqual(rr, tol);
          const q = apply(inputs, p);
          const s = tf.where(
            active,
            tf.div(rr, tf.sum(tf.mul(p, q))),
            tf.zerosLike(rr),
          );
          const an = tf.add(a, tf.mul(s, p)), rn = tf.sub(r, tf.mul(s, q));
          const rrn = tf.sum(tf.square(rn));
          const beta = tf.where(active, tf.div(rrn, rr), tf.zerosLike(rr));
          return [
            an,
            rn,
            tf.where(active, tf.add(rn, tf.mul(beta, p)), p),
            tf.where(active, rrn, rr),
          ];
        });
        tf.dispose([a, r, p, rr]);
        [a, r, p, rr] = next;
      }
      tf.dispose([r, p, rr]);
      return a;
    };
    const cg = (inputs: tf.Tensor[], rhs: tf.Tensor): tf.Tensor => {
      if (onDevice) return cgOnDevice(inputs, rhs);
      let a = tf.zerosLike(rhs), r = tf.clone(rhs), p = tf.clone(rhs);
      let rr = tf.sum(tf.square(r)).dataSync()[0];
      const tol = rhs.size * eps * eps;
      for (let it = 0; it < maxIt && rr >= tol; it++) {
        const [a2, r2, p2, rr2] = tf.tidy(() => {
          const q = apply(inputs, p);
          const s = rr / tf.sum(tf.mul(p, q)).dataSync()[0];
          const an = tf.add(a, tf.mul(s, p)), rn = tf.sub(r, tf.mul(s, q));
          const rrn = tf.sum(tf.square(rn)).dataSync()[0];
          return [an, rn, tf.add(rn, tf.mul(rrn / rr, p)), tf.scalar(rrn)];
        });
        a.dispose(), r.dispose(), p.dispose();
        [a, r, p] = [a2, r2, p2];
        rr = rr2.dataSync()[0];
        rr2.dispose();
      }
      r.dispose(), p.dispose();
      return a;
    };
    const solve = tf.customGrad((...inputs: unknown[]) => {
      const ts = inputs.slice(0, tensors.length) as tf.Tensor[];
      const save = inputs[tensors.length] as tf.GradSaveFunc;
      const a = cg(ts, ts[unknown]);
      // What the gradient needs outlives the forward pass only if saved.
      save([...ts, a]);
      return {
        value: a,
        gradFunc: (dy: tf.Tensor, kept: tf.Tensor[]) => {
          const ts = kept.slice(0, -1), a = kept[kept.length - 1];
          const abar = cg(ts, dy);
          return ts.map((_, k) =>
            k === unknown ? abar : tf.neg(
              K.grad(k)(
                ...ts.map((t, q) => (q === unknown ? a : t)),
                abar,
                call,
              ),
            )
          );
        },
      };
    });
    return solve(...tensors) as tf.Tensor;
  };
}
