/**
 * Routines: what a `Genred` runs. A routine is a short list of stages over numbered slots
 * (arrays): the inputs first, then the outputs of stages. A forward `Genred` is one stage; its
 * gradients append stages, so that gradients of gradients are again routines.
 *
 * Stages:
 * - `reduce`: a reduction of formulas F (and a weight G) over the pairs (i, j), its output
 *   indexed by i (outCat 0), by j (outCat 1), or summed over both (outCat 2, for parameters);
 * - `sparse`: a sum of formulas over selected pairs only, (r, I[r, s]) for an index slot I
 *   (the gradients of Min, Max and KMin flow to the selected terms); O(rows·K) work.
 *
 * The gradient of a routine with respect to an input v, given a cotangent e of its output, is a
 * reverse sweep over the stages (vector-Jacobian products):
 *
 *     cot[out] = [e]
 *     for stage in reverse:   for each input u of stage that depends on v:
 *         cot[u] += vjp(stage, u, Σ cot[stage.out])     (new stages)
 *     return Σ cot[v]
 *
 * with, for a stage of formula F and output O:
 *   Sum              Σ Grad(F, u, E)
 *   LogSumExp        Σ Grad(F, u, E·e^(F−O))                  (with weight G:
 *                    Σ Grad(F, u, ⟨E·e^(F−O), G⟩) + Grad(G, u, E·e^(F−O)))
 *   SumSoftMaxWeight Σ Grad(G, u, w·E) + Grad(F, u, w·⟨E, G−O⟩),  w = e^(F−L), L = LogSumExp(F)
 *   Min, Max, KMin   Σ over the selected pairs of Grad(F_d, u, E_s)
 * each sum running over the pairs, indexed by u's category.
 *
 * @module
 */

import type { Cat, Node } from "../formula/tree.ts";
import { make } from "../formula/ops.ts";
import { dependsOn, lower } from "../formula/grad.ts";
import { isZero } from "../formula/build.ts";
import { isReduction, type ReductionName, REDUCTIONS } from "../formula/reductions.ts";
import { keyOf, variablesOf } from "../formula/tree.ts";
import {
  type Backend,
  batchOffsets,
  type BlockRanges,
  type DType,
  type ReduceOutput,
  sizeOf,
  type Slot,
  type SumScheme,
} from "../backends/backend.ts";
import { UnsupportedError } from "../formula/errors.ts";
import type { CheckedRanges } from "./ranges.ts";
import { compileProgram } from "../backends/reference_program.ts";
import { bindLoads, loadRow } from "../backends/reference.ts";
import { LruMap } from "../backends/lru.ts";
import { runAsync, runSync, type Steps, wait } from "../backends/steps.ts";

/** How many rows a slot has: the problem's M, its N, or one. */
export type Rows = "M" | "N" | "one";

/** The static description of a slot. */
export interface SlotSpec {
  readonly dim: number;
  readonly cat: 0 | 1 | 2;
  readonly rows: Rows;
  /** Whether it holds int32 indices. */
  readonly int?: boolean;
}

/** A reduction of formulas over the pairs, output by `outCat`. */
export interface ReduceStage {
  readonly kind: "reduce";
  readonly reduction: ReductionName;
  readonly F: Node;
  readonly G?: Node;
  readonly K: number;
  readonly outCat: 0 | 1 | 2;
  readonly iRows: Rows;
  readonly jRows: Rows;
  readonly out?: number;
  readonly outIdx?: number;
}

/** A sum over the pairs (r, I[r, s]) of formula terms[s], rows indexed by `rowCat`. */
export interface SparseStage {
  readonly kind: "sparse";
  readonly terms: readonly Node[];
  readonly index: number;
  readonly rowCat: 0 | 1;
  readonly outCat: 0 | 1 | 2;
  readonly iRows: Rows;
  readonly jRows: Rows;
  readonly out: number;
}

/** One stage. */
export type Stage = ReduceStage | SparseStage;

/** A routine: slots (inputs first), stages, and the slots it returns. */
export interface Routine {
  readonly slots: readonly SlotSpec[];
  readonly nInputs: number;
  readonly stages: readonly Stage[];
  /** The returned slots (one, or values and indices); -1 is "zeros of the shape of input `zerosOf`". */
  readonly outputs: readonly number[];
  readonly zerosOf?: number;
}

const sizeOfRows = (r: Rows, M: number, N: number) => (r === "M" ? M : r === "N" ? N : 1);

/** The variable node that reads slot `ind`. */
export function slotVar(r: { slots: readonly SlotSpec[] }, ind: number): Node {
  const s = r.slots[ind];
  return make("Var", [], [ind, s.dim, s.cat]);
}

function stageInputs(st: Stage): Node[] {
  return st.kind === "reduce"
    ? variablesOf(...[st.F, st.G].filter((x): x is Node => !!x))
    : variablesOf(...st.terms);
}

// ---------------------------------------------------------------------------------------------
// Gradients

/**
 * The slot of a routine's (first) output. An output that is identically zero (index −1) is
 * shaped like the input `zerosOf`; so is its cotangent, and its gradient is zero as well (no
 * stage reaches it).
 */
export function outputSpec(r: Routine): SlotSpec {
  const out = r.outputs[0];
  return r.slots[out >= 0 ? out : r.zerosOf!];
}

/**
 * The routine computing the gradient of `r`'s output with respect to input slot `v`, taking the
 * inputs of `r` followed by the cotangent e of `r`'s output.
 */
export function gradRoutine(r: Routine, v: number): Routine {
  if (r.outputs.length !== 1) {
    throw new TypeError("Cannot differentiate a reduction with two outputs (values and indices)");
  }
  const slots: SlotSpec[] = [...r.slots];
  const stages: Stage[] = [...r.stages];
  const out = r.outputs[0];
  const outSpec = outputSpec(r);
  // The cotangent e becomes input number nInputs; existing slots above it shift by one.
  const eInd = r.nInputs;
  const shift = (s: number) => (s >= eInd ? s + 1 : s);
  slots.splice(eInd, 0, { dim: outSpec.dim, cat: outSpec.cat, rows: outSpec.rows });
  const renum = (n: Node): Node => renumber(n, shift);
  for (let k = 0; k < stages.length; k++) stages[k] = shiftStage(stages[k], shift, renum);
  const target = shift(v);
  const add = (spec: SlotSpec) => (slots.push(spec), slots.length - 1);
  const V = (ind: number) => slotVar({ slots }, ind);

  // Which slots depend on v.
  const dep = new Set<number>([target]);
  for (const st of stages) {
    if (stageInputs(st).some((x) => dep.has(x.params[0] as number))) {
      if (st.kind === "reduce" && st.out !== undefined) dep.add(st.out);
      if (st.kind === "sparse") dep.add(st.out);
    }
  }
  const cot = new Map<number, number[]>([[shift(out), [eInd]]]);
  const sumOf = (list: number[]): number => {
    if (list.length === 1) return list[0];
    const spec = slots[list[0]];
    const formula = list.map(V).reduce((a, b) => make("Add", [a, b], []));
    const o = add({ dim: spec.dim, cat: spec.cat, rows: spec.rows });
    stages.push(sumStage(formula, spec, o));
    return o;
  };
  const forward = stages.length;
  for (let k = forward - 1; k >= 0; k--) {
    const st = stages[k];
    const o = st.kind === "reduce" ? st.out : st.out;
    if (o === undefined || !cot.has(o)) continue;
    const E = sumOf(cot.get(o)!);
    for (const u of stageInputs(st)) {
      const ui = u.params[0] as number;
      if (!dep.has(ui)) continue;
      const contribution = stageVjp(st, u, V(E), { slots, stages, add, V });
      if (contribution === undefined) continue;
      const list = cot.get(ui) ?? [];
      list.push(contribution);
      cot.set(ui, list);
    }
  }
  const res = cot.get(target);
  return {
    slots,
    nInputs: r.nInputs + 1,
    stages,
    outputs: res ? [sumOf(res)] : [-1],
    zerosOf: res ? undefined : target,
  };
}

interface Builder {
  slots: SlotSpec[];
  stages: Stage[];
  add(spec: SlotSpec): number;
  V(ind: number): Node;
}

/** A Sum stage of a formula whose output is indexed like `spec`. */
function sumStage(F: Node, spec: SlotSpec, out: number): ReduceStage {
  return {
    kind: "reduce",
    reduction: "Sum",
    F,
    K: 0,
    outCat: spec.cat,
    iRows: spec.cat === 0 ? spec.rows : "one",
    jRows: spec.cat === 1 ? spec.rows : "one",
    out,
  };
}

/** The slot spec of a gradient with respect to variable u, over a stage's pairs. */
function gradSpec(st: Stage, u: Node): SlotSpec {
  const cat = u.params[2] as 0 | 1 | 2;
  return { dim: u.dim, cat, rows: cat === 0 ? st.iRows : cat === 1 ? st.jRows : "one" };
}

const grad = (F: Node, u: Node, e: Node) => make("Grad", [F, u, e], []);
const plus = (a: Node | null, b: Node) => (a ? make("Add", [a, b], []) : b);

/** Appends the stages of one vector-Jacobian product; returns the contribution's slot. */
function stageVjp(st: Stage, u: Node, E: Node, b: Builder): number | undefined {
  const spec = gradSpec(st, u);
  const emitSum = (H: Node): number | undefined => {
    if (isZero(lower(H))) return undefined;
    const o = b.add(spec);
    b.stages.push({ ...sumStage(H, spec, o), iRows: st.iRows, jRows: st.jRows });
    return o;
  };
  if (st.kind === "sparse") {
    const terms = st.terms.map((t) => grad(t, u, E));
    if (terms.every((t) => isZero(lower(t)))) return undefined;
    const o = b.add(spec);
    b.stages.push({ ...st, terms, outCat: spec.cat, out: o });
    return o;
  }
  const def = REDUCTIONS[st.reduction];
  const { F, G } = st;
  const O = b.V(st.out!);
  const exp = (x: Node) => make("Exp", [x], []);
  const sub = (x: Node, y: Node) => make("Subtract", [x, y], []);
  const mul = (x: Node, y: Node) => make("Mult", [x, y], []);
  const sum = (x: Node) => (x.dim === 1 ? x : make("Sum", [x], []));
  switch (def.grad) {
    case "sum":
      return emitSum(grad(F, u, E));
    case "lse": {
      const w = exp(sub(F, O)); // e^(F − O), one weight per output component
      if (!G) return emitSum(grad(F, u, mul(E, w)));
      const Ew = mul(E, w);
      let H: Node | null = dependsOn(lower(F), u) ? grad(F, u, sum(mul(Ew, G))) : null;
      if (dependsOn(lower(G), u)) H = plus(H, grad(G, u, Ew));
      return H ? emitSum(H) : undefined;
    }
    case "softmax": {
      const L = b.add({ dim: 1, cat: st.outCat, rows: st.outCat === 0 ? st.iRows : st.jRows });
      b.stages.push({ ...st, reduction: "LogSumExp", G: undefined, out: L, outIdx: undefined });
      const w = exp(sub(F, b.V(L)));
      let H: Node | null = dependsOn(lower(G!), u) ? grad(G!, u, mul(w, E)) : null;
      if (dependsOn(lower(F), u)) H = plus(H, grad(F, u, mul(w, sum(mul(E, sub(G!, O))))));
      return H ? emitSum(H) : undefined;
    }
    case "select": {
      const D = F.dim, S = Math.max(1, st.K) * D;
      const I = b.add({ dim: S, cat: st.outCat, rows: st.outCat === 0 ? st.iRows : st.jRows, int: true });
      b.stages.push({ ...st, reduction: def.selector!, out: undefined, outIdx: I });
      const terms = [...Array(S).keys()].map((s) => {
        const Fd = D === 1 ? F : make("Elem", [F], [s % D]);
        const Es = S === 1 ? E : make("Elem", [E], [s]);
        return grad(Fd, u, Es);
      });
      const o = b.add(spec);
      b.stages.push({
        kind: "sparse",
        terms,
        index: I,
        rowCat: st.outCat as 0 | 1,
        outCat: spec.cat,
        iRows: st.iRows,
        jRows: st.jRows,
        out: o,
      });
      return o;
    }
    case "zero":
      return undefined;
    default:
      throw new TypeError(
        `Cannot differentiate the ${st.reduction} reduction: use Sum, LogSumExp, LogSumExpWeight, SumSoftMaxWeight, Min, Max or KMin`,
      );
  }
}

function renumber(n: Node, shift: (s: number) => number): Node {
  if (n.op === "Var") {
    const [ind, dim, cat] = n.params as number[];
    return shift(ind) === ind ? n : make("Var", [], [shift(ind), dim, cat], n.label);
  }
  const args = n.args.map((a) => renumber(a, shift));
  return args.every((a, k) => a === n.args[k]) ? n : make(n.op, args, n.params);
}

function shiftStage(st: Stage, shift: (s: number) => number, renum: (n: Node) => Node): Stage {
  if (st.kind === "sparse") {
    return { ...st, terms: st.terms.map(renum), index: shift(st.index), out: shift(st.out) };
  }
  return {
    ...st,
    F: renum(st.F),
    G: st.G && renum(st.G),
    out: st.out === undefined ? undefined : shift(st.out),
    outIdx: st.outIdx === undefined ? undefined : shift(st.outIdx),
  };
}

// ---------------------------------------------------------------------------------------------
// Execution

/** Exchanges i and j: Var(k,d,0) ↔ Var(k,d,1). */
export function swapIJ(n: Node): Node {
  if (n.op === "Var") {
    const [ind, dim, cat] = n.params as number[];
    return cat < 2 ? make("Var", [], [ind, dim, 1 - cat], n.label) : n;
  }
  const args = n.args.map(swapIJ);
  return args.every((a, k) => a === n.args[k]) ? n : make(n.op, args, n.params);
}

/** The run-time context of a routine. */
export interface RunContext {
  readonly backend: Backend;
  readonly dtype: DType;
  readonly batch: readonly number[];
  readonly M: number;
  readonly N: number;
  /** Leave the outputs on the GPU (on the GPU engine; intermediates stay there in any case). */
  readonly keepOnDevice?: boolean;
  /** Block-sparse: the pairs kept, for outputs indexed by i and by j (see `ranges.ts`). */
  readonly ranges?: CheckedRanges;
  /** The sums' accumulation (default: block sums in the data's dtype). */
  readonly accuracy?: { readonly acc64: boolean; readonly scheme: SumScheme };
  /** Run every reduction synchronously, on the calling thread (`CompiledReduction.runSync`). */
  readonly sync?: boolean;
}

/** Compiled plans per engine, by formula: the most recently used (a bounded cache). */
const compiled = new WeakMap<Backend, LruMap<string, ReturnType<Backend["compile"]>>>();
const PLANS_KEPT = 512;

/** The formulas an engine evaluates for a reduce stage (F and the weight W), lowered. */
export function stagePlanFormulas(st: ReduceStage): Node[] {
  const swap = st.outCat === 1 ? swapIJ : (n: Node) => n;
  const F = lower(swap(st.F));
  const def = REDUCTIONS[st.reduction];
  if (def.family !== "lse") return [F];
  const one = make("IntCst", [], [1]);
  const G = st.G ? lower(swap(st.G)) : one;
  return [F, st.reduction === "SumSoftMaxWeight" ? make("Concat", [one, G], []) : G];
}

function* reduceSteps(
  st: ReduceStage,
  values: Map<number, Slot>,
  ctx: RunContext,
  specs: readonly SlotSpec[],
  keep: boolean,
): Steps<void> {
  if (!isReduction(st.reduction)) throw new TypeError(`Unknown reduction ${st.reduction}`);
  const formulas = stagePlanFormulas(st);
  const def = REDUCTIONS[st.reduction];
  const dims = { D: formulas[0].dim, K: st.K, Dw: formulas[1]?.dim ?? 1 };
  const sums = def.family === "sum" || def.family === "lse";
  const acc = sums ? ctx.accuracy : undefined;
  // float64 accumulation: compensated sums on the GPU (no float64 there); on the CPU engines,
  // which keep float64 totals anyway, the whole plan in float64 (terms too).
  const sumScheme: SumScheme = acc?.acc64 ? "kahan" : acc?.scheme ?? "block";
  const promote = ctx.dtype === "float32" &&
    (ctx.backend.name === "cpu" || ctx.backend.name === "cpu-rust") &&
    sumScheme === "kahan";
  const dtype = promote ? "float64" : ctx.dtype;
  // Structural ids: linear in the formulas' size (their JSON grows exponentially with sharing).
  const key = `${st.reduction}|${st.K}|${dtype}|${sumScheme}|${formulas.map(keyOf).join("|")}`;
  let cache = compiled.get(ctx.backend);
  if (!cache) compiled.set(ctx.backend, cache = new LruMap(PLANS_KEPT));
  let c = cache.get(key);
  if (!c) cache.set(key, c = ctx.backend.compile({ reduction: def, dims, formulas, dtype, sumScheme }));
  const [iR, jR] = st.outCat === 1 ? [st.jRows, st.iRows] : [st.iRows, st.jRows];
  const M = sizeOfRows(iR, ctx.M, ctx.N), N = sizeOfRows(jR, ctx.M, ctx.N);
  const slots = new Map<number, Slot>();
  for (const v of variablesOf(...formulas)) {
    const s = values.get(v.params[0] as number)!;
    slots.set(
      v.params[0] as number,
      promote && !(s.data instanceof Float64Array) ? { ...s, data: Float64Array.from(s.data) } : s,
    );
  }
  let ranges: BlockRanges | undefined;
  if (ctx.ranges) {
    // The ranges speak of the problem's rows: a stage whose formulas lack the i- or the
    // j-variables (one row) cannot be restricted to them.
    if (M !== (st.outCat === 1 ? ctx.N : ctx.M) || N !== (st.outCat === 1 ? ctx.M : ctx.N)) {
      throw new UnsupportedError(
        "Block-sparse ranges need a formula with both i- and j-variables: add the missing variable or drop the ranges",
      );
    }
    ranges = st.outCat === 1 ? ctx.ranges.j : ctx.ranges.i;
  }
  // A synchronous GPU run cannot read back: a parameter's per-row terms stay on the device too,
  // and are summed there (below).
  const deviceSums = !!ctx.sync && ctx.backend.name === "gpu";
  const inputs = {
    slots,
    batch: ctx.batch,
    M,
    N,
    keepOnDevice: keep && (st.outCat !== 2 || deviceSums),
    ranges,
  };
  let res: ReduceOutput;
  if (ctx.sync) {
    if (!c.runSync) {
      throw new UnsupportedError(
        `The ${ctx.backend.name} engine has no synchronous path here: use the CPU engine (backend "cpu") or await the call`,
      );
    }
    res = c.runSync(inputs);
  } else res = yield* wait(c.run(inputs));
  if (res.device) {
    // Empty host data of the slot's own type: int32 for indices, which is what fromGpu reads.
    const onDevice = (slot: number, gpu: GPUBuffer | undefined, data: Float32Array | Int32Array) =>
      values.set(slot, { data, gpu, batch: ctx.batch, rows: M, dim: specs[slot].dim });
    if (st.outCat === 2 && st.out !== undefined) {
      // Σ over the rows of the per-row terms, on the device: a Sum over j of a j-variable
      // holding them, with one output row.
      const rows = ROW_TERMS;
      values.set(rows, {
        data: new Float32Array(0),
        gpu: res.device.values,
        batch: ctx.batch,
        rows: M,
        dim: specs[st.out].dim,
      });
      try {
        const F = make("Var", [], [rows, specs[st.out].dim, 1]);
        yield* deviceSum(F, 0, "one", iR, st.out, values, ctx, specs, keep);
      } finally {
        res.device.values?.destroy();
        values.delete(rows);
      }
      return;
    }
    if (st.out !== undefined) onDevice(st.out, res.device.values, new Float32Array(0));
    if (st.outIdx !== undefined) onDevice(st.outIdx, res.device.indices, new Int32Array(0));
    return;
  }
  if (st.out !== undefined) {
    let data = res.values!;
    let rows = M;
    if (st.outCat === 2) {
      data = sumRows(data, sizeOf(ctx.batch), M, specs[st.out].dim);
      rows = 1;
    }
    values.set(st.out, { data, batch: ctx.batch, rows, dim: specs[st.out].dim });
  }
  if (st.outIdx !== undefined) {
    values.set(st.outIdx, { data: res.indices!, batch: ctx.batch, rows: M, dim: specs[st.outIdx].dim });
  }
}

/**
 * Slots of intermediates that only the synchronous GPU path makes (numbered far above any
 * routine's): per-row terms of a parameter's gradient, and a sparse stage's selected indices as
 * floats and the indices 0…n−1 of the terms they select from.
 */
const ROW_TERMS = 1 << 29, SELECTED = ROW_TERMS + 1, TERM_INDEX = ROW_TERMS + 2;

/** A Sum stage of F made at run time by the synchronous GPU path (over all pairs: no ranges). */
function deviceSum(
  F: Node,
  outCat: 0 | 1 | 2,
  iRows: Rows,
  jRows: Rows,
  out: number,
  values: Map<number, Slot>,
  ctx: RunContext,
  specs: readonly SlotSpec[],
  keep: boolean,
): Steps<void> {
  const stage: ReduceStage = { kind: "reduce", reduction: "Sum", F, K: 0, outCat, iRows, jRows, out };
  return reduceSteps(stage, values, { ...ctx, ranges: undefined }, specs, keep);
}

/**
 * A sparse stage on the device, for the synchronous GPU path (which cannot read the selected
 * indices back): the sum over the selected pairs (r, I[r, s]) of terms[s] becomes a Sum over all
 * pairs (r, j) of Σ_s [j = I[r, s]]·terms[s](r, j), the selection an IfElse on j − I[r, s]
 * (exact: indices below 2^24 are exact floats), so that a term not selected, even infinite,
 * adds nothing. O(rows × terms) work instead of O(rows × S), all of it on the GPU.
 */
function* sparseOnDevice(
  st: SparseStage,
  values: Map<number, Slot>,
  ctx: RunContext,
  specs: readonly SlotSpec[],
  keep: boolean,
): Steps<GPUBuffer[]> {
  const helpers = ctx.backend.device;
  if (!helpers) throw new UnsupportedError(`The ${ctx.backend.name} engine keeps no arrays on a device`);
  const idx = values.get(st.index)!;
  if (!idx.gpu) throw new TypeError("Internal error: a sparse stage's indices are not on the device");
  const S = idx.dim, selCat = (1 - st.rowCat) as 0 | 1;
  const rowsOf = (cat: 0 | 1) => sizeOfRows(cat === 0 ? st.iRows : st.jRows, ctx.M, ctx.N);
  const selected = helpers.indexFloats(idx.gpu, sizeOf(ctx.batch) * idx.rows * S);
  const termIndex = helpers.ramp(rowsOf(selCat));
  values.set(SELECTED, {
    data: new Float32Array(0),
    gpu: selected,
    batch: idx.batch,
    rows: idx.rows,
    dim: S,
  });
  values.set(TERM_INDEX, {
    data: new Float32Array(0),
    gpu: termIndex,
    batch: ctx.batch.map(() => 1),
    rows: rowsOf(selCat),
    dim: 1,
  });
  const I = make("Var", [], [SELECTED, S, st.rowCat]), J = make("Var", [], [TERM_INDEX, 1, selCat]);
  const picked = st.terms.map((t, s) => {
    const Is = S === 1 ? I : make("Elem", [I], [s]);
    const miss = make("Minus", [make("Square", [make("Subtract", [J, Is], [])], [])], []); // 0 iff j = I[r, s]
    return make("IfElse", [miss, t, make("Zero", [], [t.dim])], []);
  });
  const F = picked.reduce((a, b) => make("Add", [a, b], []));
  try {
    yield* deviceSum(F, st.outCat, st.iRows, st.jRows, st.out, values, ctx, specs, keep);
  } finally {
    values.delete(SELECTED);
    values.delete(TERM_INDEX);
  }
  return [selected, termIndex];
}

function sumRows(data: Float32Array | Float64Array, nb: number, rows: number, d: number): Float64Array {
  const out = new Float64Array(nb * d);
  for (let b = 0; b < nb; b++) {
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < d; k++) out[b * d + k] += data[(b * rows + r) * d + k];
    }
  }
  return out;
}

/** Sums terms over the selected pairs, in float64 on the reference interpreter. */
function runSparse(st: SparseStage, values: Map<number, Slot>, ctx: RunContext, specs: readonly SlotSpec[]) {
  const swap = st.rowCat === 1;
  const terms = st.terms.map((t) => lower(swap ? swapIJ(t) : t));
  const progs = terms.map((t) => compileProgram([t], 1));
  const [iR, jR] = swap ? [st.jRows, st.iRows] : [st.iRows, st.jRows];
  const R = sizeOfRows(iR, ctx.M, ctx.N), J = sizeOfRows(jR, ctx.M, ctx.N);
  const idx = values.get(st.index)!;
  const idxOffs = batchOffsets(idx, ctx.batch);
  const S = idx.dim, d = specs[st.out].dim;
  // Output rows: by the stage's rows (i), by the selected index (j), or one row.
  const outBy = st.outCat === 2 ? "one" : (st.outCat === st.rowCat ? "row" : "col");
  const outRows = outBy === "row" ? R : outBy === "col" ? J : 1;
  const nb = sizeOf(ctx.batch);
  const out = new Float64Array(nb * outRows * d);
  const bound = progs.map((p) => bindLoads(p.loads, { slots: slotsOf(values, p.loads), batch: ctx.batch }));
  for (let b = 0; b < nb; b++) {
    for (let r = 0; r < R; r++) {
      for (let s = 0; s < S; s++) {
        const j = idx.data[idxOffs[b] + r * S + s];
        for (const { load, slot, offs } of bound[s]) {
          loadRow(load, slot, offs[b], load.cat === 0 ? r : load.cat === 1 ? j : 0);
        }
        progs[s].run(1);
        const res = progs[s].results[0].buf;
        const row = outBy === "row" ? r : outBy === "col" ? j : 0;
        for (let k = 0; k < d; k++) out[(b * outRows + row) * d + k] += res[res.length === 1 ? 0 : k];
      }
    }
  }
  values.set(st.out, { data: out, batch: ctx.batch, rows: outRows, dim: d });
}

function slotsOf(values: Map<number, Slot>, loads: readonly { ind: number }[]) {
  return new Map(loads.map((l) => [l.ind, values.get(l.ind)!]));
}

/**
 * Runs a routine's stages on its inputs; returns the output slots (one or two). On the GPU
 * engine, what one reduction gives another stays on the device (the next stage copies it
 * there): only what the host needs is read back, namely the inputs of sparse stages (which
 * run on the host), sums over rows, and the outputs unless the caller keeps them on the GPU.
 */
export function runRoutine(r: Routine, inputs: readonly Slot[], ctx: RunContext): Promise<Slot[]> {
  return runAsync(routineSteps(r, inputs, { ...ctx, sync: false }));
}

/** `runRoutine`, synchronously on the calling thread (the engine must have `runSync`). */
export function runRoutineSync(r: Routine, inputs: readonly Slot[], ctx: RunContext): Slot[] {
  return runSync(routineSteps(r, inputs, { ...ctx, sync: true }));
}

/** The body of `runRoutine` and `runRoutineSync`. */
export function* routineSteps(r: Routine, inputs: readonly Slot[], ctx: RunContext): Steps<Slot[]> {
  const values = new Map<number, Slot>();
  inputs.forEach((s, k) => values.set(k, s));
  const onHost = new Set<number>(ctx.keepOnDevice ? [] : r.outputs);
  // The synchronous GPU path runs sparse stages on the device too.
  const deviceSparse = !!ctx.sync && ctx.backend.name === "gpu";
  for (const st of r.stages) {
    if (st.kind === "sparse" && !deviceSparse) {
      onHost.add(st.index);
      for (const v of variablesOf(...st.terms)) onHost.add(v.params[0] as number);
    }
  }
  const gpu = ctx.backend.name === "gpu";
  const made: GPUBuffer[] = [];
  try {
    for (const st of r.stages) {
      if (st.kind === "reduce") {
        const keep = gpu && [st.out, st.outIdx].every((o) => o === undefined || !onHost.has(o));
        yield* reduceSteps(st, values, ctx, r.slots, keep);
        for (const o of [st.out, st.outIdx]) {
          const b = o === undefined ? undefined : values.get(o)?.gpu;
          if (b && o !== undefined && o >= r.nInputs) made.push(b);
        }
      } else if (deviceSparse) {
        const keep = !onHost.has(st.out);
        made.push(...(yield* sparseOnDevice(st, values, ctx, r.slots, keep)));
        const b = values.get(st.out)?.gpu;
        if (b && st.out >= r.nInputs) made.push(b);
      } else runSparse(st, values, ctx, r.slots);
    }
  } finally {
    // The intermediates' buffers go; the outputs' stay with the caller.
    const kept = new Set(r.outputs.map((o) => values.get(o)?.gpu));
    for (const b of made) if (!kept.has(b)) b.destroy();
  }
  return r.outputs.map((o) => {
    if (o >= 0) return values.get(o)!;
    // Sized from the slot's shape: an input on the GPU has no host data.
    const like = inputs[r.zerosOf!];
    const size = sizeOf(like.batch) * like.rows * like.dim;
    return { data: new Float64Array(size), batch: like.batch, rows: like.rows, dim: like.dim };
  });
}

/** A one-stage routine: the reduction of F (weight G) over the inputs described by `slots`. */
export function forwardRoutine(
  slots: SlotSpec[],
  reduction: ReductionName,
  F: Node,
  G: Node | undefined,
  K: number,
  outCat: 0 | 1,
): Routine {
  const def = REDUCTIONS[reduction];
  const used = variablesOf(...[F, G].filter((x): x is Node => !!x));
  const hasCat = (c: Cat) => used.some((v) => v.params[2] === c);
  const iRows: Rows = hasCat(0) ? "M" : "one", jRows: Rows = hasCat(1) ? "N" : "one";
  const rows = outCat === 0 ? iRows : jRows;
  const D = F.dim;
  const Dw = G ? G.dim + (reduction === "SumSoftMaxWeight" ? 1 : 0) : 1;
  const shape = def.shape({ D, K, Dw });
  const all = [...slots];
  const width = (s?: number[]) => (s ? s.reduce((a, b) => a * b, 1) : 0);
  let out: number | undefined, outIdx: number | undefined;
  if (shape.values) out = all.push({ dim: width(shape.values), cat: outCat, rows }) - 1;
  if (shape.indices) outIdx = all.push({ dim: width(shape.indices), cat: outCat, rows, int: true }) - 1;
  return {
    slots: all,
    nInputs: slots.length,
    stages: [{ kind: "reduce", reduction, F, G, K, outCat, iRows, jRows, out, outIdx }],
    outputs: [out, outIdx].filter((x): x is number => x !== undefined),
  };
}
