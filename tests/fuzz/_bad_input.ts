/**
 * Bad-input fuzzing: mutated formula text, aliases, options, arguments and helper calls. Each
 * probe must either work or throw one of the library's error classes (SyntaxError, TypeError,
 * RangeError, UnsupportedError) with a sentence-case message: never another class, a
 * JavaScript internal error, a hang or a crash.
 *
 * @module
 */

import {
  fromGpu,
  Genred,
  KernelSolve,
  LazyTensor,
  ndarray,
  setDevice,
  setThreads,
  toGpu,
  Vi,
  Vj,
} from "../../mod.ts";
import { FUZZED_OPS, genredArgs, Rand, randomCase, rowsOf } from "./_gen.ts";

/** Pieces that mutations insert into formula text. */
const TOKENS = [
  "(",
  ")",
  ",",
  "+",
  "-",
  "*",
  "/",
  "**",
  "|",
  "<",
  "==",
  "!=",
  "[",
  "]",
  "0",
  "-1",
  "1e99",
  "1e-400",
  ".5",
  "4294967297",
  "99999999999999999999",
  "x",
  "y",
  "p",
  "z",
  "Var(",
  "Var(0,3,1)",
  "Var(-1,1,0)",
  "Vi(",
  "Pm(2)",
  "IntCst(",
  "RatCst(1,0)",
  "Zero(0)",
  '"',
  ";",
  "\u0000",
  "é",
  " ",
  "__proto__",
  "constructor",
  "eval(",
  "${x}",
];

/** Values that are wrong where an array, a number, a string or an object is due. */
const JUNK: unknown[] = [
  null,
  undefined,
  NaN,
  -1,
  0,
  1.5,
  1e300,
  "x",
  "",
  true,
  {},
  [],
  [[]],
  [[1, 2], [3]],
  [["1"]],
  [[NaN]],
  { data: [1, 2], shape: [2, 1] },
  { data: new Float32Array(3), shape: [2.5, 2] },
  { data: new Float32Array(2), shape: [2, "1"] },
  { data: new Int32Array(2), shape: [2, 1] },
  { data: new Uint8Array(2), shape: [2, 1] },
  { data: new Float32Array(2), shape: [-2, -1] },
  { data: new Float32Array(4), shape: [2, 2, 1, 1, 1] },
  new Float32Array(3),
  Symbol("s"),
  () => 1,
  { buffer: {}, shape: [1], dtype: "float32" },
  Object.create(null),
  [1, [2]],
];

function mutateText(r: Rand, text: string): string {
  let t = text;
  for (let m = r.int(1, 3); m > 0; m--) {
    const at = r.int(0, t.length);
    switch (r.int(0, 4)) {
      case 0: // delete a span
        t = t.slice(0, at) + t.slice(Math.min(t.length, at + r.int(1, 6)));
        break;
      case 1: // insert a token
        t = t.slice(0, at) + r.pick(TOKENS) + t.slice(at);
        break;
      case 2: // insert a call of a random operation
        t = t.slice(0, at) + r.pick(FUZZED_OPS) + "(" + t.slice(at);
        break;
      case 3: // duplicate a span
        t = t.slice(0, at) + t.slice(at, at + r.int(1, 12)) + t.slice(at);
        break;
      default: // replace a character
        t = t.slice(0, at) + r.pick(TOKENS) + t.slice(at + 1);
    }
  }
  return t;
}

const xs = () => ndarray(Float32Array.of(0.5, -1, 2), [3, 1]);
const ys = () => ndarray(Float32Array.of(1, 0.25), [2, 1]);

/** The probes: each makes one bad call (or a call that may be fine) from the random source. */
const PROBES: ((r: Rand) => unknown)[] = [
  // Mutated formula text, run on small valid arguments.
  async (r) => {
    const c = randomCase(r.int(0, 1e9), 8);
    const { formula, aliases, options } = genredArgs(c);
    const g = Genred(mutateText(r, formula), aliases, options);
    const args = c.vars.map((v) =>
      ndarray(
        new Float32Array(rowsOf(c, v) * v.dim).fill(0.5),
        v.cat === 2 ? [v.dim] : [rowsOf(c, v), v.dim],
      )
    );
    await g(...args, { backend: r.pick(["reference", "cpu"] as const) });
  },
  // Mutated aliases.
  (r) => {
    const aliases = ["x = Vi(1)", "y = Vj(1)"].map((a) => (r.chance(0.5) ? mutateText(r, a) : a));
    if (r.chance(0.2)) aliases.push(r.pick(JUNK) as string);
    return Genred("x*y", aliases, { axis: 1 })(xs(), ys(), { backend: "cpu" });
  },
  (r) => Genred("x*y", r.pick(JUNK) as string[], { axis: 1 }),
  (r) => Genred(r.pick(JUNK) as string, ["x = Vi(1)", "y = Vj(1)"]),
  // Options: unknown keys and wrong values.
  (r) => {
    const key = r.pick(["reduction", "axis", "k", "formula2", "reductions", "Axis", "__proto__"]);
    return Genred("x*y", ["x = Vi(1)", "y = Vj(1)"], { [key]: r.pick(JUNK) } as never)(xs(), ys());
  },
  (r) => Genred("x*y", ["x = Vi(1)", "y = Vj(1)"], r.pick(JUNK) as never),
  // Arguments: wrong counts, values and call options.
  (r) => {
    const args: unknown[] = [xs(), ys()];
    args[r.int(0, 1)] = r.pick(JUNK);
    if (r.chance(0.3)) args.push(r.pick(JUNK));
    return Genred("x*y", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 })(...(args as never[]));
  },
  (r) => {
    const opts = r.pick([{ backend: "tpu" }, { output: "disk" }, { foo: 1 }, { backend: 3 }, {
      backend: null,
    }]);
    return Genred("x*y", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 })(xs(), ys(), opts as never);
  },
  (r) => Genred("x*y", ["x = Vi(1)", "y = Vj(1)"], { axis: 1 }).grad(r.pick(JUNK) as string),
  // Helpers.
  (r) => toGpu(r.pick(JUNK) as never),
  (r) => fromGpu(r.pick(JUNK) as never),
  (r) => setDevice(r.pick(JUNK) as never),
  (r) => setThreads(r.pick(JUNK) as never),
  (r) => ndarray(r.pick(JUNK) as never, r.pick(JUNK) as never),
  (r) => Vi(r.pick(JUNK) as never),
  (r) => {
    const t = Vi(xs()).sub(Vj(ys()));
    switch (r.int(0, 6)) {
      case 0:
        return t.add(r.pick(JUNK) as never).sum(1);
      case 1:
        return t.pow(r.pick([1e10, 0.3, NaN, Infinity, -5, "2"]) as never).sum(1);
      case 2:
        return t.argKmin(r.pick(JUNK) as never, 1);
      case 3:
        return t.sum(r.pick(JUNK) as never);
      case 4:
        return t.grad(r.pick(JUNK) as never, 1);
      case 5:
        return t.exp().logsumexp(1, r.pick(JUNK) as never);
      default:
        return t.sqnorm2().exp().solve(r.pick(JUNK) as never);
    }
  },
  (r) =>
    KernelSolve(
      r.chance(0.5) ? "Exp(-SqDist(x,y))*b" : mutateText(r, "Exp(-SqDist(x,y))*b"),
      ["x = Vi(1)", "y = Vj(1)", "b = Vj(1)"],
      r.pick(["b", "x", "q", ""]),
      r.chance(0.5) ? { axis: 1 } : (r.pick(JUNK) as never),
    )(xs(), xs(), r.chance(0.5) ? xs() : (r.pick(JUNK) as never)),
  // Ranges: junk, and valid 6-tuples with one entry mutated (bounds, order, shapes, slices).
  (r) => {
    const ok = [[[0, 2], [2, 3]], [1, 2], [[0, 3], [1, 2]], [[0, 3]], [1], [[0, 3]]] as unknown[][];
    const ranges: unknown = r.chance(0.3) ? r.pick(JUNK) : ok.map((a) => {
      if (r.chance(0.7)) return a;
      if (r.chance(0.3)) return r.pick(JUNK);
      const b = structuredClone(a) as unknown[];
      const at = r.int(0, Math.max(0, b.length - 1));
      if (Array.isArray(b[at])) {
        (b[at] as unknown[])[r.int(0, 1)] = r.pick([-1, 5, 1.5, NaN, "1", 2 ** 40, 0, 3]);
      } else b[at] = r.pick([-1, 5, 1.5, NaN, 0, 9]);
      if (r.chance(0.2)) b.push(r.pick(JUNK));
      return b;
    });
    const g = Genred("x*y", ["x = Vi(1)", "y = Vj(1)"], { axis: r.pick([0, 1] as const) });
    const x3 = ndarray(Float32Array.of(1, 2, 3), [3, 1]);
    return g(x3, x3, { backend: r.pick(["reference", "cpu", "cpu-rust"] as const), ranges: ranges as never });
  },
  // Accuracy options: unknown values and combinations.
  (r) =>
    Genred("x*y", ["x = Vi(1)", "y = Vj(1)"], {
      axis: 1,
      reduction: r.pick(["Sum", "LogSumExp", "ArgMin", "SoftMax", "MinArgMin"] as const) as "Sum",
      [r.pick(["dtype_acc", "use_double_acc", "sum_scheme"])]: r.pick([
        ...JUNK,
        "float64",
        "kahan_scheme",
        true,
      ]),
    } as never)(xs(), ys(), { backend: "cpu" }),
  // pykeops's construction and symbolic variables with junk.
  (r) => LazyTensor(r.pick(JUNK) as never, r.pick([undefined, 0, 1, 2, 3, -1]) as never),
  (r) => Vi(r.pick([0, 1, -1, 1.5, NaN]) as number, r.pick(JUNK) as number).sum(1),
];

/** Runs probe number `k % PROBES.length` with its own random source; returns what it threw. */
export async function runProbe(seed: number): Promise<{ probe: number; error?: unknown }> {
  const r = new Rand(seed);
  const probe = r.int(0, PROBES.length - 1);
  try {
    await PROBES[probe](r);
    return { probe };
  } catch (error) {
    return { probe, error };
  }
}
