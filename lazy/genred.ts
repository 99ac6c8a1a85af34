/**
 * `Genred`: a KeOps generic reduction from a formula string and aliases, called like a KeOps
 * routine with one array per alias. It validates everything a user can get wrong (argument
 * count, dtypes, shapes, dimensions, batch dimensions, K) with errors that name the alias, runs
 * its routine (see `routine.ts`) on the chosen engine and shapes the outputs as KeOps does.
 *
 * @module
 */

import type { Node } from "../formula/tree.ts";
import { variablesOf } from "../formula/tree.ts";
import { type Alias, parseAliases, parseFormula, type VarSpec } from "../formula/parse.ts";
import { printFormula } from "../formula/print.ts";
import { type ReductionName, REDUCTIONS } from "../formula/reductions.ts";
import {
  forwardRoutine,
  gradRoutine,
  outputSpec,
  type Routine,
  routineSteps,
  type Rows,
  type SlotSpec,
} from "./routine.ts";
import { type NDArray, type NestedNumbers, toNDArray } from "./ndarray.ts";
import { checkShape, type DType, sizeOf, type Slot } from "../backends/backend.ts";
import { type BackendChoice, selectBackend, selectBackendSync } from "../backends/select.ts";
import { runAsync, runSync, type Steps, wait } from "../backends/steps.ts";
import { fromGpu, type GpuArray, isGpuArray, toGpu } from "../backends/webgpu/gpu_array.ts";
import { checkOptions, show, UnsupportedError } from "../formula/errors.ts";
import { checkRanges, type Ranges } from "./ranges.ts";
import {
  ACCURACY_KEYS,
  type AccuracyOptions,
  checkAccuracy,
  type ReductionAlias,
  reductionName,
  resolveAccuracy,
} from "./options.ts";

export type { Accuracy, AccuracyOptions, ReductionAlias } from "./options.ts";
export { checkAccuracy, reductionName } from "./options.ts";

export type { ReductionName } from "../formula/reductions.ts";

/** Options of `Genred`, as KeOps's constructor. */
export interface GenredOptions<R extends ReductionName | ReductionAlias = ReductionName>
  extends AccuracyOptions {
  /** The reduction (or an alias); default "Sum". */
  reduction?: R;
  /** 0 (default): reduce over i, output indexed by j; 1: reduce over j, output indexed by i. */
  axis?: 0 | 1;
  /** K of KMin / ArgKMin / KMin_ArgKMin. */
  k?: number;
  /** The weight formula of LogSumExp / LogSumExpWeight / SumSoftMaxWeight. */
  formula2?: string;
}

/** Options of one call. */
export interface CallOptions {
  /** "auto" (default): the GPU when usable for this dtype, else the CPU. */
  backend?: BackendChoice;
  /** "gpu": return the result as a `GpuArray` left on the GPU (default "host"). */
  output?: "host" | "gpu";
  /**
   * Block-sparse reduction: KeOps's 6-tuple `[ranges_i, slices_i, redranges_j, ranges_j,
   * slices_j, redranges_i]` (see `lazy/ranges.ts` and the cluster helpers); only the pairs it
   * keeps are computed.
   */
  ranges?: Ranges;
}

const CALL_OPTIONS = ["backend", "output", "ranges"];

/** An argument of a routine: an array on the host, nested numbers, or an array on the GPU. */
export type Arg = NDArray | NestedNumbers | GpuArray;

/** The reductions that return a pair `[values, indices]`. */
export type PairReduction =
  | "Min_ArgMin"
  | "Max_ArgMax"
  | "KMin_ArgKMin"
  | "MinArgMin"
  | "MaxArgMax"
  | "KMinArgKMin";

/** What a routine of reduction R resolves to. */
export type GenredOutput<R extends ReductionName | ReductionAlias> = R extends PairReduction
  ? [NDArray, NDArray]
  : NDArray;

/** A compiled generic reduction, called with one array per alias. */
export interface GenredRoutine<Out extends NDArray | [NDArray, NDArray] = NDArray | [NDArray, NDArray]> {
  (...args: Array<Arg | CallOptions>): Promise<Out>;
  /** The canonical KeOps text of the formula. */
  readonly formula: string;
  /**
   * The routine giving the gradient of ⟨output, e⟩ with respect to an alias (or the argument
   * at a position, counted from 0); takes e last.
   */
  grad(variable: string | number): GenredRoutine<NDArray>;
  /**
   * The same call, synchronously: the result itself rather than a promise, computed on the
   * calling thread by the CPU engine (backend "auto" is "cpu" here). Backend "gpu" only keeps
   * GPU arrays on the GPU (arguments on it, `output: "gpu"`, a device given to `setDevice`, as
   * the TensorFlow.js entry does): WebGPU reads results back asynchronously. What TensorFlow.js
   * ops, and a KeOps user's `a = K @ b`, expect.
   *
   * @example
   * ```ts
   * import { Genred } from "@keops-ts/keops";
   * import assert from "node:assert/strict";
   * const gauss = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(1)", "y = Vj(1)", "b = Vj(1)"], { axis: 1 });
   * const a = gauss.sync([[0], [1]], [[0], [2]], [[1], [1]]); // no await
   * assert.ok(Math.abs(a.data[0] - (1 + Math.exp(-4))) < 1e-6);
   * ```
   */
  sync(...args: Array<Arg | CallOptions>): Out;
}

/** How one argument is read: its category, dimension and trailing shape. */
export interface InputSpec {
  readonly label: string;
  readonly cat: 0 | 1 | 2;
  readonly dim: number;
  /** The shape after the batch and row axes, e.g. [3] for Vi(3), [K] for an ArgKMin output. */
  readonly trailing: readonly number[];
  readonly rows: Rows;
}

/** The whole description of a routine as users see it. */
export interface RoutineSpec {
  readonly routine: Routine;
  readonly inputs: readonly InputSpec[];
  /** Output shapes after batch and rows; or "like" an input (gradients). */
  readonly output: { values?: readonly number[]; indices?: readonly number[] } | { like: number };
  readonly formula: string;
  readonly names: ReadonlyMap<string, number>;
  /** The sums' accuracy options (gradients inherit them). */
  readonly accuracy?: AccuracyOptions;
}

const OPTION_KEYS = ["reduction", "axis", "k", "formula2", ...ACCURACY_KEYS];

/**
 * Builds a generic reduction, as KeOps's `Genred(formula, aliases, reduction_op, axis, opt_arg,
 * formula2)`.
 *
 * @example
 * ```ts
 * import { Genred } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 * const gauss = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(1)", "y = Vj(1)", "b = Vj(1)"], { axis: 1 });
 * const out = await gauss([[0], [1]], [[0], [2]], [[1], [1]]);
 * assert.ok(out.shape[0] === 2 && Math.abs(out.data[0] - (1 + Math.exp(-4))) < 1e-6);
 * ```
 */
export function Genred<R extends ReductionName | ReductionAlias = "Sum">(
  formula: string,
  aliases: string[],
  options: GenredOptions<R> = {},
): GenredRoutine<GenredOutput<R>> {
  checkOptions(options, OPTION_KEYS, "Genred");
  const reduction = reductionName(options.reduction ?? "Sum");
  const def = REDUCTIONS[reduction];
  const axis = options.axis ?? 0;
  if (axis !== 0 && axis !== 1) {
    throw new RangeError(`Genred axis must be 0 or 1, got ${show(axis)}`);
  }
  const parsed = parseAliases(aliases);
  const scope = new Map<string, VarSpec>();
  for (const a of parsed) if (a.name !== undefined) scope.set(a.name, a);
  const F = parseFormula(formula, scope);
  if (options.formula2 !== undefined && def.weight === "none") {
    throw new TypeError(`The ${reduction} reduction takes no formula2 (weight)`);
  }
  if (options.formula2 === undefined && def.weight === "required") {
    throw new TypeError(`The ${reduction} reduction needs formula2, the weight formula`);
  }
  const G = options.formula2 === undefined ? undefined : parseFormula(options.formula2, scope);
  const inputs = inputsOf(parsed, [F, G].filter((x): x is Node => !!x));
  const names = parsed.flatMap((a) => (a.name === undefined ? [] : [[a.name, a.ind] as [string, number]]));
  const accuracy = checkAccuracy(options, reduction);
  return routineFromTrees(F, G, reduction, options.k, axis, inputs, names, accuracy) as GenredRoutine<
    GenredOutput<R>
  >;
}

/**
 * The inputs of a routine, by position: from the aliases, completed by the `Var(ind,dim,cat)`
 * met in the formulas (as KeOps's complete_aliases). A position declared twice differently, or
 * declared by nobody, is an error.
 */
export function inputsOf(parsed: readonly Alias[], trees: readonly Node[]): InputSpec[] {
  const byInd = new Map<number, { dim: number; cat: number; label: string }>();
  const declare = (ind: number, dim: number, cat: number, label: string) => {
    const prev = byInd.get(ind);
    if (!prev) byInd.set(ind, { dim, cat, label });
    else if (prev.dim !== dim || prev.cat !== cat) {
      throw new TypeError(
        `Argument ${ind} is declared twice: as ${prev.label} (dimension ${prev.dim}, category ${prev.cat}) and as ${label} (dimension ${dim}, category ${cat})`,
      );
    }
  };
  for (const a of parsed) declare(a.ind, a.dim, a.cat, a.name ?? `Var(${a.ind},${a.dim},${a.cat})`);
  for (const v of variablesOf(...trees)) {
    const [ind, dim, cat] = v.params as number[];
    declare(ind, dim, cat, v.label ?? `Var(${ind},${dim},${cat})`);
  }
  const n = byInd.size === 0 ? 0 : Math.max(...byInd.keys()) + 1;
  const inputs: InputSpec[] = [];
  for (let k = 0; k < n; k++) {
    const v = byInd.get(k);
    if (!v) throw new TypeError(`No alias or Var(...) declares argument position ${k}`);
    inputs.push(inputSpec(v.label, v.cat as 0 | 1 | 2, v.dim));
  }
  return inputs;
}

/** The spec of an input variable of category `cat` and dimension `dim`. */
export function inputSpec(label: string, cat: 0 | 1 | 2, dim: number): InputSpec {
  return { label, cat, dim, trailing: [dim], rows: cat === 0 ? "M" : cat === 1 ? "N" : "one" };
}

/** Builds the routine of a reduction of formula trees (shared by Genred and LazyTensor). */
export function routineFromTrees(
  F: Node,
  G: Node | undefined,
  reduction: ReductionName,
  k: number | undefined,
  axis: 0 | 1,
  inputs: InputSpec[],
  names: [string, number][] = [],
  accuracy?: AccuracyOptions,
): GenredRoutine {
  const def = REDUCTIONS[reduction];
  let K = 0;
  if (def.needsK) {
    if (!Number.isInteger(k) || k! < 1) {
      throw new RangeError(`The ${reduction} reduction needs k, a positive integer, got ${show(k)}`);
    }
    K = k!;
  } else if (k !== undefined) {
    throw new TypeError(`The ${reduction} reduction takes no k`);
  }
  if (def.family === "lse" && F.dim !== 1) {
    throw new TypeError(`The ${reduction} reduction needs a scalar formula, got dimension ${F.dim}`);
  }
  const slots: SlotSpec[] = inputs.map((s) => ({ dim: s.dim, cat: s.cat, rows: s.rows }));
  const routine = forwardRoutine(slots, reduction, F, G, K, axis === 1 ? 0 : 1);
  const Dw = G ? G.dim + (reduction === "SumSoftMaxWeight" ? 1 : 0) : 1;
  const output = def.shape({ D: F.dim, K, Dw });
  return makeRoutine({ routine, inputs, output, formula: printFormula(F), names: new Map(names), accuracy });
}

function varText(s: InputSpec, ind: number) {
  return `Var(${ind},${s.dim},${s.cat})`;
}

const SPECS = new WeakMap<object, RoutineSpec>();

/** The spec of a routine made by `makeRoutine` (for wrappers such as the TensorFlow.js entry). */
export function specOf(routine: GenredRoutine): RoutineSpec {
  const spec = SPECS.get(routine);
  if (!spec) throw new TypeError(`Expected a routine made by Genred, got ${show(routine)}`);
  return spec;
}

/**
 * For a reduction of values and indices (Min_ArgMin, Max_ArgMax, KMin_ArgKMin), the routine of
 * its values alone (Min, Max, KMin), over the same arguments: the indices have no gradient, the
 * values have the gradient of that routine.
 *
 * @example
 * ```ts
 * import { Genred } from "@keops-ts/keops";
 * import { valuesRoutine } from "./genred.ts";
 * import assert from "node:assert/strict";
 * const pair = Genred("SqDist(x,y)", ["x = Vi(1)", "y = Vj(1)"], { reduction: "Min_ArgMin", axis: 1 });
 * const min = valuesRoutine(pair);
 * assert.ok(min.sync([[0]], [[2], [1]]).data[0] === 1);
 * ```
 */
export function valuesRoutine(routine: GenredRoutine): GenredRoutine<NDArray> {
  const spec = specOf(routine);
  const st = spec.routine.stages[0];
  const name = st?.kind === "reduce"
    ? ({ Min_ArgMin: "Min", Max_ArgMax: "Max", KMin_ArgKMin: "KMin" } as Record<string, ReductionName>)[
      st.reduction
    ]
    : undefined;
  if (!name || st.kind !== "reduce" || spec.routine.stages.length !== 1 || "like" in spec.output) {
    throw new TypeError(`Expected a Min_ArgMin, Max_ArgMax or KMin_ArgKMin routine, got ${spec.formula}`);
  }
  const slots = spec.routine.slots.slice(0, spec.routine.nInputs);
  const routineOfValues = forwardRoutine([...slots], name, st.F, st.G, st.K, st.outCat === 1 ? 1 : 0);
  return makeRoutine<NDArray>({ ...spec, routine: routineOfValues, output: { values: spec.output.values } });
}

/** The callable of a routine spec. */
export function makeRoutine<Out extends NDArray | [NDArray, NDArray] = NDArray | [NDArray, NDArray]>(
  spec: RoutineSpec,
): GenredRoutine<Out> {
  const call = (...args: Array<Arg | CallOptions>) => runAsync(callSteps(spec, args, false));
  const sync = (...args: Array<Arg | CallOptions>) => runSync(callSteps(spec, args, true));
  const grad = (variable: string | number): GenredRoutine<NDArray> => {
    const v = typeof variable === "string"
      ? spec.names.get(variable)
      : Number.isInteger(variable) && variable >= 0 && variable < spec.inputs.length
      ? variable
      : undefined;
    if (v === undefined) {
      throw new TypeError(
        `Cannot differentiate with respect to ${show(variable)}: expected one of ${
          [...spec.names.keys()].map((x) => `"${x}"`).join(", ")
        }, or a position from 0 to ${spec.inputs.length - 1}`,
      );
    }
    const routine = gradRoutine(spec.routine, v);
    const out = outputSpec(spec.routine);
    const trailing = "like" in spec.output
      ? spec.inputs[spec.output.like].trailing
      : (spec.output.values ?? spec.output.indices)!;
    const n = spec.inputs.length;
    let eName = "e";
    for (let k = 2; spec.names.has(eName); k++) eName = `e${k}`;
    const e: InputSpec = { label: eName, cat: out.cat, dim: out.dim, trailing, rows: out.rows };
    return makeRoutine<NDArray>({
      routine,
      inputs: [...spec.inputs, e],
      output: { like: v },
      formula: `Grad(${spec.formula},${varText(spec.inputs[v], v)},${varText(e, n)})`,
      names: new Map([...spec.names, [eName, n]]),
      accuracy: spec.accuracy,
    });
  };
  Object.defineProperty(call, "formula", { value: spec.formula, enumerable: true });
  Object.defineProperty(call, "grad", { value: grad });
  Object.defineProperty(call, "sync", { value: sync });
  SPECS.set(call, spec);
  return call as unknown as GenredRoutine<Out>;
}

function isCallOptions(x: unknown): x is CallOptions {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !("data" in x) && !ArrayBuffer.isView(x);
}

/** A user's argument read as a slot, with its own (unpadded) batch shape. */
interface Read {
  slot: Slot;
  ownShape: readonly number[];
}

function readArg(a: NDArray, s: InputSpec): Read {
  const shape = a.shape.length === 0 ? [1] : a.shape;
  const t = s.trailing.length;
  const hasRows = s.cat !== 2;
  const what = `argument "${s.label}"`;
  const need = t + (hasRows ? 1 : 0);
  const tail = shape.slice(shape.length - t);
  if (shape.length < need || tail.some((d, k) => d !== s.trailing[k])) {
    const expected = hasRows
      ? `(…batch, rows, ${s.trailing.join(", ")})`
      : `(…batch, ${s.trailing.join(", ")})`;
    throw new TypeError(`The ${what} has shape [${a.shape}]: expected ${expected}`);
  }
  const rows = hasRows ? shape[shape.length - t - 1] : 1;
  if (rows < 1) throw new RangeError(`The ${what} has no rows: expected at least one`);
  return {
    slot: { data: a.data, batch: shape.slice(0, shape.length - need), rows, dim: s.dim },
    ownShape: shape,
  };
}

/**
 * A call of a routine: its arguments validated, read and broadcast, its stages run, its
 * outputs shaped. Synchronous (`sync`) on the calling thread, or asynchronous.
 */
export function* callSteps(
  spec: RoutineSpec,
  argsIn: Array<Arg | CallOptions>,
  sync: boolean,
): Steps<NDArray | [NDArray, NDArray]> {
  const args = [...argsIn];
  let opts: CallOptions = {};
  if (args.length === spec.inputs.length + 1 && isCallOptions(args[args.length - 1])) {
    opts = args.pop() as CallOptions;
  }
  if (args.length !== spec.inputs.length) {
    throw new TypeError(
      `This routine expects ${spec.inputs.length} arguments (${
        spec.inputs.map((s) => s.label).join(", ")
      }), got ${args.length}`,
    );
  }
  checkOptions(opts, CALL_OPTIONS, "call");
  if (opts.output !== undefined && opts.output !== "host" && opts.output !== "gpu") {
    throw new TypeError(`Unknown output ${show(opts.output)}: expected "host" or "gpu"`);
  }
  const onGpu = args.map(isGpuArray);
  if (onGpu.some((g) => g)) {
    // Arrays on the GPU stay there for the GPU engine; any other engine reads them back.
    const want = sync ? selectBackendSync(opts.backend) : yield* wait(selectBackend(opts.backend, "float32"));
    // (A synchronous GPU call runs sparse stages on the device; an asynchronous one on the host.)
    const hostOnly = want.name !== "gpu" || (!sync && spec.routine.stages.some((st) => st.kind === "sparse"));
    for (const [k, a] of args.entries()) {
      if (!isGpuArray(a)) continue;
      if (a.dtype !== "float32") {
        throw new TypeError(`The argument "${spec.inputs[k].label}" is an int32 GPU array: expected float32`);
      }
      if (hostOnly) {
        if (sync) {
          throw new UnsupportedError(
            `The argument "${
              spec.inputs[k].label
            }" is a GPU array, which a synchronous call cannot read back: await the call, or pass host arrays`,
          );
        }
        args[k] = yield* wait(fromGpu(a));
        onGpu[k] = false;
      }
    }
  }
  // One float dtype for all arrays; plain numbers and arrays follow it (float32 if none is typed).
  let dtype: DType | undefined;
  args.forEach((a, k) => {
    if (isGpuArray(a)) {
      if (dtype === "float64") {
        throw new TypeError(
          `The argument "${spec.inputs[k].label}" is a float32 GPU array but earlier arguments are float64`,
        );
      }
      dtype = "float32";
    } else if (typeof a === "object" && a !== null && "data" in a) {
      const d = a.data instanceof Float64Array
        ? "float64"
        : a.data instanceof Float32Array
        ? "float32"
        : undefined;
      if (!d) {
        throw new TypeError(
          `The argument "${spec.inputs[k].label}" holds int32 data: expected float32 or float64`,
        );
      }
      if (dtype && d !== dtype) {
        throw new TypeError(
          `The argument "${spec.inputs[k].label}" is ${d} but earlier arguments are ${dtype}: pass one dtype`,
        );
      }
      dtype = d;
    }
  });
  dtype ??= "float32";
  const reads = args.map((a, k) => {
    if (isGpuArray(a)) {
      // Validated by shape like any array; its values stay in the GPU buffer.
      checkShape(a.shape, `argument "${spec.inputs[k].label}"`);
      const r = readArg({ data: new Float32Array(0), shape: a.shape }, spec.inputs[k]);
      return { ...r, slot: { ...r.slot, gpu: a.buffer } };
    }
    return readArg(toNDArray(a, dtype!, `argument "${spec.inputs[k].label}"`), spec.inputs[k]);
  });
  // Batch dimensions: numpy broadcasting of every argument's batch shape.
  const nb = Math.max(0, ...reads.map((r) => r.slot.batch.length));
  const batch = new Array(nb).fill(1);
  const padded = reads.map((r) => [...new Array(nb - r.slot.batch.length).fill(1), ...r.slot.batch]);
  padded.forEach((b, k) =>
    b.forEach((d, x) => {
      if (d === 1) return;
      if (batch[x] !== 1 && batch[x] !== d) {
        throw new TypeError(
          `The argument "${
            spec.inputs[k].label
          }" has batch dimension ${x} of size ${d}, but another argument has ${
            batch[x]
          }: sizes must agree or be 1`,
        );
      }
      batch[x] = d;
    })
  );
  // Rows: M from i-indexed arguments, N from j-indexed ones.
  const sizes: Record<Rows, number | undefined> = { M: undefined, N: undefined, one: 1 };
  const owner: Record<string, string> = {};
  reads.forEach((r, k) => {
    const s = spec.inputs[k];
    const want = sizes[s.rows];
    if (want === undefined) {
      sizes[s.rows] = r.slot.rows;
      owner[s.rows] = s.label;
    } else if (want !== r.slot.rows) {
      const role = s.rows === "one" ? "one row" : s.rows === "M" ? "i-indexed rows" : "j-indexed rows";
      throw new TypeError(
        `The argument "${s.label}" has ${r.slot.rows} rows but ${
          owner[s.rows] ? `"${owner[s.rows]}" has ${want}` : `${want} was expected`
        } (${role})`,
      );
    }
  });
  const M = sizes.M ?? 1, N = sizes.N ?? 1;
  for (const st of spec.routine.stages) {
    if (st.kind === "reduce" && st.K > 0) {
      const reduced = st.outCat === 1 ? st.iRows : st.jRows;
      const size = reduced === "M" ? M : reduced === "N" ? N : 1;
      if (st.K > size) {
        throw new RangeError(`K = ${st.K} is larger than the number of reduced terms, ${size}`);
      }
    }
  }
  const ranges = opts.ranges === undefined ? undefined : checkRanges(opts.ranges, M, N);
  const slots = reads.map((r, k) => ({ ...r.slot, batch: padded[k] }));
  const backend = sync
    ? selectBackendSync(opts.backend)
    : yield* wait(selectBackend(opts.backend, dtype, sizeOf(batch) * M * N));
  // Outputs stay on the GPU for output "gpu", unless a gradient's must be summed over
  // broadcast batch dimensions first (on the host).
  const keepOnDevice = opts.output === "gpu" && backend.name === "gpu" &&
    (!("like" in spec.output) || padded[spec.output.like].every((d, x) => d === batch[x]));
  const outs = yield* routineSteps(spec.routine, slots, {
    sync,
    backend,
    dtype,
    batch,
    M,
    N,
    keepOnDevice,
    ranges,
    accuracy: resolveAccuracy(spec.accuracy, dtype),
  });
  const result = shapeOutputs(spec, outs, reads, padded, batch, dtype);
  if (opts.output !== "gpu") return result;
  // Results leave on the GPU: the engine's buffers when it left them there, else an upload.
  function* gpuOut(o: NDArray, s: Slot): Steps<GpuArray> {
    if (s.gpu) {
      return { buffer: s.gpu, shape: o.shape, dtype: o.data instanceof Int32Array ? "int32" : "float32" };
    }
    if (sync) {
      throw new UnsupportedError(
        'A synchronous call leaves its result on the GPU only when the GPU engine computed it there: pass backend "gpu" and GPU arrays, or await the call',
      );
    }
    return yield* wait(toGpu(o));
  }
  if (Array.isArray(result)) {
    return [yield* gpuOut(result[0], outs[0]), yield* gpuOut(result[1], outs[1])] as unknown as [
      NDArray,
      NDArray,
    ];
  }
  return (yield* gpuOut(result, outs[0])) as unknown as NDArray;
}

function shapeOutputs(
  spec: RoutineSpec,
  outs: Slot[],
  reads: { slot: Slot; ownShape: readonly number[] }[],
  padded: number[][],
  batch: number[],
  dtype: DType,
): NDArray | [NDArray, NDArray] {
  const cast = (d: Float32Array | Float64Array | Int32Array) =>
    d instanceof Int32Array
      ? d
      : dtype === "float32"
      ? (d instanceof Float32Array ? d : Float32Array.from(d))
      : (d instanceof Float64Array ? d : Float64Array.from(d));
  if ("like" in spec.output) {
    const v = spec.output.like;
    const data = unbroadcast(outs[0], padded[v]);
    return { data: cast(data), shape: [...reads[v].ownShape] };
  }
  const shaped = (s: Slot, trailing: readonly number[]): NDArray => ({
    data: cast(s.data),
    shape: [...batch, s.rows, ...trailing],
  });
  const { values, indices } = spec.output;
  if (values && indices) return [shaped(outs[0], values), shaped(outs[1], indices)];
  return shaped(outs[0], (values ?? indices)!);
}

/** Sums a full-batch slot over the batch dimensions that the target has as 1. */
function unbroadcast(s: Slot, target: readonly number[]): Float32Array | Float64Array {
  const src = s.data as Float32Array | Float64Array;
  if (s.batch.every((d, k) => d === target[k])) return src;
  const block = s.rows * s.dim;
  const out = new Float64Array(sizeOf(target) * block);
  const nb = sizeOf(s.batch);
  for (let b = 0; b < nb; b++) {
    let rest = b, t = 0, mul = 1;
    for (let k = s.batch.length - 1; k >= 0; k--) {
      const x = rest % s.batch[k];
      rest = Math.floor(rest / s.batch[k]);
      t += (target[k] === 1 ? 0 : x) * mul;
      mul *= target[k];
    }
    for (let q = 0; q < block; q++) out[t * block + q] += src[b * block + q];
  }
  return out;
}
