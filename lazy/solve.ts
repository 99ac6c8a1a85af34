/**
 * The kernel solver: (α·Id + K) a = b by conjugate gradient, K applied matrix-free by a Sum
 * reduction at each step, as KeOps's KernelSolve.
 *
 *     a = 0, r = b, p = r
 *     while ‖r‖² ≥ size(b)·ε²:  q = α p + K p;  s = ‖r‖²/⟨p, q⟩;  a += s p;  r −= s q;
 *                               p = r + (‖r_new‖²/‖r_old‖²) p
 *
 * K must be symmetric positive (semi-)definite, which the user guarantees (a Gaussian kernel
 * on one point cloud is).
 *
 * @module
 */

import type { Node } from "../formula/tree.ts";
import { parseAliases, parseFormula, type VarSpec } from "../formula/parse.ts";
import {
  type AccuracyOptions,
  type Arg,
  type CallOptions,
  checkAccuracy,
  inputsOf,
  type InputSpec,
  routineFromTrees,
} from "./genred.ts";
import { type NDArray, toNDArray } from "./ndarray.ts";
import type { DType } from "../backends/backend.ts";
import { selectBackend } from "../backends/select.ts";
import { type GpuArray, isGpuArray, toGpu } from "../backends/webgpu/gpu_array.ts";
import { gpuConjugateGradient } from "../backends/webgpu/cg.ts";
import { checkOptions, show } from "../formula/errors.ts";

/** Options of a solve (a call's `backend` and `ranges`, and the iteration's). */
export interface SolveOptions extends Omit<CallOptions, "output"> {
  /** The ridge α; default 1e-10 as KeOps. */
  alpha?: number;
  /** The tolerance ε: stop when ‖r‖² < size(b)·ε²; default 1e-6 as KeOps. */
  eps?: number;
  /** A bound on the iterations; default 10 × size(b). */
  maxIterations?: number;
}

/** The options a solve takes. */
export const SOLVE_OPTIONS: readonly string[] = ["backend", "ranges", "alpha", "eps", "maxIterations"];

/**
 * How a solve went (pykeops's `cv_info`): the iterations of conjugate gradient it ran, the
 * final residual ‖r‖ = ‖b − (αI + K) a‖ as the iteration tracks it, and whether it fell below
 * the tolerance (‖r‖² < size(b)·ε²) within `maxIterations`.
 */
export interface SolveInfo {
  /** The conjugate-gradient iterations run. */
  readonly iterations: number;
  /** ‖b − (αI + K) a‖ at the end, as the iteration tracks it. */
  readonly residual: number;
  /** Whether ‖r‖² fell below size(b)·ε² within `maxIterations`. */
  readonly converged: boolean;
}

/** A solution, with how the solve went in `info` (`info.converged` is false if it did not). */
export interface SolveResult extends NDArray {
  /** How the solve went. */
  readonly info: SolveInfo;
}

/** Checks the numeric options of a solve, with errors that name them. */
function checkSolveNumbers(opts: SolveOptions): void {
  const { alpha, eps, maxIterations } = opts;
  if (alpha !== undefined && !(typeof alpha === "number" && Number.isFinite(alpha) && alpha >= 0)) {
    throw new RangeError(`The solve option alpha must be a finite number ≥ 0, got ${show(alpha)}`);
  }
  if (eps !== undefined && !(typeof eps === "number" && Number.isFinite(eps) && eps >= 0)) {
    throw new RangeError(`The solve option eps must be a finite number ≥ 0, got ${show(eps)}`);
  }
  if (maxIterations !== undefined && !(Number.isSafeInteger(maxIterations) && maxIterations >= 0)) {
    throw new RangeError(`The solve option maxIterations must be an integer ≥ 0, got ${show(maxIterations)}`);
  }
}

/**
 * Solves (α·Id + K) a = b for a, given `apply(v) = K v` on flat arrays.
 *
 * @example
 * ```ts
 * import { conjugateGradient } from "./solve.ts";
 * import assert from "node:assert/strict";
 * // K = [[2, 1], [1, 3]]: solve K a = [1, 2].
 * const { a, info } = await conjugateGradient((v) => Promise.resolve(Float64Array.of(2 * v[0] + v[1], v[0] + 3 * v[1])),
 *   Float64Array.of(1, 2), 0, 1e-12);
 * assert.ok(Math.abs(a[0] - 0.2) < 1e-9 && Math.abs(a[1] - 0.6) < 1e-9);
 * assert.ok(info.converged && info.iterations === 2); // n steps at most in exact arithmetic
 * ```
 */
export async function conjugateGradient(
  apply: (v: Float64Array) => Promise<Float64Array>,
  b: Float64Array,
  alpha: number,
  eps: number,
  maxIterations = 10 * b.length,
): Promise<{ a: Float64Array; info: SolveInfo }> {
  const n = b.length;
  const dot = (u: Float64Array, v: Float64Array) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += u[k] * v[k];
    return s;
  };
  const a = new Float64Array(n);
  const r = Float64Array.from(b), p = Float64Array.from(b);
  let rr = dot(r, r);
  const tol = n * eps * eps;
  let it = 0;
  for (; it < maxIterations && rr >= tol; it++) {
    const Kp = await apply(p);
    for (let k = 0; k < n; k++) Kp[k] += alpha * p[k];
    const s = rr / dot(p, Kp);
    for (let k = 0; k < n; k++) {
      a[k] += s * p[k];
      r[k] -= s * Kp[k];
    }
    const rrNew = dot(r, r);
    for (let k = 0; k < n; k++) p[k] = r[k] + (rrNew / rr) * p[k];
    rr = rrNew;
  }
  return { a, info: { iterations: it, residual: Math.sqrt(rr), converged: rr < tol } };
}

/** A solver routine: called with the formula's arguments, the right-hand side b in place of the unknown. */
export interface KernelSolveRoutine {
  (...args: Array<Arg | SolveOptions>): Promise<SolveResult>;
  /** The canonical KeOps text of the formula. */
  readonly formula: string;
}

/**
 * KeOps's `KernelSolve(formula, aliases, varInvAlias, axis)`: solves (α·Id + K) a = b where
 * K: a ↦ Sum_Reduction(formula) is linear in the variable `varInvAlias`; the argument passed at
 * that variable's position is b.
 *
 * @example
 * ```ts
 * import { KernelSolve } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const solve = KernelSolve("Exp(-SqDist(x,y))*a", ["x = Vi(1)", "y = Vj(1)", "a = Vj(1)"], "a", { axis: 1 });
 * const pts = [[0], [1], [3]];
 * const a = await solve(pts, pts, [[1], [1], [1]], { alpha: 0.1 });
 * assert.ok(a.shape[0] === 3 && a.shape[1] === 1 && a.info.converged);
 * ```
 */
export function KernelSolve(
  formula: string,
  aliases: string[],
  varInvAlias: string,
  options: { axis?: 0 | 1 } & AccuracyOptions = {},
): KernelSolveRoutine {
  checkOptions(options, ["axis", "dtype_acc", "use_double_acc", "sum_scheme"], "KernelSolve");
  const { dtype_acc, use_double_acc, sum_scheme } = options;
  const accuracy = checkAccuracy({ dtype_acc, use_double_acc, sum_scheme }, "Sum");
  if (options.axis !== undefined && options.axis !== 0 && options.axis !== 1) {
    throw new RangeError(`KernelSolve's axis must be 0 or 1, got ${show(options.axis)}`);
  }
  const parsed = parseAliases(aliases);
  const scope = new Map<string, VarSpec>();
  for (const a of parsed) if (a.name !== undefined) scope.set(a.name, a);
  const F = parseFormula(formula, scope);
  const unknown = scope.get(varInvAlias);
  if (!unknown) {
    throw new TypeError(`KernelSolve's unknown ${show(varInvAlias)} is not one of the aliases`);
  }
  const axis = options.axis ?? 0;
  const outCat = axis === 1 ? 0 : 1;
  if (unknown.cat === 2 || unknown.cat === outCat) {
    throw new TypeError(
      `KernelSolve's unknown "${varInvAlias}" must be indexed by the reduced axis (${
        axis === 1 ? "Vj" : "Vi"
      })`,
    );
  }
  const inputs = inputsOf(parsed, [F]);
  return kernelSolver(F, inputs, unknown.ind, axis, accuracy);
}

/** The solver of (α·Id + K) a = b for the Sum reduction of F, linear in input `ind`. */
export function kernelSolver(
  F: Node,
  inputs: InputSpec[],
  ind: number,
  axis: 0 | 1,
  accuracy?: AccuracyOptions,
): KernelSolveRoutine {
  const K = routineFromTrees(F, undefined, "Sum", undefined, axis, inputs, [], accuracy);
  const call = async (...argsIn: Array<Arg | SolveOptions>): Promise<SolveResult> => {
    const args = [...argsIn];
    let opts: SolveOptions = {};
    const last = args[args.length - 1];
    if (
      args.length === inputs.length + 1 && typeof last === "object" && !Array.isArray(last) &&
      !("data" in last)
    ) {
      opts = args.pop() as SolveOptions;
      // The result is a host array: "output" has no meaning here, and is refused like any other
      // unknown option rather than ignored.
      checkOptions(opts, SOLVE_OPTIONS, "solve");
      checkSolveNumbers(opts);
    }
    if (args.length !== inputs.length) {
      throw new TypeError(`This solver expects ${inputs.length} arguments, got ${args.length}`);
    }
    const typed = args.find((a) => typeof a === "object" && a !== null && "data" in a) as NDArray | undefined;
    const dtype: DType = typed?.data instanceof Float64Array ? "float64" : "float32";
    const b = toNDArray(args[ind], dtype, `right-hand side "${inputs[ind].label}"`);
    // On the GPU, the kernel's data (points, parameters) is uploaded once and stays there for
    // every iteration, and so do the iteration's vectors.
    const onGpu = dtype === "float32" && (await selectBackend(opts.backend, dtype)).name === "gpu";
    if (onGpu) {
      for (const [k, a] of args.entries()) {
        if (k !== ind && !isGpuArray(a)) {
          args[k] = await toGpu(toNDArray(a, "float32", `argument "${inputs[k].label}"`));
        }
      }
    }
    if (onGpu) {
      // The iteration on the device: K p is left there, the vectors never leave it.
      const res = await gpuConjugateGradient(
        async (p) => {
          const vArgs = [...args];
          vArgs[ind] = { buffer: p, shape: b.shape, dtype: "float32" } as GpuArray as unknown as Arg;
          const out = (await K(...vArgs, {
            backend: opts.backend,
            output: "gpu",
            ranges: opts.ranges,
          })) as unknown as GpuArray;
          if (out.shape.reduce((x, y) => x * y, 1) !== b.data.length) {
            out.buffer.destroy();
            throw new TypeError(
              `KernelSolve needs a square system: K maps ${b.data.length} values to ${
                out.shape.reduce((x, y) => x * y, 1)
              }`,
            );
          }
          return out.buffer;
        },
        Float32Array.from(b.data),
        opts.alpha ?? 1e-10,
        opts.eps ?? 1e-6,
        opts.maxIterations,
      );
      const info = { iterations: res.iterations, residual: Math.sqrt(res.rr), converged: res.converged };
      return { data: res.a, shape: [...b.shape], info };
    }
    const apply = async (v: Float64Array) => {
      const vArgs = [...args];
      vArgs[ind] = { data: dtype === "float64" ? v : Float32Array.from(v), shape: b.shape };
      const out = (await K(...vArgs, { backend: opts.backend, ranges: opts.ranges })) as NDArray;
      if (out.data.length !== v.length) {
        throw new TypeError(
          `KernelSolve needs a square system: K maps ${v.length} values to ${out.data.length}`,
        );
      }
      return Float64Array.from(out.data);
    };
    const { a, info } = await conjugateGradient(
      apply,
      Float64Array.from(b.data),
      opts.alpha ?? 1e-10,
      opts.eps ?? 1e-6,
      opts.maxIterations,
    );
    return { data: dtype === "float64" ? a : Float32Array.from(a), shape: [...b.shape], info };
  };
  Object.defineProperty(call, "formula", { value: K.formula, enumerable: true });
  return call as unknown as KernelSolveRoutine;
}
