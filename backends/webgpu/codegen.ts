/**
 * WGSL code generation: one compute shader per (formulas, reduction, dims, scheme). Invocation
 * `lid` of workgroup (gx, gy) of WG invocations owns R output rows, i = gx·WG·R + r·WG + lid
 * (r < R), and the terms j of chunk gy of the current block of j; the workgroup stages TJ terms
 * of the j-variables at a time through `var<workgroup>` memory (a term's variables packed in
 * vec4 rows, see `scheme.ts`), and every value loaded from it serves the R rows (a register
 * block of rows, as in a matrix multiply):
 *
 *     load the i-variables of the R rows, evaluate the nodes that do not depend on j
 *     for each tile of TJ terms of this chunk:
 *         workgroup loads the tile; barrier
 *         for each term: evaluate the nodes that depend on j only (once), then for each row
 *             the pair nodes, and fold F (and W) into that row's accumulator
 *         barrier
 *     chunks = 1: finalize (or carry to the next block of j) · chunks > 1: write the partial
 *     accumulator, which `merge.ts`'s pass folds with the other chunks', in the order of j
 *
 * Sums over element-wise vector expressions (squared distances, scalar products, the rows of
 * matrix-vector products) are loops over the components, eight at a time, evaluating the
 * expression at each component in registers: nothing of the vector is stored, and a
 * 784-dimensional formula is a short function. Wide i-variables (and j-variables too wide for
 * a tile of several terms) are read from the input at use, by vec4 where they allow it, rather
 * than copied.
 *
 * Only generated identifiers, table snippets and numbers formatted by `f32Literal` /
 * `intLiteral` reach the source.
 *
 * @module
 */

import type { Node } from "../../formula/tree.ts";
import { keyOf } from "../../formula/tree.ts";
import { printFormula } from "../../formula/print.ts";
import { opDef } from "../../formula/ops.ts";
import type { ReducePlan } from "../backend.ts";
import { UnsupportedError } from "../../formula/errors.ts";
import type { Evaluated } from "../wasm/opcodes.ts";
import { HELPERS, intLiteral, WGSL } from "./wgsl_ops.ts";
import { type Family, familyOf, finalize, initAcc } from "./merge.ts";
import { packTerms } from "./scheme.ts";
import { kminInsert, Visits, widths } from "./folds.ts";

/** The most floats of private arrays one invocation may declare (256 KiB). */
export const PRIVATE_FLOATS = 65536;
/** i-variables up to this dimension are copied to registers; wider ones are read at use. */
const REGISTER_DIM = 64;
/** Components per iteration of a fused sum's loop. */
const UNROLL = 8;
/** Below this many components a sum is written out in full (its reads at constant indices). */
const LOOP_FROM = 65;

/** The sizes of the arrays declared in generated lines. */
function* arraySizes(...blocks: string[][]): Generator<number> {
  for (const lines of blocks) {
    for (const l of lines) for (const m of l.matchAll(/array<(?:f32|i32), (\d+)>/g)) yield Number(m[1]);
  }
}

/** How a shader is laid out: invocations per workgroup, terms per tile, rows per invocation. */
export interface Layout {
  readonly workgroupSize: number;
  readonly tile: number;
  readonly rows: number;
  /**
   * The j-variables (by index) staged through workgroup memory; the others (too wide for a
   * tile of several terms) are read from the input buffer at use, as the wide i-variables
   * are. Default: all.
   */
  readonly staged?: ReadonlySet<number>;
  /**
   * Block-sparse: workgroup g runs piece g of a table (binding 6, `rng`): rows [i0, i1) of the
   * block of i, its flags, and the intervals of j it reduces over. Default false.
   */
  readonly ranged?: boolean;
}

/** What the host needs to know about a generated shader. */
export interface Shader {
  readonly code: string;
  /** The slots read, in binding order (bindings 1 …), with their category and dimension. */
  readonly slots: readonly { ind: number; cat: number; dim: number }[];
  /** The constants, read from the input buffer at float `P.cbase` on. */
  readonly constants: readonly number[];
  readonly accSize: number;
  readonly valuesWidth: number;
  readonly indicesWidth: number;
  readonly layout: Layout;
  /** The reduction family and its finalization, for the merge pass. */
  readonly family: Family;
  /**
   * Loop header visits per invocation: per term, per tile and once (software adapters stop
   * an invocation's loops past a number of visits, so the host sizes its chunks of j by them).
   */
  readonly visits: { readonly term: number; readonly tile: number; readonly fixed: number };
  /** Floats of private arrays per invocation. */
  readonly privateFloats: number;
  /** Statements evaluated per term (the code that blocking rows replicates). */
  readonly pairStatements: number;
}

/** Bit 0: i-dependent, bit 1: j-dependent (0 uniform, 3 pair). */
type Level = 0 | 1 | 2 | 3;

interface Val {
  readonly level: Level;
  readonly dim: number;
  /** Component k (a WGSL u32 expression) for row r of the register block. */
  read(k: string, r: number): string;
  /** Components k … k + 3 as a vec4 (k a multiple of 4), for variables stored by vec4. */
  vec4?: (k: string, r: number) => string;
}

/** A vector expression evaluated component by component inside a fused sum's loop. */
interface Lazy {
  readonly level: Level;
  readonly dim: number;
  /** Emits the lets of component k (for row r) into `out`, returns the name of its value. */
  at(k: string, r: number, out: string[], memo: Map<string, string>): string;
}

/**
 * Generates the shader of a plan.
 *
 * @example
 * ```ts
 * import { generate } from "./codegen.ts";
 * import { make } from "../../formula/ops.ts";
 * import { REDUCTIONS } from "../../formula/reductions.ts";
 * import assert from "node:assert/strict";
 * const x = make("Var", [], [0, 3, 0]), y = make("Var", [], [1, 3, 1]);
 * const F = make("Exp", [make("Minus", [make("Sum", [make("Square", [make("Subtract", [x, y], [])], [])], [])], [])], []);
 * const plan = { reduction: REDUCTIONS.Sum, dims: { D: 1, K: 0, Dw: 1 }, formulas: [F], dtype: "float32" } as const;
 * const s = generate(plan, { workgroupSize: 64, tile: 64, rows: 2 });
 * assert.ok(s.code.includes("@compute") && s.slots.length === 2 && s.layout.rows === 2);
 * ```
 */
export function generate(plan: ReducePlan, layout: Layout): Shader {
  const { workgroupSize: WG, tile: TJ, rows: R } = layout;
  const fam = familyOf(plan);
  const { D, K, Dw } = plan.dims;
  const slots: { ind: number; cat: number; dim: number }[] = [];
  const slotIndex = new Map<number, number>();
  const constants: number[] = []; // the values of the constant leaves, in the input buffer
  const uni: string[] = []; // once per invocation
  const pre: string[] = []; // per row, before the loop over j
  const term: string[] = []; // per term, shared by the rows
  const pair: string[] = []; // per term and row
  const section = (level: Level) => level === 0 ? uni : level === 1 ? pre : level === 2 ? term : pair;
  const rowsOf = (level: Level) => (level & 1 ? [...Array(R).keys()] : [0]);
  const visits = new Visits();
  const whereOf = (level: Level) => (level & 2 ? "term" : "fixed") as "term" | "fixed";
  const vals = new Map<string, Val>();
  const lazies = new Map<string, Lazy>();
  let tmp = 0;

  // Which vector element-wise nodes need not be stored: those read only by sums and by other
  // such nodes of the same dimension (parents before children in `order`).
  const order: Node[] = [];
  const consumers = new Map<string, Node[]>();
  const seen = new Set<string>();
  const walk = (n: Node) => {
    const key = keyOf(n);
    if (seen.has(key)) return;
    seen.add(key);
    for (const a of n.args) {
      walk(a);
      const k = keyOf(a);
      consumers.set(k, [...(consumers.get(k) ?? []), n]);
    }
    order.push(n);
  };
  plan.formulas.forEach(walk);
  const roots = new Set(plan.formulas.map(keyOf));
  // The j-variables of a term, packed into vec4 rows of the tile (by variable index).
  const jVars = new Map<number, number>();
  const isStaged = (ind: number) => layout.staged?.has(ind) ?? true;
  for (const n of order) {
    if (n.op === "Var" && n.params[2] === 1 && isStaged(n.params[0] as number)) {
      jVars.set(n.params[0] as number, n.dim);
    }
  }
  const pack = packTerms([...jVars].map(([q, dim]) => ({ q, dim })));
  const lazy = new Set<string>();
  for (const n of [...order].reverse()) {
    const key = keyOf(n);
    const def = opDef(n.op);
    if (n.dim === 1 || roots.has(key) || def.kind !== "elementwise") continue;
    if (!("expr" in WGSL[n.op as Evaluated])) continue;
    const cs = consumers.get(key) ?? [];
    if (cs.every((c) => c.op === "Sum" || (lazy.has(keyOf(c)) && c.dim === n.dim))) lazy.add(key);
  }

  const visitLazy = (n: Node): Lazy => {
    const key = keyOf(n);
    const hit = lazies.get(key);
    if (hit) return hit;
    const args = n.args.map((a) => lazy.has(keyOf(a)) ? visitLazy(a) : visit(a));
    const level = args.reduce((l, a) => (l | a.level) as Level, 0 as Level);
    const rule = WGSL[n.op as Evaluated] as { expr: (a: string[], n: Node) => string };
    const out: Lazy = {
      level,
      dim: n.dim,
      at(k, r, lines, memo) {
        const rr = level & 1 ? r : 0;
        const mk = `${key}@${rr}@${k}`;
        const done = memo.get(mk);
        if (done) return done;
        const parts = args.map((a, q) => {
          const kk = n.args[q].dim === 1 ? "0u" : k;
          if ("at" in a) return a.at(kk, rr, lines, memo);
          // A variable's component may have been loaded with its neighbours (`fusedSum`); a
          // j-variable's is loaded from the tile once for all the rows.
          const mk = `${keyOf(n.args[q])}@${a.level & 1 ? rr : 0}@${kk}`;
          const hit = memo.get(mk);
          if (hit) return hit;
          const v = n.args[q];
          const staged = v.op === "Var" && pack.offset.has(v.params[0] as number);
          if (a.level !== 2 || !staged || !/^\d+u$/.test(kk)) return a.read(kk, rr);
          // Component c of the term's tile row: its whole vec4 loaded once.
          const c = pack.offset.get(v.params[0] as number)! + parseInt(kk);
          const vk = `tile@${c >> 2}`;
          let name = memo.get(vk);
          if (!name) {
            name = `y${tmp++}`;
            lines.push(`let ${name} = tj[jj * ${pack.width}u + ${c >> 2}u];`);
            memo.set(vk, name);
          }
          memo.set(mk, `${name}.${"xyzw"[c & 3]}`);
          return `${name}.${"xyzw"[c & 3]}`;
        });
        const name = `e${tmp++}`;
        lines.push(`let ${name} = ${rule.expr(parts, n)};`);
        memo.set(mk, name);
        return name;
      },
    };
    lazies.set(key, out);
    return out;
  };

  const visit = (n: Node): Val => {
    const key = keyOf(n);
    const hit = vals.get(key);
    if (hit) return hit;
    let out: Val;
    const def = opDef(n.op);
    if (n.op === "Var") {
      const [ind, d, cat] = n.params as number[];
      if (cat > 2) throw new TypeError(`Cannot compile the temporary variable ${printFormula(n)}`);
      let s = slotIndex.get(ind);
      const fresh = s === undefined;
      if (s === undefined) {
        s = slots.push({ ind, cat, dim: d }) - 1;
        slotIndex.set(ind, s);
      }
      const dl = intLiteral(d, true);
      if (cat === 1 && !isStaged(ind)) {
        // Row j0 + jj of this block: every invocation reads the same address (a broadcast).
        const at = (k: string) => `P.off[${s}u] + (j0 + jj) * ${dl} + ${k}`;
        out = {
          level: 2,
          dim: d,
          read: (k) => `inp[${at(k)}]`,
          vec4: d % 4 ? undefined : (k) => `inp4[(${at(k)}) / 4u]`,
        };
      } else if (cat === 1) {
        // In the tile, the j-variables of a term share vec4 rows: this one from float o on,
        // vec4-aligned when its dimension is a multiple of 4.
        const o = pack.offset.get(ind)!, W = `${pack.width}u`;
        const f = (k: string) => `(${o}u + ${k})`;
        out = {
          level: 2,
          dim: d,
          read: (k) => {
            const c = /^\d+u$/.test(k) ? o + parseInt(k) : -1;
            return c >= 0
              ? `tj[jj * ${W} + ${c >> 2}u].${"xyzw"[c & 3]}`
              : `tj[jj * ${W} + ${f(k)} / 4u][${f(k)} % 4u]`;
          },
          vec4: d % 4 ? undefined : (k) => `tj[jj * ${W} + ${f(k)} / 4u]`,
        };
      } else if (cat === 2) {
        if (fresh && d <= REGISTER_DIM) {
          uni.push(`var s${s}: array<f32, ${d}>;`);
          uni.push(visits.loop("fixed", d, (k) => `s${s}[${k}] = inp[P.off[${s}u] + ${k}];`));
        }
        out = {
          level: 0,
          dim: d,
          read: d <= REGISTER_DIM ? (k) => `s${s}[${k}]` : (k) => `inp[P.off[${s}u] + ${k}]`,
        };
      } else {
        // i-variables at row i_r: small ones copied into registers once, wide ones read at use.
        if (fresh) {
          for (let r = 0; r < R; r++) {
            if (d <= REGISTER_DIM) {
              pre.push(`var s${s}_${r}: array<f32, ${d}>;`);
              pre.push(
                visits.loop(
                  "fixed",
                  d,
                  (k) => `s${s}_${r}[${k}] = inp[P.off[${s}u] + i_${r} * ${dl} + ${k}];`,
                ),
              );
            } else pre.push(`let o${s}_${r} = P.off[${s}u] + i_${r} * ${dl};`);
          }
        }
        out = {
          level: 1,
          dim: d,
          read: d <= REGISTER_DIM ? (k, r) => `s${s}_${r}[${k}]` : (k, r) => `inp[o${s}_${r} + ${k}]`,
          // Slots start at multiples of 4 floats, so rows of 4·n floats are vec4-aligned.
          vec4: d > REGISTER_DIM && d % 4 === 0 ? (k, r) => `inp4[(o${s}_${r} + ${k}) / 4u]` : undefined,
        };
      }
    } else if (def.kind === "leaf") {
      // A constant is read from the input buffer, never written into the source as a literal:
      // WGSL evaluates expressions of literals when the shader is created and rejects those
      // that overflow, divide by zero or give NaN (`exp(100.0)`, `1.0 / 0.0`), drivers that
      // see a constant fold it under fast-math assumptions (`x / 0.0` came out 0, not ∞), and
      // `-` before a negative literal would print `--`. Read at run time, every constant
      // follows IEEE arithmetic as on the CPU; shaders that differ only in constants share
      // one pipeline.
      const p = n.params as number[];
      const v = n.op === "RatCst" ? p[0] / p[1] : n.op === "Zero" ? 0 : p[0];
      const name = `c${tmp++}`;
      uni.push(`let ${name} = inp[P.cbase + ${intLiteral(constants.push(v) - 1, true)}];`);
      out = { level: 0, dim: 1, read: () => name };
    } else if (n.op === "Sum" && n.args[0].dim > 1) {
      out = fusedSum(n);
    } else if (def.kind === "elementwise" || def.kind === "vector") {
      const args = n.args.map(visit);
      const level = args.reduce((l, a) => (l | a.level) as Level, 0 as Level);
      const name = `v${tmp++}`;
      const rule = WGSL[n.op as Evaluated];
      const sec = section(level);
      const rows = rowsOf(level);
      const comp = (q: number, k: string, r: number) => args[q].read(n.args[q].dim === 1 ? "0u" : k, r);
      if ("expr" in rule && n.dim === 1) {
        // A scalar is a `let`, not an array and a loop: the drivers' compilers take far
        // longer over thousands of one-element arrays.
        for (const r of rows) {
          sec.push(`let ${name}_${r} = ${rule.expr(args.map((_, q) => comp(q, "0u", r)), n)};`);
        }
        out = { level, dim: 1, read: (_k, r) => `${name}_${level & 1 ? r : 0}` };
      } else {
        for (const r of rows) {
          const nm = `${name}_${r}`;
          sec.push(`var ${nm}: array<f32, ${n.dim}>;`);
          if ("expr" in rule) {
            // Element-wise: a scalar argument broadcasts over the components.
            sec.push(
              visits.loop(
                whereOf(level),
                n.dim,
                (k) => `${nm}[${k}] = ${rule.expr(args.map((_, q) => comp(q, k, r)), n)};`,
              ),
            );
          } else {
            const st = rule.stmt(nm, args.map((a) => (k: string) => a.read(k, r)), n);
            // The loops of a vector rule (B-splines, soft-DTW): at most (1 + their sizes)² visits each.
            const loops = st.match(/for \(|loop \{/g)?.length ?? 0;
            const size = 1 + n.dim + n.args.reduce((t, a) => t + a.dim, 0);
            visits[whereOf(level)] += loops * size * size;
            sec.push(st);
          }
        }
        out = { level, dim: n.dim, read: (k, r) => `${name}_${level & 1 ? r : 0}[${k}]` };
      }
    } else {
      throw new TypeError(`Cannot compile ${n.op} before lowering`);
    }
    vals.set(key, out);
    return out;
  };

  /**
   * Σ_k e(k) over the components of a vector expression: written out below LOOP_FROM
   * components, else a loop of UNROLL components per iteration and a written-out remainder.
   * One loop serves the R rows, so that each component of a j-variable is read once.
   */
  const fusedSum = (n: Node): Val => {
    const a = n.args[0];
    const arg: Lazy | Val = lazy.has(keyOf(a)) ? visitLazy(a) : visit(a);
    const level = arg.level;
    const rows = rowsOf(level);
    const name = `v${tmp++}`;
    const sec = section(level);
    const at = (k: string, r: number, lines: string[], memo: Map<string, string>) =>
      "at" in arg ? arg.at(k, r, lines, memo) : arg.read(k, r);
    const d = a.dim;
    const comps = (ks: string[], lines: string[] = [], memo = new Map<string, string>()) => {
      const terms = rows.map((r) => ks.map((k) => at(k, r, lines, memo)));
      return { lines, terms };
    };
    // The variables read by the expression: in the loop, those stored by vec4 are loaded two
    // vec4 at a time (eight components), not component by component.
    const leaves = new Map<string, Val>();
    const collect = (m: Node) => {
      const key = keyOf(m);
      if (lazy.has(key)) m.args.forEach(collect);
      else if (m.op === "Var" && m.dim === d && visit(m).vec4) leaves.set(key, visit(m));
    };
    collect(a);
    if (d < LOOP_FROM) {
      const { lines, terms } = comps([...Array(d).keys()].map((k) => `${k}u`));
      sec.push(...lines);
      rows.forEach((r, q) => sec.push(`let ${name}_${r} = ${terms[q].join(" + ")};`));
    } else {
      const full = Math.floor(d / UNROLL) * UNROLL;
      rows.forEach((r) => sec.push(`var ${name}_${r} = 0.0;`));
      const ks = [...Array(UNROLL).keys()].map((u) => (u ? `k + ${u}u` : "k"));
      const pre4: string[] = [];
      const memo = new Map<string, string>();
      if (full === d) {
        for (const [key, leaf] of leaves) {
          for (const r of leaf.level & 1 ? rows : [0]) {
            for (let h = 0; h < UNROLL / 4; h++) {
              const nm = `q${tmp++}`;
              pre4.push(`let ${nm} = ${leaf.vec4!(h ? `k + ${4 * h}u` : "k", r)};`);
              for (let u = 0; u < 4; u++) memo.set(`${key}@${r}@${ks[4 * h + u]}`, `${nm}.${"xyzw"[u]}`);
            }
          }
        }
      }
      const body = comps(ks, pre4, memo);
      sec.push(`for (var k = 0u; k < ${intLiteral(full, true)}; k += ${UNROLL}u) {`);
      sec.push(...body.lines.map((l) => "  " + l));
      rows.forEach((r, q) => sec.push(`  ${name}_${r} += ${body.terms[q].join(" + ")};`));
      sec.push(`}`);
      visits[whereOf(level)] += full / UNROLL + 1;
      if (full < d) {
        const rest = comps([...Array(d - full).keys()].map((u) => `${full + u}u`));
        sec.push(...rest.lines);
        rows.forEach((r, q) => sec.push(`${name}_${r} += ${rest.terms[q].join(" + ")};`));
      }
    }
    return { level, dim: 1, read: (_k, r) => `${name}_${level & 1 ? r : 0}` };
  };

  const [F, W] = plan.formulas.map(visit);

  // Accumulators and reduction code, per row r.
  const KD = K * D;
  const { accSize, valuesWidth, indicesWidth } = widths(fam, plan.dims);
  const init: string[] = [];
  const fold: string[] = [];
  const flush: string[] = [];
  const fin: string[] = [];
  const acc = (r: number) => `acc_${r}`, idx = (r: number) => `idx_${r}`;
  const live = (r: number) => `live_${r}`;
  const hasIdx = indicesWidth > 0;
  const idxCount = fam.fam === "kmin" ? KD : D;
  for (let r = 0; r < R; r++) {
    const A = acc(r), I = idx(r), f = (k: string) => F.read(k, r);
    const vo = `i_${r} * ${valuesWidth}u`, io = `i_${r} * ${Math.max(1, indicesWidth)}u`;
    init.push(`var ${A}: array<f32, ${accSize}>;`);
    if (hasIdx) init.push(`var ${I}: array<i32, ${idxCount}>;`);
    init.push(initAcc(fam, plan.dims, A));
    fin.push(finalize(fam, plan.dims, A, I, vo, io));
    // Kahan's compensated addition of x to sum s with compensation c (the exact sum is s − c).
    // Shader compilers treat float arithmetic as associative and would fold (s + y − s) − y to
    // 0: t passes through a select on a uniform they cannot decide (P.m is never 2³² − 1).
    const kahanAdd = (s: string, c: string, x: string) =>
      `{ let y = ${x} - ${c}; let t = select(${s} + y, 0.0, P.m == 0xffffffffu); ${c} = (t - ${s}) - y; ${s} = t; }`;
    if (fam.fam === "sum" && fam.scheme === "direct") {
      fold.push(visits.loop("term", D, (k) => `${A}[${k}] += ${f(k)};`));
    } else if (fam.fam === "sum" && fam.scheme === "kahan") {
      fold.push(visits.loop("term", D, (k) => kahanAdd(`${A}[${k}]`, `${A}[${D}u + ${k}]`, f(k))));
    } else if (fam.fam === "sum") {
      // Terms are summed per tile, then added to the total (KeOps's block sums).
      init.push(`var part_${r}: array<f32, ${D}>;`);
      fold.push(visits.loop("term", D, (k) => `part_${r}[${k}] += ${f(k)};`));
      flush.push(visits.loop("tile", D, (k) => `${A}[${k}] += part_${r}[${k}]; part_${r}[${k}] = 0.0;`));
    } else if (fam.fam === "min" || fam.fam === "max") {
      const cmp = fam.fam === "min" ? "<" : ">";
      fold.push(
        visits.loop(
          "term",
          D,
          (k) => `{ let v = ${f(k)}; if (v ${cmp} ${A}[${k}]) { ${A}[${k}] = v; ${I}[${k}] = jg; } }`,
        ),
      );
    } else if (fam.fam === "kmin") {
      fold.push(kminInsert(A, I, f, K, D));
      if (K * D > 64) visits.term += D * (K + 2);
    } else {
      const w = (k: string) => W.read(k, r);
      const kahan = fam.scheme === "kahan", block = fam.scheme === "block";
      const s = (c: string) => `${A}[1u + ${c}]`, comp = (c: string) => `${A}[${1 + Dw}u + ${c}]`;
      const part = (c: string) => `part_${r}[${c}]`;
      // A new maximum rescales the sums (their compensations, the tile's partial sums) by
      // e^(m − v); block sums add a tile's terms to a partial sum, added to the total per tile.
      const rescale = (c: string) =>
        kahan
          ? `${s(c)} *= sc; ${comp(c)} *= sc; ${kahanAdd(s(c), comp(c), w(c))}`
          : block
          ? `${s(c)} *= sc; ${part(c)} = ${part(c)} * sc + ${w(c)};`
          : `${s(c)} = ${s(c)} * sc + ${w(c)};`;
      const accumulate = (c: string) =>
        kahan ? kahanAdd(s(c), comp(c), `ev * ${w(c)}`) : `${block ? part(c) : s(c)} += ev * ${w(c)};`;
      if (block) {
        init.push(`var part_${r}: array<f32, ${Dw}>;`);
        flush.push(visits.loop("tile", Dw, (c) => `${s(c)} += ${part(c)}; ${part(c)} = 0.0;`, "c"));
      }
      fold.push(`{ let v = ${f("0u")};
        if (v > ${A}[0]) {
          let sc = select(exp(${A}[0] - v), 0.0, ${A}[0] == -P.inf);
          ${visits.loop("term", Dw, rescale, "c")}
          ${A}[0] = v;
        } else if (bitcast<u32>(v) != 0xff800000u) { // not −∞ (NaN comes here and spreads, as on the CPU)
          // e^(∞ − ∞) = 1, as on the CPU; a NaN term poisons the sums.
          let ev = select(select(exp(v - ${A}[0]), 1.0, v == ${A}[0]), v, kt_isnan(v));
          ${visits.loop("term", Dw, accumulate, "c")}
        } }`);
    }
  }
  // The accumulator of a row in a buffer: its floats, then its indices as floats (exact below
  // 2^24), at row `at` of `buf`.
  const save = (r: number, buf: string, at: string) =>
    `for (var k = 0u; k < ${accSize}u; k++) { ${buf}[(${at}) * ${accSize}u + k] = ${acc(r)}[k]; }${
      hasIdx
        ? ` for (var k = 0u; k < ${idxCount}u; k++) { ${buf}[(${at}) * ${accSize}u + ${
          accSize - idxCount
        }u + k] = f32(${idx(r)}[k]); }`
        : ""
    }`;
  const restore = (r: number) =>
    `for (var k = 0u; k < ${accSize}u; k++) { ${acc(r)}[k] = accb[i_${r} * ${accSize}u + k]; }${
      hasIdx
        ? ` for (var k = 0u; k < ${idxCount}u; k++) { ${idx(r)}[k] = i32(accb[i_${r} * ${accSize}u + ${
          accSize - idxCount
        }u + k]); }`
        : ""
    }`;

  const jSlots = slots.map((s, q) => ({ ...s, q })).filter((s) => s.cat === 1 && isStaged(s.ind));
  const nOff = slots.length;
  const bindings = [
    `struct Params { m: u32, n: u32, jbase: u32, flags: u32, inf: f32, nan: u32, cbase: u32, clen: u32, off: array<vec4<u32>, ${
      Math.max(1, Math.ceil(nOff / 4))
    }> }`,
    `@group(0) @binding(0) var<uniform> P: Params;`,
    // Every input in one buffer, slot q from float P.off[q] on: four storage bindings whatever
    // the number of variables (devices may allow as few as eight).
    `@group(0) @binding(1) var<storage, read> inp: array<f32>;`,
    `@group(0) @binding(2) var<storage, read_write> outv: array<f32>;`,
    `@group(0) @binding(3) var<storage, read_write> outi: array<i32>;`,
    `@group(0) @binding(4) var<storage, read_write> accb: array<f32>;`,
    `@group(0) @binding(5) var<storage, read> inp4: array<vec4<f32>>;`,
    ...(jSlots.length ? [`var<workgroup> tj: array<vec4<f32>, ${TJ * pack.width}>;`] : []),
    ...(layout.ranged ? [`@group(0) @binding(6) var<storage, read> rng: array<u32>;`] : []),
  ];
  /**
   * The head of a block-sparse shader: piece `wid.y·65535 + wid.x` of the table (P.n pieces of
   * five words: rows [i0, i1) of the block, its intervals [s0, s1), its flags; the intervals
   * from word P.clen on). Whole workgroups past the last piece return at once, so the barriers
   * stay uniform.
   */
  const rangedHead = () => [
    `  let pc = wid.y * 65535u + wid.x;`,
    `  if (pc >= P.n) { return; }`,
    `  let ia = rng[5u * pc]; let ib = rng[5u * pc + 1u]; let s0 = rng[5u * pc + 2u]; let s1 = rng[5u * pc + 3u];`,
    `  let pf = rng[5u * pc + 4u];`,
    ...rowsR.map((r) =>
      `  let ${live(r)} = ia + ${r * WG}u + lid.x < ib; let i_${r} = min(ia + ${r * WG}u + lid.x, ib - 1u);`
    ),
    `  let firstBlock = (pf & 1u) != 0u;`,
    `  let lastBlock = (pf & 2u) != 0u;`,
    `  let partial = false;`,
  ];
  const offExpr = (q: number) => `P.off[${Math.floor(q / 4)}u][${q % 4}u]`;
  const fixOff = (l: string) => l.replace(/P\.off\[(\d+)u\]/g, (_, q) => offExpr(Number(q)));
  // Registers: every array of the invocation lives in private memory, which GPUs keep small.
  const privateFloats = [...arraySizes(uni, pre, term, pair, init)].reduce((a, b) => a + b, 0);
  if (privateFloats > PRIVATE_FLOATS) {
    throw new UnsupportedError(
      `This formula needs ${privateFloats} floats of registers per row on the GPU, more than its limit of ${PRIVATE_FLOATS}: use backend "cpu"`,
    );
  }
  /**
   * The cooperative loads of a tile: variables of 4·n components by whole vec4, as many per
   * invocation as it takes; the vec4 rows holding the others (packed after them) assembled
   * one term per invocation from their components, so that every store is a whole vec4.
   */
  const tileLoads = (): string[] => {
    const W = pack.width, out: string[] = [];
    let aligned = 0; // floats of the term taken by the vec4 variables
    for (const s of jSlots.filter((s) => s.dim % 4 === 0)) {
      const o = pack.offset.get(s.ind)!, w = s.dim / 4;
      aligned = Math.max(aligned, o + s.dim);
      out.push(
        `    for (var e = lid.x; e < ${
          TJ * w
        }u; e += ${WG}u) { if (j0 * ${w}u + e < jhi * ${w}u) { tj[(e / ${w}u) * ${W}u + ${
          o / 4
        }u + e % ${w}u] = inp4[${offExpr(s.q)} / 4u + j0 * ${w}u + e]; } }`,
      );
    }
    const rest = jSlots.filter((s) => s.dim % 4 !== 0);
    if (rest.length) {
      // Float f of the term, f ≥ aligned: which variable's component, or 0 past the end.
      const comp = (f: number) => {
        for (const s of rest) {
          const o = pack.offset.get(s.ind)!;
          if (f >= o && f < o + s.dim) return `inp[${offExpr(s.q)} + (j0 + t) * ${s.dim}u + ${f - o}u]`;
        }
        return "0.0";
      };
      const rows: string[] = [];
      for (let c = aligned / 4; c < W; c++) {
        rows.push(
          `tj[t * ${W}u + ${c}u] = vec4<f32>(${[0, 1, 2, 3].map((u) => comp(4 * c + u)).join(", ")});`,
        );
      }
      out.push(
        `    for (var t = lid.x; t < ${TJ}u; t += ${WG}u) { if (j0 + t < jhi) { ${rows.join(" ")} } }`,
      );
    }
    return out;
  };
  const rowsR = [...Array(R).keys()];
  const ind = (pad: string, lines: string[]) => lines.map((l) => pad + fixOff(l));
  const code = [
    HELPERS,
    ...bindings,
    `@compute @workgroup_size(${WG})`,
    `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {`,
    // Rows past the end compute on the last row and store nothing: the workgroup's loads and
    // barriers stay uniform.
    ...(layout.ranged ? rangedHead() : [
      ...rowsR.map((r) =>
        `  let ${live(r)} = wid.x * ${WG * R}u + ${r * WG}u + lid.x < P.m; let i_${r} = min(wid.x * ${
          WG * R
        }u + ${r * WG}u + lid.x, P.m - 1u);`
      ),
      `  let firstBlock = (P.flags & 1u) != 0u;`,
      `  let lastBlock = (P.flags & 2u) != 0u;`,
      `  let partial = (P.flags & 4u) != 0u;`,
      // Chunk wid.y of the block of j: terms [jlo, jhi).
      `  let jlo = min(wid.y * P.clen, P.n); let jhi = min(jlo + P.clen, P.n);`,
    ]),
    ...ind("  ", uni),
    ...ind("  ", pre),
    ...ind("  ", init),
    `  if (!firstBlock && !partial) { ${rowsR.map(restore).join(" ")} }`,
    // With ranges, the tiles of each interval of the piece in turn.
    ...(layout.ranged
      ? [
        `  for (var s = s0; s < s1; s++) {`,
        `  let jlo = rng[P.clen + 2u * s]; let jhi = rng[P.clen + 2u * s + 1u];`,
      ]
      : []),
    `  for (var j0 = jlo; j0 < jhi; j0 += ${TJ}u) {`,
    ...tileLoads(),
    `    workgroupBarrier();`,
    `    let cnt = min(${TJ}u, jhi - j0);`,
    `    for (var jj = 0u; jj < cnt; jj++) {`,
    `      let jg = i32(P.jbase + j0 + jj);`,
    ...ind("      ", term),
    ...ind("      ", pair),
    ...fold.map((l) => "      " + l),
    `    }`,
    ...flush.map((l) => "    " + l),
    `    workgroupBarrier();`,
    `  }`,
    ...(layout.ranged ? [`  }`] : []),
    ...rowsR.map((r) =>
      `  if (${live(r)}) { if (partial) { ${
        save(r, "accb", `wid.y * P.m + i_${r}`)
      } } else if (lastBlock) { ${fin[r]} } else { ${save(r, "accb", `i_${r}`)} } }`
    ),
    // Every binding is used statically, so that the automatic layout keeps them all.
    `  if (P.m == 0xffffffffu) { outv[0] = inp[0] + inp4[0].x; outi[0] = 0; accb[0] = 0.0;${
      layout.ranged ? " outi[1] = i32(rng[0]);" : ""
    } }`,
    `}`,
  ].join("\n");
  // The tile loads iterate ⌈TJ·dim / WG⌉ times per tile; accumulators are loaded, stored,
  // initialised and finalized once.
  for (const s of jSlots) if (s.dim % 4 === 0) visits.tile += Math.ceil((TJ * s.dim) / 4 / WG) + 1;
  if (jSlots.some((s) => s.dim % 4 !== 0)) visits.tile += Math.ceil(TJ / WG) + 1;

  visits.fixed += R * (4 * accSize + 8);
  return {
    code,
    slots,
    constants,
    accSize,
    valuesWidth,
    indicesWidth,
    layout,
    family: fam,
    visits: { term: visits.term, tile: visits.tile, fixed: visits.fixed },
    privateFloats,
    pairStatements: term.length + pair.length + fold.length,
  };
}
