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

use super::fastexp::{has_avx2_fma, madd};
use super::velocity::VelocityField;
use crate::Model;
use rayon::prelude::*;

const CHUNK: usize = 256;
const LANES: usize = 4;

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

impl LegendreTables {
    /// [`LegendreTables::column`] for `LANES` points at once: `out[l - m][lane]`.
    #[inline(always)]
    fn column_batch<const FMA: bool>(
        &self,
        m: usize,
        z: &[f64; LANES],
        s_pow: &[f64; LANES],
        out: &mut [[f64; LANES]],
    ) {
        let n = self.lmax - m + 1;
        let base = self.off[m];
        let a = &self.a[base..base + n];
        let b = &self.b[base..base + n];
        let out = &mut out[..n];
        let mut p0 = [0.0; LANES];
        for l in 0..LANES {
            p0[l] = if m == 0 { 1.0 } else { self.sect[m] * s_pow[l] };
        }
        out[0] = p0;
        if n == 1 {
            return;
        }
        let mut p1 = [0.0; LANES];
        for l in 0..LANES {
            p1[l] = a[1] * z[l] * p0[l];
        }
        out[1] = p1;
        for k in 2..n {
            let mut p2 = [0.0; LANES];
            for l in 0..LANES {
                p2[l] = madd::<FMA>(a[k] * z[l], p1[l], -(b[k] * p0[l]));
            }
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

/// Polar coordinates of `LANES` tokens (see [`polar`]) and a weight (1, or 0 for padding).
struct PolarBatch {
    z: [f64; LANES],
    s: [f64; LANES],
    cp: [f64; LANES],
    sp: [f64; LANES],
    w: [f64; LANES],
}

/// Polar coordinates of up to `LANES` tokens of `xc` starting at token `j0`; missing lanes are
/// the north pole with weight 0.
#[inline(always)]
fn polar_batch(xc: &[f64], j0: usize) -> PolarBatch {
    let mut p = PolarBatch {
        z: [1.0; LANES],
        s: [0.0; LANES],
        cp: [1.0; LANES],
        sp: [0.0; LANES],
        w: [0.0; LANES],
    };
    for l in 0..LANES {
        let j = j0 + l;
        if 3 * j + 2 < xc.len() {
            let (a, b, c, d) = polar(&xc[3 * j..3 * j + 3]);
            p.z[l] = a;
            p.s[l] = b;
            p.cp[l] = c;
            p.sp[l] = d;
            p.w[l] = 1.0;
        }
    }
    p
}

/// Partial moment sums of one chunk: `[cos (packed) ..., sin (packed) ...]`.
#[inline(always)]
fn moments_chunk<const FMA: bool>(tables: &LegendreTables, xc: &[f64]) -> Vec<f64> {
    let lmax = tables.lmax;
    let len = tables.len();
    let mut acc_c = vec![[0.0f64; LANES]; len];
    let mut acc_s = vec![[0.0f64; LANES]; len];
    let mut col = vec![[0.0f64; LANES]; lmax + 1];
    let npts = xc.len() / 3;
    let mut j0 = 0;
    while j0 < npts {
        let PolarBatch { z, s, cp, sp, w } = polar_batch(xc, j0);
        let mut cm = [1.0; LANES];
        let mut sm = [0.0; LANES];
        let mut s_pow = [1.0; LANES];
        for m in 0..=lmax {
            if m >= 2 {
                for l in 0..LANES {
                    s_pow[l] *= s[l];
                }
            }
            tables.column_batch::<FMA>(m, &z, &s_pow, &mut col);
            let i0 = tables.off[m];
            let k = lmax - m + 1;
            let mut wc = [0.0; LANES];
            let mut ws = [0.0; LANES];
            for l in 0..LANES {
                if m == 0 {
                    wc[l] = w[l];
                } else {
                    wc[l] = w[l] * s[l] * cm[l];
                    ws[l] = w[l] * s[l] * sm[l];
                }
            }
            for j in 0..k {
                let c = col[j];
                let (ac, as_) = (&mut acc_c[i0 + j], &mut acc_s[i0 + j]);
                for l in 0..LANES {
                    ac[l] = madd::<FMA>(wc[l], c[l], ac[l]);
                    as_[l] = madd::<FMA>(ws[l], c[l], as_[l]);
                }
            }
            for l in 0..LANES {
                let c2 = cm[l] * cp[l] - sm[l] * sp[l];
                sm[l] = sm[l] * cp[l] + cm[l] * sp[l];
                cm[l] = c2;
            }
        }
        j0 += LANES;
    }
    let mut out = vec![0.0; 2 * len];
    for i in 0..len {
        let (c, s) = (acc_c[i], acc_s[i]);
        let (mut sc, mut ss) = (0.0, 0.0);
        for l in 0..LANES {
            sc += c[l];
            ss += s[l];
        }
        out[i] = sc;
        out[len + i] = ss;
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn moments_chunk_avx2(tables: &LegendreTables, xc: &[f64]) -> Vec<f64> {
    moments_chunk::<true>(tables, xc)
}

fn moments_chunk_dispatch(tables: &LegendreTables, xc: &[f64]) -> Vec<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: the features were detected at run time.
            return unsafe { moments_chunk_avx2(tables, xc) };
        }
    }
    moments_chunk::<false>(tables, xc)
}

/// Moments of the unit rows `x` (`N x 3`) up to degree `tables.lmax`.
pub fn sphere_moments(x: &[f64], tables: &LegendreTables) -> SphereMoments {
    let n = x.len() / 3;
    let lmax = tables.lmax;
    let len = tables.len();
    let partials: Vec<Vec<f64>> = x
        .par_chunks(3 * CHUNK)
        .map(|xc| moments_chunk_dispatch(tables, xc))
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

/// Weighted moments used by the evaluation: `L = lambda~_l M'`, `W = L sqrt((l-m)(l+m+1))`.
struct EvalCoefs {
    lc: Vec<f64>,
    ls: Vec<f64>,
    wc: Vec<f64>,
    ws: Vec<f64>,
}

/// Velocities of the tokens of one chunk.
#[inline(always)]
fn eval_chunk<const FMA: bool>(
    t: &LegendreTables,
    co: &EvalCoefs,
    beta: f64,
    model: Model,
    xc: &[f64],
    vc: &mut [f64],
) {
    let lmax = t.lmax;
    let mut col = vec![[0.0f64; LANES]; lmax + 1];
    let mut ac = vec![[0.0f64; LANES]; lmax + 1];
    let mut as_ = vec![[0.0f64; LANES]; lmax + 1];
    let mut ec = vec![[0.0f64; LANES]; lmax + 1];
    let mut es = vec![[0.0f64; LANES]; lmax + 1];
    let npts = xc.len() / 3;
    let mut j0 = 0;
    while j0 < npts {
        let PolarBatch { z, s, cp, sp, .. } = polar_batch(xc, j0);
        let mut s_pow = [1.0; LANES];
        for m in 0..=lmax {
            if m >= 2 {
                for l in 0..LANES {
                    s_pow[l] *= s[l];
                }
            }
            t.column_batch::<FMA>(m, &z, &s_pow, &mut col);
            let i0 = t.off[m];
            let k = lmax - m + 1;
            let mut sc = [0.0; LANES];
            let mut ss = [0.0; LANES];
            for j in 0..k {
                let (a, b) = (co.lc[i0 + j], co.ls[i0 + j]);
                for l in 0..LANES {
                    sc[l] = madd::<FMA>(a, col[j][l], sc[l]);
                    ss[l] = madd::<FMA>(b, col[j][l], ss[l]);
                }
            }
            ac[m] = sc;
            as_[m] = ss;
            if m >= 1 {
                // d_th of order m-1 needs q^m at l = m..L: W entries (m-1, l).
                let w0 = t.off[m - 1] + 1;
                let mut tc = [0.0; LANES];
                let mut ts = [0.0; LANES];
                for j in 0..k {
                    let (a, b) = (co.wc[w0 + j], co.ws[w0 + j]);
                    for l in 0..LANES {
                        tc[l] = madd::<FMA>(a, col[j][l], tc[l]);
                        ts[l] = madd::<FMA>(b, col[j][l], ts[l]);
                    }
                }
                ec[m - 1] = tc;
                es[m - 1] = ts;
            }
        }
        ec[lmax] = [0.0; LANES];
        es[lmax] = [0.0; LANES];
        for l in 0..LANES {
            let j = j0 + l;
            if j >= npts {
                break;
            }
            let (z, s, cp, sp) = (z[l], s[l], cp[l], sp[l]);
            let mut phi = ac[0][l];
            let mut dth = -s * ec[0][l];
            let mut dph = 0.0;
            let (mut cm, mut sm) = (1.0, 0.0);
            for m in 1..=lmax {
                let c2 = cm * cp - sm * sp;
                sm = sm * cp + cm * sp;
                cm = c2;
                let mf = m as f64;
                phi += 2.0 * s * (ac[m][l] * cm + as_[m][l] * sm);
                let dc = mf * z * ac[m][l] - s * ec[m][l];
                let ds = mf * z * as_[m][l] - s * es[m][l];
                dth += 2.0 * (dc * cm + ds * sm);
                dph += 2.0 * mf * (as_[m][l] * cm - ac[m][l] * sm);
            }
            let scale = match model {
                Model::Usa => 1.0 / beta,
                Model::Sa => 1.0 / (beta * phi),
            };
            // e_th = (z cos ph, z sin ph, -s), e_ph = (-sin ph, cos ph, 0).
            let vp = &mut vc[3 * j..3 * j + 3];
            vp[0] = scale * (dth * z * cp - dph * sp);
            vp[1] = scale * (dth * z * sp + dph * cp);
            vp[2] = scale * (-dth * s);
        }
        j0 += LANES;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn eval_chunk_avx2(
    t: &LegendreTables,
    co: &EvalCoefs,
    beta: f64,
    model: Model,
    xc: &[f64],
    vc: &mut [f64],
) {
    eval_chunk::<true>(t, co, beta, model, xc, vc)
}

fn eval_chunk_dispatch(
    t: &LegendreTables,
    co: &EvalCoefs,
    beta: f64,
    model: Model,
    xc: &[f64],
    vc: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: the features were detected at run time.
            return unsafe { eval_chunk_avx2(t, co, beta, model, xc, vc) };
        }
    }
    eval_chunk::<false>(t, co, beta, model, xc, vc)
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
        let mut co = EvalCoefs {
            lc: vec![0.0; len],
            ls: vec![0.0; len],
            wc: vec![0.0; len],
            ws: vec![0.0; len],
        };
        for m in 0..=lmax {
            for l in m..=lmax {
                let i = t.index(m, l);
                co.lc[i] = self.eig[l] * mom.cos[i];
                co.ls[i] = self.eig[l] * mom.sin[i];
                co.wc[i] = co.lc[i] * t.dcoef[i];
                co.ws[i] = co.ls[i] * t.dcoef[i];
            }
        }
        let (beta, model) = (self.beta, self.model);
        v.par_chunks_mut(3 * CHUNK)
            .zip(x.par_chunks(3 * CHUNK))
            .for_each(|(vc, xc)| eval_chunk_dispatch(t, &co, beta, model, xc, vc));
        mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::special::legendre::legendre_column;

    /// The (x, s) recurrence against `special::legendre::legendre_column` (which derives `s`
    /// from `x`) away from the poles, where both are accurate: `s q_l^m = pbar_l^m`.
    #[test]
    fn columns_match_special_legendre() {
        let lmax = 60;
        let t = LegendreTables::new(lmax);
        for &z in &[-0.95f64, -0.3, 0.0, 0.42, 0.9] {
            let s = (1.0 - z * z).sqrt();
            let mut col = vec![0.0; lmax + 1];
            let mut reference = vec![0.0; lmax + 1];
            for m in 0..=lmax {
                let s_pow = if m >= 1 { s.powi(m as i32 - 1) } else { 1.0 };
                t.column(m, z, s_pow, &mut col);
                legendre_column(m, lmax, z, &mut reference);
                for l in m..=lmax {
                    let ours = if m == 0 { col[l - m] } else { s * col[l - m] };
                    let want = reference[l - m];
                    assert!(
                        (ours - want).abs() < 1e-12 * (1.0 + want.abs()),
                        "z={z} m={m} l={l}: {ours} vs {want}"
                    );
                }
            }
        }
    }
}
