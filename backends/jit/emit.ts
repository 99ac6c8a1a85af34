/**
 * The value-level emitter of the formula compiler: every value is a `v128` local holding one
 * component of a node for L consecutive output rows i (4 float32 lanes or 2 float64 lanes), and
 * every helper appends the instructions that compute a new local from others. `Lanes` maps the
 * generic operations to the opcodes of the element type.
 *
 * Constants live in locals set once in the function's prologue (a separate body sharing the
 * locals), so that code in loops only reads them.
 *
 * @module
 */

import { Body, I32, OP, SIMD, V128 } from "./wasm_writer.ts";

/** The opcodes of one lane type (f32x4 or f64x2) and of its index lanes (i32x4 or i64x2). */
export interface Lanes {
  readonly L: 4 | 2;
  /** Bytes per element. */
  readonly es: 4 | 8;
  readonly f32: boolean;
  readonly add: number;
  readonly sub: number;
  readonly mul: number;
  readonly div: number;
  readonly min: number;
  readonly max: number;
  readonly eq: number;
  readonly ne: number;
  readonly lt: number;
  readonly le: number;
  readonly gt: number;
  readonly ge: number;
  readonly abs: number;
  readonly neg: number;
  readonly sqrt: number;
  readonly floor: number;
  readonly ceil: number;
  readonly trunc: number;
  readonly nearest: number;
  readonly splat: number;
  readonly loadSplat: number;
  readonly extract: number;
  readonly replace: number;
  /** Integer lanes of the same width: add, shift left, splat (indices and exponent bits). */
  readonly iadd: number;
  readonly ishl: number;
  readonly isplat: number;
  readonly iextract: number;
  readonly allTrue: number;
  /** Relaxed SIMD's multiply-add. */
  readonly madd: number;
}

/** float32: four lanes. */
export const F32X4: Lanes = {
  L: 4,
  es: 4,
  f32: true,
  add: SIMD.f32x4_add,
  sub: SIMD.f32x4_sub,
  mul: SIMD.f32x4_mul,
  div: SIMD.f32x4_div,
  min: SIMD.f32x4_min,
  max: SIMD.f32x4_max,
  eq: SIMD.f32x4_eq,
  ne: SIMD.f32x4_ne,
  lt: SIMD.f32x4_lt,
  le: SIMD.f32x4_le,
  gt: SIMD.f32x4_gt,
  ge: SIMD.f32x4_ge,
  abs: SIMD.f32x4_abs,
  neg: SIMD.f32x4_neg,
  sqrt: SIMD.f32x4_sqrt,
  floor: SIMD.f32x4_floor,
  ceil: SIMD.f32x4_ceil,
  trunc: SIMD.f32x4_trunc,
  nearest: SIMD.f32x4_nearest,
  splat: SIMD.f32x4_splat,
  loadSplat: SIMD.v128_load32_splat,
  extract: SIMD.f32x4_extract_lane,
  replace: SIMD.f32x4_replace_lane,
  iadd: SIMD.i32x4_add,
  ishl: SIMD.i32x4_shl,
  isplat: SIMD.i32x4_splat,
  iextract: SIMD.i32x4_extract_lane,
  allTrue: SIMD.i32x4_all_true,
  madd: SIMD.f32x4_relaxed_madd,
};

/** float64: two lanes. */
export const F64X2: Lanes = {
  L: 2,
  es: 8,
  f32: false,
  add: SIMD.f64x2_add,
  sub: SIMD.f64x2_sub,
  mul: SIMD.f64x2_mul,
  div: SIMD.f64x2_div,
  min: SIMD.f64x2_min,
  max: SIMD.f64x2_max,
  eq: SIMD.f64x2_eq,
  ne: SIMD.f64x2_ne,
  lt: SIMD.f64x2_lt,
  le: SIMD.f64x2_le,
  gt: SIMD.f64x2_gt,
  ge: SIMD.f64x2_ge,
  abs: SIMD.f64x2_abs,
  neg: SIMD.f64x2_neg,
  sqrt: SIMD.f64x2_sqrt,
  floor: SIMD.f64x2_floor,
  ceil: SIMD.f64x2_ceil,
  trunc: SIMD.f64x2_trunc,
  nearest: SIMD.f64x2_nearest,
  splat: SIMD.f64x2_splat,
  loadSplat: SIMD.v128_load64_splat,
  extract: SIMD.f64x2_extract_lane,
  replace: SIMD.f64x2_replace_lane,
  iadd: SIMD.i64x2_add,
  ishl: SIMD.i64x2_shl,
  isplat: SIMD.i64x2_splat,
  iextract: SIMD.i64x2_extract_lane,
  allTrue: SIMD.i64x2_all_true,
  madd: SIMD.f64x2_relaxed_madd,
};

/** The host functions a module may import (float64, exact as JavaScript's Math). */
export const HOST_FUNCTIONS = {
  sin: 1,
  cos: 1,
  exp: 1,
  log: 1,
  atan: 1,
  asin: 1,
  acos: 1,
  atan2: 2,
  pow: 2,
} as const;

/** A host function's name. */
export type HostName = keyof typeof HOST_FUNCTIONS;

let relaxed: boolean | undefined;

/**
 * Whether this runtime has relaxed SIMD (its multiply-add), tried once on a tiny module.
 *
 * @example
 * ```ts
 * import { relaxedSimd } from "./emit.ts";
 * import assert from "node:assert/strict";
 * assert.ok(typeof relaxedSimd() === "boolean");
 * ```
 */
export function relaxedSimd(): boolean {
  // (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)
  relaxed ??= WebAssembly.validate(
    new Uint8Array([
      0,
      0x61,
      0x73,
      0x6d,
      1,
      0,
      0,
      0,
      1,
      8,
      1,
      0x60,
      3,
      V128,
      V128,
      V128,
      1,
      V128,
      3,
      2,
      1,
      0,
      10,
      13,
      1,
      11,
      0,
      0x20,
      0,
      0x20,
      1,
      0x20,
      2,
      0xfd,
      0x85,
      0x02,
      0x0b,
    ]),
  );
  return relaxed;
}

/**
 * Overrides the detection of relaxed SIMD (false: plain multiply and add, as on runtimes
 * without it), or restores it with undefined; returns the old setting. For tests, which run
 * both code paths on one runtime; plans compiled before keep theirs.
 *
 * @example
 * ```ts
 * import { relaxedSimd, setRelaxedSimd } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const old = setRelaxedSimd(false);
 * assert.ok(relaxedSimd() === false);
 * setRelaxedSimd(old);
 * ```
 */
export function setRelaxedSimd(on: boolean | undefined): boolean | undefined {
  const old = relaxed;
  relaxed = on;
  return old;
}

/** A local holding one v128 value. */
export type V = number;

/**
 * Emits values into a body. `pre` is the prologue (run once per call), `code` the current
 * insertion body (`at` switches it).
 *
 * @example
 * ```ts
 * import { Emitter, F32X4 } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4);
 * const two = e.cst(2), s = e.bin(F32X4.add, two, two);
 * assert.ok(s !== two && e.cst(2) === two);
 * ```
 */
export class Emitter {
  readonly locals: number[] = [];
  readonly pre: Body;
  body: Body;
  private readonly consts = new Map<string, V>();
  readonly hosts: HostName[] = [];

  readonly t: Lanes;
  readonly fma: boolean;
  /** `fma`: whether relaxed SIMD's multiply-add may be emitted (see `relaxedSimd`). */
  constructor(t: Lanes, fma = false) {
    this.t = t;
    this.fma = fma;
    this.pre = new Body(1, this.locals);
    this.body = new Body(1, this.locals);
  }

  /** Values read from memory at each use: (pointer local, static offset), by −1 − V. */
  private readonly refs: [number, number, number, number][] = [];

  /**
   * A value that lives in memory, v128.load(ptr + offset) at each use (large row blocks: their
   * components are loop-invariant, and holding hundreds of them in locals only makes the
   * engine's register allocator spill them anyway).
   */
  memRef(ptr: number, offset: number, op: number = SIMD.v128_load, align = 4): V {
    return -1 - (this.refs.push([ptr, offset, op, align]) - 1);
  }

  /** Pushes values on the stack (locals, or loads of memory references). */
  use(...vs: V[]): Body {
    for (const v of vs) {
      if (v >= 0) this.body.get(v);
      else {
        const [ptr, off, op, align] = this.refs[-1 - v];
        this.body.get(ptr).mem(op, align, off, true);
      }
    }
    return this.body;
  }

  /** A fresh v128 local. */
  v(): V {
    return this.body.local(V128);
  }
  i32(): number {
    return this.body.local(I32);
  }

  /** The local holding x in every lane (lane type), set in the prologue. */
  cst(x: number): V {
    return this.bits(x, this.t.f32 ? 4 : 8, "f");
  }
  /** Integer lanes of the element width (i32x4 or i64x2), each n. */
  icst(n: number): V {
    return this.bits(n, this.t.es, "i");
  }
  private bits(x: number, w: number, kind: "f" | "i"): V {
    const key = `${kind}${w}:${Object.is(x, -0) ? "-0" : x}`;
    let k = this.consts.get(key);
    if (k === undefined) {
      const bytes = new Uint8Array(16), dv = new DataView(bytes.buffer);
      for (let l = 0; l < 16 / w; l++) {
        if (kind === "f" && w === 4) dv.setFloat32(4 * l, x, true);
        else if (kind === "f") dv.setFloat64(8 * l, x, true);
        else if (w === 4) dv.setInt32(4 * l, x, true);
        else dv.setBigInt64(8 * l, BigInt(x), true);
      }
      k = this.pre.local(V128);
      this.pre.v128(bytes).set(k);
      this.consts.set(key, k);
    }
    return k;
  }

  /** op(a). */
  un(op: number, a: V): V {
    const r = this.v();
    this.use(a).simd(op).set(r);
    return r;
  }
  /** op(a, b). */
  bin(op: number, a: V, b: V): V {
    const r = this.v();
    this.use(a, b).simd(op).set(r);
    return r;
  }
  /**
   * mask ? a : b, for masks whose lanes are all ones or all zeros (what comparisons give, and
   * every mask here is): relaxed SIMD's lane select (one blend) where the runtime has it, which
   * is exact on such masks, else the bitwise select.
   */
  sel(a: V, b: V, mask: V): V {
    const r = this.v();
    const op = !this.fma
      ? SIMD.v128_bitselect
      : this.t.f32
      ? SIMD.i32x4_relaxed_laneselect
      : SIMD.i64x2_relaxed_laneselect;
    this.use(a, b, mask).simd(op).set(r);
    return r;
  }
  /** Shift of each integer lane left by a constant. */
  shl(a: V, n: number): V {
    const r = this.v();
    this.use(a).i32(n).simd(this.t.ishl).set(r);
    return r;
  }
  /** Shift of each integer lane right (arithmetic or logical) by a constant. */
  shr(a: V, n: number, logical = false): V {
    const t = this.t;
    const op = t.f32
      ? (logical ? SIMD.i32x4_shr_u : SIMD.i32x4_shr_s)
      : (logical ? SIMD.i64x2_shr_u : SIMD.i64x2_shr_s);
    const r = this.v();
    this.use(a).i32(n).simd(op).set(r);
    return r;
  }
  and(a: V, b: V): V {
    return this.bin(SIMD.v128_and, a, b);
  }
  or(a: V, b: V): V {
    return this.bin(SIMD.v128_or, a, b);
  }
  xor(a: V, b: V): V {
    return this.bin(SIMD.v128_xor, a, b);
  }
  add(a: V, b: V): V {
    return this.bin(this.t.add, a, b);
  }
  sub(a: V, b: V): V {
    return this.bin(this.t.sub, a, b);
  }
  mul(a: V, b: V): V {
    return this.bin(this.t.mul, a, b);
  }
  div(a: V, b: V): V {
    return this.bin(this.t.div, a, b);
  }
  /** a·b + c: one fused multiply-add where relaxed SIMD is there, else rounded twice. */
  madd(a: V, b: V, c: V): V {
    if (!this.fma) return this.add(this.mul(a, b), c);
    const r = this.v();
    this.use(a, b, c).simd(this.t.madd).set(r);
    return r;
  }
  /** c − a·b: one fused negated multiply-add where relaxed SIMD is there, else rounded twice. */
  nmadd(a: V, b: V, c: V): V {
    if (!this.fma) return this.sub(c, this.mul(a, b));
    const r = this.v();
    this.use(a, b, c).simd(this.t.f32 ? SIMD.f32x4_relaxed_nmadd : SIMD.f64x2_relaxed_nmadd).set(r);
    return r;
  }
  /** c0 + x·(c1 + x·(c2 + …)), Horner's rule (coefficients from the constant term up). */
  poly(x: V, cs: readonly number[]): V {
    let p = this.cst(cs[cs.length - 1]);
    for (let k = cs.length - 2; k >= 0; k--) p = this.madd(p, x, this.cst(cs[k]));
    return p;
  }

  /** The same emitter with another lane type (same body, locals and constants). */
  view(t: Lanes): Emitter {
    const v = Object.create(this) as Emitter;
    (v as { t: Lanes }).t = t;
    return v;
  }

  /** Bytes 0–15 of the concatenation a‖b picked by `lanes` (i8x16.shuffle). */
  shuffle(a: V, b: V, lanes: readonly number[]): V {
    const r = this.v();
    this.use(a, b).simd(SIMD.i8x16_shuffle).op(...lanes).set(r);
    return r;
  }

  /** A copy of `a` computed by `f` lane by lane, calling the host function `name` (float64). */
  host(name: HostName, args: readonly V[]): V {
    let fi = this.hosts.indexOf(name);
    if (fi < 0) fi = this.hosts.push(name) - 1;
    const t = this.t, b = this.body, r = this.v();
    for (let l = 0; l < t.L; l++) {
      this.use(l === 0 ? args[0] : r);
      for (const a of args) {
        this.use(a).lane(t.extract, l);
        if (t.f32) b.op(OP.f64_promote_f32);
      }
      b.call(fi);
      if (t.f32) b.op(OP.f32_demote_f64);
      b.lane(t.replace, l).set(r);
    }
    return r;
  }

  /** `if (cond) { then() } else { other() }` on an i32 left on the stack by `cond`. */
  ifElse(cond: () => void, then: () => void, other?: () => void): void {
    cond();
    this.body.begin(OP.if);
    then();
    if (other) {
      this.body.op(OP.else);
      other();
    }
    this.body.end();
  }

  /** Copies b into a (a = b). */
  assign(a: V, b: V): void {
    this.use(b).set(a);
  }
}
