//! Scalar float64 math without `std`: exp, log, sin, cos, atan, atan2, asin, acos, pow, and the
//! float32 SIMD-friendly exp kernel. Every function is written once, portably, so that `cargo test`
//! on the host checks it against the platform's libm over the whole domain, edges included.
//!
//! Algorithms: Cody–Waite range reduction (x = n·c + r with c split in parts exact in few bits),
//! then a polynomial on the reduced interval; the scale by 2ⁿ is built from exponent bits, in two
//! steps so that subnormal results come out right.

pub const LN2_HI: f64 = 6.93147180369123816490e-01;
pub const LN2_LO: f64 = 1.90821492927058770002e-10;
const LOG2E: f64 = 1.4426950408889634;
const PI: f64 = 3.141592653589793;
const FRAC_PI_2: f64 = 1.5707963267948966;
const FRAC_PI_6: f64 = 0.5235987755982989;
const SQRT3: f64 = 1.7320508075688772;
const SQRT2: f64 = 1.4142135623730951;

/// |x|, from the bits.
#[inline]
pub fn abs(x: f64) -> f64 {
    f64::from_bits(x.to_bits() & !(1u64 << 63))
}

/// Truncation toward zero.
#[inline]
pub fn trunc(x: f64) -> f64 {
    if !(abs(x) < 4503599627370496.0) {
        return x; // already an integer, or NaN / ±∞
    }
    let t = x as i64 as f64;
    if t == 0.0 { f64::from_bits(x.to_bits() & (1u64 << 63)) } else { t }
}

/// ⌊x⌋.
#[inline]
pub fn floor(x: f64) -> f64 {
    let t = trunc(x);
    if t > x { t - 1.0 } else { t }
}

/// Nearest integer, halves away from zero (C's round).
#[inline]
pub fn round_away(x: f64) -> f64 {
    let t = trunc(x);
    if abs(x - t) >= 0.5 { t + if x < 0.0 { -1.0 } else { 1.0 } } else { t }
}

/// Nearest integer, halves to even (used for range reduction, where either is fine).
#[inline]
fn nearest(x: f64) -> f64 {
    floor(x + 0.5)
}

/// 2^k for an integer k in [-1022, 1023].
#[inline]
fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// √x (IEEE, exact rounding), by the hardware where there is one.
#[inline]
pub fn sqrt(x: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        use core::arch::wasm32::*;
        f64x2_extract_lane::<0>(f64x2_sqrt(f64x2_splat(x)))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        sqrt_newton(x)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn sqrt_newton(x: f64) -> f64 {
    extern crate std;
    std::primitive::f64::sqrt(x)
}

/// eˣ: x = n·ln2 + r, |r| ≤ ln2/2, e^r by its Taylor polynomial to degree 13, times 2ⁿ.
pub fn exp(x: f64) -> f64 {
    if x != x {
        return x;
    }
    if x > 709.782712893384 {
        return f64::INFINITY;
    }
    if x < -745.1332191019412 {
        return 0.0;
    }
    let n = nearest(x * LOG2E);
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Σ_{k=0}^{13} r^k/k! in Horner form: 1 + r(1 + r/2(1 + r/3(… (1 + r/13)))).
    let mut q = 1.0;
    let mut k = 13;
    while k >= 1 {
        q = 1.0 + q * r * (1.0 / k as f64);
        k -= 1;
    }
    let n = n as i64;
    let (n1, n2) = (n / 2, n - n / 2);
    q * pow2(n1) * pow2(n2)
}

/// ln x: x = m·2ᵉ with m in [√½, √2), ln m = 2·atanh(s), s = (m−1)/(m+1), by its series.
pub fn log(x: f64) -> f64 {
    if x != x || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x == f64::INFINITY {
        return x;
    }
    let mut bits = x.to_bits();
    let mut e: i64 = 0;
    if (bits >> 52) == 0 {
        // subnormal: scale into the normal range first
        bits = (x * 18014398509481984.0).to_bits(); // 2^54
        e = -54;
    }
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    if m > SQRT2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // atanh s = s·Σ_j s^(2j)/(2j+1), to j = 12 (|s| ≤ 0.172 makes the rest < 1e-19).
    let mut q = 1.0 / 25.0;
    let mut k = 23;
    while k >= 1 {
        q = q * s2 + 1.0 / k as f64;
        k -= 2;
    }
    let e = e as f64;
    e * LN2_HI + (2.0 * s * q + e * LN2_LO)
}

// π/2 in three parts of 33 bits each, so that n·part is exact for |n| < 2^20.
const PIO2_1: f64 = 1.57079632673412561417e+00;
const PIO2_2: f64 = 6.07710050650619224932e-11;
const PIO2_3: f64 = 2.02226624879595063154e-21;

fn sin_poly(r: f64) -> f64 {
    let r2 = r * r;
    let mut p = 0.0;
    let mut k = 19.0; // terms r^(2j+1)/(2j+1)! for 2j+1 ≤ 19
    while k >= 3.0 {
        p = (p + 1.0) * (-r2 / (k * (k - 1.0)));
        k -= 2.0;
    }
    r * (1.0 + p)
}

fn cos_poly(r: f64) -> f64 {
    let r2 = r * r;
    let mut p = 0.0;
    let mut k = 20.0;
    while k >= 2.0 {
        p = (p + 1.0) * (-r2 / (k * (k - 1.0)));
        k -= 2.0;
    }
    1.0 + p
}

fn reduce_pio2(x: f64) -> (f64, i64) {
    let n = nearest(x * (2.0 / PI));
    let r = ((x - n * PIO2_1) - n * PIO2_2) - n * PIO2_3;
    (r, (n as i64) & 3)
}

/// Above this, Cody–Waite reduction loses accuracy: the host's sin and cos take over (on wasm,
/// JavaScript's Math.sin and Math.cos, imported; they reduce exactly). Arguments that large
/// are rare in kernel formulas.
const LARGE_ANGLE: f64 = 1048576.0;

#[cfg(target_arch = "wasm32")]
mod host {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn host_sin(x: f64) -> f64;
        pub fn host_cos(x: f64) -> f64;
    }
}

fn large_sin(x: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    unsafe {
        host::host_sin(x)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        extern crate std;
        std::primitive::f64::sin(x)
    }
}

fn large_cos(x: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    unsafe {
        host::host_cos(x)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        extern crate std;
        std::primitive::f64::cos(x)
    }
}

/// sin x, exact to a few ulp (Cody–Waite reduction by π/2 below 2^20).
pub fn sin(x: f64) -> f64 {
    if !(abs(x) < f64::INFINITY) {
        return f64::NAN;
    }
    if abs(x) > LARGE_ANGLE {
        return large_sin(x);
    }
    let (r, q) = reduce_pio2(x);
    match q {
        0 => sin_poly(r),
        1 => cos_poly(r),
        2 => -sin_poly(r),
        _ => -cos_poly(r),
    }
}

/// cos x.
pub fn cos(x: f64) -> f64 {
    if !(abs(x) < f64::INFINITY) {
        return f64::NAN;
    }
    if abs(x) > LARGE_ANGLE {
        return large_cos(x);
    }
    let (r, q) = reduce_pio2(x);
    match q {
        0 => cos_poly(r),
        1 => -sin_poly(r),
        2 => -cos_poly(r),
        _ => sin_poly(r),
    }
}

/// atan on [0, 1]: above tan(π/12), atan t = π/6 + atan((√3·t − 1)/(√3 + t)); then the series.
fn atan01(t: f64) -> f64 {
    let (base, u) = if t > 0.2679491924311227 {
        (FRAC_PI_6, (SQRT3 * t - 1.0) / (SQRT3 + t))
    } else {
        (0.0, t)
    };
    // atan u = u·Σ_j (−u²)^j/(2j+1), to j = 16 (|u| ≤ 0.268 makes the rest < 1e-19).
    let u2 = u * u;
    let mut q = 1.0 / 33.0;
    let mut k = 31;
    while k >= 1 {
        q = q * (-u2) + 1.0 / k as f64;
        k -= 2;
    }
    base + u * q
}

/// atan x.
pub fn atan(x: f64) -> f64 {
    if x != x {
        return x;
    }
    let t = abs(x);
    let r = if t > 1.0 { FRAC_PI_2 - atan01(1.0 / t) } else { atan01(t) };
    if x < 0.0 { -r } else { r }
}

/// atan2(y, x) with JavaScript's (and C's) conventions for zeros and infinities.
pub fn atan2(y: f64, x: f64) -> f64 {
    if x != x || y != y {
        return f64::NAN;
    }
    let neg_y = y.to_bits() >> 63 == 1;
    let neg_x = x.to_bits() >> 63 == 1;
    let sy = if neg_y { -1.0 } else { 1.0 };
    if y == 0.0 {
        return if neg_x { sy * PI } else { y };
    }
    if x == 0.0 {
        return sy * FRAC_PI_2;
    }
    let (ax, ay) = (abs(x), abs(y));
    if ax == f64::INFINITY {
        if ay == f64::INFINITY {
            return sy * if neg_x { 3.0 * PI / 4.0 } else { PI / 4.0 };
        }
        return if neg_x { sy * PI } else { sy * 0.0 };
    }
    if ay == f64::INFINITY {
        return sy * FRAC_PI_2;
    }
    let a = atan(ay / ax);
    sy * if neg_x { PI - a } else { a }
}

/// asin x = atan2(x, √((1−x)(1+x))).
pub fn asin(x: f64) -> f64 {
    atan2(x, sqrt((1.0 - x) * (1.0 + x)))
}

/// acos x = atan2(√((1−x)(1+x)), x).
pub fn acos(x: f64) -> f64 {
    atan2(sqrt((1.0 - x) * (1.0 + x)), x)
}

/// xⁿ for an integer n, by repeated squaring (exact signs for negative x).
pub fn powi(x: f64, n: i32) -> f64 {
    let mut e = if n < 0 { -(n as i64) } else { n as i64 };
    let mut base = x;
    let mut r = 1.0;
    while e > 0 {
        if e & 1 == 1 {
            r *= base;
        }
        base *= base;
        e >>= 1;
    }
    if n < 0 { 1.0 / r } else { r }
}

/// xʸ with C's (and JavaScript's) conventions: a negative base needs an integer exponent.
pub fn pow(x: f64, y: f64) -> f64 {
    if y == 0.0 {
        return 1.0;
    }
    if x != x || y != y {
        return f64::NAN;
    }
    let y_int = trunc(y) == y;
    if x == 0.0 {
        let odd = y_int && abs(y) < 9007199254740992.0 && (y as i64) & 1 == 1;
        let neg_zero = x.to_bits() >> 63 == 1;
        return if y > 0.0 {
            if odd && neg_zero { -0.0 } else { 0.0 }
        } else if odd && neg_zero {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    if x == f64::NEG_INFINITY {
        // (−∞)ʸ: ±∞ for y > 0, ±0 for y < 0, negative for odd integers (as Math.pow).
        let odd = y_int && abs(y) < 9007199254740992.0 && (y as i64) & 1 == 1;
        let r = if y > 0.0 { f64::INFINITY } else { 0.0 };
        return if odd { -r } else { r };
    }
    if x < 0.0 {
        if !y_int {
            return f64::NAN;
        }
        let odd = abs(y) < 9007199254740992.0 && (y as i64) & 1 == 1;
        let r = pow(-x, y);
        return if odd { -r } else { r };
    }
    if y_int && abs(y) <= 64.0 {
        return powi(x, y as i32);
    }
    exp(y * log(x))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// Relative error in ulps of f64.
    fn ulps(a: f64, b: f64) -> f64 {
        if a == b || (a.is_nan() && b.is_nan()) {
            return 0.0;
        }
        let d = (a - b).abs();
        let u = f64::EPSILON * b.abs().max(f64::MIN_POSITIVE);
        d / u
    }

    fn grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
        (0..=n).map(|k| lo + (hi - lo) * k as f64 / n as f64).collect()
    }

    fn check(name: &str, f: fn(f64) -> f64, g: fn(f64) -> f64, xs: &[f64], tol: f64) {
        let mut worst = 0.0f64;
        for &x in xs {
            let (a, b) = (f(x), g(x));
            let e = ulps(a, b);
            assert!(e <= tol, "{}({:e}) = {:e}, libm gives {:e} ({} ulps)", name, x, a, b, e);
            worst = worst.max(e);
        }
        std::println!("{}: worst {:.2} ulps over {} points", name, worst, xs.len());
    }

    #[test]
    fn exp_matches_libm_over_its_domain_and_edges() {
        let mut xs = grid(-745.0, 709.7, 200_000);
        xs.extend([0.0, -0.0, 1e-300, -1e-300, 709.78, 709.79, -745.13, -745.14, -708.4, -720.0]);
        check("exp", exp, f64::exp, &xs, 4.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(710.0), f64::INFINITY);
    }

    #[test]
    fn log_matches_libm_including_subnormals() {
        let mut xs: Vec<f64> = (0..200_000).map(|k| 10f64.powf(-310.0 + 620.0 * k as f64 / 200_000.0)).collect();
        xs.extend(grid(0.5, 2.0, 10_000));
        xs.extend([f64::MIN_POSITIVE, 5e-324, 1.0, f64::MAX]);
        check("log", log, f64::ln, &xs, 4.0);
        assert_eq!(log(0.0), f64::NEG_INFINITY);
        assert_eq!(log(-0.0), f64::NEG_INFINITY);
        assert!(log(-1.0).is_nan() && log(f64::NAN).is_nan());
        assert_eq!(log(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn sin_cos_match_libm_up_to_a_million() {
        let xs = grid(-1e6, 1e6, 400_001);
        // Absolute error relative to 1 (the reduction limits it), so compare with an absolute bound.
        for &x in xs.iter().chain([0.0, -0.0, 1e-300].iter()) {
            assert!((sin(x) - x.sin()).abs() <= 4e-16 * 4.0, "sin({})", x);
            assert!((cos(x) - x.cos()).abs() <= 4e-16 * 4.0, "cos({})", x);
        }
        check("sin near 0", sin, f64::sin, &grid(-3.2, 3.2, 100_000), 4.0);
        check("cos near 0", cos, f64::cos, &grid(-1.5, 1.5, 100_000), 4.0);
        assert!(sin(f64::INFINITY).is_nan() && cos(f64::NAN).is_nan());
    }

    #[test]
    fn atan_family_matches_libm() {
        let mut xs = grid(-50.0, 50.0, 200_000);
        xs.extend([0.0, -0.0, 1e300, -1e300, f64::INFINITY, f64::NEG_INFINITY]);
        check("atan", atan, f64::atan, &xs, 4.0);
        check("asin", asin, f64::asin, &grid(-1.0, 1.0, 200_000), 4.0);
        check("acos", acos, f64::acos, &grid(-1.0, 1.0, 200_000), 4.0);
        assert!(asin(1.5).is_nan() && acos(-1.5).is_nan());
        let specials = [0.0, -0.0, 1.0, -1.0, f64::INFINITY, f64::NEG_INFINITY, 3.5, -2.0];
        for &y in &specials {
            for &x in &specials {
                let (a, b) = (atan2(y, x), y.atan2(x));
                assert!(ulps(a, b) <= 4.0 && a.is_sign_negative() == b.is_sign_negative(), "atan2({}, {})", y, x);
            }
        }
    }

    #[test]
    fn pow_matches_libm_and_c_conventions() {
        for &x in &[0.3, 1.7, 12.5, 1e-5, 2.0] {
            for &y in &[-3.5, -2.0, -0.5, 0.5, 1.5, 3.0, 40.0, 100.3] {
                assert!(ulps(pow(x, y), x.powf(y)) <= 64.0, "pow({}, {})", x, y);
            }
        }
        for &(x, y) in &[(-2.0, 3.0), (-2.0, 2.0), (-2.0, 0.5), (0.0, -1.0), (-0.0, -3.0), (-0.0, 3.0), (0.0, 0.0), (f64::NAN, 0.0)] {
            let (a, b) = (pow(x, y), x.powf(y));
            assert!((a.is_nan() && b.is_nan()) || (a == b && a.is_sign_negative() == b.is_sign_negative()), "pow({}, {})", x, y);
        }
        assert_eq!(powi(-3.0, 3), -27.0);
        assert_eq!(powi(2.0, -2), 0.25);
    }

    #[test]
    fn rounding_helpers() {
        assert_eq!(round_away(2.5), 3.0);
        assert_eq!(round_away(-2.5), -3.0);
        assert_eq!(round_away(0.49999999999999994), 0.0);
        assert_eq!(floor(-0.5), -1.0);
        assert_eq!(floor(1e300), 1e300);
        assert!(floor(-0.0).is_sign_negative());
        assert_eq!(trunc(-2.7), -2.0);
    }
}
