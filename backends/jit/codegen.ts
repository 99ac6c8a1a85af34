/**
 * The formula compiler: one WebAssembly function per plan, the whole pair loop fused.
 *
 * Output rows go in SIMD lanes (L = 4 float32 or 2 float64 rows per v128) and R lane groups
 * are processed together (G = L·R rows per pass), so that every j-value loaded serves G rows,
 * and the reduction's fold is per lane: no horizontal operation inside the loop, and each lane
 * computes exactly what a scalar loop over j would (a row's result never depends on which rows
 * share its pass, so threads give the same bits as one thread). Each node of the formula is
 * classified by what it depends on, and its code placed where it is computed once:
 *
 *     uniform (parameters, constants)   the prologue, once per call
 *     row     (i-variables)             once per pass of G rows, per lane group
 *     column  (j-variables only)        once per j, shared by the G rows
 *     pair    (both)                    once per j, per lane group
 *
 * Memory (laid out by `driver.ts`): i-variables in groups of L rows, component-major within a
 * group, ((i/L)·d + c)·L + i%L, so one v128 load gives component c of L rows; j-variables and
 * parameters row-major (one splat load per component); accumulators in float64 with the
 * layouts of `formula/reductions.ts`. A header of 32-bit words describes a call:
 *
 *     [2] terms jb   [3] first row   [4] end row   [5] global index of the first term
 *     [6] this thread's scratch memory (KMin's lists)
 *     [16] accumulator of the first row             [22 + v] base address of variable v
 *
 * Folds: Sum adds blocks of `SUM_BLOCK` terms in the lane type into the float64 totals (a block
 * sum); Min/Max/Arg* keep (value, index) lanes with strict comparisons (the first index wins);
 * KMin/ArgKMin keep K sorted (value, index) lanes, skipping every term that no lane of the pass
 * can take with one comparison against the K-th value; the LogSumExp family keeps a running
 * maximum m and sums s with one exponential per term: e = e^(−|F − m|), then s·e + W when
 * F > m (the new maximum) and s + e·W otherwise, in blocks of `SUM_BLOCK` terms merged into
 * float64 totals as the sums are.
 *
 * @module
 */

import type { Node } from "../../formula/tree.ts";
import { keyOf } from "../../formula/tree.ts";
import { make, opDef } from "../../formula/ops.ts";
import type { ReducePlan } from "../backend.ts";
import type { Evaluated } from "../wasm/opcodes.ts";
import { Emitter, F32X4, F64X2, HOST_FUNCTIONS, relaxedSimd, type V } from "./emit.ts";
import { RULES } from "./ops.ts";
import { exp } from "./simd_math.ts";
import { F64, moduleBytes, OP, SIMD } from "./wasm_writer.ts";

/** Terms per block of the block sum. */
export const SUM_BLOCK = 64;

/** Header words before the variables' addresses. */
export const HEADER_WORDS = 22;

/** A variable the generated code reads: its slot, dimension and category (0 i, 1 j, 2 parameter). */
export interface JitVar {
  readonly slot: number;
  readonly dim: number;
  readonly cat: number;
}

/** The generated code of a plan. */
export interface JitCode {
  /** The module's bytes, importing an unshared or a shared memory. */
  bytes(shared: boolean): Uint8Array<ArrayBuffer>;
  readonly vars: readonly JitVar[];
  /** Lanes per v128 and rows per pass. */
  readonly L: number;
  readonly G: number;
  /** float64 words of one row's accumulator. */
  readonly accSize: number;
  /** Bytes of scratch memory one thread needs (header word 6 gives its address). */
  readonly scratchBytes: number;
}

/** Why a plan is left to the Rust engine. */
export class NotCompiled extends Error {}

/** Most v128 values a generated function may hold (beyond it, the Rust engine runs the plan). */
const MAX_VALUES = 60000;

interface Info {
  readonly node: Node;
  /** Bit 1: depends on i; bit 2: depends on j. */
  readonly level: number;
  /** Components per lane group (one group unless the node depends on i). */
  vals: V[][];
}

/**
 * Moves scalar factors out of vector products, so that a scalar is scaled once rather than
 * every component: s·(c·v) = (s·c)·v and −(s·v) = (−s)·v for scalars s, c and a vector v (the
 * shapes gradients take, e.g. k·(2·(x − y))). Exact in real arithmetic; in floating point each
 * component is rounded as often as before.
 */
function hoistScalars(n: Node, memo: Map<string, Node>): Node {
  if (n.args.length === 0) return n;
  const key = keyOf(n);
  const hit = memo.get(key);
  if (hit) return hit;
  const args = n.args.map((a) => hoistScalars(a, memo));
  let out: Node = args.every((a, k) => a === n.args[k]) ? n : make(n.op, args, n.params);
  const [a, b] = args;
  if (n.op === "Mult" && n.dim > 1) {
    for (const [s, v] of [[a, b], [b, a]]) {
      if (s.dim === 1 && v.op === "Mult" && v.dim > 1) {
        const [c, w] = v.args[0].dim === 1 ? v.args : v.args[1].dim === 1 ? [v.args[1], v.args[0]] : [];
        if (c && w.dim > 1) {
          out = make("Mult", [make("Mult", [s, c], []), w], []);
          break;
        }
      }
    }
  } else if (n.op === "Minus" && n.dim > 1 && a.op === "Mult") {
    const [s, v] = a.args[0].dim === 1 ? a.args : a.args[1].dim === 1 ? [a.args[1], a.args[0]] : [];
    if (s && v.dim > 1) out = make("Mult", [make("Minus", [s], []), v], []);
  }
  memo.set(key, out);
  return out;
}

/** Family and accumulator size as the reductions' kernels. */
function familyOf(plan: ReducePlan): { fam: "sum" | "extremum" | "kmin" | "lse"; max: boolean; acc: number } {
  const { D, K, Dw } = plan.dims, name = plan.reduction.name;
  const fam = plan.reduction.family;
  const max = name.startsWith("Max") || name === "ArgMax";
  const acc = fam === "sum" ? D : fam === "extremum" ? 2 * D : fam === "kmin" ? 2 * K * D : 1 + Dw;
  return { fam, max, acc };
}

/**
 * Generates the code of a plan, or throws `NotCompiled` when an operation has no rule here.
 *
 * @example
 * ```ts
 * import { generate } from "./codegen.ts";
 * import { make } from "../../formula/ops.ts";
 * import { REDUCTIONS } from "../../formula/reductions.ts";
 * import assert from "node:assert/strict";
 * const x = make("Var", [], [0, 3, 0]), y = make("Var", [], [1, 3, 1]);
 * const f = make("Exp", [make("Minus", [make("Sum", [make("Square", [make("Subtract", [x, y], [])], [])], [])], [])], []);
 * const code = generate({ reduction: REDUCTIONS.Sum, dims: { D: 1, K: 0, Dw: 1 }, formulas: [f], dtype: "float32" });
 * assert.ok(code.L === 4 && WebAssembly.validate(code.bytes(false)));
 * ```
 */
export function generate(plan: ReducePlan, options: { fma?: boolean } = {}): JitCode {
  const t = plan.dtype === "float64" ? F64X2 : F32X4;
  const L = t.L, es = t.es;
  const { fam, max, acc: accSize } = familyOf(plan);
  const { D, K, Dw } = plan.dims;

  // ---- the DAG, in dependency order, with levels -------------------------------------------
  const infos = new Map<string, Info>();
  const order: Info[] = [];
  const vars: JitVar[] = [];
  const varIndex = new Map<string, number>();
  const visit = (n: Node): Info => {
    const key = keyOf(n);
    const hit = infos.get(key);
    if (hit) return hit;
    let level = 0;
    if (n.op === "Var") {
      const [slot, dim, cat] = n.params as number[];
      if (cat > 2) throw new NotCompiled(`temporary variable`);
      level = cat === 0 ? 1 : cat === 1 ? 2 : 0;
      const vk = `${slot}:${cat}`;
      if (!varIndex.has(vk)) varIndex.set(vk, vars.push({ slot, dim, cat }) - 1);
    } else {
      const kind = opDef(n.op).kind;
      if (kind !== "leaf") {
        if (kind !== "elementwise" && kind !== "vector") throw new NotCompiled(`${n.op} before lowering`);
        if (!RULES[n.op as Evaluated]) throw new NotCompiled(`no rule for ${n.op}`);
        for (const a of n.args) level |= visit(a).level;
      }
    }
    const info: Info = { node: n, level, vals: [] };
    infos.set(key, info);
    order.push(info);
    return info;
  };
  const results = plan.formulas.map((f) => visit(hoistScalars(f, new Map())));
  const F = results[0], W = results[1];

  const e = new Emitter(t, options.fma ?? relaxedSimd());
  const b = e.body;
  const [h, jb, i, iEnd, j0, ap, j, jEnd] = [
    0,
    e.i32(),
    e.i32(),
    e.i32(),
    e.i32(),
    e.i32(),
    e.i32(),
    e.i32(),
  ];
  const base = vars.map(() => e.i32());
  const ptr = vars.map((v) => (v.cat === 2 ? -1 : e.i32()));
  b.get(h).mem(OP.i32_load, 2, 8).set(jb);
  b.get(h).mem(OP.i32_load, 2, 12).set(i);
  b.get(h).mem(OP.i32_load, 2, 16).set(iEnd);
  b.get(h).mem(OP.i32_load, 2, 20).set(j0);
  b.get(h).mem(OP.i32_load, 2, 64).set(ap);
  const sp = e.i32();
  b.get(h).mem(OP.i32_load, 2, 24).set(sp);
  vars.forEach((_, k) => b.get(h).mem(OP.i32_load, 2, 4 * (HEADER_WORDS + k)).set(base[k]));
  const varOf = (n: Node) => varIndex.get(`${(n.params as number[])[0]}:${(n.params as number[])[2]}`)!;

  const valsOf = (info: Info, r: number) => info.vals[info.level & 1 ? r : 0];
  const argVals = (a: Node, r: number) => valsOf(infos.get(keyOf(a))!, r);
  const at = (v: readonly V[], c: number) => v[v.length === 1 ? 0 : c];
  const infoOf = (n: Node) => infos.get(keyOf(n))!;
  /**
   * A sum of products: Sum(Square(d)) = Σ d_c·d_c (when d = Subtract(a, b), d need not exist:
   * its components are formed at use) or Sum(Mult(a, b)) = Σ a_c·b_c (scalar products).
   */
  const sumOfProducts = (n: Node): { d: Node } | { a: Node; b: Node } | undefined =>
    n.op !== "Sum"
      ? undefined
      : n.args[0].op === "Square"
      ? { d: n.args[0].args[0] }
      : n.args[0].op === "Mult"
      ? { a: n.args[0].args[0], b: n.args[0].args[1] }
      : undefined;
  /** Components past which a sum of products of an i- and a j-variable runs as a loop. */
  const LOOP_DIM = 64;
  /**
   * For Σ(x − y)² or Σ x·y of an i-variable x and a j-variable y of dimension ≥ LOOP_DIM, the
   * pair (x, y): such sums are emitted as a loop over components (`emitComponentLoop`) rather
   * than unrolled, so that a 784-dimensional kNN is a small function.
   */
  const loopOperands = (n: Node): [Node, Node] | undefined => {
    const p = sumOfProducts(n);
    if (!p || n.args[0].dim < LOOP_DIM || infoOf(n).level !== 3) return undefined;
    const pair = "d" in p
      ? (p.d.op === "Subtract" && !needed.has(infoOf(p.d)) ? p.d.args : undefined)
      : [p.a, p.b];
    if (!pair || pair.some((x) => x.op !== "Var" || x.dim !== n.args[0].dim)) return undefined;
    const cat = (x: Node) => (x.params as number[])[2];
    if (cat(pair[0]) === 0 && cat(pair[1]) === 1) return [pair[0], pair[1]];
    if (cat(pair[0]) === 1 && cat(pair[1]) === 0) return [pair[1], pair[0]];
    return undefined;
  };
  /** The product argument of a·b + c (either argument of Add) or c − a·b (Subtract's second). */
  // Only in the loop over terms (column and pair values): values computed once per call or per
  // pass keep one rounding per operation, so that a constant expression with a discontinuity
  // (Floor, Mod, comparisons) decides as the per-operation rounding of every other engine does.
  const multAdd = (n: Node) =>
    !e.fma || infoOf(n).level < 2
      ? -1
      : n.op === "Add"
      ? n.args.findIndex((a) => a.op === "Mult")
      : n.op === "Subtract" && n.args[1].op === "Mult"
      ? 1
      : -1;
  const foldsProduct = e.fma && fam === "sum" && F.node.op === "Mult";

  // ---- which nodes are emitted: those some emitted node or the fold reads --------------------
  const needed = new Set<Info>();
  const need = (n: Node) => {
    const info = infoOf(n);
    if (needed.has(info)) return;
    needed.add(info);
    const p = sumOfProducts(n), k = multAdd(n);
    if (p && "d" in p) (p.d.op === "Subtract" ? p.d.args : [p.d]).forEach(need);
    else if (p) [p.a, p.b].forEach(need);
    else if (k >= 0) [...n.args[k].args, n.args[1 - k]].forEach(need);
    else n.args.forEach(need);
  };
  if (foldsProduct) F.node.args.forEach(need);
  else need(F.node);
  if (W) need(W.node);

  // ---- lane groups per pass: as many as the live values allow ------------------------------
  // Four groups (16 float32 rows) make each j-load serve 16 rows and give the out-of-order core
  // four independent chains; very large bodies take fewer, so that their values stay in reach.
  let pairWork = 0;
  for (const info of needed) {
    if (info.level !== 3) continue;
    pairWork += loopOperands(info.node) ? 16 : info.node.args[0]?.dim ?? info.node.dim;
  }
  const stateValues = fam === "kmin" ? 2 * K * D : fam === "lse" ? 1 + Dw : 2 * D;
  // KMin's passes cost mostly its per-term test against the K-th value: eight groups amortise
  // the loop and the j-loads over more rows when the term itself is small.
  const R = fam === "kmin" && pairWork <= 16
    ? 8
    : pairWork + stateValues <= 256
    ? 4
    : pairWork + stateValues <= 1024
    ? 2
    : 1;
  const G = L * R;
  let estimate = 0;
  for (const info of needed) estimate += info.node.dim * (info.level & 1 ? R : 1) * 4;
  if (estimate > MAX_VALUES) throw new NotCompiled(`formula too large to unroll`);

  /**
   * Σ_c u_c·v_c for every lane group at once, component by component, as chains of u·v + s: the
   * groups' chains interleave (their latencies overlap), long sums run as 2 or 4 chains over
   * alternate components (so that the add latency does not bound them) joined at the end, and
   * for Σ(a − b)² with a − b not needed elsewhere each difference is formed just before its
   * use, so that no vector of differences is ever held.
   */
  const emitSumOfProducts = (info: Info, groups: number) => {
    const p = sumOfProducts(info.node)!, dim = info.node.args[0].dim;
    const d = "d" in p ? p.d : undefined;
    const inline = d !== undefined && d.op === "Subtract" && !needed.has(infoOf(d));
    const comp = (r: number, c: number): [V, V] => {
      if (!("d" in p)) return [at(argVals(p.a, r), c), at(argVals(p.b, r), c)];
      if (!inline) return [at(argVals(d!, r), c), at(argVals(d!, r), c)];
      const [a, b] = d!.args.map((x) => argVals(x, r));
      const dc = e.sub(at(a, c), at(b, c));
      return [dc, dc];
    };
    const P = dim >= 32 ? 4 : dim >= 8 ? 2 : 1;
    const sums: V[][] = Array.from({ length: groups }, () => []);
    const fma = info.level >= 2; // as `multAdd`
    for (let c = 0; c < dim; c++) {
      for (let r = 0; r < groups; r++) {
        const [u, v] = comp(r, c), q = c % P;
        sums[r][q] = c < P ? e.mul(u, v) : fma ? e.madd(u, v, sums[r][q]) : e.add(e.mul(u, v), sums[r][q]);
      }
    }
    info.vals = sums.map((ch) => {
      while (ch.length > 1) {
        ch = Array.from({ length: ch.length / 2 }, (_, k) => e.add(ch[2 * k], ch[2 * k + 1]));
      }
      return [ch[0]];
    });
  };

  /**
   * Σ_c (x_c − y_c)² (or Σ_c x_c·y_c) over the components of an i-variable x and a j-variable y,
   * as a loop over blocks of 8 components: per block, each y_c is loaded (splat) once and serves
   * the R lane groups, whose x_c are loaded from the pass's rows, into 4 chains per group
   * (joined at the end); the components past the last whole block are unrolled.
   */
  const emitComponentLoop = (info: Info, groups: number) => {
    const [xv, yv] = loopOperands(info.node)!, dim = xv.dim, square = "d" in sumOfProducts(info.node)!;
    const kx = varOf(xv), ky = varOf(yv), U = 8, P = 4;
    const sums = Array.from({ length: groups }, () =>
      Array.from({ length: P }, () => {
        const v = e.v();
        e.assign(v, e.cst(0));
        return v;
      }));
    const term = (xs: V, ys: V, r: number, q: number) => {
      const u = square ? e.sub(xs, ys) : xs, w = square ? u : ys;
      e.assign(sums[r][q], e.madd(u, w, sums[r][q]));
    };
    const whole = Math.floor(dim / U) * U;
    if (whole > 0) {
      const cx = e.i32(), cy = e.i32(), cEnd = e.i32();
      b.get(ptr[kx]).set(cx);
      b.get(ptr[ky]).set(cy);
      b.get(ptr[ky]).i32(whole * es).op(OP.i32_add).set(cEnd);
      b.begin(OP.loop);
      for (let u = 0; u < U; u++) {
        const ys = e.memRef(cy, u * es, t.loadSplat, es === 4 ? 2 : 3);
        const y = e.v();
        e.assign(y, ys);
        for (let r = 0; r < groups; r++) term(e.memRef(cx, (r * L * dim + u * L) * es), y, r, u % P);
      }
      b.get(cx).i32(U * L * es).op(OP.i32_add).set(cx);
      b.get(cy).i32(U * es).op(OP.i32_add).tee(cy).get(cEnd).op(OP.i32_lt_u).brIf(0);
      b.end();
    }
    for (let c = whole; c < dim; c++) {
      const y = e.v();
      e.assign(y, e.memRef(ptr[ky], c * es, t.loadSplat, es === 4 ? 2 : 3));
      for (let r = 0; r < groups; r++) term(e.memRef(ptr[kx], (r * L * dim + c * L) * es), y, r, c % P);
    }
    info.vals = sums.map((ch) => [e.add(e.add(ch[0], ch[1]), e.add(ch[2], ch[3]))]);
  };

  /** Emits the needed nodes of one level (each lane group for i-dependent nodes). */
  const emitLevel = (level: number) => {
    for (const info of order) {
      if (info.level !== level || !needed.has(info)) continue;
      const n = info.node, groups = level & 1 ? R : 1;
      info.vals = [];
      if (loopOperands(n)) {
        emitComponentLoop(info, groups);
        continue;
      }
      if (sumOfProducts(n)) {
        emitSumOfProducts(info, groups);
        continue;
      }
      for (let r = 0; r < groups; r++) {
        if (n.op === "Var") {
          const k = varOf(n), d = n.dim;
          const lg = es === 4 ? 2 : 3;
          info.vals.push(Array.from({ length: d }, (_, c) => {
            // Wide variables are read where they are used (see `memRef`).
            if (level === 1 && d * R > 16) return e.memRef(ptr[k], (r * L * d + c * L) * es);
            if (level === 2 && d > 32) return e.memRef(ptr[k], c * es, t.loadSplat, lg);
            const v = e.v();
            if (level === 1) b.get(ptr[k]).mem(SIMD.v128_load, 4, (r * L * d + c * L) * es, true).set(v);
            else if (level === 2) b.get(ptr[k]).mem(t.loadSplat, lg, c * es, true).set(v);
            else b.get(base[k]).mem(t.loadSplat, lg, c * es, true).set(v);
            return v;
          }));
        } else if (opDef(n.op).kind === "leaf") {
          const p = n.params as number[];
          const value = n.op === "RatCst" ? p[0] / p[1] : n.op === "Zero" ? 0 : p[0];
          info.vals.push(Array(n.dim).fill(e.cst(value)));
        } else if (multAdd(n) >= 0) {
          // a·b + c or c − a·b in one multiply-add.
          const k = multAdd(n), f = n.op === "Add" ? e.madd.bind(e) : e.nmadd.bind(e);
          const [a, bb] = n.args[k].args.map((x) => argVals(x, r)), c = argVals(n.args[1 - k], r);
          info.vals.push(Array.from({ length: n.dim }, (_, q) => f(at(a, q), at(bb, q), at(c, q))));
        } else {
          info.vals.push(RULES[n.op as Evaluated]!(e, n.args.map((a) => argVals(a, r)), n));
        }
      }
    }
  };

  // ---- prologue: uniform values --------------------------------------------------------------
  emitLevel(0);

  // ---- accumulator state: per lane group, loaded from and stored to the float64 rows --------
  const idxLoadOp = t.f32 ? OP.i32_trunc_f64_s : OP.i64_trunc_f64_s;
  const laneOff = (r: number, l: number, q: number) => ((r * L + l) * accSize + q) * 8;
  /** A v128 of one accumulator word q for the L rows of group r (values or indices). */
  const loadState = (r: number, q: number, index: boolean): V => {
    const v = e.v();
    for (let l = 0; l < L; l++) {
      b.get(v).get(ap).mem(OP.f64_load, 3, laneOff(r, l, q));
      if (index) b.op(idxLoadOp).lane(t.f32 ? SIMD.i32x4_replace_lane : SIMD.i64x2_replace_lane, l);
      else {
        if (t.f32) b.op(OP.f32_demote_f64);
        b.lane(t.replace, l);
      }
      b.set(v);
    }
    return v;
  };
  const storeState = (v: V, r: number, q: number, index: boolean, add = false) => {
    for (let l = 0; l < L; l++) {
      b.get(ap);
      if (add) b.get(ap).mem(OP.f64_load, 3, laneOff(r, l, q));
      e.use(v);
      if (index) {
        b.lane(t.iextract, l).op(t.f32 ? OP.f64_convert_i32_s : OP.f64_convert_i64_s);
      } else {
        b.lane(t.extract, l);
        if (t.f32) b.op(OP.f64_promote_f32);
      }
      if (add) b.op(OP.f64_add);
      b.mem(OP.f64_store, 3, laneOff(r, l, q));
    }
  };

  const groups = Array.from({ length: R }, (_, r) => r);
  let state: V[][] = [];
  const jv = e.v(), oneIdx = e.icst(1);

  /** The loop over terms j in [j, jEnd): column and pair values, then `fold`. */
  const termLoop = (fold: () => void) => {
    b.begin(OP.block).begin(OP.loop);
    b.get(j).get(jEnd).op(OP.i32_ge_u).brIf(1);
    emitLevel(2);
    emitLevel(3);
    fold();
    vars.forEach((v, k) => {
      if (v.cat === 1) b.get(ptr[k]).i32(v.dim * es).op(OP.i32_add).set(ptr[k]);
    });
    if (fam === "extremum" || fam === "kmin") e.assign(jv, e.bin(t.iadd, jv, oneIdx));
    b.get(j).i32(1).op(OP.i32_add).set(j);
    b.br(0).end().end();
  };

  // ---- the passes over rows ------------------------------------------------------------------
  b.begin(OP.block).begin(OP.loop);
  b.get(i).get(iEnd).op(OP.i32_ge_u).brIf(1);
  vars.forEach((v, k) => {
    if (v.cat === 0) b.get(base[k]).get(i).i32(v.dim * es).op(OP.i32_mul).op(OP.i32_add).set(ptr[k]);
    if (v.cat === 1) b.get(base[k]).set(ptr[k]);
  });
  emitLevel(1);
  b.i32(0).set(j);
  if (fam === "sum") {
    // Blocks of SUM_BLOCK terms: a fresh lane-type sum per block, added to the float64 totals.
    b.begin(OP.block).begin(OP.loop);
    b.get(j).get(jb).op(OP.i32_ge_u).brIf(1);
    b.get(j).i32(SUM_BLOCK).op(OP.i32_add).tee(jEnd).get(jb).op(OP.i32_lt_u);
    b.begin(OP.if).op(OP.else).get(jb).set(jEnd).end();
    state = groups.map(() => Array.from({ length: D }, () => e.v()));
    for (const s of state) for (const v of s) b.get(e.cst(0)).set(v);
    termLoop(() => {
      for (const r of groups) {
        // s + a·b in one multiply-add when F is a product (the usual kernel × weight).
        const [fa, fb] = foldsProduct ? F.node.args.map((x) => argVals(x, r)) : [];
        const f = valsOf(F, r);
        state[r].forEach((v, c) => e.assign(v, fa ? e.madd(at(fa, c), at(fb, c), v) : e.add(v, at(f, c))));
      }
    });
    for (const r of groups) state[r].forEach((v, c) => storeState(v, r, c, false, true));
    b.br(0).end().end();
  } else {
    b.get(jb).set(jEnd);
    b.get(j0);
    if (!t.f32) b.op(OP.i64_extend_i32_s);
    b.simd(t.f32 ? SIMD.i32x4_splat : SIMD.i64x2_splat).set(jv);
    if (fam === "extremum") {
      state = groups.map((r) => [
        ...Array.from({ length: D }, (_, c) => loadState(r, c, false)),
        ...Array.from({ length: D }, (_, c) => loadState(r, D + c, true)),
      ]);
      termLoop(() => {
        for (const r of groups) {
          const f = valsOf(F, r);
          for (let c = 0; c < D; c++) {
            const v = f[f.length === 1 ? 0 : c], best = state[r][c], at = state[r][D + c];
            const better = e.bin(max ? t.gt : t.lt, v, best);
            e.assign(best, e.sel(v, best, better));
            e.assign(at, e.sel(jv, at, better));
          }
        }
      });
      for (const r of groups) {
        for (let c = 0; c < D; c++) {
          storeState(state[r][c], r, c, false);
          storeState(state[r][D + c], r, D + c, true);
        }
      }
    } else if (fam === "kmin") {
      // The sorted lists live in this thread's scratch memory, lane group by lane group, and
      // only each list's K-th value in a local: the loop then holds one value per list, and a
      // term that enters a list (rare once the lists fill up) pays a few loads and stores.
      const KD = K * D;
      const off = (r: number, q: number) => (r * 2 * KD + q) * 16;
      const ld = (r: number, q: number) => e.memRef(sp, off(r, q));
      const st = (r: number, q: number, v: V) => e.use(sp, v).mem(SIMD.v128_store, 4, off(r, q), true);
      for (const r of groups) for (let q = 0; q < 2 * KD; q++) st(r, q, loadState(r, q, q >= KD));
      const thr = groups.map((r) =>
        Array.from({ length: D }, (_, c) => {
          const v = e.v();
          e.assign(v, ld(r, (K - 1) * D + c));
          return v;
        })
      );
      termLoop(() => {
        for (let c = 0; c < D; c++) {
          const vs = groups.map((r) => {
            const f = valsOf(F, r);
            return f[f.length === 1 ? 0 : c];
          });
          // Each group skips the term when none of its lanes beats its K-th value (the usual
          // case once the lists fill up): one comparison and one branch per group.
          for (const r of groups) {
            const m0 = e.bin(t.lt, vs[r], thr[r][c]);
            e.ifElse(() => e.use(m0).simd(SIMD.v128_any_true), () => {
              // Insertion into the sorted lanes, from the last place down. m_k = v < b_k (strict:
              // an equal value keeps its earlier index first) holds from the insertion place on,
              // the lists being sorted, so the new b_k is b_k where not m_k, else b_(k−1) where
              // m_(k−1), else v. Each level reads only old entries (b_(k−1) is replaced after
              // b_k): no chain runs through the levels.
              const v = vs[r];
              let mk = m0;
              for (let k = K - 1; k >= 0; k--) {
                const [qv, qi] = [k * D + c, KD + k * D + c];
                let nv: V, ni: V;
                if (k === 0) {
                  nv = e.sel(v, ld(r, qv), mk);
                  ni = e.sel(jv, ld(r, qi), mk);
                } else {
                  const mp = e.bin(t.lt, v, ld(r, qv - D));
                  nv = e.sel(e.sel(ld(r, qv - D), v, mp), ld(r, qv), mk);
                  ni = e.sel(e.sel(ld(r, qi - D), jv, mp), ld(r, qi), mk);
                  mk = mp;
                }
                st(r, qv, nv);
                st(r, qi, ni);
                if (k === K - 1) e.assign(thr[r][c], nv);
              }
            });
          }
        }
      });
      for (const r of groups) for (let q = 0; q < 2 * KD; q++) storeState(ld(r, q), r, q, q >= KD);
    } else {
      // Blocks of SUM_BLOCK terms, as the sums: each block's lanes (m_b, s_b) start from the
      // total's maximum and zero sums, and are merged into the float64 totals at its end,
      // (m, s) ⊕ (m_b, s_b) = (m_b, s·e^(m − m_b) + s_b) when m_b > m, else (m, s + s_b), so
      // that no float32 sum runs over more than a block of terms.
      let expAt = e.hosts.indexOf("exp");
      if (expAt < 0) expAt = e.hosts.push("exp") - 1;
      const [mt, mb, sc] = [b.local(F64), b.local(F64), b.local(F64)];
      b.begin(OP.block).begin(OP.loop);
      b.get(j).get(jb).op(OP.i32_ge_u).brIf(1);
      b.get(j).i32(SUM_BLOCK).op(OP.i32_add).tee(jEnd).get(jb).op(OP.i32_lt_u);
      b.begin(OP.if).op(OP.else).get(jb).set(jEnd).end();
      state = groups.map((r) => [
        loadState(r, 0, false),
        ...Array.from({ length: Dw }, () => {
          const v = e.v();
          e.assign(v, e.cst(0));
          return v;
        }),
      ]);
      termLoop(() => {
        for (const r of groups) {
          const f = valsOf(F, r)[0], w = W ? valsOf(W, r) : [e.cst(1)], m = state[r][0];
          const gt = e.bin(t.gt, f, m);
          // e^(−|F − m|), −|d| by setting the sign bit (exp's one-step path while every lane is
          // within 87 of the maximum, its edge-exact path below).
          const negAbs = e.or(e.sub(f, m), e.cst(-0));
          const ex = e.sel(e.cst(1), exp(e, negAbs), e.bin(t.eq, f, m));
          const skip = e.bin(t.eq, f, e.cst(-Infinity));
          for (let c = 0; c < Dw; c++) {
            const s = state[r][1 + c], wc = w[w.length === 1 ? 0 : c];
            const ns = e.sel(e.madd(s, ex, wc), e.madd(ex, wc, s), gt);
            e.assign(s, e.sel(s, ns, skip));
          }
          e.assign(m, e.sel(f, m, gt));
        }
      });
      for (const r of groups) {
        for (let l = 0; l < L; l++) {
          b.get(ap).mem(OP.f64_load, 3, laneOff(r, l, 0)).set(mt);
          e.use(state[r][0]).lane(t.extract, l);
          if (t.f32) b.op(OP.f64_promote_f32);
          b.set(mb);
          // sc = m_b > m ? e^(m − m_b) : 1 (JavaScript's exact exp).
          b.f64(1).set(sc);
          b.get(mb).get(mt).op(OP.f64_gt).begin(OP.if);
          b.get(mt).get(mb).op(OP.f64_sub).call(expAt).set(sc);
          b.end();
          for (let c = 0; c < Dw; c++) {
            b.get(ap).get(ap).mem(OP.f64_load, 3, laneOff(r, l, 1 + c)).get(sc).op(OP.f64_mul);
            e.use(state[r][1 + c]).lane(t.extract, l);
            if (t.f32) b.op(OP.f64_promote_f32);
            b.op(OP.f64_add).mem(OP.f64_store, 3, laneOff(r, l, 1 + c));
          }
          b.get(ap).get(mb).get(mt).get(mb).get(mt).op(OP.f64_gt).op(OP.select).mem(
            OP.f64_store,
            3,
            laneOff(r, l, 0),
          );
        }
      }
      b.br(0).end().end();
    }
  }
  b.get(i).i32(G).op(OP.i32_add).set(i);
  b.get(ap).i32(G * accSize * 8).op(OP.i32_add).set(ap);
  b.br(0).end().end();

  // ---- the module --------------------------------------------------------------------------
  const body = e.pre;
  const code = [...e.pre.code];
  for (const x of b.code) code.push(x);
  body.code = code;
  const cache: Partial<Record<"true" | "false", Uint8Array<ArrayBuffer>>> = {};
  const hosts = e.hosts.map((name) => ({ name, arity: HOST_FUNCTIONS[name] }));
  return {
    bytes: (shared) => (cache[`${shared}`] ??= moduleBytes(body, hosts, shared)),
    vars,
    L,
    G,
    accSize,
    scratchBytes: fam === "kmin" ? R * 2 * K * D * 16 : 0,
  };
}
