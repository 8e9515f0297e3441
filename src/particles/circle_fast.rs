//! Fast summation on the circle `S^1` from Fourier moments (DESIGN.md section 4).
//!
//! With `z_j = e^{i th_j}` and `M_k = (1/N) sum_j e^{-i k th_j}`, the scaled potential is
//! `Phi(th) = (1/N) sum_j exp(beta(cos(th - th_j) - 1)) = sum_{k in Z} I~_k M_k e^{i k th}`,
//! `I~_k = e^{-beta} I_k(beta)`, truncated at `|k| <= K`. Velocities: USA `dth/dtau = Phi'(th)/beta`,
//! SA `dth/dt = Phi'(th)/(beta Phi(th))`, with `Phi' = -2 sum_{k>=1} k Im(I~_k M_k z^k)`.
//! Cost `O(N K)`. Moments are summed over fixed chunks of tokens in parallel and the chunk
//! sums added in chunk order, so results do not depend on the number of threads.

// Index loops over fixed-width lanes are written out so that they vectorise.
#![allow(clippy::needless_range_loop)]

use super::fastexp::{has_avx2_fma, madd};
use super::velocity::VelocityField;
use crate::Model;
use rayon::prelude::*;

const CHUNK: usize = 1024;
const LANES: usize = 4;

/// Fourier moments `M_k = (1/N) sum_j e^{-i k th_j}`, `k = 0..=kmax`, as `[re, im]`, for unit
/// rows `x` (`N x 2`, `th_j = atan2(x_j1, x_j0)`); powers by repeated multiplication.
pub fn circle_moments(x: &[f64], kmax: usize) -> Vec<[f64; 2]> {
    circle_moments_weighted(x, None, kmax)
}

/// Fourier moments of weighted tokens, `M_k = sum_j m_j e^{-i k th_j}` (`m_j = 1/N` when
/// `mass` is `None`: [`circle_moments`]).
pub fn circle_moments_weighted(x: &[f64], mass: Option<&[f64]>, kmax: usize) -> Vec<[f64; 2]> {
    let n = x.len() / 2;
    let partials: Vec<Vec<f64>> = x
        .par_chunks(2 * CHUNK)
        .enumerate()
        .map(|(i, c)| {
            let w = mass.map(|m| &m[i * CHUNK..i * CHUNK + c.len() / 2]);
            partial_moments_dispatch(c, w, kmax)
        })
        .collect();
    let mut out = vec![[0.0; 2]; kmax + 1];
    for p in &partials {
        for k in 0..=kmax {
            out[k][0] += p[2 * k];
            out[k][1] += p[2 * k + 1];
        }
    }
    if mass.is_none() {
        for m in out.iter_mut() {
            m[0] /= n as f64;
            m[1] /= n as f64;
        }
    }
    out
}

#[inline(always)]
fn partial_moments<const FMA: bool>(c: &[f64], w: Option<&[f64]>, kmax: usize) -> Vec<f64> {
    let m = c.len() / 2;
    let blocks = m / LANES;
    let mut acc = vec![[0.0f64; LANES]; 2 * (kmax + 1)];
    for b in 0..blocks {
        let mut zr = [0.0; LANES];
        let mut zi = [0.0; LANES];
        for l in 0..LANES {
            zr[l] = c[2 * (b * LANES + l)];
            zi[l] = -c[2 * (b * LANES + l) + 1];
        }
        let mut pr = [1.0f64; LANES];
        if let Some(w) = w {
            pr.copy_from_slice(&w[b * LANES..(b + 1) * LANES]);
        }
        let mut pi = [0.0f64; LANES];
        for k in 0..=kmax {
            let (ar, ai) = acc.split_at_mut(2 * k + 1);
            let (ar, ai) = (&mut ar[2 * k], &mut ai[0]);
            for l in 0..LANES {
                ar[l] += pr[l];
                ai[l] += pi[l];
                let r = madd::<FMA>(pr[l], zr[l], -(pi[l] * zi[l]));
                pi[l] = madd::<FMA>(pr[l], zi[l], pi[l] * zr[l]);
                pr[l] = r;
            }
        }
    }
    let mut out = vec![0.0; 2 * (kmax + 1)];
    for (o, a) in out.iter_mut().zip(&acc) {
        let mut s = 0.0;
        for v in a {
            s += v;
        }
        *o = s;
    }
    for j in blocks * LANES..m {
        let (zr, zi) = (c[2 * j], -c[2 * j + 1]);
        let (mut pr, mut pi) = (w.map_or(1.0, |w| w[j]), 0.0);
        for k in 0..=kmax {
            out[2 * k] += pr;
            out[2 * k + 1] += pi;
            let r = pr * zr - pi * zi;
            pi = pr * zi + pi * zr;
            pr = r;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn partial_moments_avx2(c: &[f64], w: Option<&[f64]>, kmax: usize) -> Vec<f64> {
    partial_moments::<true>(c, w, kmax)
}

fn partial_moments_dispatch(c: &[f64], w: Option<&[f64]>, kmax: usize) -> Vec<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: the features were detected at run time.
            return unsafe { partial_moments_avx2(c, w, kmax) };
        }
    }
    partial_moments::<false>(c, w, kmax)
}

/// Velocities of `LANES` tokens `z = zr + i zi` (a function, not a closure, so that it is
/// compiled with the caller's target features).
#[inline(always)]
fn eval_lanes<const FMA: bool>(
    c: &[[f64; 2]],
    i0: f64,
    beta: f64,
    model: Model,
    zr: &[f64; LANES],
    zi: &[f64; LANES],
    out: &mut [[f64; 2]; LANES],
) {
    let kmax = c.len() - 1;
    // Horner for P = sum_{k>=1} c_k z^k and Q = sum_{k>=1} k c_k z^k.
    let mut pr = [0.0; LANES];
    let mut pi = [0.0; LANES];
    let mut qr = [0.0; LANES];
    let mut qi = [0.0; LANES];
    if model == Model::Sa {
        for k in (1..=kmax).rev() {
            let kf = k as f64;
            let (cr, ci) = (c[k][0], c[k][1]);
            let (kcr, kci) = (kf * cr, kf * ci);
            for l in 0..LANES {
                let r = madd::<FMA>(pr[l], zr[l], madd::<FMA>(-pi[l], zi[l], cr));
                pi[l] = madd::<FMA>(pr[l], zi[l], madd::<FMA>(pi[l], zr[l], ci));
                pr[l] = r;
                let r = madd::<FMA>(qr[l], zr[l], madd::<FMA>(-qi[l], zi[l], kcr));
                qi[l] = madd::<FMA>(qr[l], zi[l], madd::<FMA>(qi[l], zr[l], kci));
                qr[l] = r;
            }
        }
    } else {
        // USA needs only Phi' (from Q); Phi itself is not used.
        for k in (1..=kmax).rev() {
            let kf = k as f64;
            let (kcr, kci) = (kf * c[k][0], kf * c[k][1]);
            for l in 0..LANES {
                let r = madd::<FMA>(qr[l], zr[l], madd::<FMA>(-qi[l], zi[l], kcr));
                qi[l] = madd::<FMA>(qr[l], zi[l], madd::<FMA>(qi[l], zr[l], kci));
                qr[l] = r;
            }
        }
    }
    for l in 0..LANES {
        // multiply once more by z
        let p_re = pr[l] * zr[l] - pi[l] * zi[l];
        let q_im = qr[l] * zi[l] + qi[l] * zr[l];
        let phi = i0 + 2.0 * p_re;
        let dphi = -2.0 * q_im;
        let vt = match model {
            Model::Usa => dphi / beta,
            Model::Sa => dphi / (beta * phi),
        };
        out[l] = [-vt * zi[l], vt * zr[l]];
    }
}

/// Velocities of one chunk of tokens from the coefficients `c_k = I~_k M_k`.
#[inline(always)]
fn eval_chunk<const FMA: bool>(
    c: &[[f64; 2]],
    i0: f64,
    beta: f64,
    model: Model,
    xc: &[f64],
    vc: &mut [f64],
) {
    let m = xc.len() / 2;
    let blocks = m / LANES;
    let mut out = [[0.0; 2]; LANES];
    for b in 0..blocks {
        let mut zr = [0.0; LANES];
        let mut zi = [0.0; LANES];
        for l in 0..LANES {
            zr[l] = xc[2 * (b * LANES + l)];
            zi[l] = xc[2 * (b * LANES + l) + 1];
        }
        eval_lanes::<FMA>(c, i0, beta, model, &zr, &zi, &mut out);
        for l in 0..LANES {
            vc[2 * (b * LANES + l)] = out[l][0];
            vc[2 * (b * LANES + l) + 1] = out[l][1];
        }
    }
    for j in blocks * LANES..m {
        // Pad a lone token into a full lane block (the other lanes are ignored).
        let mut zr = [1.0; LANES];
        let mut zi = [0.0; LANES];
        zr[0] = xc[2 * j];
        zi[0] = xc[2 * j + 1];
        eval_lanes::<FMA>(c, i0, beta, model, &zr, &zi, &mut out);
        vc[2 * j] = out[0][0];
        vc[2 * j + 1] = out[0][1];
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn eval_chunk_avx2(c: &[[f64; 2]], i0: f64, beta: f64, model: Model, xc: &[f64], vc: &mut [f64]) {
    eval_chunk::<true>(c, i0, beta, model, xc, vc)
}

fn eval_chunk_dispatch(
    c: &[[f64; 2]],
    i0: f64,
    beta: f64,
    model: Model,
    xc: &[f64],
    vc: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: the features were detected at run time.
            return unsafe { eval_chunk_avx2(c, i0, beta, model, xc, vc) };
        }
    }
    eval_chunk::<false>(c, i0, beta, model, xc, vc)
}

/// Fast circle field with scaled Bessel multipliers `I~_k`, `k = 0..=K`.
#[derive(Clone, Debug)]
pub struct CircleFourierField {
    beta: f64,
    model: Model,
    eig: Vec<f64>,
}

impl CircleFourierField {
    /// A field truncated at `K = eig.len() - 1`; `eig[k] = e^{-beta} I_k(beta)`.
    pub fn new(beta: f64, model: Model, eig: Vec<f64>) -> Self {
        CircleFourierField { beta, model, eig }
    }

    /// Truncation degree `K`.
    pub fn degree(&self) -> usize {
        self.eig.len() - 1
    }
}

impl VelocityField for CircleFourierField {
    fn dim(&self) -> usize {
        2
    }
    fn model(&self) -> Model {
        self.model
    }
    fn beta(&self) -> f64 {
        self.beta
    }
    fn description(&self) -> String {
        format!("fast Fourier-moment summation, K = {}", self.degree())
    }

    fn evaluate(&self, x: &[f64], v: &mut [f64]) -> f64 {
        self.evaluate_with_mass(x, None, v)
    }
    fn evaluate_weighted(&self, x: &[f64], mass: &[f64], v: &mut [f64]) -> f64 {
        self.evaluate_with_mass(x, Some(mass), v)
    }
}

impl CircleFourierField {
    /// Velocities from the (weighted) Fourier moments; `mass = None`: `1/N` each.
    fn evaluate_with_mass(&self, x: &[f64], mass: Option<&[f64]>, v: &mut [f64]) -> f64 {
        let kmax = self.degree();
        let mom = circle_moments_weighted(x, mass, kmax);
        let eig = &self.eig;
        let mut mean = eig[0];
        for k in 1..=kmax {
            mean += 2.0 * eig[k] * (mom[k][0] * mom[k][0] + mom[k][1] * mom[k][1]);
        }
        // c_k = I~_k M_k, and k c_k for the derivative.
        let c: Vec<[f64; 2]> = (0..=kmax)
            .map(|k| [eig[k] * mom[k][0], eig[k] * mom[k][1]])
            .collect();
        let (beta, model, i0) = (self.beta, self.model, eig[0]);
        v.par_chunks_mut(2 * CHUNK)
            .zip(x.par_chunks(2 * CHUNK))
            .for_each(|(vc, xc)| eval_chunk_dispatch(&c, i0, beta, model, xc, vc));
        mean
    }
}
