/**
 * The fuzzer's judge: runs a generated case on the float64 reference and on every engine, and
 * reports what differs, what crashes and what fails uncleanly; then shrinks a failing case to
 * a small reproducer.
 *
 * Float32 engines round where the reference does not, so an engine's value is compared with
 * the reference's within what the reference itself moves (1) when the inputs move by a few
 * float32 ulps (two antithetic relative perturbations of 2⁻²⁰) and (2) when every operation is
 * rounded to float32, to a random neighbour of the exact value (Monte Carlo arithmetic). A
 * well-conditioned output must agree closely, NaN with NaN and ∞ with ∞, an index exactly (or
 * pick a term of equal value); an output that these change qualitatively (a NaN that appears,
 * an index that moves, a step that flips) is ill-conditioned and not compared. The float64
 * engine is held to the same rule with perturbations of 2⁻⁴⁰.
 *
 *     R0 = ref(v), R1 = ref(v·(1 + δ·u)), R2 = ref(v·(1 − δ·u)), R32 = ref32(v)
 *     spread = max(|R1 − R0|, |R2 − R0|, |R32 − R0|)
 *     |E − R0| ≤ rtol·|R0| + 30·spread + atol      (for each well-conditioned output)
 *
 * @module
 */

import {
  fromGpu,
  Genred,
  type GenredRoutine,
  type GpuArray,
  type NDArray,
  ndarray,
  toGpu,
  UnsupportedError,
} from "../../mod.ts";
import { make } from "../../formula/ops.ts";
import type { Node } from "../../formula/tree.ts";
import { type FuzzCase, genredArgs, Rand, rowsOf, shapeOf } from "./_gen.ts";
import { setReferenceRounding } from "../../backends/reference.ts";

/** An engine and dtype a case runs on. */
export interface Target {
  readonly backend: "cpu" | "gpu";
  readonly dtype: "float32" | "float64";
}

/** Something wrong with a case on a target. */
export interface Finding {
  readonly kind: "mismatch" | "crash" | "unclean error" | "hang";
  readonly target: string;
  readonly detail: string;
  readonly case: FuzzCase;
}

/** What running a case found: findings, or why it was not compared. */
export interface Outcome {
  readonly findings: Finding[];
  /** The case was refused with a clean error by construction or by the reference. */
  readonly rejected: boolean;
  /** Outputs compared, and outputs skipped as ill-conditioned. */
  readonly compared: number;
  readonly skipped: number;
}

/** Messages of JavaScript's own errors: a library error never says these. */
const INTERNAL =
  /Cannot read propert|is not a function|is not iterable|is not defined|Maximum call stack|Invalid (typed )?array length|Cannot convert|out of bounds|unreachable|Cannot set propert/;

/** Why an error is not a clean library error, or undefined when it is one. */
export function unclean(e: unknown): string | undefined {
  if (!(e instanceof Error)) return `threw a non-Error value ${String(e)}`;
  const known = e instanceof SyntaxError || e instanceof TypeError || e instanceof RangeError ||
    e instanceof UnsupportedError;
  if (!known) return `threw ${e.constructor.name}: ${e.message}`;
  if (INTERNAL.test(e.message)) return `internal ${e.constructor.name}: ${e.message}`;
  if (!/^[A-Z"(]/.test(e.message)) return `message not in sentence case: ${e.message}`;
  return undefined;
}

type Out = NDArray | [NDArray, NDArray];
const parts = (o: Out) => (Array.isArray(o) ? o : [o]);

/** Runs a promise with a time limit: a hang becomes an error of its own. */
export class Hang extends Error {}
export function limited<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Hang(`No answer after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** The routine of a case (its gradient when asked), or the clean error that refuses it. */
function routineOf(c: FuzzCase): GenredRoutine {
  const { formula, aliases, options } = genredArgs(c);
  const g = Genred(formula, aliases, options);
  return c.grad ? g.grad(c.grad) : g;
}

function arrays(c: FuzzCase, values: readonly Float64Array[], dtype: "float32" | "float64"): NDArray[] {
  return c.vars.map((_, q) => {
    const shape = shapeOf(c, q);
    const data = dtype === "float32" ? Float32Array.from(values[q]) : Float64Array.from(values[q]);
    return ndarray(data, shape);
  });
}

function shapeArgs(
  c: FuzzCase,
  values: readonly Float64Array[],
  dtype: "float32" | "float64",
  fwdShape?: number[],
) {
  const base = arrays(c, values.slice(0, c.vars.length), dtype);
  if (!c.grad) return base;
  const e = values[c.vars.length];
  return [...base, ndarray(dtype === "float32" ? Float32Array.from(e) : Float64Array.from(e), fwdShape!)];
}

async function reference(c: FuzzCase, g: GenredRoutine, values: readonly Float64Array[], eShape?: number[]) {
  return parts(
    (await g(...shapeArgs(c, values, "float64", eShape), { backend: "reference", ranges: c.ranges })) as Out,
  );
}

/**
 * Two antithetic perturbations of the inputs, v·(1 + δ·u) and v·(1 − δ·u) with u in [−1, 1]:
 * a threshold (a floor, a comparison, a tie) within δ of the inputs is crossed by one of them
 * whichever side it lies on.
 */
function perturbed(
  values: readonly Float64Array[],
  delta: number,
  r: Rand,
): [Float64Array[], Float64Array[]] {
  const u = values.map((v) => v.map(() => delta * (2 * r.float() - 1)));
  return [
    values.map((v, q) => v.map((x, k) => x * (1 + u[q][k]))),
    values.map((v, q) => v.map((x, k) => x * (1 - u[q][k]))),
  ];
}

/**
 * The magnitude past which the GPU is not compared. Past 2²², float32 values are more than half
 * apart and trigonometry of them means little; WGSL specifies the accuracy of sin and cos only
 * on [−π, π] (lavapipe's holds to about 3·10⁶, and gives cos(10¹²) = 1).
 */
const GPU_RANGE = 2 ** 22;

const f32 = new Float32Array(1), bits = new Int32Array(f32.buffer);

/** A float32 value moved by one ulp towards zero (u < 1/3) or away from it (u > 2/3). */
function ulpNoise(f: number, u: number): number {
  if (f === 0 || !Number.isFinite(f) || (u >= 1 / 3 && u <= 2 / 3)) return f;
  f32[0] = f;
  bits[0] += u < 1 / 3 ? -1 : 1;
  return f32[0];
}

/** The reference near a case's inputs: two perturbations, and float32 rounding (float32 only). */
interface Conditioning {
  readonly delta: number;
  readonly R1: NDArray[];
  readonly R2: NDArray[];
  /** Every operation rounded to float32, when the dtype is float32. */
  readonly R32?: NDArray[];
  /** Whether that float32 computation met an infinity, a NaN or a value past GPU_RANGE. */
  readonly nonFinite: boolean;
}

async function conditioningOf(
  c: FuzzCase,
  g: GenredRoutine,
  values: readonly Float64Array[],
  eShape: number[] | undefined,
  dtype: Target["dtype"],
): Promise<Conditioning> {
  const delta = dtype === "float32" ? 2 ** -20 : 2 ** -40;
  const r = new Rand(c.seed ^ 0x5bd1e995);
  const [plus, minus] = perturbed(values, delta, r);
  const R1 = await reference(c, g, plus, eShape);
  const R2 = await reference(c, g, minus, eShape);
  if (dtype === "float64") return { delta, R1, R2, nonFinite: false };
  // The same computation on a float32 machine that rounds every operation to a neighbour of
  // the exact value (nearest, or one ulp either side, at random: Monte Carlo arithmetic).
  // Where that leaves float32's range, or lands far from the float64 value (cancellations
  // such as e^(F − max F) for a large F), the output is not compared, or compared loosely.
  let nonFinite = false;
  const old = setReferenceRounding((v) => {
    if (!(Math.abs(v) <= GPU_RANGE)) nonFinite = true;
    return ulpNoise(Math.fround(v), r.float());
  });
  try {
    const R32 = await reference(c, g, values, eShape);
    return { delta, R1, R2, R32, nonFinite };
  } finally {
    setReferenceRounding(old);
  }
}

/**
 * Runs a case on the reference and on each target.
 *
 * @param gpuArrays also pass the inputs as GPU arrays and take the result as one (gpu targets),
 *   and call the CPU targets through the synchronous path (`routine.sync`)
 */
export async function runCase(c: FuzzCase, targets: readonly Target[], gpuArrays = false): Promise<Outcome> {
  const findings: Finding[] = [];
  let compared = 0, skipped = 0;
  const say = (kind: Finding["kind"], target: string, detail: string) =>
    findings.push({ kind, target, detail, case: c });
  let g: GenredRoutine;
  try {
    g = routineOf(c);
  } catch (e) {
    const why = unclean(e);
    if (why) say("unclean error", "construction", why);
    return { findings, rejected: true, compared, skipped };
  }
  let values: Float64Array[];
  let R0: NDArray[];
  let eShape: number[] | undefined;
  try {
    values = [...c.values];
    if (c.grad) {
      // The cotangent: shaped like the forward output, its values from the seed.
      const { formula, aliases, options } = genredArgs(c);
      const fwd = (await Genred(formula, aliases, options)(...arrays(c, c.values, "float64"), {
        backend: "reference",
      })) as NDArray;
      eShape = [...fwd.shape];
      const r = new Rand(c.seed + 0x9e3779b9);
      values.push(Float64Array.from({ length: fwd.data.length }, () => Math.fround(r.float() * 2 - 1)));
    }
    R0 = await reference(c, g, values, eShape);
  } catch (e) {
    const why = unclean(e);
    if (why) say("unclean error", "reference", why);
    return { findings, rejected: true, compared, skipped };
  }
  // What the reference does near the inputs, per dtype (computed once for the targets that share it).
  const conditioning = new Map<string, Promise<Conditioning>>();
  const near = (dtype: Target["dtype"]) => {
    let p = conditioning.get(dtype);
    if (!p) conditioning.set(dtype, p = conditioningOf(c, g, values, eShape, dtype));
    return p;
  };
  for (const t of targets) {
    const name = `${t.backend} ${t.dtype}`;
    const { R1, R2, R32, nonFinite, delta } = await near(t.dtype);
    // WGSL lets implementations assume that no infinity or NaN occurs (drivers compile under
    // that assumption): the GPU engine makes them only where it is documented to (constants,
    // the edges of sqrt, log and friends, LogSumExp's NaN terms; tests/backends/
    // special_values_test.ts), so a case that computes one on the way is not compared there,
    // nor one whose values leave GPU_RANGE.
    if (t.backend === "gpu" && nonFinite) {
      skipped++;
      continue;
    }
    let got: NDArray[];
    try {
      let args: (NDArray | GpuArray)[] = shapeArgs(c, values, t.dtype, eShape);
      const onGpu = gpuArrays && t.backend === "gpu";
      if (onGpu) args = await Promise.all(args.map((a) => toGpu(a as NDArray)));
      const opts = { backend: t.backend, ranges: c.ranges, ...(onGpu ? { output: "gpu" as const } : {}) };
      const sync = gpuArrays && t.backend === "cpu";
      const out = await limited(
        (sync ? Promise.resolve().then(() => g.sync(...args, opts)) : g(...args, opts)) as Promise<Out>,
        60_000,
      );
      got = onGpu ? await Promise.all(parts(out).map((o) => fromGpu(o as unknown as GpuArray))) : parts(out);
    } catch (e) {
      if (e instanceof Hang) say("hang", name, e.message);
      else if (e instanceof UnsupportedError && !unclean(e)) continue; // a documented refusal
      else {
        const why = unclean(e);
        say(
          why ? "crash" : "unclean error",
          name,
          why ?? `${(e as Error).message} (the reference computes it)`,
        );
      }
      continue;
    }
    const rtol = t.dtype === "float32" ? 1e-4 : 1e-9, atol = t.dtype === "float32" ? 1e-5 : 1e-12;
    for (const [p, o] of got.entries()) {
      const ref = R0[p];
      if (o.shape.join() !== ref.shape.join()) {
        say("mismatch", name, `output ${p} has shape [${o.shape}], the reference [${ref.shape}]`);
        continue;
      }
      if ((o.data instanceof Int32Array) !== (ref.data instanceof Int32Array)) {
        say(
          "mismatch",
          name,
          `output ${p} is ${o.data.constructor.name}, the reference ${ref.data.constructor.name}`,
        );
        continue;
      }
      for (let q = 0; q < ref.data.length; q++) {
        const [a, b, b1, b2] = [o.data[q], ref.data[q], R1[p].data[q], R2[p].data[q]];
        const b32 = R32 ? R32[p].data[q] : b;
        if (Number.isNaN(b32) !== Number.isNaN(b) || Number.isFinite(b32) !== Number.isFinite(b)) {
          skipped++;
          continue;
        }
        const nan = Number.isNaN(b);
        if (nan || !Number.isFinite(b) || o.data instanceof Int32Array) {
          // Exact outcomes (NaN, ±∞, indices): compared when both perturbations agree.
          const same = (u: number) => (nan ? Number.isNaN(u) : u === b);
          if (!same(b1) || !same(b2) || !same(b32)) {
            skipped++;
            continue;
          }
          compared++;
          if (same(a)) continue;
          if (o.data instanceof Int32Array && await tied(c, values, q, o.data.length, a, b, delta)) continue;
          say("mismatch", name, `output ${p}[${q}] is ${a}, the reference ${b}`);
          continue;
        }
        if (!Number.isFinite(b1) || !Number.isFinite(b2)) {
          skipped++;
          continue;
        }
        const spread = Math.max(Math.abs(b1 - b), Math.abs(b2 - b), Math.abs(b32 - b));
        compared++;
        if (!(Math.abs(a - b) <= rtol * Math.abs(b) + 30 * spread + atol)) {
          say(
            "mismatch",
            name,
            `output ${p}[${q}] is ${a}, the reference ${b} (spread ${spread.toExponential(2)})`,
          );
        }
      }
    }
  }
  return { findings, rejected: false, compared, skipped };
}

/**
 * Whether index output q picks a term whose value equals the reference's pick within the
 * rounding of the dtype: a tie that rounding breaks either way (F evaluated at the two pairs
 * by the reference, on those rows alone).
 */
async function tied(
  c: FuzzCase,
  values: readonly Float64Array[],
  q: number,
  size: number,
  jGot: number,
  jRef: number,
  delta: number,
): Promise<boolean> {
  if (c.grad || jGot < 0 || jGot >= c.N) return false;
  const nb = c.batch.reduce((a, b) => a * b, 1), width = size / (nb * c.M);
  const row = Math.floor(q / width), b = Math.floor(row / c.M), i = row % c.M, comp = (q % width) % c.F.dim;
  const at = async (j: number) => {
    const picked = c.vars.map((v, k) => {
      const bb = c.varBatch[k].length && c.varBatch[k][0] !== 1 ? b : 0;
      const rows = rowsOf(c, v), r = v.cat === 0 ? i : v.cat === 1 ? j : 0;
      const o = (bb * rows + r) * v.dim;
      return values[k].slice(o, o + v.dim);
    });
    const one: FuzzCase = {
      ...c,
      M: 1,
      N: 1,
      batch: [],
      varBatch: c.vars.map(() => []),
      values: picked,
      reduction: "Sum",
      W: undefined,
      k: undefined,
    };
    const { formula, aliases } = genredArgs(one);
    const out = (await Genred(formula, aliases, { axis: 1 })(...arrays(one, picked, "float64"), {
      backend: "reference",
    })) as NDArray;
    return out.data[comp];
  };
  const [u, v] = [await at(jGot), await at(jRef)];
  return u === v || Math.abs(u - v) <= 64 * delta * Math.max(Math.abs(u), Math.abs(v));
}

/** Smaller variants of a tree: a node replaced by an argument of its dimension, or by a leaf. */
function* smallerTrees(n: Node, vars: FuzzCase["vars"]): Generator<Node> {
  for (const a of n.args) if (a.dim === n.dim) yield a;
  if (n.op !== "Var" && n.op !== "Zero" && n.op !== "IntCst") {
    for (const v of vars) if (v.dim === n.dim) yield make("Var", [], [v.ind, v.dim, v.cat], v.name);
    yield n.dim === 1 ? make("IntCst", [], [1]) : make("Zero", [], [n.dim]);
  }
  for (let k = 0; k < n.args.length; k++) {
    for (const s of smallerTrees(n.args[k], vars)) {
      const args = [...n.args];
      args[k] = s;
      try {
        yield make(n.op, args, n.params);
      } catch { /* not well-typed: skip */ }
    }
  }
}

/** Rows and values of a case cut to m and n rows (batches dropped). */
function resized(c: FuzzCase, m: number, n: number): FuzzCase {
  const values = c.vars.map((v, q) => {
    const rows = rowsOf(c, v);
    const keep = v.cat === 0 ? m : v.cat === 1 ? n : 1;
    return c.values[q].slice(0, Math.min(rows, keep) * v.dim);
  });
  // (Ranges describe the old sizes: a resized case has none.)
  return {
    ...c,
    M: m,
    N: n,
    batch: [],
    varBatch: c.vars.map(() => []),
    values,
    k: c.k && Math.min(c.k, n),
    ranges: undefined,
  };
}

/**
 * Shrinks a failing case: smaller formulas and sizes while the same kind of finding remains on
 * the same target; at most `budget` tries.
 */
export async function shrink(f: Finding, targets: readonly Target[], budget = 150): Promise<Finding> {
  let best = f;
  const target = targets.filter((t) => `${t.backend} ${t.dtype}` === f.target);
  const still = async (c: FuzzCase) => {
    try {
      const o = await runCase(c, target.length ? target : targets);
      return o.findings.find((x) => x.kind === f.kind && x.target === f.target);
    } catch {
      return undefined;
    }
  };
  let progress = true;
  while (progress && budget > 0) {
    progress = false;
    const c = best.case;
    const candidates: FuzzCase[] = [];
    if (c.M > 1 || c.N > 1 || c.batch.length) {
      candidates.push(resized(c, Math.max(1, c.M >> 1), Math.max(1, c.N >> 1)));
      candidates.push(resized(c, c.M, Math.max(1, c.N >> 1)), resized(c, Math.max(1, c.M >> 1), c.N));
    }
    if (c.grad) candidates.push({ ...c, grad: undefined });
    if (c.ranges) candidates.push({ ...c, ranges: undefined });
    for (const F of smallerTrees(c.F, c.vars)) candidates.push({ ...c, F });
    if (c.W) { for (const W of smallerTrees(c.W, c.vars)) candidates.push({ ...c, W }); }
    for (const cand of candidates) {
      if (--budget < 0) break;
      const hit = await still(cand);
      if (hit) {
        best = hit;
        progress = true;
        break;
      }
    }
  }
  return best;
}

/** A finding as a runnable reproducer: the Genred call, its inputs and what went wrong. */
export function reproducer(f: Finding): string {
  const c = f.case;
  const { formula, aliases, options } = genredArgs(c);
  const [backend, dtype] = f.target.split(" ");
  const Typed = dtype === "float64" ? "Float64Array" : "Float32Array";
  const shapes = c.vars.map((_, q) => shapeOf(c, q));
  const small = c.values.every((v) => v.length <= 24);
  const args = c.vars.map((v, q) =>
    small
      ? `ndarray(${Typed}.of(${Array.from(c.values[q]).join(", ")}), [${shapes[q]}])`
      : `${v.name} /* [${shapes[q]}] */`
  );
  return [
    `${f.kind} on ${f.target}: ${f.detail}`,
    `seed ${c.seed}${c.grad ? `, gradient with respect to "${c.grad}" (cotangent from the seed)` : ""}`,
    `const g = Genred(${JSON.stringify(formula)}, ${JSON.stringify(aliases)}, ${JSON.stringify(options)})${
      c.grad ? `.grad(${JSON.stringify(c.grad)})` : ""
    };`,
    `await g(${args.join(", ")}${c.grad ? ", e" : ""}, { backend: ${JSON.stringify(backend)}${
      c.ranges ? `, ranges: ${JSON.stringify(c.ranges)}` : ""
    } });`,
  ].join("\n");
}
