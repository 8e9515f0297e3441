//! Rotation-invariant harmonic power of a token configuration (DESIGN.md section 4).
//!
//! `C_l = (1/N^2) sum_ij Z_l(<x_i, x_j>)`, `Z_l(t) = dim(H_l) C_l^a(t) / C_l^a(1)`,
//! `a = (d-2)/2` (the zonal reproducing kernel of degree-`l` harmonics w.r.t. the uniform
//! probability measure; on the circle `Z_l(t) = 2 T_l(t)` and `C_l = 2 |M_l|^2`). By the
//! addition theorem `C_l = sum_m M_lm^2` with `M_lm = (1/N) sum_j Y_lm(x_j)`, which is how it is
//! computed for `d = 2` (`O(N L)`) and `d = 3` (`O(N L^2)`, the harmonic engine
//! [`crate::spectral::points`] with tables cached per `L`); other `d` use the pairwise sum.
//! `C_0 = 1`; for iid uniform tokens `E C_l = dim(H_l)/N` (`l >= 1`).

// Index loops over fixed-width lanes are written out so that they vectorise.
#![allow(clippy::needless_range_loop)]

use crate::particles::circle_fast::circle_moments;
use crate::special::legendre::LegendreRecurrence;
use crate::special::{gegenbauer_normalized_all, harmonic_dimension};
use crate::spectral::points::moments_triangle;
use crate::spectral::SimdPath;
use rayon::prelude::*;

/// Fill `out[l] = Z_l(t) = dim(H_l) C_l^a(t)/C_l^a(1)` for `l = 0..out.len()`, from
/// [`crate::special::gegenbauer_normalized_all`] (the stabilised normalised recurrence).
pub fn zonal_kernels(dim: usize, t: f64, out: &mut [f64]) {
    if out.is_empty() {
        return;
    }
    let a = (dim as f64 - 2.0) / 2.0;
    gegenbauer_normalized_all(out.len() - 1, a, t, out);
    for (l, o) in out.iter_mut().enumerate() {
        *o *= harmonic_dimension(l, dim);
    }
}

/// `C_l` for `l = 0..=lmax` by the pairwise sum (any `d`, `O(N^2 lmax)`); each row is its own
/// sequential sum and the rows are added in order (independent of the thread count).
pub fn harmonic_power_pairwise(x: &[f64], dim: usize, lmax: usize) -> Vec<f64> {
    let n = x.len() / dim;
    let dims: Vec<f64> = (0..=lmax).map(|l| harmonic_dimension(l, dim)).collect();
    let a = (dim as f64 - 2.0) / 2.0;
    let rows: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let xi = &x[i * dim..(i + 1) * dim];
            let mut acc = vec![0.0; lmax + 1];
            for xj in x.chunks_exact(dim) {
                let t: f64 = xi.iter().zip(xj).map(|(p, q)| p * q).sum();
                let t = t.clamp(-1.0, 1.0);
                let (mut p0, mut p1) = (1.0, t);
                acc[0] += 1.0;
                if lmax >= 1 {
                    acc[1] += t;
                }
                for l in 2..=lmax {
                    let k = (l - 1) as f64;
                    let p2 = (2.0 * (k + a) * t * p1 - k * p0) / (k + 2.0 * a);
                    acc[l] += p2;
                    p0 = p1;
                    p1 = p2;
                }
            }
            acc
        })
        .collect();
    let mut c = vec![0.0; lmax + 1];
    for r in &rows {
        for (cl, v) in c.iter_mut().zip(r) {
            *cl += v;
        }
    }
    let nn = (n * n) as f64;
    c.iter_mut()
        .zip(&dims)
        .for_each(|(cl, h)| *cl = *cl * h / nn);
    c
}

/// `C_l` for `l = 0..=lmax`: from Fourier moments (`d = 2`), spherical-harmonic moments
/// (`d = 3`), or the pairwise sum (other `d`).
pub fn harmonic_power(x: &[f64], dim: usize, lmax: usize) -> Vec<f64> {
    match dim {
        2 => {
            let m = circle_moments(x, lmax);
            (0..=lmax)
                .map(|l| {
                    if l == 0 {
                        1.0
                    } else {
                        2.0 * (m[l][0] * m[l][0] + m[l][1] * m[l][1])
                    }
                })
                .collect()
        }
        3 => {
            let rec = LegendreRecurrence::shared(lmax);
            let tri = rec.triangle_len();
            let (mut mc, mut ms) = (vec![0.0; tri], vec![0.0; tri]);
            moments_triangle(&rec, SimdPath::detect(), x, None, &mut mc, &mut ms);
            // C_l = M_l0^2 + sum_{m>=1} 2 (M^c_lm^2 + M^s_lm^2) (M = sqrt2 M^c for m >= 1).
            let mut c = vec![0.0; lmax + 1];
            for m in 0..=lmax {
                let f = if m == 0 { 1.0 } else { 2.0 };
                for l in m..=lmax {
                    let t = rec.triangle_index(m, l);
                    c[l] += f * (mc[t] * mc[t] + ms[t] * ms[t]);
                }
            }
            c
        }
        _ => harmonic_power_pairwise(x, dim, lmax),
    }
}
