//! Spherical harmonics at scattered points of `S^2`: moments of weighted point sets, values
//! and tangential gradients of band-limited fields, on the recurrence of
//! [`crate::special::legendre::LegendreRecurrence`] (the generator of the grid transforms).
//!
//! Triangle layout: order-major, entry `(m, l)` at `LegendreRecurrence::triangle_index(m, l)`.
//! With `z = cos th = x_3`, `s = sin th = hypot(x_1, x_2)` (not `sqrt(1 - z^2)`, which loses
//! every digit of `s` near the poles):
//!
//! - moments `M^c_lm = sum_j m_j pbar_l^m(z_j) cos(m ph_j)`, `M^s_lm` with `sin` (no `sqrt 2`:
//!   the basis moment of `Y_lm^c` is `sqrt 2 M^c_lm`);
//! - fields `f = sum_{m,l} pbar_l^m(z) (A_lm cos m ph + B_lm sin m ph)` (`A = sqrt 2 f_i` for
//!   `m >= 1`).
//!
//! Pole safety: for `m >= 1` the columns are `pbar_l^m / s`, started from `sigma_m s^{m-1}`,
//! and every term that needs a factor `s` gets it explicitly; the gradient uses
//! `d_th pbar_l^m = m z (pbar_l^m / s) - sqrt((l-m)(l+m+1)) s (pbar_l^{m+1} / s)` and
//! `(1/s) d_ph`. No division by `s` occurs, and at `s = 0` the formulas give the exact limits.
//!
//! Points are processed `W` at a time ([`super::simd::Lanes`]); sums over points run over
//! fixed chunks (their number depends on `N` only) added in chunk order, so results do not
//! depend on the number of threads.

#![allow(clippy::needless_range_loop)]

#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Lanes, Portable, SimdPath};
use crate::special::legendre::LegendreRecurrence;
use rayon::prelude::*;

/// Points per task of the evaluation.
const EVAL_CHUNK: usize = 256;
/// Largest number of partial moment sums (one per chunk of points).
const MAX_MOMENT_CHUNKS: usize = 32;
/// Smallest chunk of points for the moments.
const MIN_MOMENT_CHUNK: usize = 512;

/// Coefficients of a field in the triangle layout, scaled for the rescaled recurrence:
/// `a = A_lm c^m_l`, `b = B_lm c^m_l`, and for the gradient `wa = sqrt((l-m)(l+m+1)) A_lm
/// c^{m+1}_l`, `wb` likewise (`l >= m + 1`).
pub struct TriangleField {
    a: Vec<f64>,
    b: Vec<f64>,
    wa: Vec<f64>,
    wb: Vec<f64>,
}

impl TriangleField {
    /// From `A_lm`, `B_lm` in the triangle layout of `rec`.
    pub fn new(rec: &LegendreRecurrence, a_lm: &[f64], b_lm: &[f64]) -> Self {
        let lmax = rec.lmax();
        let n = rec.triangle_len();
        let (mut a, mut b, mut wa, mut wb) =
            (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for m in 0..=lmax {
            let (c, d) = (rec.scale(m), rec.derivative_coefficient(m));
            let c1 = rec.scale(m + 1);
            for l in m..=lmax {
                let t = rec.triangle_index(m, l);
                a[t] = a_lm[t] * c[l - m];
                b[t] = b_lm[t] * c[l - m];
                if l > m {
                    wa[t] = a_lm[t] * d[l - m] * c1[l - m - 1];
                    wb[t] = b_lm[t] * d[l - m] * c1[l - m - 1];
                }
            }
        }
        TriangleField { a, b, wa, wb }
    }

    /// From coefficients in the degree-ordered basis layout of [`super::SphereBasis`].
    pub fn from_basis_coefficients(rec: &LegendreRecurrence, coeffs: &[f64]) -> Self {
        let n = rec.triangle_len();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        let r2 = std::f64::consts::SQRT_2;
        for l in 0..=rec.lmax() {
            a[rec.triangle_index(0, l)] = coeffs[l * l];
            for m in 1..=l {
                let t = rec.triangle_index(m, l);
                a[t] = r2 * coeffs[l * l + 2 * m - 1];
                b[t] = r2 * coeffs[l * l + 2 * m];
            }
        }
        Self::new(rec, &a, &b)
    }
}

/// Polar coordinates of `W` points starting at point `j0` of `x` (`N x 3`) and their masses;
/// missing lanes are the north pole with mass 0.
struct Polar<V> {
    z: V,
    s: V,
    cp: V,
    sp: V,
    w: V,
}

#[inline(always)]
fn polar<V: Lanes>(x: &[f64], mass: Option<&[f64]>, n_total: usize, j0: usize) -> Polar<V> {
    let mut buf = [[0.0f64; 8]; 5];
    let npts = x.len() / 3;
    for i in 0..V::W {
        let j = j0 + i;
        let (mut z, mut s, mut cp, mut sp, mut w) = (1.0, 0.0, 1.0, 0.0, 0.0);
        if j < npts {
            let p = &x[3 * j..3 * j + 3];
            s = p[0].hypot(p[1]);
            z = p[2];
            if s > 0.0 {
                cp = p[0] / s;
                sp = p[1] / s;
            }
            w = super::point_mass(mass, n_total, j);
        }
        buf[0][i] = z;
        buf[1][i] = s;
        buf[2][i] = cp;
        buf[3][i] = sp;
        buf[4][i] = w;
    }
    Polar {
        z: V::load(&buf[0]),
        s: V::load(&buf[1]),
        cp: V::load(&buf[2]),
        sp: V::load(&buf[3]),
        w: V::load(&buf[4]),
    }
}

/// Moments (see the module documentation) of the rows `x` (`N x 3`) with masses `mass`
/// (`1/N` each when `None`) into `mc`, `ms` (triangle layout, overwritten).
pub fn moments_triangle(
    rec: &LegendreRecurrence,
    path: SimdPath,
    x: &[f64],
    mass: Option<&[f64]>,
    mc: &mut [f64],
    ms: &mut [f64],
) {
    let n = x.len() / 3;
    let tri = rec.triangle_len();
    let chunk = MIN_MOMENT_CHUNK.max(n.div_ceil(MAX_MOMENT_CHUNKS));
    let partials: Vec<Vec<f64>> = x
        .par_chunks(3 * chunk)
        .enumerate()
        .map(|(c, xc)| {
            let mut out = vec![0.0; 2 * tri];
            let mass_c = mass.map(|m| &m[c * chunk..(c * chunk + xc.len() / 3)]);
            moments_chunk_dispatch(rec, path, xc, mass_c, n, &mut out);
            out
        })
        .collect();
    mc[..tri].iter_mut().for_each(|v| *v = 0.0);
    ms[..tri].iter_mut().for_each(|v| *v = 0.0);
    for p in &partials {
        for t in 0..tri {
            mc[t] += p[t];
            ms[t] += p[tri + t];
        }
    }
    for m in 0..=rec.lmax() {
        let c = rec.scale(m);
        for l in m..=rec.lmax() {
            let t = rec.triangle_index(m, l);
            mc[t] *= c[l - m];
            ms[t] *= c[l - m];
        }
    }
}

/// Moments in the degree-ordered basis layout: `moments[i] = sum_j m_j Y_i(x_j)`.
pub fn sphere_point_moments(
    rec: &LegendreRecurrence,
    x: &[f64],
    mass: Option<&[f64]>,
    moments: &mut [f64],
) {
    let tri = rec.triangle_len();
    let (mut mc, mut ms) = (vec![0.0; tri], vec![0.0; tri]);
    moments_triangle(rec, SimdPath::detect(), x, mass, &mut mc, &mut ms);
    let r2 = std::f64::consts::SQRT_2;
    for l in 0..=rec.lmax() {
        moments[l * l] = mc[rec.triangle_index(0, l)];
        for m in 1..=l {
            let t = rec.triangle_index(m, l);
            moments[l * l + 2 * m - 1] = r2 * mc[t];
            moments[l * l + 2 * m] = r2 * ms[t];
        }
    }
}

fn moments_chunk_dispatch(
    rec: &LegendreRecurrence,
    path: SimdPath,
    x: &[f64],
    mass: Option<&[f64]>,
    n_total: usize,
    out: &mut [f64],
) {
    match path {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the path is only selected when the processor has the features.
        SimdPath::Avx512 => unsafe { moments_chunk_avx512(rec, x, mass, n_total, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        SimdPath::Avx2Fma => unsafe { moments_chunk_avx2(rec, x, mass, n_total, out) },
        _ => moments_chunk::<Portable>(rec, x, mass, n_total, out),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn moments_chunk_avx512(
    rec: &LegendreRecurrence,
    x: &[f64],
    mass: Option<&[f64]>,
    n_total: usize,
    out: &mut [f64],
) {
    moments_chunk::<Avx512>(rec, x, mass, n_total, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn moments_chunk_avx2(
    rec: &LegendreRecurrence,
    x: &[f64],
    mass: Option<&[f64]>,
    n_total: usize,
    out: &mut [f64],
) {
    moments_chunk::<Avx2>(rec, x, mass, n_total, out)
}

/// Unscaled partial moments (`sum w q`, before the factor `c_l`) of one chunk into
/// `out = [cos (triangle) | sin (triangle)]`.
#[inline(always)]
fn moments_chunk<V: Lanes>(
    rec: &LegendreRecurrence,
    x: &[f64],
    mass: Option<&[f64]>,
    n_total: usize,
    out: &mut [f64],
) {
    let lmax = rec.lmax();
    let tri = rec.triangle_len();
    let w = V::W;
    let mut acc = vec![0.0f64; 2 * tri * w];
    let (acc_c, acc_s) = acc.split_at_mut(tri * w);
    let npts = x.len() / 3;
    let mut j0 = 0;
    while j0 < npts {
        let Polar {
            z,
            s,
            cp,
            sp,
            w: wt,
        } = polar::<V>(x, mass, n_total, j0);
        let (mut cm, mut sm) = (V::splat(1.0), V::splat(0.0));
        let mut s_pow = V::splat(1.0);
        for m in 0..=lmax {
            if m >= 2 {
                s_pow = s_pow.mul(s);
            }
            let (wc, ws) = if m == 0 {
                (wt, V::splat(0.0))
            } else {
                let ws_ = wt.mul(s);
                (ws_.mul(cm), ws_.mul(sm))
            };
            let alpha = rec.alpha(m);
            let mut q = if m == 0 {
                V::splat(1.0)
            } else {
                V::splat(rec.sectoral(m)).mul(s_pow)
            };
            let mut qp = V::splat(0.0);
            let t0 = rec.triangle_index(m, m) * w;
            for j in 0..=lmax - m {
                let o = t0 + j * w;
                q.mul_add(wc, V::load(&acc_c[o..])).store(&mut acc_c[o..]);
                q.mul_add(ws, V::load(&acc_s[o..])).store(&mut acc_s[o..]);
                let next = V::splat(alpha[j + 1]).mul(z).mul_sub(q, qp);
                qp = q;
                q = next;
            }
            let c2 = cm.mul(cp).sub(sm.mul(sp));
            sm = sm.mul(cp).add(cm.mul(sp));
            cm = c2;
        }
        j0 += w;
    }
    for t in 0..tri {
        out[t] = V::load(&acc_c[t * w..]).sum();
        out[tri + t] = V::load(&acc_s[t * w..]).sum();
    }
}

/// Values (and, with `gradients`, tangential gradients in `R^3`) of the field `f` at the
/// rows `x` (`N x 3`).
pub fn evaluate_triangle(
    rec: &LegendreRecurrence,
    path: SimdPath,
    f: &TriangleField,
    x: &[f64],
    values: &mut [f64],
    gradients: Option<&mut [f64]>,
) {
    let n = x.len() / 3;
    match gradients {
        Some(g) => values[..n]
            .par_chunks_mut(EVAL_CHUNK)
            .zip(g[..3 * n].par_chunks_mut(3 * EVAL_CHUNK))
            .zip(x.par_chunks(3 * EVAL_CHUNK))
            .for_each(|((v, g), xc)| eval_chunk_dispatch(rec, path, f, xc, v, Some(g))),
        None => values[..n]
            .par_chunks_mut(EVAL_CHUNK)
            .zip(x.par_chunks(3 * EVAL_CHUNK))
            .for_each(|(v, xc)| eval_chunk_dispatch(rec, path, f, xc, v, None)),
    }
}

/// [`evaluate_triangle`] for coefficients in the basis layout.
pub fn sphere_evaluate(
    rec: &LegendreRecurrence,
    coeffs: &[f64],
    x: &[f64],
    values: &mut [f64],
    gradients: Option<&mut [f64]>,
) {
    let f = TriangleField::from_basis_coefficients(rec, coeffs);
    evaluate_triangle(rec, SimdPath::detect(), &f, x, values, gradients)
}

fn eval_chunk_dispatch(
    rec: &LegendreRecurrence,
    path: SimdPath,
    f: &TriangleField,
    x: &[f64],
    values: &mut [f64],
    gradients: Option<&mut [f64]>,
) {
    match path {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the path is only selected when the processor has the features.
        SimdPath::Avx512 => unsafe { eval_chunk_avx512(rec, f, x, values, gradients) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        SimdPath::Avx2Fma => unsafe { eval_chunk_avx2(rec, f, x, values, gradients) },
        _ => eval_chunk::<Portable>(rec, f, x, values, gradients),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn eval_chunk_avx512(
    rec: &LegendreRecurrence,
    f: &TriangleField,
    x: &[f64],
    values: &mut [f64],
    gradients: Option<&mut [f64]>,
) {
    eval_chunk::<Avx512>(rec, f, x, values, gradients)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn eval_chunk_avx2(
    rec: &LegendreRecurrence,
    f: &TriangleField,
    x: &[f64],
    values: &mut [f64],
    gradients: Option<&mut [f64]>,
) {
    eval_chunk::<Avx2>(rec, f, x, values, gradients)
}

#[inline(always)]
fn eval_chunk<V: Lanes>(
    rec: &LegendreRecurrence,
    f: &TriangleField,
    x: &[f64],
    values: &mut [f64],
    mut gradients: Option<&mut [f64]>,
) {
    let lmax = rec.lmax();
    let w = V::W;
    let grad = gradients.is_some();
    let zero = V::splat(0.0);
    // Per order: a_m = sum_l a q, b_m likewise; e_m = sum_l wa q^{m+1}, g_m likewise.
    let mut sa = vec![zero; lmax + 1];
    let mut sb = vec![zero; lmax + 1];
    let mut ea = vec![zero; lmax + 2];
    let mut eb = vec![zero; lmax + 2];
    let npts = x.len() / 3;
    let mut j0 = 0;
    while j0 < npts {
        let Polar { z, s, cp, sp, .. } = polar::<V>(x, None, 1, j0);
        let mut s_pow = V::splat(1.0);
        for m in 0..=lmax {
            if m >= 2 {
                s_pow = s_pow.mul(s);
            }
            let alpha = rec.alpha(m);
            let mut q = if m == 0 {
                V::splat(1.0)
            } else {
                V::splat(rec.sectoral(m)).mul(s_pow)
            };
            let mut qp = zero;
            let t0 = rec.triangle_index(m, m);
            let n = lmax + 1 - m;
            let (fa, fb) = (&f.a[t0..t0 + n], &f.b[t0..t0 + n]);
            let (mut ta, mut tb) = (zero, zero);
            if grad && m >= 1 {
                // The gradient of order m-1 needs q^m at l = m..=L: entries (m-1, l).
                let t1 = rec.triangle_index(m - 1, m);
                let (ga, gb) = (&f.wa[t1..t1 + n], &f.wb[t1..t1 + n]);
                let (mut ua, mut ub) = (zero, zero);
                for j in 0..n {
                    ta = q.mul_add(V::splat(fa[j]), ta);
                    tb = q.mul_add(V::splat(fb[j]), tb);
                    ua = q.mul_add(V::splat(ga[j]), ua);
                    ub = q.mul_add(V::splat(gb[j]), ub);
                    let next = V::splat(alpha[j + 1]).mul(z).mul_sub(q, qp);
                    qp = q;
                    q = next;
                }
                ea[m - 1] = ua;
                eb[m - 1] = ub;
            } else {
                for j in 0..n {
                    ta = q.mul_add(V::splat(fa[j]), ta);
                    tb = q.mul_add(V::splat(fb[j]), tb);
                    let next = V::splat(alpha[j + 1]).mul(z).mul_sub(q, qp);
                    qp = q;
                    q = next;
                }
            }
            sa[m] = ta;
            sb[m] = tb;
        }
        ea[lmax] = zero;
        eb[lmax] = zero;
        // Combine the orders: value, d_th and (1/s) d_ph.
        let mut value = sa[0];
        let mut dth = zero.sub(s.mul(ea[0]));
        let mut dph = zero;
        let (mut cm, mut sm) = (V::splat(1.0), zero);
        for m in 1..=lmax {
            let c2 = cm.mul(cp).sub(sm.mul(sp));
            sm = sm.mul(cp).add(cm.mul(sp));
            cm = c2;
            let mf = V::splat(m as f64);
            let h = sa[m].mul(cm).add(sb[m].mul(sm));
            value = s.mul_add(h, value);
            if grad {
                let e = ea[m].mul(cm).add(eb[m].mul(sm));
                dth = mf.mul(z).mul_add(h, dth).sub(s.mul(e));
                dph = mf.mul_add(sb[m].mul(cm).sub(sa[m].mul(sm)), dph);
            }
        }
        let nv = w.min(npts - j0);
        let mut vb = [0.0f64; 8];
        value.store(&mut vb);
        values[j0..j0 + nv].copy_from_slice(&vb[..nv]);
        if let Some(g) = gradients.as_deref_mut() {
            // e_th = (z cos ph, z sin ph, -s), e_ph = (-sin ph, cos ph, 0).
            let gx = dth.mul(z).mul(cp).sub(dph.mul(sp));
            let gy = dth.mul(z).mul(sp).add(dph.mul(cp));
            let gz = zero.sub(dth.mul(s));
            let (mut bx, mut by, mut bz) = ([0.0f64; 8], [0.0f64; 8], [0.0f64; 8]);
            gx.store(&mut bx);
            gy.store(&mut by);
            gz.store(&mut bz);
            for i in 0..nv {
                let j = j0 + i;
                g[3 * j] = bx[i];
                g[3 * j + 1] = by[i];
                g[3 * j + 2] = bz[i];
            }
        }
        j0 += w;
    }
}
