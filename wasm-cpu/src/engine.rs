//! The instruction interpreter and the reductions, generic over the lane type.
//!
//! A call reduces rows [row_start, row_end) over the terms j of one block:
//!
//!     for each row i:
//!         run the row instructions (those that do not depend on j) once
//!         for each tile of T terms j0 … j0+T−1:
//!             run the pair instructions over the tile, lanes across the pairs
//!             fold the tile's F (and W) into the row's accumulator
//!         finalize the row (on the last block of j)
//!
//! Registers are component-major over the tile ([k·T + p]) so that a SIMD vector holds one
//! component of consecutive pairs; j-variables are read in place from a component-major copy
//! of their array ([k·npad + j]), i-variables and parameters are splatted.

use crate::lanes::{select, Lanes};
use crate::math;
use crate::opcodes::*;

/// The call header, as written by the TypeScript driver (i32 words).
#[repr(C)]
pub struct Header {
    pub dtype: i32,
    pub tile: i32,
    pub n: i32,
    pub row_start: i32,
    pub row_end: i32,
    pub prog: i32,
    pub n_row: i32,
    pub n_pair: i32,
    pub regs: i32,
    pub family: i32,
    pub d: i32,
    pub k: i32,
    pub dw: i32,
    pub mode: i32,
    pub f_reg: i32,
    pub w_reg: i32,
    pub acc: i32,
    pub out_vals: i32,
    pub out_idx: i32,
    pub npad: i32,
    pub j_base: i32,
    pub flags: i32,
}

pub const FLAG_INIT: i32 = 1;
pub const FLAG_FINALIZE: i32 = 2;

/// Register kinds.
const PAIR: i32 = 0;
const UNIFORM: i32 = 1;
const IVAR: i32 = 2;
const JVAR: i32 = 3;

const INSTR_WORDS: usize = 16;

/// A resolved operand: element pointer, whether it varies with the pair, component stride.
#[derive(Clone, Copy)]
struct Op<S> {
    ptr: *mut S,
    ps: bool,
    cs: usize,
    dim: usize,
}

impl<S: Copy> Op<S> {
    #[inline(always)]
    unsafe fn ld<L: Lanes<S = S>>(&self, k: usize, p: usize) -> L {
        let q = self.ptr.add(k * self.cs);
        if self.ps { L::load(q.add(p)) } else { L::splat_at(q) }
    }
    #[inline(always)]
    unsafe fn st<L: Lanes<S = S>>(&self, k: usize, p: usize, v: L) {
        let q = self.ptr.add(k * self.cs);
        if self.ps { v.store(q.add(p)) } else { v.store_lane0(q) }
    }
}

struct Ctx {
    regs: *const i32,
    tile: usize,
    npad: usize,
}

unsafe fn resolve<S: Copy>(c: &Ctx, r: i32, i: usize, j0: usize, bcast: bool) -> Op<S> {
    let e = c.regs.add(4 * r as usize);
    let (kind, ptr, dim) = (*e, *e.add(1) as usize as *mut S, *e.add(2) as usize);
    let (ptr, ps, cs) = match kind {
        PAIR => (ptr, true, c.tile),
        UNIFORM => (ptr, false, 1),
        IVAR => (ptr.add(i * dim), false, 1),
        JVAR => (ptr.add(j0), true, c.npad),
        _ => (ptr, false, 1),
    };
    // A scalar argument broadcasts over the components of an element-wise operation.
    Op { ptr, ps, cs: if bcast && dim == 1 { 0 } else { cs }, dim }
}

// The loops below are unswitched by hand on whether each operand varies with the pair, so that
// the inner loop over the tile is straight SIMD code: loads, the operation, a store.

#[inline(always)]
unsafe fn map1<L: Lanes>(o: Op<L::S>, a: Op<L::S>, groups: usize, f: impl Fn(L) -> L) {
    for k in 0..o.dim {
        let (pa, po) = (a.ptr.add(k * a.cs), o.ptr.add(k * o.cs));
        if !o.ps {
            f(L::splat_at(pa)).store_lane0(po);
            continue;
        }
        for g in 0..groups {
            let p = g * L::N;
            f(L::load(pa.add(p))).store(po.add(p));
        }
    }
}

#[inline(always)]
unsafe fn map2<L: Lanes>(o: Op<L::S>, a: Op<L::S>, b: Op<L::S>, groups: usize, f: impl Fn(L, L) -> L) {
    for k in 0..o.dim {
        let (pa, pb, po) = (a.ptr.add(k * a.cs), b.ptr.add(k * b.cs), o.ptr.add(k * o.cs));
        if !o.ps {
            f(L::splat_at(pa), L::splat_at(pb)).store_lane0(po);
        } else if a.ps && b.ps {
            for g in 0..groups {
                let p = g * L::N;
                f(L::load(pa.add(p)), L::load(pb.add(p))).store(po.add(p));
            }
        } else if a.ps {
            let bv = L::splat_at(pb);
            for g in 0..groups {
                let p = g * L::N;
                f(L::load(pa.add(p)), bv).store(po.add(p));
            }
        } else {
            let av = L::splat_at(pa);
            for g in 0..groups {
                let p = g * L::N;
                f(av, L::load(pb.add(p))).store(po.add(p));
            }
        }
    }
}

#[inline(always)]
unsafe fn map3<L: Lanes>(o: Op<L::S>, a: Op<L::S>, b: Op<L::S>, c: Op<L::S>, groups: usize, f: impl Fn(L, L, L) -> L) {
    for g in 0..groups {
        let p = g * L::N;
        for k in 0..o.dim {
            o.st(k, p, f(a.ld(k, p), b.ld(k, p), c.ld(k, p)));
        }
    }
}

/// Σ_k (a_k − b_k)², the fused SqDist; either operand may be a broadcast scalar.
#[inline(always)]
unsafe fn sqdist<L: Lanes>(o: Op<L::S>, a: Op<L::S>, b: Op<L::S>, groups: usize) {
    let d = if a.dim > b.dim { a.dim } else { b.dim };
    let (ca, cb) = (if a.dim == 1 { 0 } else { a.cs }, if b.dim == 1 { 0 } else { b.cs });
    if !o.ps {
        let mut s = zero::<L>();
        for k in 0..d {
            let t = L::splat_at(a.ptr.add(k * ca)).sub(L::splat_at(b.ptr.add(k * cb)));
            s = s.add(t.mul(t));
        }
        s.store_lane0(o.ptr);
        return;
    }
    // The usual case: a uniform (x_i), b per pair (y_j).
    if !a.ps && b.ps {
        for g in 0..groups {
            let p = g * L::N;
            let mut s = zero::<L>();
            for k in 0..d {
                let t = L::splat_at(a.ptr.add(k * ca)).sub(L::load(b.ptr.add(k * cb + p)));
                s = s.add(t.mul(t));
            }
            s.store(o.ptr.add(p));
        }
        return;
    }
    for g in 0..groups {
        let p = g * L::N;
        let mut s = zero::<L>();
        for k in 0..d {
            let t = a.ld::<L>(k * if a.dim == 1 { 0 } else { 1 }, p).sub(b.ld(k * if b.dim == 1 { 0 } else { 1 }, p));
            s = s.add(t.mul(t));
        }
        o.st(0, p, s);
    }
}

#[inline(always)]
fn one<L: Lanes>() -> L {
    L::splat(1.0)
}
#[inline(always)]
fn zero<L: Lanes>() -> L {
    L::splat(0.0)
}
#[inline(always)]
fn flag<L: Lanes>(m: core::arch::wasm32::v128) -> L {
    select(m, one::<L>(), zero::<L>())
}

/// Runs one instruction over `count` pairs (or once, for a uniform output).
unsafe fn exec<L: Lanes>(c: &Ctx, ins: *const i32, i: usize, j0: usize, count: usize) {
    let op = *ins;
    let p = |k: usize| *ins.add(5 + k);
    let elementwise = op < OP_FIRST_VECTOR;
    let o: Op<L::S> = resolve(c, *ins.add(1), i, j0, false);
    let a: Op<L::S> = resolve(c, *ins.add(2), i, j0, elementwise);
    let b: Op<L::S> = if *ins.add(3) >= 0 { resolve(c, *ins.add(3), i, j0, elementwise) } else { a };
    let cc: Op<L::S> = if *ins.add(4) >= 0 { resolve(c, *ins.add(4), i, j0, elementwise) } else { a };
    let groups = if o.ps { (count + L::N - 1) / L::N } else { 1 };
    match op {
        OP_ABS => map1::<L>(o, a, groups, |x| x.abs()),
        OP_ACOS => map1::<L>(o, a, groups, |x| x.map(math::acos)),
        OP_ASIN => map1::<L>(o, a, groups, |x| x.map(math::asin)),
        OP_ATAN => map1::<L>(o, a, groups, |x| x.map(math::atan)),
        OP_COS => map1::<L>(o, a, groups, |x| x.map(math::cos)),
        OP_SIN => map1::<L>(o, a, groups, |x| x.map(math::sin)),
        OP_EXP => map1::<L>(o, a, groups, |x| x.exp()),
        OP_LOG => map1::<L>(o, a, groups, |x| x.map(math::log)),
        OP_FLOOR => map1::<L>(o, a, groups, |x| x.floor()),
        OP_INV => map1::<L>(o, a, groups, |x| one::<L>().div(x)),
        OP_MINUS => map1::<L>(o, a, groups, |x| x.neg()),
        OP_RELU => map1::<L>(o, a, groups, |x| select(x.lt(zero()), zero(), x)),
        OP_RSQRT => map1::<L>(o, a, groups, |x| select(x.eq(zero()), zero(), one::<L>().div(x.sqrt()))),
        OP_SIGN => map1::<L>(o, a, groups, |x| {
            select(zero::<L>().lt(x), one(), select(x.lt(zero()), L::splat(-1.0), zero()))
        }),
        OP_SINXDIVX => map1::<L>(o, a, groups, |x| x.map(|v| if v == 0.0 { 1.0 } else { math::sin(v) / v })),
        OP_SQRT => map1::<L>(o, a, groups, |x| x.sqrt()),
        OP_SQUARE => map1::<L>(o, a, groups, |x| x.mul(x)),
        OP_STEP => map1::<L>(o, a, groups, |x| select(x.lt(zero()), zero(), one())),
        OP_XLOGX => map1::<L>(o, a, groups, |x| x.map(|v| if v == 0.0 { 0.0 } else { v * math::log(v) })),
        OP_POW => {
            let m = p(0);
            match m {
                2 => map1::<L>(o, a, groups, |x| x.mul(x)),
                3 => map1::<L>(o, a, groups, |x| x.mul(x).mul(x)),
                _ => map1::<L>(o, a, groups, |x| x.map(|v| math::powi(v, m))),
            }
        }
        OP_ROUND => {
            let s = math::powi(10.0, p(0));
            map1::<L>(o, a, groups, |x| x.map(|v| math::round_away(v * s) / s))
        }
        OP_CLAMPINT => {
            let (lo, hi) = (L::splat(p(0) as f64), L::splat(p(1) as f64));
            map1::<L>(o, a, groups, |x| select(x.lt(lo), lo, select(hi.lt(x), hi, x)))
        }
        OP_DIFFCLAMPINT => {
            let (lo, hi) = (L::splat(p(0) as f64), L::splat(p(1) as f64));
            map1::<L>(o, a, groups, |x| {
                select(lo.le(x), select(x.le(hi), one(), zero()), zero())
            })
        }
        OP_ADD => map2::<L>(o, a, b, groups, |x, y| x.add(y)),
        OP_SUBTRACT => map2::<L>(o, a, b, groups, |x, y| x.sub(y)),
        OP_MULT => map2::<L>(o, a, b, groups, |x, y| x.mul(y)),
        OP_DIVIDE => map2::<L>(o, a, b, groups, |x, y| x.div(y)),
        OP_ATAN2 => map2::<L>(o, a, b, groups, |x, y| x.map2(y, math::atan2)),
        OP_POWF => map2::<L>(o, a, b, groups, |x, y| x.map2(y, math::pow)),
        OP_EQUAL => map2::<L>(o, a, b, groups, |x, y| flag(x.eq(y))),
        OP_NOTEQUAL => map2::<L>(o, a, b, groups, |x, y| flag(x.ne(y))),
        OP_LESSTHAN => map2::<L>(o, a, b, groups, |x, y| flag(x.lt(y))),
        OP_LESSOREQUAL => map2::<L>(o, a, b, groups, |x, y| flag(x.le(y))),
        OP_CLAMP => map3::<L>(o, a, b, cc, groups, |x, lo, hi| select(x.lt(lo), lo, select(hi.lt(x), hi, x))),
        OP_IFELSE => map3::<L>(o, a, b, cc, groups, |x, t, f| select(x.lt(zero()), f, t)),
        OP_SQDIST_FUSED => sqdist::<L>(o, a, b, groups),
        OP_EXPNEG_FUSED => map1::<L>(o, a, groups, |x| x.neg().exp()),
        _ => exec_vector::<L>(op, ins, o, a, b, cc, groups, count),
    }
}

unsafe fn exec_vector<L: Lanes>(
    op: i32,
    ins: *const i32,
    o: Op<L::S>,
    a: Op<L::S>,
    b: Op<L::S>,
    c3: Op<L::S>,
    groups: usize,
    count: usize,
) {
    let p = |k: usize| *ins.add(5 + k);
    for g in 0..groups {
        let q = g * L::N;
        match op {
            OP_SUM => {
                let mut s = a.ld::<L>(0, q);
                for k in 1..a.dim {
                    s = s.add(a.ld(k, q));
                }
                o.st(0, q, s);
            }
            OP_SUMT => {
                let v = a.ld::<L>(0, q);
                for k in 0..o.dim {
                    o.st(k, q, v);
                }
            }
            OP_CONCAT => {
                for k in 0..a.dim {
                    o.st(k, q, a.ld::<L>(k, q));
                }
                for k in 0..b.dim {
                    o.st(a.dim + k, q, b.ld::<L>(k, q));
                }
            }
            OP_ELEM => o.st(0, q, a.ld::<L>(p(0) as usize, q)),
            OP_ELEMT => {
                for k in 0..o.dim {
                    o.st(k, q, zero::<L>());
                }
                o.st(p(1) as usize, q, a.ld::<L>(0, q));
            }
            OP_EXTRACT => {
                for k in 0..o.dim {
                    o.st(k, q, a.ld::<L>(p(0) as usize + k, q));
                }
            }
            OP_EXTRACTT => {
                for k in 0..o.dim {
                    o.st(k, q, zero::<L>());
                }
                for k in 0..a.dim {
                    o.st(p(0) as usize + k, q, a.ld::<L>(k, q));
                }
            }
            OP_MAX | OP_MIN | OP_ARGMAX | OP_ARGMIN => {
                let max = op == OP_MAX || op == OP_ARGMAX;
                let mut best = a.ld::<L>(0, q);
                let mut idx = zero::<L>();
                for k in 1..a.dim {
                    let v = a.ld::<L>(k, q);
                    // Strict comparison: the first extremum wins.
                    let m = if max { best.lt(v) } else { v.lt(best) };
                    best = select(m, v, best);
                    idx = select(m, L::splat(k as f64), idx);
                }
                o.st(0, q, if op == OP_MAX || op == OP_MIN { best } else { idx });
            }
            OP_ONEHOT => {
                let t = a.ld::<L>(0, q).add(L::splat(0.5)).trunc();
                for k in 0..o.dim {
                    o.st(k, q, flag::<L>(t.eq(L::splat(k as f64))));
                }
            }
            OP_TENSORDOT => {
                // Offset tables: fo, go (one per output), fc, gc (one per contracted index).
                let tab = p(0) as usize as *const i32;
                let (nout, nc) = (p(1) as usize, p(2) as usize);
                let (fo, go, fc, gc) = (tab, tab.add(nout), tab.add(2 * nout), tab.add(2 * nout + nc));
                for r in 0..nout {
                    let mut s = zero::<L>();
                    for t in 0..nc {
                        let x = a.ld::<L>((*fo.add(r) + *fc.add(t)) as usize, q);
                        let y = b.ld::<L>((*go.add(r) + *gc.add(t)) as usize, q);
                        s = s.add(x.mul(y));
                    }
                    o.st(r, q, s);
                }
            }
            OP_BSPLINE | OP_SOFTDTW_SQDIST | OP_GRADSOFTDTW_SQDIST => {
                let scratch = p(1) as usize as *mut f64;
                let lanes = if o.ps { L::N.min(count - q) } else { 1 };
                for l in 0..lanes {
                    let at = |x: &Op<L::S>, k: usize| L::read(x.ptr.add(k * x.cs), if x.ps { q + l } else { 0 });
                    let put = |k: usize, v: f64| L::write(o.ptr.add(k * o.cs), if o.ps { q + l } else { 0 }, v);
                    match op {
                        OP_BSPLINE => crate::special::bspline(&|k| at(&a, k), a.dim, at(&b, 0), p(0) as usize, scratch, &|k, v| put(k, v), o.dim),
                        OP_SOFTDTW_SQDIST => put(0, crate::special::softdtw(&|k| at(&a, k), a.dim, &|k| at(&b, k), b.dim, at(&c3, 0), scratch)),
                        _ => crate::special::softdtw_grad(&|k| at(&a, k), a.dim, &|k| at(&b, k), b.dim, at(&c3, 0), scratch, &|k, v| put(k, v)),
                    }
                }
            }
            _ => core::arch::wasm32::unreachable(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reductions: accumulators in f64, with the layouts of lazy/reductions.ts.

const FAM_SUM: i32 = 0;
const FAM_EXTREMUM: i32 = 1;
const FAM_KMIN: i32 = 2;

fn acc_size(h: &Header) -> usize {
    let (d, k, dw) = (h.d as usize, h.k as usize, h.dw as usize);
    match h.family {
        FAM_SUM => d,
        FAM_EXTREMUM => 2 * d,
        FAM_KMIN => 2 * k * d,
        _ => 1 + dw,
    }
}

unsafe fn init_acc(h: &Header, acc: *mut f64) {
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
unsafe fn fold<L: Lanes>(h: &Header, acc: *mut f64, f: Op<L::S>, w: Op<L::S>, j0: usize, count: usize) {
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
                if !nan {
                    return;
                }
                mt = f64::NAN;
            }
            let m = *acc;
            let big = if m > mt { m } else { mt };
            let (ea, eb) = (if m == f64::NEG_INFINITY { 0.0 } else { math::exp(m - big) }, math::exp(mt - big));
            let full = if f.ps && w.ps { count / L::N } else { 0 };
            let mts = L::splat(mt);
            for c in 0..dw {
                let mut s = zero::<L>();
                let wc = w.ptr.add(c * w.cs);
                for g in 0..full {
                    let e = L::load(f.ptr.add(g * L::N)).sub(mts).exp();
                    s = s.add(e.mul(L::load(wc.add(g * L::N))));
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

unsafe fn finalize(h: &Header, acc: *const f64, vals: *mut f64, idx: *mut i32) {
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
fn out_widths(h: &Header) -> (usize, usize) {
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

/// Runs a call described by its header.
pub unsafe fn run<L: Lanes>(h: &Header) {
    let c = Ctx { regs: h.regs as usize as *const i32, tile: h.tile as usize, npad: h.npad as usize };
    let prog = h.prog as usize as *const i32;
    let (n_row, n_pair) = (h.n_row as usize, h.n_pair as usize);
    let pair_prog = prog.add(n_row * INSTR_WORDS);
    let n = h.n as usize;
    let a_size = acc_size(h);
    let (wv, wi) = out_widths(h);
    for i in h.row_start as usize..h.row_end as usize {
        let r = i - h.row_start as usize;
        let acc = (h.acc as usize as *mut f64).add(r * a_size);
        for s in 0..n_row {
            exec::<L>(&c, prog.add(s * INSTR_WORDS), i, 0, 1);
        }
        if h.flags & FLAG_INIT != 0 {
            init_acc(h, acc);
        }
        let mut j0 = 0;
        while j0 < n {
            let count = if n - j0 < c.tile { n - j0 } else { c.tile };
            for s in 0..n_pair {
                exec::<L>(&c, pair_prog.add(s * INSTR_WORDS), i, j0, count);
            }
            let f: Op<L::S> = resolve(&c, h.f_reg, i, j0, false);
            let w: Op<L::S> = if h.w_reg >= 0 { resolve(&c, h.w_reg, i, j0, false) } else { f };
            fold::<L>(h, acc, f, w, j0, count);
            j0 += c.tile;
        }
        if h.flags & FLAG_FINALIZE != 0 {
            finalize(h, acc, (h.out_vals as usize as *mut f64).add(r * wv), (h.out_idx as usize as *mut i32).add(r * wi));
        }
    }
}
