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
use crate::reduce::{acc_size, finalize, fold, init_acc, out_widths};

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
pub(crate) const IVAR: i32 = 2;
pub(crate) const JVAR: i32 = 3;

const INSTR_WORDS: usize = 16;

/// A resolved operand: element pointer, whether it varies with the pair, component stride.
#[derive(Clone, Copy)]
pub(crate) struct Op<S> {
    pub(crate) ptr: *mut S,
    pub(crate) ps: bool,
    pub(crate) cs: usize,
    pub(crate) dim: usize,
}

impl<S: Copy> Op<S> {
    #[inline(always)]
    pub(crate) unsafe fn ld<L: Lanes<S = S>>(&self, k: usize, p: usize) -> L {
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

/// Σ_k (a_k − b_k)² at pair group p, any operand kinds (a scalar operand broadcasts).
#[inline(always)]
unsafe fn sqdist_at<L: Lanes>(a: Op<L::S>, b: Op<L::S>, d: usize, p: usize) -> L {
    let mut s = zero::<L>();
    for k in 0..d {
        let t = a.ld::<L>(if a.dim == 1 { 0 } else { k }, p).sub(b.ld(if b.dim == 1 { 0 } else { k }, p));
        s = s.add(t.mul(t));
    }
    s
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
        let s = sqdist_at::<L>(a, b, d, p);
        o.st(0, p, s);
    }
}

/// e^(−Σ_k (a_k − b_k)²) · w in one pass: the Gaussian kernel times its weight, the most common
/// formula of all, without storing the squared distance or the exponential.
#[inline(always)]
unsafe fn gauss_weight<L: Lanes>(o: Op<L::S>, a: Op<L::S>, b: Op<L::S>, w: Op<L::S>, groups: usize) {
    let d = if a.dim > b.dim { a.dim } else { b.dim };
    let (ca, cb) = (if a.dim == 1 { 0 } else { a.cs }, if b.dim == 1 { 0 } else { b.cs });
    if o.ps && !a.ps && b.ps && w.ps && d <= 8 {
        // The usual case: x_i uniform (splatted once), y_j and b_j per pair.
        let mut xs = [zero::<L>(); 8];
        for k in 0..d {
            xs[k] = L::splat_at(a.ptr.add(k * ca));
        }
        for g in 0..groups {
            let p = g * L::N;
            let mut s = zero::<L>();
            for k in 0..d {
                let t = xs[k].sub(L::load(b.ptr.add(k * cb + p)));
                s = s.add(t.mul(t));
            }
            s.exp_neg_sqdist().mul(L::load(w.ptr.add(p))).store(o.ptr.add(p));
        }
        return;
    }
    for g in 0..groups {
        let p = g * L::N;
        let s = sqdist_at::<L>(a, b, d, p);
        o.st(0, p, s.exp_neg_sqdist().mul(w.ld(0, p)));
    }
}

#[inline(always)]
fn one<L: Lanes>() -> L {
    L::splat(1.0)
}
#[inline(always)]
pub(crate) fn zero<L: Lanes>() -> L {
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
        // x ≥ 0 ? t : f, as the table's rule: a NaN condition takes f.
        OP_IFELSE => map3::<L>(o, a, b, cc, groups, |x, t, f| select(zero::<L>().le(x), t, f)),
        OP_SQDIST_FUSED => sqdist::<L>(o, a, b, groups),
        OP_EXPNEG_FUSED => map1::<L>(o, a, groups, |x| x.neg().exp()),
        OP_GAUSSW_FUSED => gauss_weight::<L>(o, a, b, cc, groups),
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
                    let mut s = L::splat(-0.0); // the identity of IEEE addition, as the table's
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
