/**
 * The merge pass of the split scheme. When a block of j is split into C chunks across
 * workgroups (few output rows), each chunk leaves its partial accumulator of each row; this
 * pass folds them into the row's total in the order of j, with the merge rule of the
 * reduction's family (`formula/reductions.ts` defines the same rules for the CPU engines):
 *
 *     sum          s ⊕ s' = s + s'
 *     Min / Max    the better value; on a tie the earlier chunk's, which has the smaller index
 *     KMin         the K smallest of two sorted lists; on a tie the earlier list's entry first
 *     LogSumExp    (m, s) ⊕ (m', s') = (M, s·e^(m−M) + s'·e^(m'−M)),  M = max(m, m')
 *
 * and then finalizes the row, or carries it to the next block of j.
 *
 * @module
 */

import type { ReducePlan, SumScheme } from "../backend.ts";
import { HELPERS } from "./wgsl_ops.ts";

/**
 * A reduction family as the shaders implement it, with its finalization, and for the sums (Sum
 * and the LSE family) how terms are added: "kahan" keeps a compensation per sum after the sums
 * in the accumulator (the sum's exact value is about s − c).
 */
export interface Family {
  readonly fam: "sum" | "min" | "max" | "kmin" | "lse";
  readonly mode: "log" | "ratio" | "raw";
  readonly scheme?: SumScheme;
}

/**
 * The family of a plan's reduction.
 *
 * @example
 * ```ts
 * import { familyOf } from "./merge.ts";
 * import { REDUCTIONS } from "../../formula/reductions.ts";
 * import assert from "node:assert/strict";
 * const f = familyOf({ reduction: REDUCTIONS.ArgKMin, dims: { D: 1, K: 3, Dw: 1 }, formulas: [], dtype: "float32" });
 * assert.ok(f.fam === "kmin");
 * ```
 */
export function familyOf(plan: ReducePlan): Family {
  const name = plan.reduction.name;
  const scheme = plan.sumScheme ?? "block";
  switch (plan.reduction.family) {
    case "sum":
      return { fam: "sum", mode: "raw", scheme };
    case "extremum":
      return { fam: name.startsWith("Max") || name === "ArgMax" ? "max" : "min", mode: "raw" };
    case "kmin":
      return { fam: "kmin", mode: "raw" };
    default:
      return {
        fam: "lse",
        mode: name === "SumSoftMaxWeight" ? "ratio" : name.startsWith("Max_") ? "raw" : "log",
        scheme,
      };
  }
}

/**
 * Statements writing the outputs of a row from its accumulator `A` (and indices `I`).
 *
 * @example
 * ```ts
 * import { finalize } from "./merge.ts";
 * import assert from "node:assert/strict";
 * const s = finalize({ fam: "lse", mode: "log" }, { D: 1, K: 0, Dw: 1 }, "acc", "idx", "vo", "io");
 * assert.ok(s.includes("log(acc[1u + c])"));
 * ```
 */
export function finalize(
  { fam, mode, scheme }: Family,
  { D, K, Dw }: { D: number; K: number; Dw: number },
  A: string,
  I: string,
  vo: string,
  io: string,
): string {
  const kahan = scheme === "kahan";
  if (fam === "sum") {
    return `for (var k = 0u; k < ${D}u; k++) { outv[${vo} + k] = ${A}[k]${
      kahan ? ` - ${A}[${D}u + k]` : ""
    }; }`;
  }
  if (fam === "lse" && kahan) {
    // The compensations folded into the sums first, then the usual finalization.
    return `for (var c = 0u; c < ${Dw}u; c++) { ${A}[1u + c] -= ${A}[${1 + Dw}u + c]; } ` +
      finalize({ fam, mode }, { D, K, Dw }, A, I, vo, io);
  }
  if (fam === "min" || fam === "max" || fam === "kmin") {
    const n = fam === "kmin" ? K * D : D;
    return `for (var k = 0u; k < ${n}u; k++) { outv[${vo} + k] = ${A}[k]; outi[${io} + k] = ${I}[k]; }`;
  }
  if (mode === "log") {
    return `for (var c = 0u; c < ${Dw}u; c++) { outv[${vo} + c] = ${A}[0] + log(${A}[1u + c]); }`;
  }
  if (mode === "ratio") {
    return `for (var c = 0u; c < ${Dw - 1}u; c++) { outv[${vo} + c] = ${A}[2u + c] / ${A}[1u]; }`;
  }
  return `for (var c = 0u; c <= ${Dw}u; c++) { outv[${vo} + c] = ${A}[c]; }`;
}

/**
 * Statements initialising an accumulator (and its indices) to the family's neutral element.
 *
 * @example
 * ```ts
 * import { initAcc } from "./merge.ts";
 * import assert from "node:assert/strict";
 * assert.ok(initAcc({ fam: "min", mode: "raw" }, { D: 2, K: 0 }, "acc").includes("P.inf"));
 * ```
 */
export function initAcc({ fam }: Family, { D, K }: { D: number; K: number }, A: string): string {
  if (fam === "sum") return "";
  if (fam === "min" || fam === "max") {
    return `for (var k = 0u; k < ${D}u; k++) { ${A}[k] = ${fam === "min" ? "" : "-"}P.inf; }`;
  }
  if (fam === "kmin") return `for (var k = 0u; k < ${K * D}u; k++) { ${A}[k] = P.inf; }`;
  return `${A}[0] = -P.inf;`;
}

/**
 * Statements merging accumulator `B`/`J` (of later terms) into `A`/`I`. Compensated sums merge
 * by Knuth's two-sum: t = a + b exactly equals t + e, so (a − c) + (b − c') = t − (c + c' − e).
 */
function mergeStmts({ fam, scheme }: Family, { D, K, Dw }: { D: number; K: number; Dw: number }): string {
  // (Each rounded result through a select the compiler cannot decide, so that it cannot
  // reassociate the error terms away; see codegen.ts.)
  const keep = (x: string) => `select(${x}, 0.0, P.m == 0xffffffffu)`;
  const twoSum = (s: string, c: string, b: string, cb: string) =>
    `{ let t = ${keep(`${s} + ${b}`)}; let bp = ${keep(`t - ${s}`)}; let e = (${s} - ${
      keep("t - bp")
    }) + (${b} - bp); ${s} = t; ${c} = ${c} + ${cb} - e; }`;
  if (fam === "sum" && scheme === "kahan") {
    return `for (var k = 0u; k < ${D}u; k++) ${twoSum("A[k]", `A[${D}u + k]`, "B[k]", `B[${D}u + k]`)}`;
  }
  if (fam === "sum") return `for (var k = 0u; k < ${D}u; k++) { A[k] += B[k]; }`;
  if (fam === "lse" && scheme === "kahan") {
    return `{ let m = max(A[0], B[0]);
    if (m != -P.inf) {
      let ea = select(exp(A[0] - m), 1.0, A[0] == m); let eb = select(exp(B[0] - m), 1.0, B[0] == m);
      for (var c = 1u; c <= ${Dw}u; c++) {
        A[c] *= ea; A[${Dw}u + c] *= ea; let bs = B[c] * eb; let bc = B[${Dw}u + c] * eb;
        ${twoSum("A[c]", `A[${Dw}u + c]`, "bs", "bc")}
      }
      A[0] = m;
    } }`;
  }
  if (fam === "min" || fam === "max") {
    const cmp = fam === "min" ? "<" : ">";
    return `for (var k = 0u; k < ${D}u; k++) { if (B[k] ${cmp} A[k]) { A[k] = B[k]; I[k] = J[k]; } }`;
  }
  if (fam === "kmin") {
    const KD = K * D;
    return `var MA: array<f32, ${KD}>; var MI: array<i32, ${KD}>;
    for (var c = 0u; c < ${D}u; c++) {
      var x = 0u; var y = 0u;
      for (var k = 0u; k < ${K}u; k++) {
        let va = A[x * ${D}u + c]; let vb = B[y * ${D}u + c];
        if (va <= vb || kt_isnan(vb)) { MA[k * ${D}u + c] = va; MI[k * ${D}u + c] = I[x * ${D}u + c]; x++; }
        else { MA[k * ${D}u + c] = vb; MI[k * ${D}u + c] = J[y * ${D}u + c]; y++; }
      }
    }
    for (var k = 0u; k < ${KD}u; k++) { A[k] = MA[k]; I[k] = MI[k]; }`;
  }
  return `{ let m = max(A[0], B[0]);
    if (m != -P.inf) {
      let ea = select(exp(A[0] - m), 1.0, A[0] == m); let eb = select(exp(B[0] - m), 1.0, B[0] == m);
      for (var c = 1u; c <= ${Dw}u; c++) { A[c] = A[c] * ea + B[c] * eb; }
      A[0] = m;
    } }`;
}

/**
 * The merge shader of a family: one invocation per row folds the C partial accumulators (in
 * `part`, chunk-major) into the carried one (or the neutral element on the first block of j),
 * then finalizes the row on the last block, or carries it.
 *
 * @example
 * ```ts
 * import { generateMerge } from "./merge.ts";
 * import assert from "node:assert/strict";
 * const code = generateMerge({ fam: "sum", mode: "raw" }, { D: 1, K: 0, Dw: 1 }, 1, 0, 1, 0, 64);
 * assert.ok(code.includes("@compute"));
 * ```
 */
export function generateMerge(
  family: Family,
  dims: { D: number; K: number; Dw: number },
  accSize: number,
  idxCount: number,
  valuesWidth: number,
  indicesWidth: number,
  workgroupSize: number,
): string {
  const floats = accSize - idxCount;
  const load = (buf: string, at: string, X: string, Y: string) =>
    `for (var k = 0u; k < ${floats}u; k++) { ${X}[k] = ${buf}[(${at}) * ${accSize}u + k]; }` +
    (idxCount
      ? ` for (var k = 0u; k < ${idxCount}u; k++) { ${Y}[k] = i32(${buf}[(${at}) * ${accSize}u + ${floats}u + k]); }`
      : "");
  const store = `for (var k = 0u; k < ${floats}u; k++) { carry[i * ${accSize}u + k] = A[k]; }` +
    (idxCount
      ? ` for (var k = 0u; k < ${idxCount}u; k++) { carry[i * ${accSize}u + ${floats}u + k] = f32(I[k]); }`
      : "");
  return [
    HELPERS,
    `struct Params { m: u32, chunks: u32, flags: u32, pad: u32, inf: f32, nan: u32 }`,
    `@group(0) @binding(0) var<uniform> P: Params;`,
    `@group(0) @binding(1) var<storage, read> part: array<f32>;`,
    `@group(0) @binding(2) var<storage, read_write> outv: array<f32>;`,
    `@group(0) @binding(3) var<storage, read_write> outi: array<i32>;`,
    `@group(0) @binding(4) var<storage, read_write> carry: array<f32>;`,
    `@compute @workgroup_size(${workgroupSize})`,
    `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {`,
    `  let i = gid.x + gid.y * ${workgroupSize * 65535}u;`,
    `  if (i >= P.m) { if (P.m == 0xffffffffu) { outv[0] = part[0]; outi[0] = 0; carry[0] = 0.0; } return; }`,
    `  var A: array<f32, ${Math.max(1, floats)}>; var I: array<i32, ${Math.max(1, idxCount)}>;`,
    `  var B: array<f32, ${Math.max(1, floats)}>; var J: array<i32, ${Math.max(1, idxCount)}>;`,
    `  if ((P.flags & 1u) != 0u) { ${initAcc(family, dims, "A")} } else { ${load("carry", "i", "A", "I")} }`,
    `  for (var c = 0u; c < P.chunks; c++) {`,
    `    ${load("part", "c * P.m + i", "B", "J")}`,
    `    ${mergeStmts(family, dims)}`,
    `  }`,
    `  if ((P.flags & 2u) != 0u) { let vo = i * ${valuesWidth}u; let io = i * ${
      Math.max(1, indicesWidth)
    }u; ${finalize(family, dims, "A", "I", "vo", "io")} } else { ${store} }`,
    `}`,
  ].join("\n");
}
