//! The reductions of the engine, with the accumulator layouts of lazy/reductions.ts (in f64):
//! Sum (a tile is summed in the lane type, then added to the f64 row total: a block sum),
//! Min/Max/Arg* and KMin (strict comparisons: the earliest index wins ties; groups of lanes
//! that cannot improve the current bound are skipped with one SIMD comparison), and the
//! LogSumExp family (tile maximum m_t and tile sums s_t, merged as
//! (m, s) ⊕ (m_t, s_t) = (M, s·e^(m−M) + s_t·e^(m_t−M))).

use crate::engine::{zero, Header, Op};
use crate::lanes::Lanes;
use crate::math;

pub(crate) const FAM_SUM: i32 = 0;
const FAM_EXTREMUM: i32 = 1;
const FAM_KMIN: i32 = 2;

pub(crate) fn acc_size(h: &Header) -> usize {
    let (d, k, dw) = (h.d as usize, h.k as usize, h.dw as usize);
    match h.family {
        FAM_SUM => d,
        FAM_EXTREMUM => 2 * d,
        FAM_KMIN => 2 * k * d,
        _ => 1 + dw,
    }
}

pub(crate) unsafe fn init_acc(h: &Header, acc: *mut f64) {
    let (d, kd) = (h.d as usize, (h.k * h.d) as usize);
    match h.family {
        FAM_SUM => (0..d).for_each(|q| *acc.add(q) = 0.0),
        FAM_EXTREMUM => {
            let inf = if h.mode & 1 == 1 { f64::NEG_INFINITY } else { f64::INFINITY };
            (0..d).for_each(|q| {
                *acc.add(q) = inf;
                *acc.add(d + q) = 0.0;
            });
        }
        FAM_KMIN => (0..kd).for_each(|q| {
            *acc.add(q) = f64::INFINITY;
            *acc.add(kd + q) = 0.0;
        }),
        _ => {
            *acc = f64::NEG_INFINITY;
            (0..h.dw as usize).for_each(|q| *acc.add(1 + q) = 0.0);
        }
    }
}

/// Whether any of the lanes at p beats `bound` (strictly below it, or above it for `max`).
#[inline(always)]
unsafe fn improves<L: Lanes>(p: *const L::S, bound: f64, max: bool) -> bool {
    let v = L::load(p);
    let b = L::splat(bound);
    core::arch::wasm32::v128_any_true(if max { b.lt(v) } else { v.lt(b) })
}

/// Folds `count` terms of one tile (pairs j0 … j0+count−1) into a row's accumulator.
pub(crate) unsafe fn fold<L: Lanes>(h: &Header, acc: *mut f64, f: Op<L::S>, w: Op<L::S>, j0: usize, count: usize) {
    let jb = (h.j_base as usize + j0) as f64;
    let term = |x: &Op<L::S>, k: usize, p: usize| L::read(x.ptr.add(k * x.cs), if x.ps { p } else { 0 });
    match h.family {
        FAM_SUM => {
            for k in 0..h.d as usize {
                // The tile is summed in the lane type, then added to the f64 row total: a block sum.
                let mut s = zero::<L>();
                let full = if f.ps { count / L::N } else { 0 };
                let fk = f.ptr.add(k * f.cs);
                for g in 0..full {
                    s = s.add(L::load(fk.add(g * L::N)));
                }
                let mut t = 0.0;
                for l in 0..L::N {
                    t += s.lane(l);
                }
                if f.ps {
                    for p in full * L::N..count {
                        t += term(&f, k, p);
                    }
                } else {
                    t = term(&f, k, 0) * count as f64;
                }
                *acc.add(k) += t;
            }
        }
        FAM_EXTREMUM => {
            let d = h.d as usize;
            let max = h.mode & 1 == 1;
            for k in 0..d {
                let (mut best, mut at) = (*acc.add(k), *acc.add(d + k));
                let mut p = 0;
                while p < count {
                    // A whole group of lanes that cannot improve on the best is skipped at once.
                    if f.ps && p + L::N <= count && !improves::<L>(f.ptr.add(k * f.cs + p), best, max) {
                        p += L::N;
                        continue;
                    }
                    let end = if f.ps && p + L::N <= count { p + L::N } else { p + 1 };
                    while p < end {
                        let v = term(&f, k, p);
                        if if max { v > best } else { v < best } {
                            best = v;
                            at = jb + p as f64;
                        }
                        p += 1;
                    }
                }
                *acc.add(k) = best;
                *acc.add(d + k) = at;
            }
        }
        FAM_KMIN => {
            let (d, kk) = (h.d as usize, h.k as usize);
            let kd = kk * d;
            for c in 0..d {
                let mut p = 0;
                while p < count {
                    let worst = *acc.add((kk - 1) * d + c);
                    if f.ps && p + L::N <= count && !improves::<L>(f.ptr.add(c * f.cs + p), worst, false) {
                        p += L::N;
                        continue;
                    }
                    let end = if f.ps && p + L::N <= count { p + L::N } else { p + 1 };
                    while p < end {
                        let v = term(&f, c, p);
                        p += 1;
                        if !(v < *acc.add((kk - 1) * d + c)) {
                            continue;
                        }
                        let mut s = kk - 1;
                        while s > 0 && v < *acc.add((s - 1) * d + c) {
                            *acc.add(s * d + c) = *acc.add((s - 1) * d + c);
                            *acc.add(kd + s * d + c) = *acc.add(kd + (s - 1) * d + c);
                            s -= 1;
                        }
                        *acc.add(s * d + c) = v;
                        *acc.add(kd + s * d + c) = jb + (p - 1) as f64;
                    }
                }
            }
        }
        _ => {
            // Tile max m_t, tile sums s_t = Σ e^(F − m_t)·W, then (m, s) ⊕ (m_t, s_t).
            let dw = h.dw as usize;
            let mut mt = f64::NEG_INFINITY;
            for p in 0..count {
                let v = term(&f, 0, p);
                if v > mt {
                    mt = v;
                }
            }
            if mt == f64::NEG_INFINITY {
                // Only −∞ terms (no contribution), or NaN terms, which must poison the sum.
                let mut nan = false;
                for p in 0..count {
                    nan |= term(&f, 0, p) != term(&f, 0, p);
                }
                if nan {
                    // The sums become NaN; the running maximum stays (as the reference's).
                    for c in 0..dw {
                        *acc.add(1 + c) = f64::NAN;
                    }
                }
                return;
            }
            let m = *acc;
            let big = if m > mt { m } else { mt };
            // e^(a − b) with e^(∞ − ∞) = 1: a term equal to the running maximum counts once,
            // infinite or not (as the reference's).
            let shift = |a: f64, b: f64| if a == b { 1.0 } else if a == f64::NEG_INFINITY { 0.0 } else { math::exp(a - b) };
            let (ea, eb) = (shift(m, big), shift(mt, big));
            if mt == f64::INFINITY {
                // Terms of +∞ count 1 each, finite ones nothing, NaN poisons: lane by lane.
                for c in 0..dw {
                    let mut t = 0.0;
                    for p in 0..count {
                        t += shift(term(&f, 0, p), mt) * term(&w, c, p);
                    }
                    let acc_c = acc.add(1 + c);
                    *acc_c = *acc_c * ea + t * eb;
                }
                *acc = big;
                return;
            }
            let full = if f.ps { count / L::N } else { 0 };
            let mts = L::splat(mt);
            for c in 0..dw {
                let mut s = zero::<L>();
                let wc = w.ptr.add(c * w.cs);
                if w.ps {
                    for g in 0..full {
                        let e = L::load(f.ptr.add(g * L::N)).sub(mts).exp();
                        s = s.add(e.mul(L::load(wc.add(g * L::N))));
                    }
                } else {
                    // A weight that does not depend on j (plain LogSumExp: 1) is splatted.
                    let wv = L::splat_at(wc);
                    for g in 0..full {
                        s = s.add(L::load(f.ptr.add(g * L::N)).sub(mts).exp().mul(wv));
                    }
                }
                let mut t = 0.0;
                for l in 0..L::N {
                    t += s.lane(l);
                }
                for p in full * L::N..count {
                    t += math::exp(term(&f, 0, p) - mt) * term(&w, c, p);
                }
                let acc_c = acc.add(1 + c);
                *acc_c = *acc_c * ea + t * eb;
            }
            *acc = big;
        }
    }
}

pub(crate) unsafe fn finalize(h: &Header, acc: *const f64, vals: *mut f64, idx: *mut i32) {
    let (d, kd, dw) = (h.d as usize, (h.k * h.d) as usize, h.dw as usize);
    match h.family {
        FAM_SUM => (0..d).for_each(|q| *vals.add(q) = *acc.add(q)),
        FAM_EXTREMUM => (0..d).for_each(|q| {
            *vals.add(q) = *acc.add(q);
            *idx.add(q) = *acc.add(d + q) as i32;
        }),
        FAM_KMIN => (0..kd).for_each(|q| {
            *vals.add(q) = *acc.add(q);
            *idx.add(q) = *acc.add(kd + q) as i32;
        }),
        _ => {
            let m = *acc;
            match h.mode {
                0 => (0..dw).for_each(|q| *vals.add(q) = m + math::log(*acc.add(1 + q))),
                1 => (0..dw - 1).for_each(|q| *vals.add(q) = *acc.add(2 + q) / *acc.add(1)),
                _ => (0..=dw).for_each(|q| *vals.add(q) = *acc.add(q)),
            }
        }
    }
}

/// Widths of a row's outputs: (values, indices).
pub(crate) fn out_widths(h: &Header) -> (usize, usize) {
    let (d, kd, dw) = (h.d as usize, (h.k * h.d) as usize, h.dw as usize);
    match h.family {
        FAM_SUM => (d, 0),
        FAM_EXTREMUM => (d, d),
        FAM_KMIN => (kd, kd),
        _ => match h.mode {
            0 => (dw, 0),
            1 => (dw - 1, 0),
            _ => (dw + 1, 0),
        },
    }
}

