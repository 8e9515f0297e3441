//! The velocity field of the token system behind one trait, and the choice of summation method.
//!
//! All fields work in the *internal* time unit: scaled time `tau = e^beta t` with the scaled
//! kernel `exp(beta(<x,y> - 1))` for USA, physical time for SA (which is invariant under the
//! kernel scaling). Inputs are unit rows (`N x d`, row-major).

use super::circle_fast::CircleFourierField;
use super::exact::ExactField;
use super::sphere_fast::SphereHarmonicField;
use crate::{Error, Model, Result};

/// A right-hand side `v = dx/d(internal time)` of the token system.
pub trait VelocityField: Send + Sync {
    /// Ambient dimension `d`.
    fn dim(&self) -> usize;
    /// USA or SA.
    fn model(&self) -> Model;
    /// Inverse temperature `beta`.
    fn beta(&self) -> f64;
    /// One line describing the method (and its truncation), for `run.json`.
    fn description(&self) -> String;
    /// Fill `v` (`N x d`) with the tangent velocities at the unit rows `x` and return the mean
    /// scaled kernel `(1/N^2) sum_ij exp(beta(<x_i,x_j> - 1))`, from which the energy is
    /// `E_N = mean / (2 beta)` (scaled kernel; the physical energy is `e^beta` times this).
    fn evaluate(&self, x: &[f64], v: &mut [f64]) -> f64;
    /// Velocities of weighted tokens: token `j` carries mass `m_j >= 0`, `sum_j m_j = 1` (the
    /// unweighted system is `m_j = 1/N`): USA `v_i = sum_j m_j w_ij (x_j - <x_i,x_j> x_i)`, SA
    /// the same divided by `sum_j m_j w_ij`; returns `sum_ij m_i m_j w_ij`. A token of mass
    /// `k/N` moves exactly as `k` coincident tokens do. The default is the exact pairwise sum in
    /// tangential form ([`weighted_pairwise`]); fields override it with their own summation.
    fn evaluate_weighted(&self, x: &[f64], mass: &[f64], v: &mut [f64]) -> f64 {
        weighted_pairwise(self.dim(), self.beta(), self.model(), x, mass, v)
    }
}

/// Exact weighted summation in tangential form, `O(N^2 d)`: with `d_ij = x_j - x_i`,
/// `1 - <x_i,x_j> = |d_ij|^2/2`, `w_ij = exp(-beta |d_ij|^2 / 2)` and
/// `x_j - <x_i,x_j> x_i = d_ij + (|d_ij|^2/2) x_i`, so coincident tokens contribute exactly zero
/// and the attraction of distant clusters keeps its relative precision at any separation.
/// Returns `sum_ij m_i m_j w_ij`. Each row is a sequential sum (thread-count independent).
pub fn weighted_pairwise(
    dim: usize,
    beta: f64,
    model: Model,
    x: &[f64],
    mass: &[f64],
    v: &mut [f64],
) -> f64 {
    use rayon::prelude::*;
    let row = |(i, vi): (usize, &mut [f64])| -> f64 {
        let xi = &x[i * dim..(i + 1) * dim];
        let (mut q, mut w_sum) = (0.0, 0.0);
        let mut s = vec![0.0; dim];
        for (j, xj) in x.chunks_exact(dim).enumerate() {
            let mut d2 = 0.0;
            for k in 0..dim {
                let d = xj[k] - xi[k];
                d2 += d * d;
            }
            let w = mass[j] * (-0.5 * beta * d2).exp();
            for k in 0..dim {
                s[k] += w * (xj[k] - xi[k]);
            }
            q += w * 0.5 * d2;
            w_sum += w;
        }
        let scale = match model {
            Model::Usa => 1.0,
            Model::Sa => 1.0 / w_sum,
        };
        for k in 0..dim {
            vi[k] = (s[k] + q * xi[k]) * scale;
        }
        mass[i] * w_sum
    };
    let sums: Vec<f64> = v.par_chunks_mut(dim).enumerate().map(row).collect();
    sums.iter().sum()
}

/// Summation method selected on the command line.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Exact pairwise summation, `O(N^2 d)`.
    Exact,
    /// Spectral summation from moments (`d = 2`: Fourier, `O(N K)`; `d = 3`: spherical
    /// harmonics, `O(N L^2)`), truncated from a tolerance.
    Fast,
    /// The cheaper of the two (fast only exists for `d = 2, 3`).
    Auto,
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "exact" => Ok(Method::Exact),
            "fast" => Ok(Method::Fast),
            "auto" => Ok(Method::Auto),
            _ => Err(Error::parameter("method", s, "exact, fast or auto")),
        }
    }
}

/// Scaled Funk–Hecke eigenvalues `lambda~_l = e^{-beta} lambda_l(beta, d)` for `l = 0..` until
/// they fall below `1e-300` relative to `lambda~_0` or `l` reaches `lmax_cap`.
pub fn scaled_eigenvalues(beta: f64, dim: usize, lmax_cap: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for l in 0..=lmax_cap {
        let v = (crate::linear::ln_funk_hecke_eigenvalue(l, beta, dim) - beta).exp();
        out.push(v);
        if l > 0 && (v == 0.0 || v < 1e-300 * out[0]) {
            break;
        }
    }
    out
}

/// Truncation degree of the spectral sums for tolerance `tol` (relative):
/// the smallest `L` with `tail(L) <= tol * S`, where, with `lambda~_l` the scaled eigenvalues,
/// `h_l = dim H_l`, `tail_v(L) = (1/beta) sum_{l>L} lambda~_l sqrt(l(l+d-2)) h_l` bounds the
/// velocity error (Cauchy–Schwarz with `sum_m |grad Y_lm|^2 = l(l+d-2) h_l`, `C_l <= h_l`),
/// `S = sqrt(sum_l lambda~_l^2 l(l+d-2) h_l / N) / beta` is the rms speed of iid uniform tokens
/// (the smallest velocity scale met in practice). For SA (velocity `grad Phi/(beta Phi)` with
/// `Phi(x_i) >= 1/N`) the bound is `N (tail_v + tail_Phi)` against `S / lambda~_0`,
/// `tail_Phi = sum_{l>L} lambda~_l h_l`.
pub fn truncation_degree(
    eig: &[f64],
    dim: usize,
    beta: f64,
    model: Model,
    n: usize,
    tol: f64,
) -> usize {
    let h = |l: usize| crate::special::harmonic_dimension(l, dim);
    let nf = n as f64;
    let lap = |l: usize| (l as f64) * (l as f64 + dim as f64 - 2.0);
    let scale_sq: f64 = (1..eig.len())
        .map(|l| eig[l] * eig[l] * lap(l) * h(l))
        .sum();
    let mut speed = (scale_sq / nf).sqrt() / beta;
    if model == Model::Sa {
        speed /= eig[0];
    }
    let target = tol * speed;
    // tails[L] = sum over l > L.
    let len = eig.len();
    let mut tail_v = vec![0.0; len];
    let mut tail_p = vec![0.0; len];
    for l in (0..len - 1).rev() {
        let k = l + 1;
        tail_v[l] = tail_v[l + 1] + eig[k] * lap(k).sqrt() * h(k) / beta;
        tail_p[l] = tail_p[l + 1] + eig[k] * h(k);
    }
    for l in 1..len {
        let bound = match model {
            Model::Usa => tail_v[l],
            Model::Sa => nf * (tail_v[l] + tail_p[l]),
        };
        if bound <= target {
            return l;
        }
    }
    len - 1
}

/// Largest truncation degree accepted for the fast methods (beyond it, use exact summation).
pub const MAX_FAST_DEGREE: usize = 1000;

/// Build the velocity field for `method`. `Fast` is an error for `d > 3` (parameter `method`);
/// `Auto` compares the estimated costs of exact (`~N^2 d`) and fast (`~N K` on the circle,
/// `~N L^2` on the sphere) summation and picks the cheaper.
pub fn build_velocity_field(
    method: Method,
    dim: usize,
    beta: f64,
    model: Model,
    n: usize,
    summation_tol: f64,
) -> Result<Box<dyn VelocityField>> {
    let exact = || -> Box<dyn VelocityField> { Box::new(ExactField::new(dim, beta, model)) };
    if method == Method::Exact {
        return Ok(exact());
    }
    if dim > 3 {
        if method == Method::Fast {
            return Err(Error::parameter(
                "method",
                "fast",
                format!("exact or auto for dim = {dim} (fast summation exists for d = 2, 3)"),
            ));
        }
        return Ok(exact());
    }
    let eig = scaled_eigenvalues(beta, dim, MAX_FAST_DEGREE + 1);
    let degree = truncation_degree(&eig, dim, beta, model, n, summation_tol);
    if degree >= MAX_FAST_DEGREE {
        if method == Method::Fast {
            return Err(Error::parameter(
                "method",
                "fast",
                format!(
                    "exact or auto at beta = {beta} (fast summation would need degree > {MAX_FAST_DEGREE})"
                ),
            ));
        }
        return Ok(exact());
    }
    // Cost model in nanoseconds on 2 cores, calibrated on the benchmarks (README.md,
    // "Benchmarks" under the particle simulator): exact ~0.4 N^2 (d = 2, 3; the symmetric
    // kernel is bound by the one exponential per pair), fast circle ~1.0 N (K+1), fast sphere
    // ~0.5 N (L+1)^2.
    let nf = n as f64;
    let lf = degree as f64 + 1.0;
    let fast_cost = if dim == 2 {
        1.0 * nf * lf
    } else {
        0.5 * nf * lf * lf
    };
    let exact_cost = 0.4 * nf * nf;
    if method == Method::Auto && exact_cost <= fast_cost {
        return Ok(exact());
    }
    let eig = eig[..=degree].to_vec();
    Ok(if dim == 2 {
        Box::new(CircleFourierField::new(beta, model, eig))
    } else {
        Box::new(SphereHarmonicField::new(beta, model, eig))
    })
}
