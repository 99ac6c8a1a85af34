//! One small trait for a SIMD vector of float lanes, implemented for f32x4 and f64x2; the
//! interpreter and the reductions are written once against it (as memchr's `Vector`).

use crate::math;
use core::arch::wasm32::*;

/// A vector of `N` lanes of the scalar type `S`.
pub trait Lanes: Copy {
    type S: Copy;
    const N: usize;
    unsafe fn load(p: *const Self::S) -> Self;
    unsafe fn store(self, p: *mut Self::S);
    unsafe fn store_lane0(self, p: *mut Self::S);
    fn splat(x: f64) -> Self;
    unsafe fn splat_at(p: *const Self::S) -> Self;
    fn lane(self, l: usize) -> f64;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    fn sqrt(self) -> Self;
    fn floor(self) -> Self;
    fn trunc(self) -> Self;
    fn lt(self, o: Self) -> v128;
    fn le(self, o: Self) -> v128;
    fn eq(self, o: Self) -> v128;
    fn ne(self, o: Self) -> v128;
    fn bits(self) -> v128;
    fn from_bits(v: v128) -> Self;
    /// e^x, vectorised where the lane type allows it. For f32x4: Cephes's expf (x = n·ln2 + r,
    /// e^r by a degree-6 polynomial, times 2ⁿ built from exponent bits — in two steps so that
    /// subnormal results are right — with NaN, +∞ and the overflow and underflow edges patched).
    fn exp(self) -> Self;
    /// e^x for x ≤ 0 (or NaN): the same values, one range check fewer on the fast path.
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        self.exp()
    }
    /// e^(−s) for squared distances s ≥ 0 (or NaN): the Gaussian kernel. float32 overrides it
    /// with a cheaper reduction of the exponent (see `F32x4`).
    #[inline(always)]
    fn exp_neg_sqdist(self) -> Self {
        self.neg().exp_nonpositive()
    }
    /// Applies a float64 function lane by lane (rounding back to the lane type).
    fn map(self, f: impl Fn(f64) -> f64) -> Self;
    fn map2(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self;
    /// Reads lane `l` of the element at p (p + l), as f64.
    unsafe fn read(p: *const Self::S, l: usize) -> f64;
    unsafe fn write(p: *mut Self::S, l: usize, v: f64);
}

/// mask ? a : b.
#[inline(always)]
pub fn select<L: Lanes>(mask: v128, a: L, b: L) -> L {
    L::from_bits(v128_bitselect(a.bits(), b.bits(), mask))
}

/// Cephes's expf kernel: r = x − n·ln2 (ln2 in two parts), e^r ≈ 1 + r + r²·P(r).
#[inline(always)]
fn exp_poly(x: v128, n: v128) -> v128 {
    let r = f32x4_sub(f32x4_sub(x, f32x4_mul(n, f32x4_splat(0.693_359_375))), f32x4_mul(n, f32x4_splat(-2.121_944_4e-4)));
    let mut p = f32x4_splat(1.987_569_15e-4);
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(1.398_199_95e-3));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(8.333_451_9e-3));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(4.166_579_59e-2));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(1.666_666_55e-1));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(5.000_000_12e-1));
    f32x4_add(f32x4_add(f32x4_mul(f32x4_mul(p, r), r), r), f32x4_splat(1.0))
}

/// 2^f ≈ 1 + f·(c1 + f·(c2 + … + f·c6)) on [−½, ½]: a minimax fit of the relative error
/// (1.6 ulp evaluated in float32, 2·10⁻⁹ in exact arithmetic).
const EXP2_POLY: [f32; 6] = [
    0.693_147_18,
    0.240_226_48,
    0.055_503_324,
    0.009_618_438,
    0.001_339_887_3,
    0.000_153_533_42,
];

/// e^(−s) for float32 squared distances s, all lanes in [0, 87): t = −s·log₂e rounded once,
/// n = round(t), 2^(t−n) by `EXP2_POLY` (t − n is exact), times 2ⁿ built from exponent bits
/// (n ≥ −126 keeps 2ⁿ normal; a subnormal result comes out of the last product, rounded once).
/// Rounding t once (half an ulp of t) and log₂e to float32 cost up to about s·2⁻²⁴ of relative
/// error, less than the float32 squared distance already carries (several s·2⁻²⁴), so Cephes's
/// two-step reduction buys little here; KeOps's default CUDA build (`use_fast_math`, `__expf`,
/// documented at 2 + 1.17·|x| ulps) reduces the same way. Measured: 1.7 ulps for s < 1, under
/// 0.92·s + 2 ulps up to 87 (tested at (1.25·s + 3)·2⁻²⁴ in tests/backends/cpu_math_test.ts).
#[inline(always)]
pub(crate) fn exp_neg_in_range(s: v128) -> v128 {
    let t = f32x4_mul(s, f32x4_splat(-core::f32::consts::LOG2_E));
    let n = f32x4_nearest(t);
    let f = f32x4_sub(t, n);
    let c = EXP2_POLY;
    let mut p = f32x4_add(f32x4_mul(f32x4_splat(c[5]), f), f32x4_splat(c[4]));
    p = f32x4_add(f32x4_mul(p, f), f32x4_splat(c[3]));
    p = f32x4_add(f32x4_mul(p, f), f32x4_splat(c[2]));
    p = f32x4_add(f32x4_mul(p, f), f32x4_splat(c[1]));
    p = f32x4_add(f32x4_mul(p, f), f32x4_splat(c[0]));
    p = f32x4_add(f32x4_mul(p, f), f32x4_splat(1.0));
    f32x4_mul(p, i32x4_shl(f32x4_add(n, f32x4_splat(12_582_912.0 + 127.0)), 23))
}

/// The lanes of s inside [0, 87), where `exp_neg_in_range` applies (false for NaN).
#[inline(always)]
pub(crate) fn sqdist_in_range(s: v128) -> v128 {
    f32x4_lt(s, f32x4_splat(87.0))
}

#[derive(Clone, Copy)]
pub struct F32x4(pub v128);
#[derive(Clone, Copy)]
pub struct F64x2(pub v128);

impl Lanes for F32x4 {
    type S = f32;
    const N: usize = 4;
    #[inline(always)]
    fn exp_neg_sqdist(self) -> Self {
        // Every lane in range takes `exp_neg_in_range` whatever its neighbours hold, so that a
        // pair's value never depends on the other pairs of its group (nor on the padding past
        // the last term, which holds whatever an earlier call left there).
        let inside = sqdist_in_range(self.0);
        let fast = exp_neg_in_range(self.0);
        if i32x4_all_true(inside) {
            return F32x4(fast);
        }
        F32x4(v128_bitselect(fast, self.neg().exp().0, inside))
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        F32x4(v128_load(p as *const v128))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        v128_store(p as *mut v128, self.0)
    }
    #[inline(always)]
    unsafe fn store_lane0(self, p: *mut f32) {
        *p = f32x4_extract_lane::<0>(self.0)
    }
    #[inline(always)]
    fn splat(x: f64) -> Self {
        F32x4(f32x4_splat(x as f32))
    }
    #[inline(always)]
    unsafe fn splat_at(p: *const f32) -> Self {
        F32x4(f32x4_splat(*p))
    }
    #[inline(always)]
    fn lane(self, l: usize) -> f64 {
        (match l {
            0 => f32x4_extract_lane::<0>(self.0),
            1 => f32x4_extract_lane::<1>(self.0),
            2 => f32x4_extract_lane::<2>(self.0),
            _ => f32x4_extract_lane::<3>(self.0),
        }) as f64
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        F32x4(f32x4_add(self.0, o.0))
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        F32x4(f32x4_sub(self.0, o.0))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F32x4(f32x4_mul(self.0, o.0))
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        F32x4(f32x4_div(self.0, o.0))
    }
    #[inline(always)]
    fn neg(self) -> Self {
        F32x4(f32x4_neg(self.0))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        F32x4(f32x4_abs(self.0))
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        F32x4(f32x4_sqrt(self.0))
    }
    #[inline(always)]
    fn floor(self) -> Self {
        F32x4(f32x4_floor(self.0))
    }
    #[inline(always)]
    fn trunc(self) -> Self {
        F32x4(f32x4_trunc(self.0))
    }
    #[inline(always)]
    fn lt(self, o: Self) -> v128 {
        f32x4_lt(self.0, o.0)
    }
    #[inline(always)]
    fn le(self, o: Self) -> v128 {
        f32x4_le(self.0, o.0)
    }
    #[inline(always)]
    fn eq(self, o: Self) -> v128 {
        f32x4_eq(self.0, o.0)
    }
    #[inline(always)]
    fn ne(self, o: Self) -> v128 {
        f32x4_ne(self.0, o.0)
    }
    #[inline(always)]
    fn bits(self) -> v128 {
        self.0
    }
    #[inline(always)]
    fn from_bits(v: v128) -> Self {
        F32x4(v)
    }
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        let x = self.0;
        if i32x4_all_true(f32x4_gt(x, f32x4_splat(-87.0))) {
            let n = f32x4_nearest(f32x4_mul(x, f32x4_splat(1.442_695_04)));
            let s = i32x4_shl(f32x4_add(n, f32x4_splat(12_582_912.0 + 127.0)), 23);
            return F32x4(f32x4_mul(exp_poly(x, n), s));
        }
        self.exp()
    }
    #[inline(always)]
    fn exp(self) -> Self {
        let x = self.0;
        // Fast path when every lane is well inside the normal range (the usual case in kernels):
        // no clamping, one scaling step, no patching of the edges.
        let inside = v128_and(f32x4_gt(x, f32x4_splat(-87.0)), f32x4_lt(x, f32x4_splat(88.0)));
        if i32x4_all_true(inside) {
            let n = f32x4_nearest(f32x4_mul(x, f32x4_splat(1.442_695_04)));
            let y = exp_poly(x, n);
            let s = i32x4_shl(f32x4_add(n, f32x4_splat(12_582_912.0 + 127.0)), 23);
            return F32x4(f32x4_mul(y, s));
        }
        let xc = f32x4_max(f32x4_min(x, f32x4_splat(88.8)), f32x4_splat(-104.0));
        let n = f32x4_nearest(f32x4_mul(xc, f32x4_splat(1.442_695_04)));
        let y = exp_poly(xc, n);
        // 2^n1 · 2^n2 with n1 = ⌊n/2⌋, n2 = n − n1, each in [−75, 64]: adding 1.5·2²³ + 127 puts
        // n + 127 in the low mantissa bits, and a shift by 23 moves it into the exponent field.
        let magic = f32x4_splat(12_582_912.0 + 127.0);
        let n1 = f32x4_floor(f32x4_mul(n, f32x4_splat(0.5)));
        let n2 = f32x4_sub(n, n1);
        let s1 = i32x4_shl(f32x4_add(n1, magic), 23);
        let s2 = i32x4_shl(f32x4_add(n2, magic), 23);
        let mut out = f32x4_mul(f32x4_mul(y, s1), s2);
        out = v128_bitselect(f32x4_splat(f32::INFINITY), out, f32x4_gt(x, f32x4_splat(88.722_84)));
        out = v128_bitselect(f32x4_splat(0.0), out, f32x4_lt(x, f32x4_splat(-103.972_08)));
        out = v128_bitselect(x, out, f32x4_ne(x, x));
        F32x4(out)
    }
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> Self {
        let v = self.0;
        F32x4(f32x4(
            f(f32x4_extract_lane::<0>(v) as f64) as f32,
            f(f32x4_extract_lane::<1>(v) as f64) as f32,
            f(f32x4_extract_lane::<2>(v) as f64) as f32,
            f(f32x4_extract_lane::<3>(v) as f64) as f32,
        ))
    }
    #[inline(always)]
    fn map2(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        let (a, b) = (self.0, o.0);
        F32x4(f32x4(
            f(f32x4_extract_lane::<0>(a) as f64, f32x4_extract_lane::<0>(b) as f64) as f32,
            f(f32x4_extract_lane::<1>(a) as f64, f32x4_extract_lane::<1>(b) as f64) as f32,
            f(f32x4_extract_lane::<2>(a) as f64, f32x4_extract_lane::<2>(b) as f64) as f32,
            f(f32x4_extract_lane::<3>(a) as f64, f32x4_extract_lane::<3>(b) as f64) as f32,
        ))
    }
    #[inline(always)]
    unsafe fn read(p: *const f32, l: usize) -> f64 {
        *p.add(l) as f64
    }
    #[inline(always)]
    unsafe fn write(p: *mut f32, l: usize, v: f64) {
        *p.add(l) = v as f32
    }
}

impl Lanes for F64x2 {
    type S = f64;
    const N: usize = 2;
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        F64x2(v128_load(p as *const v128))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        v128_store(p as *mut v128, self.0)
    }
    #[inline(always)]
    unsafe fn store_lane0(self, p: *mut f64) {
        *p = f64x2_extract_lane::<0>(self.0)
    }
    #[inline(always)]
    fn splat(x: f64) -> Self {
        F64x2(f64x2_splat(x))
    }
    #[inline(always)]
    unsafe fn splat_at(p: *const f64) -> Self {
        F64x2(f64x2_splat(*p))
    }
    #[inline(always)]
    fn lane(self, l: usize) -> f64 {
        if l == 0 { f64x2_extract_lane::<0>(self.0) } else { f64x2_extract_lane::<1>(self.0) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        F64x2(f64x2_add(self.0, o.0))
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        F64x2(f64x2_sub(self.0, o.0))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F64x2(f64x2_mul(self.0, o.0))
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        F64x2(f64x2_div(self.0, o.0))
    }
    #[inline(always)]
    fn neg(self) -> Self {
        F64x2(f64x2_neg(self.0))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        F64x2(f64x2_abs(self.0))
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        F64x2(f64x2_sqrt(self.0))
    }
    #[inline(always)]
    fn floor(self) -> Self {
        F64x2(f64x2_floor(self.0))
    }
    #[inline(always)]
    fn trunc(self) -> Self {
        F64x2(f64x2_trunc(self.0))
    }
    #[inline(always)]
    fn lt(self, o: Self) -> v128 {
        f64x2_lt(self.0, o.0)
    }
    #[inline(always)]
    fn le(self, o: Self) -> v128 {
        f64x2_le(self.0, o.0)
    }
    #[inline(always)]
    fn eq(self, o: Self) -> v128 {
        f64x2_eq(self.0, o.0)
    }
    #[inline(always)]
    fn ne(self, o: Self) -> v128 {
        f64x2_ne(self.0, o.0)
    }
    #[inline(always)]
    fn bits(self) -> v128 {
        self.0
    }
    #[inline(always)]
    fn from_bits(v: v128) -> Self {
        F64x2(v)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        self.map(math::exp)
    }
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> Self {
        F64x2(f64x2(f(f64x2_extract_lane::<0>(self.0)), f(f64x2_extract_lane::<1>(self.0))))
    }
    #[inline(always)]
    fn map2(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        F64x2(f64x2(
            f(f64x2_extract_lane::<0>(self.0), f64x2_extract_lane::<0>(o.0)),
            f(f64x2_extract_lane::<1>(self.0), f64x2_extract_lane::<1>(o.0)),
        ))
    }
    #[inline(always)]
    unsafe fn read(p: *const f64, l: usize) -> f64 {
        *p.add(l)
    }
    #[inline(always)]
    unsafe fn write(p: *mut f64, l: usize, v: f64) {
        *p.add(l) = v
    }
}
