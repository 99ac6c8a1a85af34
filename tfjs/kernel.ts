/**
 * A routine of this library as a TensorFlow.js op. Each routine becomes a kernel of TensorFlow.js's
 * registry (one per distinct routine, named `keops:<n>`), registered for whichever backend is
 * active when it is first called, and a gradient in the gradient registry whose functions are
 * the routine's own symbolic gradients (`GenredRoutine.grad`), wrapped the same way: so
 * `tf.grad`, `tf.valueAndGrad`, `tf.variableGrads` and every optimizer differentiate through a
 * reduction, to any order, and no M×N intermediate ever exists.
 *
 * Why the kernel registry rather than `tf.customGrad`: a custom gradient computes the
 * gradients of all its inputs at once, while the registry's gradient functions are thunks that
 * TensorFlow.js calls only for the inputs on the path to what is differentiated (the data x of
 * a mixture model then costs no reduction).
 *
 * Data paths, by TensorFlow.js backend:
 * - `cpu`, `wasm` (and any backend that reads synchronously): the inputs are read once with the
 *   backend's `readSync`, reduced synchronously by the CPU engine on the calling thread, and
 *   written back once as the output's data.
 * - `webgpu`: the inputs' own GPU buffers are read by the GPU engine on TensorFlow.js's
 *   `GPUDevice`, and its output is copied on the device into a buffer of TensorFlow.js's pool,
 *   the output tensor's: no read-back, nothing through the host.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { type GenredRoutine, type RoutineSpec, specOf, valuesRoutine } from "../lazy/genred.ts";
import type { Ranges } from "../lazy/ranges.ts";
import type { GpuArray } from "../backends/webgpu/gpu_array.ts";
import { hardwareAdapter, setDevice } from "../backends/webgpu/device.ts";
import { keyOf } from "../formula/tree.ts";
import { checkOptions, show, UnsupportedError } from "../formula/errors.ts";

/** What a routine on tensors returns: a tensor, or `[values, indices]`. */
export type TfOutput = tf.Tensor | [tf.Tensor, tf.Tensor];

/** The options of a call on tensors. */
export interface TfCallOptions {
  /**
   * The engine: "auto" (default) is the GPU engine on TensorFlow.js's device under its `webgpu`
   * backend, else the CPU engine; "cpu", "cpu-rust" and "reference" (the float64 oracle) read
   * the tensors on the host, which the `webgpu` backend cannot do synchronously.
   */
  backend?: "auto" | "cpu" | "cpu-rust" | "reference" | "gpu";
  /** Block-sparse reduction: KeOps's ranges 6-tuple, as in the core (plain arrays). */
  ranges?: Ranges;
}

const CALL_OPTIONS = ["backend", "ranges"];
const BACKENDS = ["auto", "cpu", "cpu-rust", "reference", "gpu"];

/** A routine on tensors: called with one `tf.Tensor` per argument, it returns tensors synchronously. */
export interface TfRoutine<Out extends TfOutput = TfOutput> {
  (...args: Array<tf.Tensor | TfCallOptions>): Out;
  /** The canonical KeOps text of the formula. */
  readonly formula: string;
  /** The routine of the gradient of ⟨output, e⟩ with respect to an argument; takes e last. */
  grad(variable: string | number): TfRoutine<tf.Tensor>;
}

/** The TensorFlow.js side of one routine: its kernel's name and the core routine it runs. */
interface Op {
  readonly name: string;
  readonly core: GenredRoutine;
  readonly spec: RoutineSpec;
  readonly inputs: readonly string[];
  readonly wrapped: TfRoutine;
}

const byRoutine = new WeakMap<GenredRoutine, Op>();
const byKey = new Map<string, Op>();
let nextOp = 1;

/** What identifies a routine: its stages' formulas and reductions, its inputs and outputs. */
function routineKey(spec: RoutineSpec): string {
  const stages = spec.routine.stages.map((st) =>
    st.kind === "reduce"
      ? `r:${st.reduction}:${st.K}:${st.outCat}:${st.iRows}:${st.jRows}:${st.out}:${st.outIdx}:${
        keyOf(st.F)
      }:${st.G ? keyOf(st.G) : ""}`
      : `s:${st.index}:${st.rowCat}:${st.outCat}:${st.out}:${st.terms.map(keyOf).join(",")}`
  );
  return JSON.stringify([
    stages,
    spec.routine.slots,
    spec.routine.outputs,
    spec.routine.zerosOf ?? -1,
    spec.inputs.map((s) => [s.label, s.cat, s.dim, s.trailing, s.rows]),
    spec.output,
    spec.accuracy ?? {},
  ]);
}

/**
 * The routine `core` as a TensorFlow.js op (one per distinct routine: wrapping the same one
 * twice, or an equal one, gives the same op).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Genred } from "@keops-ts/keops";
 * import { tfRoutine } from "./kernel.ts";
 * import assert from "node:assert/strict";
 * await tf.setBackend("cpu");
 * const gauss = tfRoutine(Genred("Exp(-SqDist(x,y))", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 }));
 * const x = tf.tensor2d([[0], [1]]), y = tf.tensor2d([[0], [2]]);
 * const g = tf.grad((x: tf.Tensor) => gauss(x, y) as tf.Tensor)(x); // d/dx Σ_j e^{-|x-y|²}
 * assert.ok(Math.abs(g.dataSync()[1] - (-2 * Math.exp(-1) + 2 * Math.exp(-1))) < 1e-6);
 * ```
 */
export function tfRoutine<Out extends TfOutput = TfOutput>(
  core: GenredRoutine,
): TfRoutine<Out> {
  const known = byRoutine.get(core);
  if (known) return known.wrapped as TfRoutine<Out>;
  const spec = specOf(core);
  const key = routineKey(spec);
  const same = byKey.get(key);
  if (same) {
    byRoutine.set(core, same);
    return same.wrapped as TfRoutine<Out>;
  }
  const name = `keops:${nextOp++}`;
  const inputs = spec.inputs.map((_, k) => `x${k}`);
  const grads = new Map<number, TfRoutine<tf.Tensor>>();
  const call = (...args: Array<tf.Tensor | TfCallOptions>) => invoke(op, args);
  const grad = (variable: string | number) => {
    const v = typeof variable === "string" ? spec.names.get(variable) : variable;
    const k = typeof v === "number" && Number.isInteger(v) && v >= 0 &&
        v < inputs.length
      ? v
      : undefined;
    if (k === undefined) return tfRoutine<tf.Tensor>(core.grad(variable)); // the core's error
    let g = grads.get(k);
    if (!g) grads.set(k, g = tfRoutine<tf.Tensor>(core.grad(k)));
    return g;
  };
  Object.defineProperty(call, "formula", {
    value: spec.formula,
    enumerable: true,
  });
  Object.defineProperty(call, "grad", { value: grad });
  const op: Op = {
    name,
    core,
    spec,
    inputs,
    wrapped: call as unknown as TfRoutine,
  };
  byRoutine.set(core, op);
  byKey.set(key, op);
  registerGradientOf(op);
  return op.wrapped as TfRoutine<Out>;
}

/** Checks a call's arguments before TensorFlow.js runs it; returns the tensors and options. */
function checkArgs(
  op: Op,
  argsIn: Array<tf.Tensor | TfCallOptions>,
): [tf.Tensor[], TfCallOptions] {
  const args = [...argsIn];
  const n = op.inputs.length;
  let opts: TfCallOptions = {};
  const last = args[args.length - 1];
  if (
    args.length === n + 1 && !(last instanceof tf.Tensor) &&
    typeof last === "object" && last !== null
  ) {
    opts = args.pop() as TfCallOptions;
  }
  const labels = op.spec.inputs.map((s) => s.label);
  if (args.length !== n) {
    throw new TypeError(
      `This routine expects ${n} tensors (${labels.join(", ")}), got ${args.length}`,
    );
  }
  checkOptions(opts, CALL_OPTIONS, "call");
  if (opts.backend !== undefined && !BACKENDS.includes(opts.backend)) {
    throw new TypeError(
      `Unknown backend ${show(opts.backend)}: expected ${BACKENDS.map((b) => `"${b}"`).join(", ")}`,
    );
  }
  args.forEach((a, k) => {
    if (!(a instanceof tf.Tensor)) {
      throw new TypeError(
        `The argument "${labels[k]}" is ${show(a)}: expected a tf.Tensor`,
      );
    }
    if (a.isDisposed) {
      throw new TypeError(
        `The argument "${labels[k]}" is a disposed tf.Tensor`,
      );
    }
    if (a.dtype !== "float32") {
      throw new TypeError(
        `The argument "${labels[k]}" is a ${a.dtype} tensor: expected float32`,
      );
    }
  });
  return [args as tf.Tensor[], opts];
}

/** Runs the op on tensors through TensorFlow.js's engine (so that its tape records it). */
function invoke(op: Op, argsIn: Array<tf.Tensor | TfCallOptions>): TfOutput {
  const [tensors, opts] = checkArgs(op, argsIn);
  const backendName = tf.getBackend();
  if (!tf.getKernel(op.name, backendName)) {
    tf.registerKernel({
      kernelName: op.name,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) =>
        forward(
          op,
          inputs,
          backend as tf.KernelBackend,
          backendName,
          (attrs as { options?: TfCallOptions }).options ?? {},
        ),
    });
  }
  const inputs = Object.fromEntries(
    op.inputs.map((name, k) => [name, tensors[k]]),
  );
  // The options travel as an attribute: the gradient functions receive them too.
  const attrs = { options: opts } as unknown as tf.NamedAttrMap;
  const out = tf.engine().runKernel(op.name, inputs, attrs) as
    | tf.Tensor
    | tf.Tensor[];
  if (Array.isArray(out)) return out.length === 1 ? out[0] : [out[0], out[1]];
  return out;
}

/** The subset of TensorFlow.js's WebGPU backend this module uses (it has no public types for it). */
interface WebGpuBackend {
  readonly device: GPUDevice;
  readonly tensorMap: {
    get(dataId: object): { resource?: unknown } | undefined;
  };
  commandEncoder: GPUCommandEncoder | null;
  uploadToGPU(dataId: object): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** The forward pass: a kernel function of TensorFlow.js's registry. */
function forward(
  op: Op,
  inputs: tf.NamedTensorInfoMap,
  backend: tf.KernelBackend,
  backendName: string,
  options: TfCallOptions,
): tf.TensorInfo | tf.TensorInfo[] {
  const infos = op.inputs.map((name) => inputs[name]!);
  const { backend: engine = "auto", ranges } = options;
  const onGpu = backendName === "webgpu" &&
    (engine === "auto" || engine === "gpu");
  if (engine === "gpu" && !onGpu) {
    throw new UnsupportedError(
      `Backend "gpu" runs synchronously only on TensorFlow.js's webgpu backend (this is "${backendName}"): use "auto" or "cpu"`,
    );
  }
  if (onGpu) {
    return forwardGpu(op, infos, backend as unknown as WebGpuBackend, ranges);
  }
  if (backendName === "webgpu") {
    throw new UnsupportedError(
      `Backend "${engine}" reads the tensors on the host, which TensorFlow.js's webgpu backend cannot do synchronously: use "auto"`,
    );
  }
  const arrays = infos.map((info) => ({
    data: backend.readSync(info.dataId) as Float32Array,
    shape: info.shape,
  }));
  const res = op.core.sync(...arrays, {
    backend: engine,
    ...(ranges ? { ranges } : {}),
  });
  const outs = Array.isArray(res) ? res : [res];
  return outs.map((o) => {
    const dtype: tf.DataType = o.data instanceof Int32Array ? "int32" : "float32";
    const data = o.data instanceof Float64Array ? Float32Array.from(o.data) : o.data;
    return {
      dataId: backend.write(data, [...o.shape], dtype),
      shape: [...o.shape],
      dtype,
    };
  });
}

let deviceGiven: GPUDevice | undefined;
let hardware: boolean | undefined;

/** The WebGPU path: the tensors' GPU buffers in, the output's GPU buffer out. */
function forwardGpu(
  op: Op,
  infos: tf.TensorInfo[],
  backend: WebGpuBackend,
  ranges: Ranges | undefined,
): tf.TensorInfo[] {
  if (deviceGiven !== backend.device) {
    // TensorFlow.js's device becomes the GPU engine's. Whether its adapter is a software one
    // (which caps the engine's loops) is asked once, asynchronously: until the answer comes,
    // the engine takes the cautious software settings.
    if (hardware === undefined) {
      hardwareAdapter().then((h) => (hardware = h), () => {});
    }
    setDevice(backend.device, { fallback: !hardware });
    deviceGiven = backend.device;
    if (hardware === undefined) deviceGiven = undefined; // asked again at the next call
  }
  const arrays: GpuArray[] = infos.map((info) => {
    backend.uploadToGPU(info.dataId);
    const buffer = backend.tensorMap.get(info.dataId)?.resource;
    if (typeof GPUBuffer === "undefined" || !(buffer instanceof GPUBuffer)) {
      throw new UnsupportedError(
        "A tensor of TensorFlow.js's webgpu backend is not in a GPU buffer (a texture?)",
      );
    }
    return { buffer, shape: info.shape, dtype: "float32" };
  });
  // What TensorFlow.js has encoded but not submitted (the inputs' uploads, the ops that made
  // them) goes to the queue first.
  if (backend.commandEncoder) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  const res = op.core.sync(...arrays, {
    backend: "gpu",
    output: "gpu",
    ...(ranges ? { ranges } : {}),
  });
  const outs = (Array.isArray(res) ? res : [res]) as unknown as GpuArray[];
  const device = backend.device;
  const enc = device.createCommandEncoder();
  const infos2 = outs.map((o) => {
    // The output tensor's buffer comes from TensorFlow.js's pool (which it recycles when the
    // tensor goes); the engine's output is copied into it on the device, never via the host.
    const info = backend.makeTensorInfo([...o.shape], o.dtype);
    backend.uploadToGPU(info.dataId);
    const target = backend.tensorMap.get(info.dataId)!.resource as GPUBuffer;
    const bytes = 4 * o.shape.reduce((a, b) => a * b, 1);
    if (bytes > 0) enc.copyBufferToBuffer(o.buffer, 0, target, 0, bytes);
    return info;
  });
  device.queue.submit([enc.finish()]);
  // (Destroyed once the work submitted on them is done, as WebGPU defines it.)
  for (const o of outs) o.buffer.destroy();
  return infos2;
}

/** Registers the gradient of an op: one thunk per input, each the routine's symbolic gradient. */
function registerGradientOf(op: Op): void {
  const pair = op.spec.routine.outputs.length === 2;
  tf.registerGradient({
    kernelName: op.name,
    inputsToSave: [...op.inputs],
    gradFunc: (dy, saved, attrs) => {
      const options = (attrs as { options?: TfCallOptions } | undefined)?.options ?? {};
      // [values, indices]: the indices have no gradient; the values have that of the
      // reduction of values alone (Min for Min_ArgMin, KMin for KMin_ArgKMin).
      const e = Array.isArray(dy) ? dy[0] : dy;
      const source = pair ? tfRoutine(valuesRoutine(op.core)) : op.wrapped;
      return Object.fromEntries(
        op.inputs.map((
          name,
          k,
        ) => [name, () => source.grad(k)(...saved, e, options)]),
      );
    },
  });
}
