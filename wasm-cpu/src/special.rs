//! The sequence operations, per pair in f64: BSpline (Cox–de Boor) and SoftDTW_SqDist with its
//! gradient (Cuturi & Blondel's backward recursion). Scratch tables live in memory reserved by
//! the driver (`scratch`, f64).

use crate::math;

/// B_{j,order}(x) for j < out_dim, knots t(0 … nk−1).
pub unsafe fn bspline(t: &dyn Fn(usize) -> f64, nk: usize, x: f64, order: usize, b: *mut f64, put: &dyn Fn(usize, f64), out_dim: usize) {
    for j in 0..nk - 1 {
        *b.add(j) = if t(j) <= x && x < t(j + 1) { 1.0 } else { 0.0 };
    }
    let ratio = |num: f64, den: f64| if den == 0.0 { 0.0 } else { num / den };
    for p in 1..=order {
        for j in 0..nk - 1 - p {
            *b.add(j) = ratio(x - t(j), t(j + p) - t(j)) * *b.add(j)
                + ratio(t(j + p + 1) - x, t(j + p + 1) - t(j + 1)) * *b.add(j + 1);
        }
    }
    for j in 0..out_dim {
        put(j, *b.add(j));
    }
}

fn softmin3(a: f64, b: f64, c: f64, g: f64, w: Option<&mut [f64; 3]>) -> f64 {
    let m = if a < b { a } else { b };
    let m = if m < c { m } else { c };
    let (ea, eb, ec) = (math::exp((m - a) / g), math::exp((m - b) / g), math::exp((m - c) / g));
    let s = ea + eb + ec;
    if let Some(w) = w {
        *w = [ea / s, eb / s, ec / s];
    }
    m - g * math::log(s)
}

unsafe fn table(x: &dyn Fn(usize) -> f64, n: usize, y: &dyn Fn(usize) -> f64, m: usize, g: f64, r: *mut f64) {
    for i in 0..n {
        for j in 0..m {
            let d = (x(i) - y(j)) * (x(i) - y(j));
            *r.add(i * m + j) = if i == 0 && j == 0 {
                d
            } else if i == 0 {
                d + *r.add(j - 1)
            } else if j == 0 {
                d + *r.add((i - 1) * m)
            } else {
                d + softmin3(*r.add((i - 1) * m + j - 1), *r.add((i - 1) * m + j), *r.add(i * m + j - 1), g, None)
            };
        }
    }
}

/// Soft-DTW between x (n values) and y (m values) with squared-difference costs.
pub unsafe fn softdtw(x: &dyn Fn(usize) -> f64, n: usize, y: &dyn Fn(usize) -> f64, m: usize, g: f64, r: *mut f64) -> f64 {
    table(x, n, y, m, g, r);
    *r.add(n * m - 1)
}

/// Its gradient with respect to [x, y].
pub unsafe fn softdtw_grad(x: &dyn Fn(usize) -> f64, n: usize, y: &dyn Fn(usize) -> f64, m: usize, g: f64, r: *mut f64, put: &dyn Fn(usize, f64)) {
    table(x, n, y, m, g, r);
    let e = r.add(n * m);
    for q in 0..n * m {
        *e.add(q) = 0.0;
    }
    *e.add(n * m - 1) = 1.0;
    let mut w = [0.0; 3];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let v = *e.add(i * m + j);
            if v == 0.0 {
                continue;
            }
            if i == 0 && j > 0 {
                *e.add(j - 1) += v;
            } else if j == 0 && i > 0 {
                *e.add((i - 1) * m) += v;
            } else if i > 0 && j > 0 {
                softmin3(*r.add((i - 1) * m + j - 1), *r.add((i - 1) * m + j), *r.add(i * m + j - 1), g, Some(&mut w));
                *e.add((i - 1) * m + j - 1) += v * w[0];
                *e.add((i - 1) * m + j) += v * w[1];
                *e.add(i * m + j - 1) += v * w[2];
            }
        }
    }
    for k in 0..n + m {
        let mut s = 0.0;
        if k < n {
            for j in 0..m {
                s += 2.0 * (x(k) - y(j)) * *e.add(k * m + j);
            }
        } else {
            for i in 0..n {
                s -= 2.0 * (x(i) - y(k - n)) * *e.add(i * m + k - n);
            }
        }
        put(k, s);
    }
}
