//! The right-hand side of the mean-field continuity equation, one implementation for every
//! basis (DESIGN.md section 3).
//!
//! With the scaled kernel `K_s(x,y) = exp(beta(<x,y> - 1))`, `Phi = K_s * rho` (multiplier
//! `e^{-beta} lambda_l` per coefficient) and the internal time `tau` (`= e^beta t` for USA,
//! `= t` for SA):
//!
//! ```text
//! d rho / d tau = -(1/beta) div(rho grad U),   U = Phi (USA),  U = log Phi (SA),
//! div(rho grad U) = ( Lap(rho U) + rho Lap U - U Lap rho ) / 2 .
//! ```
//!
//! Every term is a Laplacian (diagonal in the basis) or a pointwise product on the dealiased
//! grid, so only scalar transforms are needed. For SA, `log Phi` is formed on the grid and
//! projected to degree `L`; the band-limited projection is used in every product, which keeps
//! the mass exactly conserved (`int rho Lap U = int U Lap rho` for band-limited fields).
//! The diffusion term `nu Lap rho` is not part of this operator: it is diagonal and handled
//! exactly by the integrating factor of [`super::timestep`].

use crate::spectral::{Basis, Scratch};
use crate::Model;

/// `d rho / d tau` (without diffusion) for a basis `B`, with all work buffers preallocated.
pub struct MeanFieldRhs<B: Basis> {
    basis: B,
    model: Model,
    beta: f64,
    kernel: Vec<f64>,
    lap: Vec<f64>,
    ca: Vec<f64>,
    cb: Vec<f64>,
    g_rho: Vec<f64>,
    g_lrho: Vec<f64>,
    g_u: Vec<f64>,
    g_lu: Vec<f64>,
    g_p: Vec<f64>,
    scratch: Scratch,
}

impl<B: Basis> MeanFieldRhs<B> {
    /// The operator for `model` at inverse temperature `beta` on `basis`.
    pub fn new(basis: B, model: Model, beta: f64) -> Self {
        let n = basis.len();
        let m = basis.grid_len();
        let kernel = basis.kernel_multipliers(beta);
        let lap = (0..n).map(|i| basis.laplacian_eigenvalue(i)).collect();
        Self {
            model,
            beta,
            kernel,
            lap,
            ca: vec![0.0; n],
            cb: vec![0.0; n],
            g_rho: vec![0.0; m],
            g_lrho: vec![0.0; m],
            g_u: vec![0.0; m],
            g_lu: vec![0.0; m],
            g_p: vec![0.0; m],
            scratch: basis.make_scratch(),
            basis,
        }
    }

    /// The basis.
    pub fn basis(&self) -> &B {
        &self.basis
    }

    /// The basis, mutably (for transforms with its scratch buffers).
    pub fn basis_mut(&mut self) -> &mut B {
        &mut self.basis
    }

    /// Attention model.
    pub fn model(&self) -> Model {
        self.model
    }

    /// Inverse temperature.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// Scaled-kernel multipliers `e^{-beta} lambda_l` per coefficient.
    pub fn kernel_multipliers(&self) -> &[f64] {
        &self.kernel
    }

    /// Laplacian eigenvalues `-l(l+d-2)` per coefficient.
    pub fn laplacian(&self) -> &[f64] {
        &self.lap
    }

    /// `dc = d rho / d tau` (coefficients) at the state `c`. Returns `false` if the result is not
    /// finite or, for SA, if the potential `Phi` is not positive on the grid.
    pub fn evaluate(&mut self, c: &[f64], dc: &mut [f64]) -> bool {
        let (b, sc) = (&self.basis, &mut self.scratch);
        b.synthesize_with_scratch(c, &mut self.g_rho, sc);
        for ((a, x), l) in self.ca.iter_mut().zip(c).zip(&self.lap) {
            *a = x * l;
        }
        b.synthesize_with_scratch(&self.ca, &mut self.g_lrho, sc);
        for ((a, x), k) in self.ca.iter_mut().zip(c).zip(&self.kernel) {
            *a = x * k;
        }
        if self.model == Model::Sa {
            b.synthesize_with_scratch(&self.ca, &mut self.g_u, sc);
            for u in self.g_u.iter_mut() {
                if (*u).partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                    return false;
                }
                *u = u.ln();
            }
            b.analyze_with_scratch(&self.g_u, &mut self.ca, sc);
        }
        b.synthesize_with_scratch(&self.ca, &mut self.g_u, sc);
        for (a, l) in self.ca.iter_mut().zip(&self.lap) {
            *a *= l;
        }
        b.synthesize_with_scratch(&self.ca, &mut self.g_lu, sc);
        for ((p, r), u) in self.g_p.iter_mut().zip(&self.g_rho).zip(&self.g_u) {
            *p = r * u;
        }
        b.analyze_with_scratch(&self.g_p, &mut self.ca, sc);
        for i in 0..self.g_p.len() {
            self.g_p[i] = self.g_rho[i] * self.g_lu[i] - self.g_u[i] * self.g_lrho[i];
        }
        b.analyze_with_scratch(&self.g_p, &mut self.cb, sc);
        let f = -0.5 / self.beta;
        let mut finite = true;
        for (((d, l), a), b) in dc.iter_mut().zip(&self.lap).zip(&self.ca).zip(&self.cb) {
            *d = f * (l * a + b);
            finite &= d.is_finite();
        }
        finite
    }

    /// Density values on the grid.
    pub fn density_on_grid(&mut self, c: &[f64], grid: &mut [f64]) {
        self.basis
            .synthesize_with_scratch(c, grid, &mut self.scratch);
    }

    /// Energy with the scaled kernel, `E_s = (1/(2 beta)) sum_i e^{-beta} lambda_i c_i^2`
    /// (`= e^{-beta} E`, `E = (1/(2 beta)) int int K rho rho`).
    pub fn scaled_energy(&self, c: &[f64]) -> f64 {
        c.iter()
            .zip(&self.kernel)
            .map(|(x, k)| k * x * x)
            .sum::<f64>()
            / (2.0 * self.beta)
    }
}
