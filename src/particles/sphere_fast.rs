//! Fast summation on the sphere `S^2` from real spherical-harmonic moments (DESIGN.md section 4).
//!
//! Real harmonics orthonormal w.r.t. the uniform probability measure (the convention of
//! [`crate::special::legendre`]): `Y_l0 = pbar_l^0(z)`, `Y_lm^c = sqrt(2) pbar_l^m(z) cos(m ph)`,
//! `Y_lm^s = sqrt(2) pbar_l^m(z) sin(m ph)`, `z = cos th = x_3`, `s = sin th = hypot(x_1, x_2)`.
//! Moments `M_lm = (1/N) sum_j Y_lm(x_j)`; scaled potential
//! `Phi(x) = sum_{l<=L} lambda~_l sum_m Y_lm(x) M_lm` (`lambda~_l` the scaled Funk–Hecke
//! eigenvalues); velocity `grad Phi / beta` (USA) or `grad Phi / (beta Phi)` (SA), with
//! `grad = e_th d_th + e_ph (1/s) d_ph`.
//!
//! Poles: the columns are computed as `q_l^m = pbar_l^m / s` for `m >= 1` by the normalised
//! three-term recurrence started from `pbar_m^m / s = c_m s^{m-1}`, with `s` taken from
//! `hypot(x_1, x_2)` (not from `sqrt(1 - z^2)`, which loses all digits of `s` near the poles);
//! `d_th pbar_l^m = m z q_l^m - sqrt((l-m)(l+m+1)) s q_l^{m+1}`. Every term is then bounded
//! and free of cancellation as `s -> 0`, and at `s = 0` the formulas give the exact limit.
//! Moment sums run over fixed chunks in parallel and are added in chunk order (results do not
//! depend on the number of threads). Cost `O(N L^2)`.

// Index loops over fixed-width lanes are written out so that they vectorise.
#![allow(clippy::needless_range_loop)]

use super::velocity::VelocityField;
use crate::Model;
use rayon::prelude::*;

const CHUNK: usize = 256;

/// Recurrence tables for degrees `0..=L`, packed by order: entry `(m, l)` at `off[m] + l - m`.
#[derive(Clone, Debug)]
pub struct LegendreTables {
    /// Maximum degree `L`.
    pub lmax: usize,
    off: Vec<usize>,
    sect: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    dcoef: Vec<f64>,
}

impl LegendreTables {
    /// Tables up to degree `lmax`.
    pub fn new(lmax: usize) -> Self {
        let mut off = Vec::with_capacity(lmax + 2);
        let mut total = 0;
        for m in 0..=lmax {
            off.push(total);
            total += lmax - m + 1;
        }
        off.push(total);
        let mut sect = vec![1.0; lmax + 1];
        for m in 1..=lmax {
            let mf = m as f64;
            sect[m] = sect[m - 1] * ((2.0 * mf + 1.0) / (2.0 * mf)).sqrt();
        }
        let (mut a, mut b, mut dcoef) = (vec![0.0; total], vec![0.0; total], vec![0.0; total]);
        for m in 0..=lmax {
            let mf = m as f64;
            for l in m..=lmax {
                let lf = l as f64;
                let i = off[m] + l - m;
                if l == m + 1 {
                    a[i] = (2.0 * mf + 3.0).sqrt();
                } else if l >= m + 2 {
                    a[i] = ((4.0 * lf * lf - 1.0) / (lf * lf - mf * mf)).sqrt();
                    b[i] = ((2.0 * lf + 1.0) * ((lf - 1.0) * (lf - 1.0) - mf * mf)
                        / ((2.0 * lf - 3.0) * (lf * lf - mf * mf)))
                        .sqrt();
                }
                dcoef[i] = ((lf - mf) * (lf + mf + 1.0)).sqrt();
            }
        }
        LegendreTables {
            lmax,
            off,
            sect,
            a,
            b,
            dcoef,
        }
    }

    /// Number of packed `(m, l)` entries, `(L+1)(L+2)/2`.
    pub fn len(&self) -> usize {
        self.off[self.lmax + 1]
    }

    /// True for an empty table (never: `L >= 0`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Packed index of `(m, l)`, `m <= l <= L`.
    pub fn index(&self, m: usize, l: usize) -> usize {
        self.off[m] + l - m
    }

    /// Column `m`: `out[l - m] = pbar_l^0(z)` for `m = 0`, `pbar_l^m(z) / s` for `m >= 1`, where
    /// `s_pow = s^{m-1}` (ignored for `m = 0`).
    #[inline]
    pub fn column(&self, m: usize, z: f64, s_pow: f64, out: &mut [f64]) {
        let n = self.lmax - m + 1;
        let base = self.off[m];
        let a = &self.a[base..base + n];
        let b = &self.b[base..base + n];
        let out = &mut out[..n];
        let v0 = if m == 0 { 1.0 } else { self.sect[m] * s_pow };
        out[0] = v0;
        if n == 1 {
            return;
        }
        let mut p0 = v0;
        let mut p1 = a[1] * z * v0;
        out[1] = p1;
        for k in 2..n {
            let p2 = a[k] * z * p1 - b[k] * p0;
            out[k] = p2;
            p0 = p1;
            p1 = p2;
        }
    }
}

/// Real spherical-harmonic moments on `S^2` up to degree `L`, packed as in [`LegendreTables`]:
/// `cos[(m,l)] = (1/N) sum_j pbar_l^m(z_j) cos(m ph_j)`, `sin[(m,l)]` likewise (without the
/// `sqrt(2)` of `Y_lm`), so `M_lm^c = sqrt(2) cos[(m,l)]` for `m >= 1` and `M_l0 = cos[(0,l)]`.
#[derive(Clone, Debug)]
pub struct SphereMoments {
    /// Maximum degree `L`.
    pub lmax: usize,
    /// Cosine moments (packed).
    pub cos: Vec<f64>,
    /// Sine moments (packed; zero for `m = 0`).
    pub sin: Vec<f64>,
}

impl SphereMoments {
    /// Harmonic power `C_l = sum_m M_lm^2 = cos[(0,l)]^2 + 2 sum_{m>=1} (cos^2 + sin^2)` for
    /// `l = 0..=L` (addition theorem: `C_l = (1/N^2) sum_ij (2l+1) P_l(<x_i,x_j>)`).
    pub fn power(&self, tables: &LegendreTables) -> Vec<f64> {
        let mut c = vec![0.0; self.lmax + 1];
        for m in 0..=self.lmax {
            let f = if m == 0 { 1.0 } else { 2.0 };
            for l in m..=self.lmax {
                let i = tables.index(m, l);
                c[l] += f * (self.cos[i] * self.cos[i] + self.sin[i] * self.sin[i]);
            }
        }
        c
    }
}

/// Polar coordinates of a unit vector: `(z, s, cos ph, sin ph)` with `s = hypot(x_1, x_2)` and
/// `ph = 0` at the poles.
#[inline]
fn polar(x: &[f64]) -> (f64, f64, f64, f64) {
    let s = x[0].hypot(x[1]);
    if s > 0.0 {
        (x[2], s, x[0] / s, x[1] / s)
    } else {
        (x[2], 0.0, 1.0, 0.0)
    }
}

/// Moments of the unit rows `x` (`N x 3`) up to degree `tables.lmax`.
pub fn sphere_moments(x: &[f64], tables: &LegendreTables) -> SphereMoments {
    let n = x.len() / 3;
    let lmax = tables.lmax;
    let len = tables.len();
    let partials: Vec<Vec<f64>> = x
        .par_chunks(3 * CHUNK)
        .map(|xc| {
            let mut acc = vec![0.0; 2 * len];
            let mut col = vec![0.0; lmax + 1];
            for p in xc.chunks_exact(3) {
                let (z, s, cp, sp) = polar(p);
                let (mut cm, mut sm) = (1.0, 0.0);
                let mut s_pow = 1.0;
                for m in 0..=lmax {
                    if m >= 2 {
                        s_pow *= s;
                    }
                    tables.column(m, z, s_pow, &mut col);
                    let i0 = tables.off[m];
                    let k = lmax - m + 1;
                    if m == 0 {
                        for (a, c) in acc[i0..i0 + k].iter_mut().zip(&col[..k]) {
                            *a += c;
                        }
                    } else {
                        let (wc, ws) = (s * cm, s * sm);
                        let (ac, as_) = acc.split_at_mut(len);
                        for ((a, b), c) in ac[i0..i0 + k]
                            .iter_mut()
                            .zip(&mut as_[i0..i0 + k])
                            .zip(&col[..k])
                        {
                            *a += wc * c;
                            *b += ws * c;
                        }
                    }
                    let c2 = cm * cp - sm * sp;
                    sm = sm * cp + cm * sp;
                    cm = c2;
                }
            }
            acc
        })
        .collect();
    let mut cos = vec![0.0; len];
    let mut sin = vec![0.0; len];
    for p in &partials {
        for i in 0..len {
            cos[i] += p[i];
            sin[i] += p[len + i];
        }
    }
    let nf = n as f64;
    cos.iter_mut().for_each(|v| *v /= nf);
    sin.iter_mut().for_each(|v| *v /= nf);
    SphereMoments { lmax, cos, sin }
}

/// Fast `S^2` field with scaled Funk–Hecke multipliers `lambda~_l`, `l = 0..=L`.
#[derive(Clone, Debug)]
pub struct SphereHarmonicField {
    beta: f64,
    model: Model,
    eig: Vec<f64>,
    tables: LegendreTables,
}

impl SphereHarmonicField {
    /// A field truncated at `L = eig.len() - 1`, `eig[l] = e^{-beta} lambda_l(beta, 3)`.
    pub fn new(beta: f64, model: Model, eig: Vec<f64>) -> Self {
        let tables = LegendreTables::new(eig.len() - 1);
        SphereHarmonicField {
            beta,
            model,
            eig,
            tables,
        }
    }

    /// Truncation degree `L`.
    pub fn degree(&self) -> usize {
        self.eig.len() - 1
    }
}

impl VelocityField for SphereHarmonicField {
    fn dim(&self) -> usize {
        3
    }
    fn model(&self) -> Model {
        self.model
    }
    fn beta(&self) -> f64 {
        self.beta
    }
    fn description(&self) -> String {
        format!("fast spherical-harmonic summation, L = {}", self.degree())
    }

    fn evaluate(&self, x: &[f64], v: &mut [f64]) -> f64 {
        let t = &self.tables;
        let lmax = t.lmax;
        let len = t.len();
        let mom = sphere_moments(x, t);
        let power = mom.power(t);
        let mean: f64 = power.iter().zip(&self.eig).map(|(c, e)| c * e).sum();
        // Weighted moments: L* = lambda~_l M', W* = lambda~_l M' sqrt((l-m)(l+m+1)).
        let mut lc = vec![0.0; len];
        let mut ls = vec![0.0; len];
        let mut wc = vec![0.0; len];
        let mut ws = vec![0.0; len];
        for m in 0..=lmax {
            for l in m..=lmax {
                let i = t.index(m, l);
                lc[i] = self.eig[l] * mom.cos[i];
                ls[i] = self.eig[l] * mom.sin[i];
                wc[i] = lc[i] * t.dcoef[i];
                ws[i] = ls[i] * t.dcoef[i];
            }
        }
        let (beta, model) = (self.beta, self.model);
        v.par_chunks_mut(3 * CHUNK)
            .zip(x.par_chunks(3 * CHUNK))
            .for_each(|(vc, xc)| {
                let mut col = vec![0.0; lmax + 1];
                let mut ac = vec![0.0; lmax + 1];
                let mut as_ = vec![0.0; lmax + 1];
                let mut ec = vec![0.0; lmax + 1];
                let mut es = vec![0.0; lmax + 1];
                for (p, vp) in xc.chunks_exact(3).zip(vc.chunks_exact_mut(3)) {
                    let (z, s, cp, sp) = polar(p);
                    let mut s_pow = 1.0;
                    for m in 0..=lmax {
                        if m >= 2 {
                            s_pow *= s;
                        }
                        t.column(m, z, s_pow, &mut col);
                        let i0 = t.off[m];
                        let k = lmax - m + 1;
                        let (mut sc, mut ss) = (0.0, 0.0);
                        for j in 0..k {
                            sc += lc[i0 + j] * col[j];
                            ss += ls[i0 + j] * col[j];
                        }
                        ac[m] = sc;
                        as_[m] = ss;
                        if m >= 1 {
                            // d_th of order m-1 needs q^m at l = m..L: W entries (m-1, l).
                            let w0 = t.off[m - 1] + 1;
                            let (mut tc, mut ts) = (0.0, 0.0);
                            for j in 0..k {
                                tc += wc[w0 + j] * col[j];
                                ts += ws[w0 + j] * col[j];
                            }
                            ec[m - 1] = tc;
                            es[m - 1] = ts;
                        }
                    }
                    ec[lmax] = 0.0;
                    es[lmax] = 0.0;
                    let mut phi = ac[0];
                    let mut dth = -s * ec[0];
                    let mut dph = 0.0;
                    let (mut cm, mut sm) = (1.0, 0.0);
                    for m in 1..=lmax {
                        let c2 = cm * cp - sm * sp;
                        sm = sm * cp + cm * sp;
                        cm = c2;
                        let mf = m as f64;
                        phi += 2.0 * s * (ac[m] * cm + as_[m] * sm);
                        let dc = mf * z * ac[m] - s * ec[m];
                        let ds = mf * z * as_[m] - s * es[m];
                        dth += 2.0 * (dc * cm + ds * sm);
                        dph += 2.0 * mf * (as_[m] * cm - ac[m] * sm);
                    }
                    let scale = match model {
                        Model::Usa => 1.0 / beta,
                        Model::Sa => 1.0 / (beta * phi),
                    };
                    // e_th = (z cos ph, z sin ph, -s), e_ph = (-sin ph, cos ph, 0).
                    vp[0] = scale * (dth * z * cp - dph * sp);
                    vp[1] = scale * (dth * z * sp + dph * cp);
                    vp[2] = scale * (-dth * s);
                }
            });
        mean
    }
}
