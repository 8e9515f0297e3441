//! Fast summation on the sphere `S^2` from real spherical-harmonic moments (DESIGN.md section 4).
//!
//! Real harmonics orthonormal w.r.t. the uniform probability measure (the convention of
//! [`crate::special::legendre`]): `Y_l0 = pbar_l^0(z)`, `Y_lm^c = sqrt(2) pbar_l^m(z) cos(m ph)`,
//! `Y_lm^s = sqrt(2) pbar_l^m(z) sin(m ph)`, `z = cos th = x_3`, `s = sin th = hypot(x_1, x_2)`.
//! Moments `M_lm = sum_j m_j Y_lm(x_j)` (`m_j = 1/N`, or given masses summing to 1); scaled
//! potential `Phi(x) = sum_{l<=L} lambda~_l sum_m Y_lm(x) M_lm` (`lambda~_l` the scaled
//! Funk–Hecke eigenvalues); velocity `grad Phi / beta` (USA) or `grad Phi / (beta Phi)` (SA).
//!
//! Moments, values and gradients come from the harmonic engine [`crate::spectral::points`]
//! (the recurrence of the sphere transform, pole-safe: `pbar_l^m / s` columns with
//! `s = hypot(x_1, x_2)`, so the gradient is free of cancellation and exact at the poles).
//! Sums over tokens run over fixed chunks added in chunk order (results do not depend on the
//! number of threads). Cost `O(N L^2)`.

use super::velocity::VelocityField;
use crate::special::legendre::LegendreRecurrence;
use crate::spectral::points::{evaluate_triangle, moments_triangle, TriangleField};
use crate::spectral::SimdPath;
use crate::Model;

/// Fast `S^2` field with scaled Funk–Hecke multipliers `lambda~_l`, `l = 0..=L`.
#[derive(Clone, Debug)]
pub struct SphereHarmonicField {
    beta: f64,
    model: Model,
    eig: Vec<f64>,
    rec: LegendreRecurrence,
    path: SimdPath,
}

impl SphereHarmonicField {
    /// A field truncated at `L = eig.len() - 1`, `eig[l] = e^{-beta} lambda_l(beta, 3)`.
    pub fn new(beta: f64, model: Model, eig: Vec<f64>) -> Self {
        let rec = LegendreRecurrence::new(eig.len() - 1);
        SphereHarmonicField {
            beta,
            model,
            eig,
            rec,
            path: SimdPath::detect(),
        }
    }

    /// The same field with its point kernels on the instruction set `path` (for tests and
    /// benchmarks); `None` when the processor does not support it.
    pub fn with_simd_path(mut self, path: SimdPath) -> Option<Self> {
        path.is_available().then(|| {
            self.path = path;
            self
        })
    }

    /// Truncation degree `L`.
    pub fn degree(&self) -> usize {
        self.eig.len() - 1
    }

    /// [`VelocityField::evaluate`] for tokens with masses `mass` (`sum m_j = 1`): fills `v`
    /// with `grad Phi(x_i) / beta` (USA) or `grad Phi(x_i) / (beta Phi(x_i))` (SA),
    /// `Phi(x) = sum_j m_j exp(beta(<x,x_j> - 1))` band-limited to degree `L`, and returns
    /// `sum_ij m_i m_j exp(beta(<x_i,x_j> - 1))` of the band-limited kernel.
    pub fn evaluate_weighted(&self, x: &[f64], mass: &[f64], v: &mut [f64]) -> f64 {
        self.evaluate_with_mass(x, Some(mass), v)
    }

    fn evaluate_with_mass(&self, x: &[f64], mass: Option<&[f64]>, v: &mut [f64]) -> f64 {
        let rec = &self.rec;
        let lmax = rec.lmax();
        let tri = rec.triangle_len();
        let (mut mc, mut ms) = (vec![0.0; tri], vec![0.0; tri]);
        moments_triangle(rec, self.path, x, mass, &mut mc, &mut ms);
        // A_lm = sqrt2 f_i with f_i = lambda~_l M_i and M_i = sqrt2 mc (m >= 1).
        let mut mean = 0.0;
        for m in 0..=lmax {
            let f = if m == 0 { 1.0 } else { 2.0 };
            for l in m..=lmax {
                let t = rec.triangle_index(m, l);
                mean += f * self.eig[l] * (mc[t] * mc[t] + ms[t] * ms[t]);
                mc[t] *= f * self.eig[l];
                ms[t] *= f * self.eig[l];
            }
        }
        let field = TriangleField::new(rec, &mc, &ms);
        let n = x.len() / 3;
        let mut phi = vec![0.0; n];
        evaluate_triangle(rec, self.path, &field, x, &mut phi, Some(&mut v[..3 * n]));
        for (vi, p) in v.chunks_exact_mut(3).zip(&phi) {
            let scale = match self.model {
                Model::Usa => 1.0 / self.beta,
                Model::Sa => 1.0 / (self.beta * p),
            };
            vi.iter_mut().for_each(|c| *c *= scale);
        }
        mean
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
        self.evaluate_with_mass(x, None, v)
    }
    fn evaluate_weighted(&self, x: &[f64], mass: &[f64], v: &mut [f64]) -> f64 {
        self.evaluate_with_mass(x, Some(mass), v)
    }
}
