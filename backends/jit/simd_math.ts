/**
 * Vectorised elementary functions for the formula compiler, written as instructions on v128
 * values: exp (float32 and float64), and in float32 log, sin, cos and atan. Algorithms:
 *
 * - exp: Cody–Waite reduction x = n·ln2 + r (ln2 in two parts, so n·ln2_hi is exact), a
 *   polynomial for e^r on |r| ≤ ln2/2 (Cephes's expf; in float64 the Taylor series economised
 *   to degree 11), and the scale 2ⁿ built from exponent bits: a magic constant puts n + bias in the
 *   low mantissa bits and a shift moves them into the exponent. Lanes inside the normal range
 *   take one scaling step; otherwise 2ⁿ = 2^⌊n/2⌋·2^(n−⌊n/2⌋), so that subnormal results come
 *   out of the last product rounded once, and ±∞, NaN are patched in.
 * - log (Cephes's logf): x = m·2ᵉ with m in [√½, √2), log(1+f) = f − f²/2 + f³·P(f), with
 *   subnormals scaled by 2²³ first.
 * - sin, cos (Cephes's sinf/cosf): octant j = ⌊|x|·4/π⌋ rounded up to even, r = |x| − j·π/4 in
 *   three parts exact for |x| ≤ 8192, a sine or cosine polynomial by quadrant, and the sign
 *   from the quadrant. Larger arguments (and ±∞) go lane by lane to the host's Math.sin/cos,
 *   which reduce exactly.
 * - atan (Cephes's atanf): |x| > tan(3π/8) maps to π/2 − atan(1/|x|), |x| > tan(π/8) to
 *   π/4 + atan((|x|−1)/(|x|+1)), then an odd polynomial; the sign is copied back.
 *
 * Functions without a vector version here (float64 log, sin, cos, atan; asin, acos, atan2 and
 * general powers) call the host's Math lane by lane: exact, and slower.
 *
 * @module
 */

import { type Emitter, F64X2 as F64X2_LANES, type V } from "./emit.ts";
import { SIMD } from "./wasm_writer.ts";

const LOG2E = 1.4426950408889634;

/** Cephes's expf polynomial: e^r ≈ 1 + r + r²·P(r). */
const EXPF_P = [
  5.0000001201e-1,
  1.6666665459e-1,
  4.1665795894e-2,
  8.3334519073e-3,
  1.3981999507e-3,
  1.98756915e-4,
];

/**
 * e^r on |r| ≤ ln2/2 to float64 precision by a degree-11 polynomial: the Taylor series to degree
 * 16 economised on [−0.3466, 0.3466] (Chebyshev terms 12 to 16 dropped: at most 3.2·10⁻¹⁸), in
 * exact rational arithmetic, then rounded to doubles; within 1 ulp evaluated by Horner's rule.
 * Two multiply-adds fewer than the Taylor series to degree 13.
 */
const EXP_POLY64 = [
  1.0,
  1.0,
  0.5000000000000019,
  0.16666666666666702,
  0.041666666666487974,
  0.008333333333309512,
  0.001388888895234707,
  0.00019841269909250833,
  2.4801485448150653e-05,
  2.7557224927468285e-06,
  2.763265216954066e-07,
  2.511487974429777e-08,
];

/** e^r·2ⁿ's polynomial part, r = x − n·ln2. */
function expReduced(e: Emitter, x: V, n: V): V {
  if (e.t.f32) {
    const r = e.madd(n, e.cst(2.12194440e-4), e.madd(n, e.cst(-0.693359375), x));
    // 1 + r + r²·P(r): with fused multiply-adds as one Horner chain of the degree-7 polynomial
    // (each step rounded once, the constant term last); without, in Cephes's order.
    if (e.fma) return e.poly(r, [1, 1, ...EXPF_P]);
    const p = e.poly(r, EXPF_P);
    return e.add(e.madd(e.mul(p, r), r, r), e.cst(1));
  }
  const r = e.madd(n, e.cst(-1.90821492927058770002e-10), e.madd(n, e.cst(-6.93147180369123816490e-01), x));
  return e.poly(r, EXP_POLY64);
}

/** 2ⁿ for integer-valued lanes n in the normal exponent range, from bits. */
function pow2(e: Emitter, n: V): V {
  const f32 = e.t.f32;
  const magic = f32 ? 12582912 + 127 : 4503599627370496 + 1023;
  return e.shl(e.add(n, e.cst(magic)), f32 ? 23 : 52);
}

/**
 * eˣ, every lane (edges included).
 *
 * @example
 * ```ts
 * import { exp } from "./simd_math.ts";
 * import { Emitter, F32X4 } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4, true);
 * const x = e.v(), y = e.v();
 * const r = exp(e, x);
 * assert.ok(r >= 0 && r !== x && y >= 0);
 * ```
 */
export function exp(e: Emitter, x: V): V {
  const t = e.t, f32 = t.f32;
  const out = e.v();
  // |x| < 87 (float32) or 708 (float64): 2ⁿ in one step, no edge to patch (false for NaN).
  const inside = e.bin(t.lt, e.un(t.abs, x), e.cst(f32 ? 87 : 708));
  e.ifElse(
    () => e.use(inside).simd(t.allTrue),
    () => {
      const n = e.un(t.nearest, e.mul(x, e.cst(LOG2E)));
      e.assign(out, e.mul(expReduced(e, x, n), pow2(e, n)));
    },
    () => {
      const [clo, chi] = f32 ? [-104, 88.8] : [-746, 710];
      const xc = e.bin(t.max, e.bin(t.min, x, e.cst(chi)), e.cst(clo));
      const n = e.un(t.nearest, e.mul(xc, e.cst(LOG2E)));
      const y = expReduced(e, xc, n);
      const n1 = e.un(t.floor, e.mul(n, e.cst(0.5)));
      let r = e.mul(e.mul(y, pow2(e, n1)), pow2(e, e.sub(n, n1)));
      const [over, under] = f32 ? [88.72284, -103.97208] : [709.782712893384, -745.1332191019412];
      r = e.sel(e.cst(Infinity), r, e.bin(t.gt, x, e.cst(over)));
      r = e.sel(e.cst(0), r, e.bin(t.lt, x, e.cst(under)));
      e.assign(out, e.sel(x, r, e.bin(t.ne, x, x)));
    },
  );
  return out;
}

/** Cephes's logf polynomial P, constant term first. */
const LOGF_P = [
  3.3333331174e-1,
  -2.4999993993e-1,
  2.0000714765e-1,
  -1.6668057665e-1,
  1.4249322787e-1,
  -1.2420140846e-1,
  1.1676998740e-1,
  -1.1514610310e-1,
  7.0376836292e-2,
];

/**
 * ln x (float32 lanes; float64 calls the host).
 *
 * @example
 * ```ts
 * import { log } from "./simd_math.ts";
 * import { Emitter, F32X4 } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4, true);
 * const x = e.v(), y = e.v();
 * const r = log(e, x);
 * assert.ok(r >= 0 && r !== x && y >= 0);
 * ```
 */
export function log(e: Emitter, x: V): V {
  const t = e.t;
  if (!t.f32) return e.host("log", [x]);
  const small = e.bin(t.lt, x, e.cst(1.1754943508222875e-38));
  const xs = e.sel(e.mul(x, e.cst(8388608)), x, small);
  // Exponent: bits >> 23 as a float, unbiased, +1 for m in [½, 1), −23 for scaled subnormals.
  const ebits = e.un(SIMD.f32x4_convert_i32x4_s, e.shr(xs, 23, true));
  let ef = e.sub(ebits, e.cst(126));
  ef = e.sub(ef, e.and(small, e.cst(23)));
  let m = e.or(e.and(xs, e.icst(0x007fffff)), e.icst(0x3f000000));
  const lowm = e.bin(t.lt, m, e.cst(0.707106781186547524));
  ef = e.sub(ef, e.and(lowm, e.cst(1)));
  m = e.sub(e.add(m, e.and(lowm, m)), e.cst(1));
  const z = e.mul(m, m);
  let y = e.mul(e.mul(e.poly(m, LOGF_P), m), z);
  y = e.add(y, e.mul(ef, e.cst(-2.12194440e-4)));
  y = e.sub(y, e.mul(z, e.cst(0.5)));
  let r = e.add(e.add(m, y), e.mul(ef, e.cst(0.693359375)));
  r = e.sel(e.cst(-Infinity), r, e.bin(t.eq, x, e.cst(0)));
  r = e.sel(x, r, e.bin(t.eq, x, e.cst(Infinity)));
  return e.sel(e.cst(NaN), r, e.or(e.bin(t.lt, x, e.cst(0)), e.bin(t.ne, x, x)));
}

/** ln x in float64 lanes, as the Rust engine's: m·2ᵉ with m in [√½, √2), 2·atanh((m−1)/(m+1)). */
function log64(e: Emitter, x: V): V {
  const t = e.t;
  // Subnormals: scaled by 2⁵⁴ first.
  const small = e.bin(t.lt, x, e.cst(2.2250738585072014e-308));
  const xs = e.sel(e.mul(x, e.cst(18014398509481984)), x, small);
  // The exponent field as a float: its 11 bits put under the mantissa of 2⁵², minus 2⁵².
  const ebits = e.or(e.shr(xs, 52, true), e.cst(4503599627370496));
  let ef = e.sub(e.sub(ebits, e.cst(4503599627370496)), e.cst(1023));
  ef = e.sub(ef, e.and(small, e.cst(54)));
  let m = e.or(e.and(xs, e.icst(0x000fffffffffffff)), e.cst(1));
  const big = e.bin(t.gt, m, e.cst(Math.SQRT2));
  m = e.sel(e.mul(m, e.cst(0.5)), m, big);
  ef = e.add(ef, e.and(big, e.cst(1)));
  const s = e.div(e.sub(m, e.cst(1)), e.add(m, e.cst(1)));
  const q = e.poly(e.mul(s, s), Array.from({ length: 13 }, (_, j) => 1 / (2 * j + 1)));
  let r = e.madd(
    ef,
    e.cst(6.93147180369123816490e-01),
    e.madd(ef, e.cst(1.90821492927058770002e-10), e.mul(e.add(s, s), q)),
  );
  r = e.sel(e.cst(-Infinity), r, e.bin(t.eq, x, e.cst(0)));
  r = e.sel(x, r, e.bin(t.eq, x, e.cst(Infinity)));
  return e.sel(e.cst(NaN), r, e.or(e.bin(t.lt, x, e.cst(0)), e.bin(t.ne, x, x)));
}

/**
 * xʸ (Powf). float32: where every lane has x > 0 finite and y finite, e^(y·ln x) computed in
 * float64 lanes (each half of the vector promoted, then rounded back once: within an ulp);
 * otherwise (negative bases, zeros, infinities, NaN: C's conventions) the host's Math.pow lane
 * by lane. float64: the host's Math.pow.
 *
 * @example
 * ```ts
 * import { pow } from "./simd_math.ts";
 * import { Emitter, F32X4 } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4, true);
 * const x = e.v(), y = e.v();
 * const r = pow(e, x, y);
 * assert.ok(r >= 0 && r !== x && y >= 0);
 * ```
 */
export function pow(e: Emitter, x: V, y: V): V {
  const t = e.t;
  if (!t.f32) return e.host("pow", [x, y]);
  const out = e.v();
  const finite = (v: V) => e.bin(t.lt, e.un(t.abs, v), e.cst(Infinity));
  const fast = e.and(e.and(e.bin(t.gt, x, e.cst(0)), finite(x)), finite(y));
  e.ifElse(
    () => e.use(fast).simd(t.allTrue),
    () => {
      const d = e.view(F64X2_LANES);
      const high = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
      const half = (v: V, hi: boolean) => d.un(SIMD.f64x2_promote_low_f32x4, hi ? e.shuffle(v, v, high) : v);
      const [lo, hi] = [false, true].map((h) => {
        const r = exp(d, d.mul(half(y, h), log64(d, half(x, h))));
        return e.un(SIMD.f32x4_demote_f64x2_zero, r);
      });
      e.assign(out, e.shuffle(lo, hi, [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]));
    },
    () => e.assign(out, e.host("pow", [x, y])),
  );
  return out;
}

/**
 * atan(a/b) + (b < 0 ? ±π : 0), the sign of π that of a: atan2 where b is finite and nonzero
 * and a finite (float32 lanes).
 */
function atan2Finite(e: Emitter, a: V, b: V): V {
  const t = e.t;
  const q = atan(e, e.div(a, b));
  const pi = e.or(e.cst(Math.PI), e.and(a, e.icst(-0x80000000)));
  return e.add(q, e.and(e.bin(t.lt, b, e.cst(0)), pi));
}

/**
 * atan2(y, x): the vector formula where every lane has x finite nonzero and y finite, else the host.
 *
 * @example
 * ```ts
 * import { atan2 } from "./simd_math.ts";
 * import { Emitter, F32X4 } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4, true);
 * const x = e.v(), y = e.v();
 * const r = atan2(e, y, x);
 * assert.ok(r >= 0 && r !== x && y >= 0);
 * ```
 */
export function atan2(e: Emitter, y: V, x: V): V {
  const t = e.t;
  if (!t.f32) return e.host("atan2", [y, x]);
  const out = e.v();
  const finite = (v: V) => e.bin(t.lt, e.un(t.abs, v), e.cst(Infinity));
  const ok = e.and(e.and(finite(x), e.bin(t.ne, x, e.cst(0))), finite(y));
  e.ifElse(
    () => e.use(ok).simd(t.allTrue),
    () => e.assign(out, atan2Finite(e, y, x)),
    () => e.assign(out, e.host("atan2", [y, x])),
  );
  return out;
}

/**
 * asin x = atan(x/√((1−x)(1+x))) and acos x = atan2(√((1−x)(1+x)), x) (float32 lanes; float64
 * calls the host). Every input follows: ±1 give x/0 = ±∞ and atan(±∞) = ±π/2, |x| > 1 and NaN
 * give √(negative) = NaN, and acos(±0) takes the quotient +∞.
 *
 * @example
 * ```ts
 * import { asinAcos } from "./simd_math.ts";
 * import { Emitter, F32X4 } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4, true);
 * const x = e.v(), y = e.v();
 * const r = asinAcos(e, x, true);
 * assert.ok(r >= 0 && r !== x && y >= 0);
 * ```
 */
export function asinAcos(e: Emitter, x: V, acos: boolean): V {
  const t = e.t;
  if (!t.f32) return e.host(acos ? "acos" : "asin", [x]);
  const s = e.un(t.sqrt, e.mul(e.sub(e.cst(1), x), e.add(e.cst(1), x)));
  if (!acos) return atan(e, e.div(x, s));
  const q = e.sel(e.cst(Infinity), e.div(s, x), e.bin(t.eq, x, e.cst(0)));
  return e.add(atan(e, q), e.and(e.bin(t.lt, x, e.cst(0)), e.cst(Math.PI)));
}

/** Above this |x|, sin and cos go to the host (Cody–Waite's three parts stop being exact). */
const TRIG_LIMIT = 8192;

/**
 * sin x or cos x (float32 lanes; float64 calls the host).
 *
 * @example
 * ```ts
 * import { sinCos } from "./simd_math.ts";
 * import { Emitter, F32X4 } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4, true);
 * const x = e.v(), y = e.v();
 * const r = sinCos(e, x, false);
 * assert.ok(r >= 0 && r !== x && y >= 0);
 * ```
 */
export function sinCos(e: Emitter, x: V, cos: boolean): V {
  const t = e.t;
  if (!t.f32) return e.host(cos ? "cos" : "sin", [x]);
  const out = e.v();
  const a = e.un(t.abs, x);
  e.ifElse(
    () => e.use(e.bin(t.gt, a, e.cst(TRIG_LIMIT))).simd(SIMD.v128_any_true),
    () => e.assign(out, e.host(cos ? "cos" : "sin", [x])),
    () => {
      // k = quadrant: octant ⌊|x|·4/π⌋ rounded up to even, halved.
      const j = e.un(SIMD.i32x4_trunc_sat_f32x4_s, e.mul(a, e.cst(1.27323954473516)));
      const k = e.shr(e.bin(SIMD.i32x4_add, j, e.icst(1)), 1);
      const y = e.un(SIMD.f32x4_convert_i32x4_s, e.shl(k, 1));
      const r = e.sub(
        e.sub(e.sub(a, e.mul(y, e.cst(0.78515625))), e.mul(y, e.cst(2.4187564849853515625e-4))),
        e.mul(y, e.cst(3.77489497744594108e-8)),
      );
      const z = e.mul(r, r);
      const cp = e.add(
        e.sub(
          e.mul(e.mul(e.poly(z, [4.166664568298827e-2, -1.388731625493765e-3, 2.443315711809948e-5]), z), z),
          e.mul(z, e.cst(0.5)),
        ),
        e.cst(1),
      );
      const sp = e.add(
        e.mul(e.mul(e.poly(z, [-1.6666654611e-1, 8.3321608736e-3, -1.9515295891e-4]), z), r),
        r,
      );
      // sin|x| by quadrant: sin r, cos r, −sin r, −cos r; cos|x|: cos r, −sin r, −cos r, sin r.
      const odd = e.bin(SIMD.i32x4_eq, e.and(k, e.icst(1)), e.icst(1));
      const v = cos ? e.sel(sp, cp, odd) : e.sel(cp, sp, odd);
      const q = cos ? e.bin(SIMD.i32x4_add, k, e.icst(1)) : k;
      let sign = e.shl(e.and(q, e.icst(2)), 30);
      if (!cos) sign = e.xor(sign, e.and(x, e.icst(-0x80000000)));
      e.assign(out, e.xor(v, sign));
    },
  );
  return out;
}

/**
 * atan x (float32 lanes; float64 calls the host).
 *
 * @example
 * ```ts
 * import { atan } from "./simd_math.ts";
 * import { Emitter, F32X4 } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4, true);
 * const x = e.v(), y = e.v();
 * const r = atan(e, x);
 * assert.ok(r >= 0 && r !== x && y >= 0);
 * ```
 */
export function atan(e: Emitter, x: V): V {
  const t = e.t;
  if (!t.f32) return e.host("atan", [x]);
  const sign = e.and(x, e.icst(-0x80000000));
  const a = e.un(t.abs, x);
  const big = e.bin(t.gt, a, e.cst(2.414213562373095)), mid = e.bin(t.gt, a, e.cst(0.414213562373095));
  const num = e.sel(e.cst(-1), e.sub(a, e.cst(1)), big);
  const den = e.sel(a, e.add(a, e.cst(1)), big);
  const u = e.sel(e.div(num, den), a, mid);
  const y0 = e.sel(e.cst(Math.PI / 2), e.and(mid, e.cst(Math.PI / 4)), big);
  const z = e.mul(u, u);
  const p = e.poly(z, [-3.33329491539e-1, 1.99777106478e-1, -1.38776856032e-1, 8.05374449538e-2]);
  const r = e.add(e.add(e.mul(e.mul(p, z), u), u), y0);
  return e.or(r, sign);
}

/**
 * xⁿ for an integer n by repeated squaring (1/xⁿ for n < 0), as the engines' Pow.
 *
 * @example
 * ```ts
 * import { powInt } from "./simd_math.ts";
 * import { Emitter, F32X4 } from "./emit.ts";
 * import assert from "node:assert/strict";
 * const e = new Emitter(F32X4, true);
 * const x = e.v(), y = e.v();
 * const r = powInt(e, x, -3);
 * assert.ok(r >= 0 && r !== x && y >= 0);
 * ```
 */
export function powInt(e: Emitter, x: V, n: number): V {
  let k = Math.abs(n), base = x;
  let r: V | undefined;
  while (k > 0) {
    if (k & 1) r = r === undefined ? base : e.mul(r, base);
    k >>= 1;
    if (k) base = e.mul(base, base);
  }
  const one = e.cst(1);
  if (r === undefined) return one;
  return n < 0 ? e.div(one, r) : r;
}
