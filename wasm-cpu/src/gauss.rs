//! The Gaussian kernel product on float32, Σ_j e^(−|x_i − y_j|²)·b_j — KeOps's most common call
//! — as one pass over j per row, without the interpreter's tile buffer: the kernel value of a
//! group of four pairs goes straight from registers into the running sum.
//!
//! The values are those of the general path (the fused instruction `GAUSSW`, then the Sum fold):
//! the same exponential, the same order of additions — four groups summed in float32 lanes over
//! a tile, the lanes and the tail of the tile added to the float64 row total — so a call gives
//! the same bits whichever path runs it. Only the bookkeeping differs: no store and reload of
//! every value, no instruction decoding per tile, and the range check of the exponential made
//! once for four groups.

use crate::engine::{Header, FLAG_FINALIZE, FLAG_INIT, IVAR, JVAR};
use crate::lanes::{exp_neg_in_range, sqdist_in_range, F32x4, Lanes};
use crate::opcodes::OP_GAUSSW_FUSED;
use crate::reduce::{acc_size, finalize, init_acc, out_widths, FAM_SUM};
use core::arch::wasm32::*;

/// Most components of x and y handled here (the Gaussian of point clouds: D = 1 … 4).
const MAX_D: usize = 4;
/// Tiles of j per block swept by all the rows (16 × 256 pairs: 64 KB of y and b for D = 3).
const J_TILES: usize = 16;

/// A register of the call: (kind, address, dim).
unsafe fn reg(h: &Header, r: i32) -> (i32, usize, usize) {
    let e = (h.regs as usize as *const i32).add(4 * r as usize);
    (*e, *e.add(1) as usize, *e.add(2) as usize)
}

/// Runs the call here when it is a float32 Sum of `Exp(-SqDist(x,y))*b` with x an i-variable,
/// y and b j-variables, and D ≤ 4; returns whether it did.
pub(crate) unsafe fn try_run(h: &Header) -> bool {
    if h.dtype != 0 || h.family != FAM_SUM || h.d != 1 || h.n_row != 0 || h.n_pair != 1 || h.w_reg >= 0 {
        return false;
    }
    let ins = h.prog as usize as *const i32;
    if *ins != OP_GAUSSW_FUSED || *ins.add(1) != h.f_reg {
        return false;
    }
    let (ka, pa, da) = reg(h, *ins.add(2));
    let (kb, pb, db) = reg(h, *ins.add(3));
    let (kw, pw, dw) = reg(h, *ins.add(4));
    if ka != IVAR || kb != JVAR || kw != JVAR || da != db || da > MAX_D || dw != 1 {
        return false;
    }
    let (d, n, tile, npad) = (da, h.n as usize, h.tile as usize, h.npad as usize);
    let a_size = acc_size(h);
    let (wv, wi) = out_widths(h);
    let rows = h.row_start as usize..h.row_end as usize;
    let acc = |i: usize| (h.acc as usize as *mut f64).add((i - h.row_start as usize) * a_size);
    if h.flags & FLAG_INIT != 0 {
        rows.clone().for_each(|i| init_acc(h, acc(i)));
    }
    // Blocks of J_TILES tiles of j, each swept by every row while it sits in the cache: row by
    // row over the whole of j, a large N streams y and b from memory once per row.
    let block = J_TILES * tile;
    let mut j0 = 0;
    while j0 < n {
        let count = if n - j0 < block { n - j0 } else { block };
        for i in rows.clone() {
            let x = (pa as *const f32).add(i * d);
            row_sum(acc(i), x, d, (pb as *const f32).add(j0), npad, (pw as *const f32).add(j0), count, tile);
        }
        j0 += block;
    }
    if h.flags & FLAG_FINALIZE != 0 {
        for i in rows {
            let r = i - h.row_start as usize;
            finalize(h, acc(i), (h.out_vals as usize as *mut f64).add(r * wv), (h.out_idx as usize as *mut i32).add(r * wi));
        }
    }
    true
}

/// |x − y_p…p+3|² for the group of pairs at p.
#[inline(always)]
unsafe fn sqdist(xs: &[v128; MAX_D], d: usize, y: *const f32, cy: usize, p: usize) -> v128 {
    let mut s = f32x4_splat(0.0);
    for c in 0..d {
        let t = f32x4_sub(xs[c], v128_load(y.add(c * cy + p) as *const v128));
        s = f32x4_add(s, f32x4_mul(t, t));
    }
    s
}

/// The kernel value of one group by the general rule (`F32x4::exp_neg_sqdist`), weighted.
#[inline(always)]
unsafe fn weighted(s: v128, w: *const f32, p: usize) -> v128 {
    f32x4_mul(F32x4(s).exp_neg_sqdist().0, v128_load(w.add(p) as *const v128))
}

/// Adds Σ_j e^(−|x − y_j|²)·b_j over j < n to the row total, tile by tile as the Sum fold does.
#[inline(always)]
unsafe fn row_sum(total: *mut f64, x: *const f32, d: usize, y: *const f32, cy: usize, w: *const f32, n: usize, tile: usize) {
    let mut xs = [f32x4_splat(0.0); MAX_D];
    for c in 0..d {
        xs[c] = f32x4_splat(*x.add(c));
    }
    let mut j0 = 0;
    while j0 < n {
        let count = if n - j0 < tile { n - j0 } else { tile };
        let (yt, wt) = (y.add(j0), w.add(j0));
        let full = count / 4;
        let mut acc = f32x4_splat(0.0);
        let mut g = 0;
        // Four groups at a time: one range check, then four independent exponentials.
        while g + 4 <= full {
            let p = g * 4;
            let s0 = sqdist(&xs, d, yt, cy, p);
            let s1 = sqdist(&xs, d, yt, cy, p + 4);
            let s2 = sqdist(&xs, d, yt, cy, p + 8);
            let s3 = sqdist(&xs, d, yt, cy, p + 12);
            let inside = v128_and(
                v128_and(sqdist_in_range(s0), sqdist_in_range(s1)),
                v128_and(sqdist_in_range(s2), sqdist_in_range(s3)),
            );
            if i32x4_all_true(inside) {
                let e = |s: v128, q: usize| f32x4_mul(exp_neg_in_range(s), v128_load(wt.add(q) as *const v128));
                let (e0, e1, e2, e3) = (e(s0, p), e(s1, p + 4), e(s2, p + 8), e(s3, p + 12));
                acc = f32x4_add(f32x4_add(f32x4_add(f32x4_add(acc, e0), e1), e2), e3);
            } else {
                acc = f32x4_add(acc, weighted(s0, wt, p));
                acc = f32x4_add(acc, weighted(s1, wt, p + 4));
                acc = f32x4_add(acc, weighted(s2, wt, p + 8));
                acc = f32x4_add(acc, weighted(s3, wt, p + 12));
            }
            g += 4;
        }
        while g < full {
            acc = f32x4_add(acc, weighted(sqdist(&xs, d, yt, cy, g * 4), wt, g * 4));
            g += 1;
        }
        let a = F32x4(acc);
        let mut t = 0.0;
        for l in 0..4 {
            t += a.lane(l);
        }
        // The tail of the tile (the arrays are padded to whole groups): lane by lane, in float64.
        if full * 4 < count {
            let p = full * 4;
            let e = F32x4(weighted(sqdist(&xs, d, yt, cy, p), wt, p));
            for l in 0..count - p {
                t += e.lane(l);
            }
        }
        *total += t;
        j0 += tile;
    }
}
