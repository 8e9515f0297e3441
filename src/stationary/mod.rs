//! Stationary states of the noisy USA mean field and their bifurcations.
//!
//! The noisy mean field `d_tau rho = div(rho grad(nu ln rho - Phi/beta))`, `Phi = K * rho`
//! (scaled kernel `exp(beta(<x,y>-1))`, scaled time `tau`, `nu` per unit `tau`) is the
//! Wasserstein gradient flow of the free energy `F = nu int rho ln rho - (1/(2 beta)) int int K
//! rho rho`; its stationary states are the fixed points
//!
//! ```text
//! rho = exp(Phi / (beta nu)) / Z,    Phi = K * rho.
//! ```
//!
//! (`Phi/(beta nu)` is the same in physical and scaled units.) This module computes the
//! axisymmetric ones on `S^{d-1}`, any `d >= 2` (on the circle: the states even about a
//! direction), in the orthonormal zonal harmonics `Z_l(t)`, `t = <x, e>` (the basis of
//! [`crate::spectral::ZonalBasis`]: `rho = sum_l a_l Z_l`, `a_0 = 1`), on a Gauss–Gegenbauer grid
//! of `3L + 2` nodes:
//!
//! - [`ZonalProblem::newton`]: Newton's method on `F(a) = a - P[exp(phi(a))/Z]`,
//!   `phi = sum_l c_l a_l Z_l`, `c_l = lambda~_l / (beta nu)` (`lambda~_l = e^{-beta} lambda_l`),
//!   with the exact Jacobian `I - Cov_g(Z_l, Z_m) c_m`;
//! - [`ZonalProblem::branch`]: pseudo-arclength continuation in `nu` of the branch that leaves
//!   the uniform state at `nu_# = lambda~_1/beta` (a pitchfork through degree 1), with the
//!   order parameter `r = |int x rho dsigma| = a_1 / sqrt(d)`;
//! - [`ZonalProblem::leading_eigenvalue`]: the largest eigenvalue of the linearised operator
//!   `L delta = div(rho grad(nu delta/rho - K*delta/beta))` on axisymmetric perturbations
//!   (`L = -M H`, `M_lm = int rho grad Z_l . grad Z_m`, `H_lm = nu int Z_l Z_m / rho -
//!   delta_lm lambda~_l / beta`; computed as the eigenvalues of the symmetric `-R H R^T`,
//!   `M = R^T R`). At the uniform state these are the noisy rates `gamma_l(nu)` of
//!   [`crate::linear_noise`]. Non-axisymmetric perturbations are not included (on the circle:
//!   the odd ones, which contain the rotation's zero mode).
//!
//! The direction of the pitchfork decides the kind of transition: for `beta < beta_*` the branch
//! exists for `nu < nu_#` (supercritical, continuous), for `beta > beta_*` it first bends to
//! `nu > nu_#` and turns at a fold `nu_f > nu_#` (subcritical: bistability of the uniform and
//! the clustered state for `nu_# < nu < nu_f`, hysteresis). `tests/noise_stationary.rs` checks
//! this against [`crate::linear_noise::critical_beta`] and checks the states against long PDE runs.
//! SA does not fit this machinery as is (its stationary states solve `rho ∝ exp(ln Phi /
//! (beta nu))`, a different fixed point; not implemented).

use crate::error::{Error, Result};
use crate::linear;
use crate::special::sphere_zonal_rule;

pub mod diagram;
pub use diagram::{default_branch, write_bifurcation_diagram, BranchSummary};

use crate::spectral::zonal::recurrence;

/// One stationary state.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StationaryState {
    /// Diffusion coefficient per unit of the internal time `tau` (USA: `tau = e^beta t`).
    pub nu: f64,
    /// Coefficients `a_0 = 1, a_1, ..., a_L` of `rho = sum_l a_l Z_l`.
    pub coefficients: Vec<f64>,
    /// Order parameter `r = |int x rho dsigma| = a_1 / sqrt(d)`.
    pub r: f64,
    /// Largest eigenvalue of the linearised operator on axisymmetric perturbations (per unit
    /// `tau`); negative: linearly stable.
    pub leading_eigenvalue: f64,
    /// Max-norm of the fixed-point residual `a - P[exp(phi)/Z]`.
    pub residual: f64,
}

/// The axisymmetric stationary-state problem for one `(beta, d)` and truncation `L`.
pub struct ZonalProblem {
    dim: usize,
    beta: f64,
    lmax: usize,
    weights: Vec<f64>,
    /// `z[l * n + i] = Z_l(t_i)`.
    z: Vec<f64>,
    /// `dz[l * n + i] = sqrt(1 - t_i^2) Z_l'(t_i)` (the gradient's length factor).
    dz: Vec<f64>,
    /// `lambda~_l / beta`, `l = 0..=L`.
    lam: Vec<f64>,
}

impl ZonalProblem {
    /// The problem at `beta` on `S^{dim-1}` with degrees `0..=lmax` (`lmax >= 2`).
    pub fn new(beta: f64, dim: usize, lmax: usize) -> Result<Self> {
        let beta = linear::check_beta(beta)?;
        let dim = linear::check_dim(dim as i64)?;
        if !(2..=400).contains(&lmax) {
            return Err(Error::parameter("lmax", lmax, "an integer in [2, 400]"));
        }
        let n = 3 * lmax + 2;
        let rule = sphere_zonal_rule(n, dim);
        let b = recurrence(lmax + 2, (dim as f64 - 2.0) / 2.0);
        let mut z = vec![0.0; (lmax + 1) * n];
        let mut dz = vec![0.0; (lmax + 1) * n];
        for (i, &t) in rule.nodes.iter().enumerate() {
            let (mut p0, mut p1, mut d0, mut d1) = (0.0, 1.0, 0.0, 0.0);
            let s = (1.0 - t * t).max(0.0).sqrt();
            for k in 0..=lmax {
                z[k * n + i] = p1;
                dz[k * n + i] = s * d1;
                let p2 = (t * p1 - b[k] * p0) / b[k + 1];
                let d2 = (p1 + t * d1 - b[k] * d0) / b[k + 1];
                (p0, p1, d0, d1) = (p1, p2, d1, d2);
            }
        }
        let lam = linear::funk_hecke_eigenvalues_scaled(lmax, beta, dim)
            .into_iter()
            .map(|v| v / beta)
            .collect();
        Ok(ZonalProblem {
            dim,
            beta,
            lmax,
            weights: rule.weights,
            z,
            dz,
            lam,
        })
    }

    /// Largest degree `L`.
    pub fn lmax(&self) -> usize {
        self.lmax
    }

    /// Inverse temperature.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// Ambient dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Stability threshold of the uniform state `nu_# = lambda~_1 / beta` (per unit `tau`).
    pub fn nu_sharp(&self) -> f64 {
        self.lam[1]
    }

    fn n(&self) -> usize {
        self.weights.len()
    }

    /// Values at the grid nodes of `sum_l coef_l Z_l`.
    fn synth(&self, coef: &[f64]) -> Vec<f64> {
        let n = self.n();
        let mut out = vec![0.0; n];
        for (l, c) in coef.iter().enumerate() {
            if *c != 0.0 {
                for (o, zv) in out.iter_mut().zip(&self.z[l * n..(l + 1) * n]) {
                    *o += c * zv;
                }
            }
        }
        out
    }

    /// Coefficients `int f Z_l dsigma`, `l = 0..=L`, of grid values `f`.
    fn project(&self, f: &[f64]) -> Vec<f64> {
        let n = self.n();
        (0..=self.lmax)
            .map(|l| {
                self.z[l * n..(l + 1) * n]
                    .iter()
                    .zip(f)
                    .zip(&self.weights)
                    .map(|((z, f), w)| z * f * w)
                    .sum()
            })
            .collect()
    }

    /// `g = exp(phi)/Z` at the nodes, `phi = sum_l a_l lambda~_l Z_l / (beta nu)`.
    fn gibbs(&self, a: &[f64], nu: f64) -> Vec<f64> {
        let c: Vec<f64> = a
            .iter()
            .zip(&self.lam)
            .enumerate()
            .map(|(l, (a, lam))| if l == 0 { 0.0 } else { a * lam / nu })
            .collect();
        let phi = self.synth(&c);
        let top = phi.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut g: Vec<f64> = phi.iter().map(|p| (p - top).exp()).collect();
        let z: f64 = g.iter().zip(&self.weights).map(|(g, w)| g * w).sum();
        g.iter_mut().for_each(|v| *v /= z);
        g
    }

    /// Fixed-point residual `F_l = a_l - int exp(phi)/Z Z_l dsigma`, `l = 1..=L`.
    pub fn residual(&self, a: &[f64], nu: f64) -> Vec<f64> {
        let p = self.project(&self.gibbs(a, nu));
        (1..=self.lmax).map(|l| a[l] - p[l]).collect()
    }

    /// Residual, Jacobian `dF/da` (`L x L`, row-major, unknowns `a_1..a_L`) and `dF/dnu`.
    fn linearise(&self, a: &[f64], nu: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = self.n();
        let lm = self.lmax;
        let g = self.gibbs(a, nu);
        let p = self.project(&g);
        // phi at the nodes (for dF/dnu)
        let c: Vec<f64> = (0..=lm)
            .map(|l| if l == 0 { 0.0 } else { a[l] * self.lam[l] / nu })
            .collect();
        let phi = self.synth(&c);
        let mean_phi: f64 = (0..n).map(|i| self.weights[i] * g[i] * phi[i]).sum();
        let f: Vec<f64> = (1..=lm).map(|l| a[l] - p[l]).collect();
        let mut jac = vec![0.0; lm * lm];
        let mut fnu = vec![0.0; lm];
        for l in 1..=lm {
            let zl = &self.z[l * n..(l + 1) * n];
            for m in 1..=lm {
                let zm = &self.z[m * n..(m + 1) * n];
                let e: f64 = (0..n).map(|i| self.weights[i] * g[i] * zl[i] * zm[i]).sum();
                let cov = e - p[l] * p[m];
                jac[(l - 1) * lm + (m - 1)] =
                    if l == m { 1.0 } else { 0.0 } - cov * self.lam[m] / nu;
            }
            // d phi / d nu = -phi / nu;  dF_l/dnu = -Cov_g(Z_l, dphi/dnu) = Cov_g(Z_l, phi)/nu
            let e: f64 = (0..n)
                .map(|i| self.weights[i] * g[i] * zl[i] * phi[i])
                .sum();
            fnu[l - 1] = (e - p[l] * mean_phi) / nu;
        }
        (f, jac, fnu)
    }

    /// Coefficients of the von Mises–Fisher density `exp(kappa t)/Z` (`t = <x, e>`), projected
    /// on degrees `0..=L`: a starting guess for [`ZonalProblem::newton`] on the clustered branch
    /// (`kappa ~ lambda~_1 r / (beta nu)`).
    pub fn von_mises_guess(&self, kappa: f64) -> Vec<f64> {
        let n = self.n();
        let t = &self.z[n..2 * n];
        let s = (self.dim as f64).sqrt();
        let g: Vec<f64> = t.iter().map(|z| (kappa * (z / s - 1.0)).exp()).collect();
        let z: f64 = g.iter().zip(&self.weights).map(|(g, w)| g * w).sum();
        let g: Vec<f64> = g.iter().map(|v| v / z).collect();
        self.project(&g)
    }

    /// Newton's method at fixed `nu` from the coefficients `a` (`a_0 = 1`, length `L + 1`) to a
    /// max-norm residual below `tol`; an error when it does not converge in 50 iterations.
    pub fn newton(&self, a: &[f64], nu: f64, tol: f64) -> Result<StationaryState> {
        let lm = self.lmax;
        let mut a = a.to_vec();
        a.resize(lm + 1, 0.0);
        a[0] = 1.0;
        for _ in 0..50 {
            let (f, jac, _) = self.linearise(&a, nu);
            let res = max_abs(&f);
            if res <= tol {
                return Ok(self.state(a, nu));
            }
            let step = solve(jac, f, lm).ok_or_else(|| singular("newton"))?;
            for l in 1..=lm {
                a[l] -= step[l - 1];
            }
        }
        Err(Error::Numerical(format!(
            "stationary state: Newton did not converge at nu = {nu}"
        )))
    }

    /// The state with coefficients `a` at `nu`: order parameter, residual, stability.
    pub fn state(&self, a: Vec<f64>, nu: f64) -> StationaryState {
        let residual = max_abs(&self.residual(&a, nu));
        StationaryState {
            nu,
            r: a[1].abs() / (self.dim as f64).sqrt(),
            leading_eigenvalue: self.leading_eigenvalue(&a, nu),
            residual,
            coefficients: a,
        }
    }

    /// Eigenvalues (descending) of the linearised operator at the state `a` (see the module
    /// docs), per unit `tau`.
    pub fn eigenvalues(&self, a: &[f64], nu: f64) -> Vec<f64> {
        let n = self.n();
        let lm = self.lmax;
        let rho = self.synth(a);
        let mut m = vec![0.0; lm * lm];
        let mut h = vec![0.0; lm * lm];
        for l in 1..=lm {
            for k in 1..=lm {
                let (dl, dk) = (&self.dz[l * n..(l + 1) * n], &self.dz[k * n..(k + 1) * n]);
                let (zl, zk) = (&self.z[l * n..(l + 1) * n], &self.z[k * n..(k + 1) * n]);
                let mut sm = 0.0;
                let mut sh = 0.0;
                for i in 0..n {
                    sm += self.weights[i] * rho[i] * dl[i] * dk[i];
                    sh += self.weights[i] * zl[i] * zk[i] / rho[i];
                }
                m[(l - 1) * lm + (k - 1)] = sm;
                h[(l - 1) * lm + (k - 1)] = nu * sh - if l == k { self.lam[l] } else { 0.0 };
            }
        }
        // M = R^T R (Cholesky, R upper); eigenvalues of -M H = those of -R H R^T
        let Some(r) = cholesky_upper(&m, lm) else {
            return vec![f64::NAN];
        };
        let mut s = vec![0.0; lm * lm];
        // s = R H R^T
        let mut rh = vec![0.0; lm * lm];
        for i in 0..lm {
            for j in 0..lm {
                rh[i * lm + j] = (0..lm).map(|k| r[i * lm + k] * h[k * lm + j]).sum();
            }
        }
        for i in 0..lm {
            for j in 0..lm {
                s[i * lm + j] = -(0..lm).map(|k| rh[i * lm + k] * r[j * lm + k]).sum::<f64>();
            }
        }
        let mut ev = symmetric_eigenvalues(s, lm);
        ev.sort_by(|a, b| b.total_cmp(a));
        ev
    }

    /// Largest eigenvalue of the linearised operator on axisymmetric perturbations.
    pub fn leading_eigenvalue(&self, a: &[f64], nu: f64) -> f64 {
        self.eigenvalues(a, nu)[0]
    }

    /// Continue the branch that bifurcates from the uniform state at `nu_#` by pseudo-arclength
    /// in `(a, nu)`, from order parameter `r ~ 1e-3` until `nu` leaves `[nu_min, nu_max]`,
    /// `r > r_max` or `max_points` points; `ds` is the arclength step (adapted: halved when
    /// the corrector fails, grown after easy steps, at most `4 ds`). Every point is converged to
    /// a residual below `1e-12`. The first point is the uniform state at `nu_#`.
    pub fn branch(
        &self,
        nu_min: f64,
        nu_max: f64,
        r_max: f64,
        ds: f64,
        max_points: usize,
    ) -> Result<Vec<StationaryState>> {
        let lm = self.lmax;
        let sqd = (self.dim as f64).sqrt();
        let nus = self.nu_sharp();
        let mut out = vec![self.state(unit(lm), nus)];
        // first point: a_1 fixed, solve for (a_2..a_L, nu)
        let a1 = 1e-3 * sqd;
        let mut a = unit(lm);
        a[1] = a1;
        let mut nu = nus;
        let mut converged = false;
        for _ in 0..50 {
            let (f, jac, fnu) = self.linearise(&a, nu);
            if max_abs(&f) <= 1e-13 {
                converged = true;
                break;
            }
            // unknowns (a_2..a_L, nu): columns 2..L of jac, then fnu
            let mut m = vec![0.0; lm * lm];
            for i in 0..lm {
                for j in 1..lm {
                    m[i * lm + (j - 1)] = jac[i * lm + j];
                }
                m[i * lm + lm - 1] = fnu[i];
            }
            let step = solve(m, f, lm).ok_or_else(|| singular("branch start"))?;
            for l in 2..=lm {
                a[l] -= step[l - 2];
            }
            nu -= step[lm - 1];
        }
        if !converged {
            return Err(Error::Numerical(
                "stationary branch: start did not converge".into(),
            ));
        }
        out.push(self.state(a.clone(), nu));
        // tangent: increasing a_1
        let mut y: Vec<f64> = a[1..].to_vec();
        y.push(nu);
        let mut tangent = self.tangent(&y, None);
        if tangent[0] < 0.0 {
            tangent.iter_mut().for_each(|v| *v = -*v);
        }
        let mut h = ds;
        while out.len() < max_points {
            let pred: Vec<f64> = y.iter().zip(&tangent).map(|(y, t)| y + h * t).collect();
            match self.correct(&pred, &tangent) {
                Some((ynew, iters)) => {
                    let t_new = self.tangent(&ynew, Some(&tangent));
                    y = ynew;
                    tangent = t_new;
                    let mut a = vec![1.0];
                    a.extend_from_slice(&y[..lm]);
                    let st = self.state(a, y[lm]);
                    let stop = st.nu < nu_min || st.nu > nu_max || st.r > r_max;
                    out.push(st);
                    if stop {
                        break;
                    }
                    if iters <= 3 {
                        h = (h * 1.5).min(4.0 * ds);
                    }
                }
                None => {
                    h *= 0.5;
                    if h < 1e-8 * ds {
                        return Err(Error::Numerical(format!(
                            "stationary branch: continuation stalled at nu = {}",
                            y[lm]
                        )));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Unit tangent of the solution curve `F(a, nu) = 0` at `y = (a_1..a_L, nu)`, oriented
    /// along `prev` when given.
    fn tangent(&self, y: &[f64], prev: Option<&[f64]>) -> Vec<f64> {
        let lm = self.lmax;
        let mut a = vec![1.0];
        a.extend_from_slice(&y[..lm]);
        let (_, jac, fnu) = self.linearise(&a, y[lm]);
        let k = lm + 1;
        let mut m = vec![0.0; k * k];
        for i in 0..lm {
            m[i * k..i * k + lm].copy_from_slice(&jac[i * lm..(i + 1) * lm]);
            m[i * k + lm] = fnu[i];
        }
        let guide: Vec<f64> = match prev {
            Some(p) => p.to_vec(),
            None => {
                let mut g = vec![0.0; k];
                g[0] = 1.0;
                g
            }
        };
        m[lm * k..].copy_from_slice(&guide);
        let mut rhs = vec![0.0; k];
        rhs[lm] = 1.0;
        let mut t = solve(m, rhs, k).unwrap_or(guide);
        let norm = t.iter().map(|v| v * v).sum::<f64>().sqrt();
        t.iter_mut().for_each(|v| *v /= norm);
        t
    }

    /// Corrector: Newton on `F(y) = 0`, `t . (y - pred) = 0`; `None` if it fails.
    fn correct(&self, pred: &[f64], t: &[f64]) -> Option<(Vec<f64>, usize)> {
        let lm = self.lmax;
        let k = lm + 1;
        let mut y = pred.to_vec();
        for it in 0..12 {
            if y[lm].is_nan() || y[lm] <= 0.0 {
                return None;
            }
            let mut a = vec![1.0];
            a.extend_from_slice(&y[..lm]);
            let (f, jac, fnu) = self.linearise(&a, y[lm]);
            let arc: f64 = t
                .iter()
                .zip(y.iter().zip(pred))
                .map(|(t, (y, p))| t * (y - p))
                .sum();
            if max_abs(&f) <= 1e-12 && arc.abs() <= 1e-12 {
                return Some((y, it));
            }
            let mut m = vec![0.0; k * k];
            for i in 0..lm {
                m[i * k..i * k + lm].copy_from_slice(&jac[i * lm..(i + 1) * lm]);
                m[i * k + lm] = fnu[i];
            }
            m[lm * k..].copy_from_slice(t);
            let mut rhs = f;
            rhs.push(arc);
            let step = solve(m, rhs, k)?;
            for (yv, s) in y.iter_mut().zip(&step) {
                *yv -= s;
            }
            if !y.iter().all(|v| v.is_finite()) {
                return None;
            }
        }
        None
    }
}

/// Coefficients of the uniform state (`a_0 = 1`, the rest 0).
fn unit(lmax: usize) -> Vec<f64> {
    let mut a = vec![0.0; lmax + 1];
    a[0] = 1.0;
    a
}

fn singular(what: &str) -> Error {
    Error::Numerical(format!("stationary state: singular Jacobian in {what}"))
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Solve `m x = b` (`n x n`, row-major) by Gaussian elimination with partial pivoting.
pub fn solve(mut m: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for col in 0..n {
        let piv =
            (col..n).max_by(|&i, &j| m[i * n + col].abs().total_cmp(&m[j * n + col].abs()))?;
        if m[piv * n + col] == 0.0 || !m[piv * n + col].is_finite() {
            return None;
        }
        if piv != col {
            for k in 0..n {
                m.swap(col * n + k, piv * n + k);
            }
            b.swap(col, piv);
        }
        let d = m[col * n + col];
        for i in col + 1..n {
            let f = m[i * n + col] / d;
            if f != 0.0 {
                for k in col..n {
                    m[i * n + k] -= f * m[col * n + k];
                }
                b[i] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| m[i * n + k] * x[k]).sum();
        x[i] = (b[i] - s) / m[i * n + i];
    }
    Some(x)
}

/// Upper Cholesky factor `R` of a symmetric positive definite `m = R^T R`; `None` otherwise.
fn cholesky_upper(m: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut r = vec![0.0; n * n];
    for j in 0..n {
        let mut s = m[j * n + j];
        for k in 0..j {
            s -= r[k * n + j] * r[k * n + j];
        }
        if s.is_nan() || s <= 0.0 {
            return None;
        }
        let d = s.sqrt();
        r[j * n + j] = d;
        for i in j + 1..n {
            let mut s = m[j * n + i];
            for k in 0..j {
                s -= r[k * n + j] * r[k * n + i];
            }
            r[j * n + i] = s / d;
        }
    }
    Some(r)
}

/// Eigenvalues of a symmetric matrix (cyclic Jacobi rotations to `1e-15` relative off-diagonal).
pub fn symmetric_eigenvalues(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let diag: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum();
        if off <= 1e-30 * diag.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i * n + i]).collect()
}
