/**
 * The GPU engine's schemes: how a call's work is laid out on the device, from the shape, the
 * formula's width and the adapter (rows per invocation, invocations per workgroup, chunks of
 * the reduced index), the layout of a tile of terms in workgroup memory, and the limits that
 * bound them.
 *
 * @module
 */

/** Invocations per workgroup, at most. */
export const WORKGROUP = 64;
/**
 * Terms per tile, as far as workgroup memory allows: a barrier and a cooperative load per
 * tile, so that longer tiles spread them over more terms (small workgroups most of all).
 */
export const TILE = 256;
/**
 * Software adapters (llvmpipe) stop the loops of an invocation once their header visits, all
 * loops together, pass 65,535 (a guard against endless loops, which here cuts long reductions
 * short: the terms past it are silently dropped). On them, no invocation makes more than this
 * many visits in one dispatch: the chunks of j are sized by the shader's visits per term.
 */
export const SOFTWARE_LOOP_ITERATIONS = 60000;
/** Floats of private arrays per invocation up to which rows are blocked in registers. */
const REGISTER_BUDGET = 192;
/** Statements per term up to which rows are blocked (R copies of them make the shader). */
const CODE_BUDGET = 512;

/** A forced scheme (rows per invocation, chunks of j), or undefined for the shape's choice. */
let forced: { rows?: number; chunks?: number } | undefined;

/**
 * The scheme forced by `setGpuScheme`, if any.
 *
 * @example
 * ```ts
 * import { forcedScheme, setGpuScheme } from "./scheme.ts";
 * import assert from "node:assert/strict";
 * setGpuScheme({ chunks: 3 });
 * assert.ok(forcedScheme()?.chunks === 3);
 * setGpuScheme(undefined);
 * ```
 */
export function forcedScheme(): { rows?: number; chunks?: number } | undefined {
  return forced;
}
/**
 * Forces the scheme of the next calls: rows per invocation and chunks of j (tests use it to
 * drive every path on small inputs); `undefined` returns to the choice by shape.
 *
 * @example
 * ```ts
 * import { forcedScheme, setGpuScheme } from "./scheme.ts";
 * import assert from "node:assert/strict";
 * setGpuScheme({ rows: 2 });
 * setGpuScheme(undefined); // back to the choice by shape
 * assert.ok(forcedScheme() === undefined);
 * ```
 */
export function setGpuScheme(s: { rows?: number; chunks?: number } | undefined): void {
  forced = s;
}

/**
 * The scheme of a call, from the shape, the formula's width and the adapter: rows blocked in
 * registers as far as the formula's registers allow (each value loaded from workgroup memory
 * then serves them all), workgroups no larger than the rows need, and j split into chunks
 * when the row blocks alone do not give enough workgroups to fill the device (four per thread
 * on a software adapter, where a workgroup is a task on one core; 1,024 on a GPU, eight per
 * multiprocessor of the largest ones).
 *
 * @example
 * ```ts
 * import { chooseScheme } from "./scheme.ts";
 * import assert from "node:assert/strict";
 * const few = chooseScheme(64, 1 << 18, 64, 8, 4, false); // 64 rows: j split across workgroups
 * assert.ok(few.chunks > 1);
 * ```
 */
export function chooseScheme(
  M: number,
  N: number,
  tile: number,
  privateFloats: number,
  pairStatements: number,
  fallback: boolean,
  maxWorkgroup = WORKGROUP,
): { rows: number; chunks: number; workgroupSize: number } {
  const parallel = fallback ? 4 * Math.max(1, navigator.hardwareConcurrency ?? 1) : 1024;
  // The smallest workgroup: a SIMD vector of the software adapter (8 lanes of 32 bits in 256),
  // a warp or wavefront (32) on a GPU.
  const minWorkgroup = Math.min(maxWorkgroup, fallback ? 8 : 32);
  // No more rows than there are, and no more code than the compilers take quickly.
  const rows = forced?.rows ?? [8, 4, 2, 1].find((r) =>
    r === 1 ||
    (privateFloats * r <= REGISTER_BUDGET && r * minWorkgroup <= M && r * pairStatements <= CODE_BUDGET)
  )!;
  let workgroupSize = minWorkgroup;
  while (workgroupSize < maxWorkgroup && workgroupSize * rows < M) workgroupSize *= 2;
  const groups = Math.ceil(M / (workgroupSize * rows));
  // Each chunk takes at least four tiles, so that the merge stays a small part of the work.
  const chunks = forced?.chunks ??
    (groups >= parallel
      ? 1
      : Math.max(1, Math.min(Math.ceil(parallel / groups), Math.floor(N / (4 * tile)))));
  return { rows, chunks, workgroupSize };
}

/**
 * How the j-variables of one term share a tile row of vec4: those whose dimension is a
 * multiple of 4 first (each vec4-aligned, for vec4 loads), then the others packed tightly;
 * `width` vec4 per term.
 *
 * @example
 * ```ts
 * import { packTerms } from "./scheme.ts";
 * import assert from "node:assert/strict";
 * const p = packTerms([{ q: 1, dim: 3 }, { q: 2, dim: 1 }]); // y (3) and b (1): one vec4
 * assert.ok(p.width === 1 && p.offset.get(2) === 3);
 * ```
 */
export function packTerms(
  vars: readonly { q: number; dim: number }[],
): { width: number; offset: Map<number, number> } {
  const offset = new Map<number, number>();
  let f = 0;
  for (const v of vars) if (v.dim % 4 === 0) offset.set(v.q, (f += v.dim) - v.dim);
  for (const v of vars) if (v.dim % 4 !== 0) offset.set(v.q, (f += v.dim) - v.dim);
  return { width: Math.max(1, Math.ceil(f / 4)), offset };
}
