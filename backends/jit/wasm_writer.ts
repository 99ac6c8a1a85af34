/**
 * A WebAssembly binary writer, just what the formula compiler needs: one exported function
 * `run(header: i32)`, an imported memory (shared or not) and imported float64 host functions.
 * Instructions are appended as bytes to a `Body`; `moduleBytes` wraps a body into a module.
 * Opcode numbers are those of the WebAssembly core and SIMD specifications.
 *
 * @module
 */

/** Value types. */
export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;

/** Plain (one-byte) opcodes used by the compiler. */
export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  i32_load: 0x28,
  f32_load: 0x2a,
  f64_load: 0x2b,
  f32_store: 0x38,
  f64_store: 0x39,
  i32_const: 0x41,
  f32_const: 0x43,
  f64_const: 0x44,
  i32_eqz: 0x45,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_ge_u: 0x4f,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_and: 0x71,
  i32_or: 0x72,
  f64_gt: 0x64,
  f64_add: 0xa0,
  f64_sub: 0xa1,
  f64_mul: 0xa2,
  i32_trunc_f64_s: 0xaa,
  i64_extend_i32_s: 0xac,
  i64_trunc_f64_s: 0xb0,
  f32_demote_f64: 0xb6,
  f64_convert_i32_s: 0xb7,
  f64_convert_i64_s: 0xb9,
  f64_promote_f32: 0xbb,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
export const SIMD = {
  v128_load: 0x00,
  v128_load32_splat: 0x09,
  v128_load64_splat: 0x0a,
  v128_store: 0x0b,
  v128_const: 0x0c,
  i8x16_shuffle: 0x0d,
  i32x4_splat: 0x11,
  i64x2_splat: 0x12,
  f32x4_splat: 0x13,
  f64x2_splat: 0x14,
  i32x4_extract_lane: 0x1b,
  i32x4_replace_lane: 0x1c,
  i64x2_extract_lane: 0x1d,
  i64x2_replace_lane: 0x1e,
  f32x4_extract_lane: 0x1f,
  f32x4_replace_lane: 0x20,
  f64x2_extract_lane: 0x21,
  f64x2_replace_lane: 0x22,
  i32x4_eq: 0x37,
  i32x4_lt_s: 0x39,
  i32x4_gt_s: 0x3b,
  f32x4_eq: 0x41,
  f32x4_ne: 0x42,
  f32x4_lt: 0x43,
  f32x4_gt: 0x44,
  f32x4_le: 0x45,
  f32x4_ge: 0x46,
  f64x2_eq: 0x47,
  f64x2_ne: 0x48,
  f64x2_lt: 0x49,
  f64x2_gt: 0x4a,
  f64x2_le: 0x4b,
  f64x2_ge: 0x4c,
  v128_not: 0x4d,
  v128_and: 0x4e,
  v128_andnot: 0x4f,
  v128_or: 0x50,
  v128_xor: 0x51,
  v128_bitselect: 0x52,
  v128_any_true: 0x53,
  f32x4_demote_f64x2_zero: 0x5e,
  f64x2_promote_low_f32x4: 0x5f,
  f32x4_ceil: 0x67,
  f32x4_floor: 0x68,
  f32x4_trunc: 0x69,
  f32x4_nearest: 0x6a,
  f64x2_ceil: 0x74,
  f64x2_floor: 0x75,
  f64x2_trunc: 0x7a,
  f64x2_nearest: 0x94,
  i32x4_all_true: 0xa3,
  i32x4_bitmask: 0xa4,
  i32x4_shl: 0xab,
  i32x4_shr_s: 0xac,
  i32x4_shr_u: 0xad,
  i32x4_add: 0xae,
  i32x4_sub: 0xb1,
  i64x2_all_true: 0xc3,
  i64x2_shl: 0xcb,
  i64x2_shr_s: 0xcc,
  i64x2_shr_u: 0xcd,
  i64x2_add: 0xce,
  i64x2_sub: 0xd1,
  f32x4_abs: 0xe0,
  f32x4_neg: 0xe1,
  f32x4_sqrt: 0xe3,
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f32x4_div: 0xe7,
  f32x4_min: 0xe8,
  f32x4_max: 0xe9,
  f64x2_abs: 0xec,
  f64x2_neg: 0xed,
  f64x2_sqrt: 0xef,
  f64x2_add: 0xf0,
  f64x2_sub: 0xf1,
  f64x2_mul: 0xf2,
  f64x2_div: 0xf3,
  f64x2_min: 0xf4,
  f64x2_max: 0xf5,
  i32x4_trunc_sat_f32x4_s: 0xf8,
  f32x4_convert_i32x4_s: 0xfa,
  i32x4_trunc_sat_f64x2_s_zero: 0xfc,
  f64x2_convert_low_i32x4_s: 0xfe,
  // Relaxed SIMD: a·b + c, fused where the machine has FMA (deterministic on one machine).
  f32x4_relaxed_madd: 0x105,
  f32x4_relaxed_nmadd: 0x106,
  f64x2_relaxed_madd: 0x107,
  f64x2_relaxed_nmadd: 0x108,
  // Relaxed SIMD: lane select, exact when each mask lane is all ones or all zeros (comparisons').
  i32x4_relaxed_laneselect: 0x10b,
  i64x2_relaxed_laneselect: 0x10c,
} as const;

/**
 * Appends an unsigned LEB128 integer.
 *
 * @example
 * ```ts
 * import { uleb } from "./wasm_writer.ts";
 * import assert from "node:assert/strict";
 * const out: number[] = [];
 * uleb(out, 624485);
 * assert.ok(out.join() === "229,142,38");
 * ```
 */
export function uleb(out: number[], n: number): void {
  if (!(n >= 0)) throw new RangeError(`Cannot encode ${n} as an unsigned LEB128 integer`);
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
}

/**
 * Appends a signed LEB128 integer (32-bit range).
 *
 * @example
 * ```ts
 * import { sleb } from "./wasm_writer.ts";
 * import assert from "node:assert/strict";
 * const out: number[] = [];
 * sleb(out, -123456);
 * assert.ok(out.join() === "192,187,120");
 * ```
 */
export function sleb(out: number[], n: number): void {
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

const scratch = new DataView(new ArrayBuffer(16));

/**
 * The bytes of one function body, with its locals. Locals are typed slots allocated by `local`;
 * every instruction helper appends its encoding.
 *
 * @example
 * ```ts
 * import { Body, I32, OP } from "./wasm_writer.ts";
 * import assert from "node:assert/strict";
 * const b = new Body(1);
 * const t = b.local(I32);
 * b.i32(5).set(t).get(t).op(OP.drop);
 * assert.ok(t === 1 && b.code.length > 0);
 * ```
 */
export class Body {
  code: number[] = [];
  readonly nParams: number;
  readonly localTypes: number[];
  /** `localTypes` may be shared with another body (a prologue written separately). */
  constructor(nParams: number, localTypes: number[] = []) {
    this.nParams = nParams;
    this.localTypes = localTypes;
  }

  /** A new local of type t (its index). */
  local(t: number): number {
    this.localTypes.push(t);
    return this.nParams + this.localTypes.length - 1;
  }
  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
  simd(op: number): this {
    this.code.push(0xfd);
    uleb(this.code, op);
    return this;
  }
  /** A SIMD op with a lane immediate. */
  lane(op: number, l: number): this {
    return this.simd(op).op(l);
  }
  /** A memory instruction with its alignment (log2 bytes) and static offset. */
  mem(op: number, align: number, offset: number, simd = false): this {
    if (simd) this.simd(op);
    else this.code.push(op);
    uleb(this.code, align);
    uleb(this.code, offset);
    return this;
  }
  get(k: number): this {
    this.code.push(OP.local_get);
    uleb(this.code, k);
    return this;
  }
  set(k: number): this {
    this.code.push(OP.local_set);
    uleb(this.code, k);
    return this;
  }
  tee(k: number): this {
    this.code.push(OP.local_tee);
    uleb(this.code, k);
    return this;
  }
  i32(n: number): this {
    this.code.push(OP.i32_const);
    sleb(this.code, n);
    return this;
  }
  f64(x: number): this {
    this.code.push(OP.f64_const);
    scratch.setFloat64(0, x, true);
    for (let k = 0; k < 8; k++) this.code.push(scratch.getUint8(k));
    return this;
  }
  /** v128.const from 16 bytes. */
  v128(bytes: Uint8Array): this {
    this.simd(SIMD.v128_const);
    for (const b of bytes) this.code.push(b);
    return this;
  }
  /** Structured control: block/loop/if with an empty result type. */
  begin(kind: number): this {
    this.code.push(kind, 0x40);
    return this;
  }
  end(): this {
    this.code.push(OP.end);
    return this;
  }
  br(depth: number): this {
    this.code.push(OP.br);
    uleb(this.code, depth);
    return this;
  }
  brIf(depth: number): this {
    this.code.push(OP.br_if);
    uleb(this.code, depth);
    return this;
  }
  call(f: number): this {
    this.code.push(OP.call);
    uleb(this.code, f);
    return this;
  }
}

/** A host function import: its name and number of float64 arguments (one float64 result). */
export interface HostImport {
  readonly name: string;
  readonly arity: number;
}

function append(out: number[], more: readonly number[]) {
  for (const b of more) out.push(b);
}

function section(out: number[], id: number, content: number[]) {
  out.push(id);
  uleb(out, content.length);
  append(out, content);
}

function name(out: number[], s: string) {
  const b = new TextEncoder().encode(s);
  uleb(out, b.length);
  out.push(...b);
}

/**
 * The module: imports `env.memory` (shared when asked, with the given maximum pages) and the
 * host functions (function indices 0 … n−1, in order), exports `run` = the body (one i32
 * parameter, no result).
 *
 * @example
 * ```ts
 * import { Body, moduleBytes } from "./wasm_writer.ts";
 * import assert from "node:assert/strict";
 * const bytes = moduleBytes(new Body(1), [{ name: "sin", arity: 1 }], false);
 * assert.ok(WebAssembly.validate(bytes));
 * ```
 */
export function moduleBytes(
  body: Body,
  hosts: readonly HostImport[],
  shared: boolean,
): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  // Types: 0 = (i32) -> (); 1 + a = (f64 × a) -> f64.
  const arities = [...new Set(hosts.map((h) => h.arity))];
  const types: number[] = [];
  uleb(types, 1 + arities.length);
  types.push(0x60, 1, I32, 0);
  for (const a of arities) {
    types.push(0x60);
    uleb(types, a);
    for (let k = 0; k < a; k++) types.push(F64);
    types.push(1, F64);
  }
  section(out, 1, types);
  const imports: number[] = [];
  uleb(imports, 1 + hosts.length);
  name(imports, "env");
  name(imports, "memory");
  imports.push(0x02);
  if (shared) {
    imports.push(0x03);
    uleb(imports, 1);
    uleb(imports, 65536);
  } else {
    imports.push(0x00);
    uleb(imports, 1);
  }
  for (const h of hosts) {
    name(imports, "env");
    name(imports, h.name);
    imports.push(0x00);
    uleb(imports, 1 + arities.indexOf(h.arity));
  }
  section(out, 2, imports);
  section(out, 3, [1, 0]);
  const exports: number[] = [1];
  name(exports, "run");
  exports.push(0x00);
  uleb(exports, hosts.length);
  section(out, 7, exports);
  // Code: locals in runs of one type.
  const fn: number[] = [];
  const runs: [number, number][] = [];
  for (const t of body.localTypes) {
    if (runs.length && runs[runs.length - 1][1] === t) runs[runs.length - 1][0]++;
    else runs.push([1, t]);
  }
  uleb(fn, runs.length);
  for (const [n, t] of runs) {
    uleb(fn, n);
    fn.push(t);
  }
  append(fn, body.code);
  fn.push(OP.end);
  const code: number[] = [1];
  uleb(code, fn.length);
  append(code, fn);
  section(out, 10, code);
  return new Uint8Array(out);
}
