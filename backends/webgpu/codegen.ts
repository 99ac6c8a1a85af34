/**
 * WGSL code generation: one compute shader per (formulas, reduction, dims), KeOps's 1-D GPU
 * scheme. One invocation per output row i; the reduced index j is walked in tiles of TJ rows
 * of the j-variables, staged through `var<workgroup>` memory by the whole workgroup; the
 * accumulator lives in registers:
 *
 *     load i-variables, evaluate the nodes that do not depend on j, init acc (or load it)
 *     for j0 in 0, TJ, 2·TJ, … < n:
 *         workgroup loads rows j0 … j0+TJ−1 of the j-variables; barrier
 *         for each j of the tile: evaluate the pair nodes, fold F (and W) into acc
 *         barrier
 *     finalize acc into the outputs (or store it, when more blocks of j follow)
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

/** The most floats of private arrays one invocation may declare (256 KiB). */
export const PRIVATE_FLOATS = 65536;

/** The sizes of the arrays declared in generated lines. */
function* arraySizes(...blocks: string[][]): Generator<number> {
  for (const lines of blocks) {
    for (const l of lines) for (const m of l.matchAll(/array<(?:f32|i32), (\d+)>/g)) yield Number(m[1]);
  }
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
  readonly workgroupSize: number;
}

/** The reduction families as the shader implements them. */
function family(
  plan: ReducePlan,
): { fam: "sum" | "min" | "max" | "kmin" | "lse"; mode: "log" | "ratio" | "raw" } {
  const name = plan.reduction.name;
  switch (plan.reduction.family) {
    case "sum":
      return { fam: "sum", mode: "raw" };
    case "extremum":
      return { fam: name.startsWith("Max") || name === "ArgMax" ? "max" : "min", mode: "raw" };
    case "kmin":
      return { fam: "kmin", mode: "raw" };
    default:
      return {
        fam: "lse",
        mode: name === "SumSoftMaxWeight" ? "ratio" : name.startsWith("Max_") ? "raw" : "log",
      };
  }
}

/**
 * Generates the shader of a plan.
 *
 * @example
 * ```ts
 * import { generate } from "./codegen.ts";
 * import { make } from "../../formula/ops.ts";
 * import { REDUCTIONS } from "../../formula/reductions.ts";
 * const x = make("Var", [], [0, 3, 0]), y = make("Var", [], [1, 3, 1]);
 * const F = make("Exp", [make("Minus", [make("Sum", [make("Square", [make("Subtract", [x, y], [])], [])], [])], [])], []);
 * const s = generate({ reduction: REDUCTIONS.Sum, dims: { D: 1, K: 0, Dw: 1 }, formulas: [F], dtype: "float32" }, 64, 64);
 * console.assert(s.code.includes("@compute") && s.slots.length === 2);
 * ```
 */
export function generate(plan: ReducePlan, workgroupSize: number, tile: number): Shader {
  const { fam, mode } = family(plan);
  const { D, K, Dw } = plan.dims;
  const slots: { ind: number; cat: number; dim: number }[] = [];
  const slotIndex = new Map<number, number>();
  const constants: number[] = []; // the values of the constant leaves, in the input buffer
  const pre: string[] = []; // statements before the j loop
  const pair: string[] = []; // statements per pair
  const names = new Map<string, { read: (k: string) => string; pair: boolean }>();
  let tmp = 0;

  const visit = (n: Node): { read: (k: string) => string; pair: boolean } => {
    const key = keyOf(n);
    const hit = names.get(key);
    if (hit) return hit;
    let out: { read: (k: string) => string; pair: boolean };
    const def = opDef(n.op);
    if (n.op === "Var") {
      const [ind, d, cat] = n.params as number[];
      if (cat > 2) throw new TypeError(`Cannot compile the temporary variable ${printFormula(n)}`);
      let s = slotIndex.get(ind);
      if (s === undefined) {
        s = slots.push({ ind, cat, dim: d }) - 1;
        slotIndex.set(ind, s);
        if (cat !== 1) {
          // i-variables at row i, parameters at row 0: copied into registers once.
          const row = cat === 0 ? `i * ${intLiteral(d, true)}` : "0u";
          pre.push(`var s${s}: array<f32, ${d}>;`);
          pre.push(
            `if (live) { for (var k = 0u; k < ${d}u; k++) { s${s}[k] = inp[P.off[${s}u] + ${row} + k]; } }`,
          );
        }
      }
      out = cat === 1
        ? { read: (k) => `t${s}[jj * ${intLiteral(d, true)} + ${k}]`, pair: true }
        : { read: (k) => `s${s}[${k}]`, pair: false };
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
      pre.push(`let ${name} = inp[P.cbase + ${intLiteral(constants.push(v) - 1, true)}];`);
      out = { read: () => name, pair: false };
    } else if (def.kind === "elementwise" || def.kind === "vector") {
      const args = n.args.map(visit);
      const isPair = args.some((a) => a.pair);
      const name = `v${tmp++}`;
      const rule = WGSL[n.op as Evaluated];
      const comp = (q: number, k: string) => args[q].read(n.args[q].dim === 1 ? "0u" : k);
      if ("expr" in rule && n.dim === 1) {
        // A scalar is a `let`, not an array and a loop: the drivers' compilers take far
        // longer over thousands of one-element arrays.
        (isPair ? pair : pre).push(`let ${name} = ${rule.expr(args.map((_, q) => comp(q, "0u")), n)};`);
        out = { read: () => name, pair: isPair };
      } else {
        const lines: string[] = [`var ${name}: array<f32, ${n.dim}>;`];
        if ("expr" in rule) {
          // Element-wise: a scalar argument broadcasts over the components.
          lines.push(
            `for (var k = 0u; k < ${n.dim}u; k++) { ${name}[k] = ${
              rule.expr(args.map((_, q) => comp(q, "k")), n)
            }; }`,
          );
        } else {
          lines.push(rule.stmt(name, args.map((a) => a.read), n));
        }
        (isPair ? pair : pre).push(...lines);
        out = { read: (k) => `${name}[${k}]`, pair: isPair };
      }
    } else {
      throw new TypeError(`Cannot compile ${n.op} before lowering`);
    }
    names.set(key, out);
    return out;
  };
  const [F, W] = plan.formulas.map(visit);

  // Accumulator and reduction code.
  const KD = K * D;
  const accSize = fam === "sum" ? D : fam === "kmin" ? 2 * KD : fam === "lse" ? 1 + Dw : 2 * D;
  const valuesWidth = fam === "sum"
    ? D
    : fam === "kmin"
    ? KD
    : fam === "lse"
    ? (mode === "raw" ? 1 + Dw : mode === "ratio" ? Dw - 1 : Dw)
    : D;
  const indicesWidth = fam === "kmin" ? KD : fam === "min" || fam === "max" ? D : 0;
  const init: string[] = [`var acc: array<f32, ${accSize}>;`];
  const fold: string[] = [];
  const flush: string[] = [];
  const fin: string[] = [];
  const f = (k: string) => F.read(k);
  if (fam === "sum") {
    init.push(`var part: array<f32, ${D}>;`);
    fold.push(`for (var k = 0u; k < ${D}u; k++) { part[k] += ${f("k")}; }`);
    flush.push(`for (var k = 0u; k < ${D}u; k++) { acc[k] += part[k]; part[k] = 0.0; }`);
    fin.push(`for (var k = 0u; k < ${D}u; k++) { outv[vo + k] = acc[k]; }`);
  } else if (fam === "min" || fam === "max") {
    const cmp = fam === "min" ? "<" : ">";
    init.push(`var idx: array<i32, ${D}>;`);
    init.push(
      `if (firstBlock) { for (var k = 0u; k < ${D}u; k++) { acc[k] = ${fam === "min" ? "" : "-"}P.inf; } }`,
    );
    fold.push(
      `for (var k = 0u; k < ${D}u; k++) { let v = ${
        f("k")
      }; if (v ${cmp} acc[k]) { acc[k] = v; idx[k] = i32(P.jbase + j); } }`,
    );
    fin.push(`for (var k = 0u; k < ${D}u; k++) { outv[vo + k] = acc[k]; outi[io + k] = idx[k]; }`);
  } else if (fam === "kmin") {
    init.push(`var idx: array<i32, ${KD}>;`);
    init.push(`if (firstBlock) { for (var k = 0u; k < ${KD}u; k++) { acc[k] = P.inf; } }`);
    fold.push(`for (var c = 0u; c < ${D}u; c++) {
        let v = ${f("c")};
        if (v < acc[${K - 1}u * ${D}u + c]) {
          var s = ${K - 1}u;
          loop { if (s == 0u) { break; } if (!(v < acc[(s - 1u) * ${D}u + c])) { break; }
            acc[s * ${D}u + c] = acc[(s - 1u) * ${D}u + c]; idx[s * ${D}u + c] = idx[(s - 1u) * ${D}u + c]; s -= 1u; }
          acc[s * ${D}u + c] = v; idx[s * ${D}u + c] = i32(P.jbase + j);
        } }`);
    fin.push(`for (var k = 0u; k < ${KD}u; k++) { outv[vo + k] = acc[k]; outi[io + k] = idx[k]; }`);
  } else {
    init.push(`if (firstBlock) { acc[0] = -P.inf; }`);
    fold.push(`{ let v = ${f("0u")};
        if (v > acc[0]) {
          let sc = select(exp(acc[0] - v), 0.0, acc[0] == -P.inf);
          for (var c = 0u; c < ${Dw}u; c++) { acc[1u + c] = acc[1u + c] * sc + ${W.read("c")}; }
          acc[0] = v;
        } else if (bitcast<u32>(v) != 0xff800000u) { // not −∞ (NaN comes here and spreads, as on the CPU)
          // e^(∞ − ∞) = 1, as on the CPU; a NaN term poisons the sums.
          let ev = select(select(exp(v - acc[0]), 1.0, v == acc[0]), v, kt_isnan(v));
          for (var c = 0u; c < ${Dw}u; c++) { acc[1u + c] += ev * ${W.read("c")}; }
        } }`);
    if (mode === "log") {
      fin.push(`for (var c = 0u; c < ${Dw}u; c++) { outv[vo + c] = acc[0] + log(acc[1u + c]); }`);
    } else if (mode === "ratio") {
      fin.push(`for (var c = 0u; c < ${Dw - 1}u; c++) { outv[vo + c] = acc[2u + c] / acc[1u]; }`);
    } else fin.push(`for (var c = 0u; c <= ${Dw}u; c++) { outv[vo + c] = acc[c]; }`);
  }
  // Indices travel with the accumulator between blocks of j (stored as floats, exact below 2^24).
  const hasIdx = indicesWidth > 0;
  const idxCount = fam === "kmin" ? KD : D;
  const load =
    `if (!firstBlock) { for (var k = 0u; k < ${accSize}u; k++) { acc[k] = accb[i * ${accSize}u + k]; }${
      hasIdx
        ? ` for (var k = 0u; k < ${idxCount}u; k++) { idx[k] = i32(accb[i * ${accSize}u + ${
          accSize - idxCount
        }u + k]); }`
        : ""
    } }`;
  const store = `for (var k = 0u; k < ${accSize}u; k++) { accb[i * ${accSize}u + k] = acc[k]; }${
    hasIdx
      ? ` for (var k = 0u; k < ${idxCount}u; k++) { accb[i * ${accSize}u + ${
        accSize - idxCount
      }u + k] = f32(idx[k]); }`
      : ""
  }`;

  const jSlots = slots.map((s, q) => ({ ...s, q })).filter((s) => s.cat === 1);
  const nOff = slots.length;
  const bindings = [
    `struct Params { m: u32, n: u32, jbase: u32, flags: u32, inf: f32, nan: u32, cbase: u32, pad2: u32, off: array<vec4<u32>, ${
      Math.max(1, Math.ceil(nOff / 4))
    }> }`,
    `@group(0) @binding(0) var<uniform> P: Params;`,
    // Every input in one buffer, slot q from float P.off[q] on: four storage bindings whatever
    // the number of variables (devices may allow as few as eight).
    `@group(0) @binding(1) var<storage, read> inp: array<f32>;`,
    `@group(0) @binding(2) var<storage, read_write> outv: array<f32>;`,
    `@group(0) @binding(3) var<storage, read_write> outi: array<i32>;`,
    `@group(0) @binding(4) var<storage, read_write> accb: array<f32>;`,
    ...jSlots.map((s) => `var<workgroup> t${s.q}: array<f32, ${tile * s.dim}>;`),
  ];
  const offExpr = (q: number) => `P.off[${Math.floor(q / 4)}u][${q % 4}u]`;
  // Registers: every array of the invocation lives in private memory, which GPUs keep small.
  const privateFloats = [...arraySizes(pre, pair, init)].reduce((a, b) => a + b, 0);
  if (privateFloats > PRIVATE_FLOATS) {
    throw new UnsupportedError(
      `This formula needs ${privateFloats} floats of registers per row on the GPU, more than its limit of ${PRIVATE_FLOATS}: use backend "cpu"`,
    );
  }
  const code = [
    HELPERS,
    ...bindings,
    `@compute @workgroup_size(${workgroupSize})`,
    `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {`,
    `  let i = gid.x + gid.y * ${workgroupSize * 65535}u;`,
    `  let live = i < P.m;`,
    `  let firstBlock = (P.flags & 1u) != 0u;`,
    `  let lastBlock = (P.flags & 2u) != 0u;`,
    ...pre.map((l) => "  " + l.replace(/P\.off\[(\d+)u\]/g, (_, q) => offExpr(Number(q)))),
    ...init.map((l) => "  " + l),
    `  if (live) { ${load} }`,
    `  for (var j0 = 0u; j0 < P.n; j0 += ${tile}u) {`,
    ...jSlots.map((s) =>
      `    for (var r = lid.x; r < ${tile}u; r += ${workgroupSize}u) { if (j0 + r < P.n) { for (var k = 0u; k < ${s.dim}u; k++) { t${s.q}[r * ${s.dim}u + k] = inp[${
        offExpr(s.q)
      } + (j0 + r) * ${s.dim}u + k]; } } }`
    ),
    `    workgroupBarrier();`,
    `    if (live) {`,
    `      let cnt = min(${tile}u, P.n - j0);`,
    `      for (var jj = 0u; jj < cnt; jj++) {`,
    `        let j = j0 + jj;`,
    ...pair.map((l) => "        " + l),
    ...fold.map((l) => "        " + l),
    `      }`,
    ...flush.map((l) => "      " + l),
    `    }`,
    `    workgroupBarrier();`,
    `  }`,
    `  if (live) {`,
    `    let vo = i * ${valuesWidth}u;`,
    `    let io = i * ${Math.max(1, indicesWidth)}u;`,
    `    if (lastBlock) { ${fin.join(" ")} } else { ${store} }`,
    `  }`,
    // Every binding is used statically, so that the automatic layout keeps them all.
    `  if (P.m == 0xffffffffu) { outv[0] = inp[0]; outi[0] = 0; accb[0] = 0.0; }`,
    `}`,
  ].join("\n");
  return { code, slots, constants, accSize, valuesWidth, indicesWidth, workgroupSize };
}
