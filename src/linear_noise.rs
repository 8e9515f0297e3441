//! Linear theory of the noisy model (McKean–Vlasov on the sphere):
//!
//! ```text
//! d_t rho + div(rho chi[rho]) = nu Lap rho        (tokens: dX = v dt + sqrt(2 nu) dW on S^{d-1})
//! ```
//!
//! # Conventions
//!
//! Those of [`crate::linear`] (kernel `exp(beta <x,y>)`, densities w.r.t. the uniform probability
//! measure, `a = (d-2)/2`, Funk–Hecke eigenvalue `lambda_l`). `nu` is the diffusion coefficient
//! per unit of the chosen time (`kappa = 1/nu` in Rigollet's notation); `Lap` has eigenvalue
//! `-l(l+d-2)` on degree-`l` harmonics.
//!
//! - Degree-`l` rate: `gamma_l(nu) = l(l+d-2) (nu_l - nu)`, with the *degree threshold*
//!   `nu_l = lambda_l / beta` (USA, physical time), `lambda_l / (beta lambda_0)` (SA). In scaled
//!   time (USA, `tau = e^beta t`) both `nu` and `nu_l` are per unit `tau`: `nu_l = e^{-beta}
//!   lambda_l / beta`, so `gamma_l(nu)` is the scaled rate of [`crate::linear::growth_rate`]
//!   minus `l(l+d-2) nu`.
//! - `nu_l` decreases strictly in `l` (`I_{nu+1}(x) < I_nu(x)`), so the uniform state is linearly
//!   stable iff `nu > nu_# = nu_1` and loses stability through `l = 1` first.
//!   `kappa_# = 1/nu_# = beta/lambda_1 -> d` as `beta -> 0` (USA).
//! - Fastest-growing degree `l*(beta, nu) = argmax_{l >= 1} gamma_l(nu)`: `l*(beta, nu) <=
//!   l*(beta, 0)` (for `l >= l*(beta,0)` both parts of `gamma_l(nu)` decrease), so it is found by a
//!   scan of `l = 1..=l*(beta, 0)`.
//! - Critical inverse temperature `beta_*^{(d)}` (Mun–Rosenzweig): the root of
//!   `I_{d/2+1}(beta) / I_{d/2}(beta) = 1/d`, i.e. `lambda_2 / lambda_1 = 1/d`. For USA the
//!   bifurcation of the uniform state at `nu_#` is supercritical (continuous transition) for
//!   `beta < beta_*` and subcritical (fold, bistability, discontinuous transition) for
//!   `beta > beta_*` (checked independently by the continuation of the stationary states in `attnflow::stationary`).
//!
//! # Accuracy
//!
//! `nu_l` to a few ulp relative (it is `gamma_l(0) / (l(l+d-2))` from the double-double rate);
//! `beta_*` by Brent's method in `ln beta` on the Bessel ratio (relative accuracy ~1e-15),
//! tested against mpmath to 1e-12 relative (`scripts/reference_noise.py`,
//! `tests/noise_linear.rs`).

use crate::error::{Error, Result};
use crate::linear::{self, brent};
use crate::model::{Model, TimeUnit};
use crate::special::bessel::bessel_i_ratio;

/// Check a diffusion coefficient: finite and `>= 0`; the error names `nu`.
pub fn check_nu(nu: f64) -> Result<f64> {
    if nu.is_finite() && nu >= 0.0 {
        Ok(nu)
    } else {
        Err(Error::parameter("nu", nu, "a finite number >= 0"))
    }
}

/// `l(l+d-2)`, minus the eigenvalue of the Laplace–Beltrami operator on degree `l`.
pub fn laplacian_eigenvalue(l: usize, dim: usize) -> f64 {
    let lf = l as f64;
    lf * (lf + dim as f64 - 2.0)
}

/// Degree threshold `nu_l`: the noise level at which the degree-`l` rate changes sign
/// (`lambda_l/beta` USA, `lambda_l/(beta lambda_0)` SA, per unit of `time`; see the module
/// docs). `+inf` where it overflows f64, NaN for `l = 0` or invalid input.
pub fn degree_threshold(l: usize, beta: f64, dim: usize, model: Model, time: TimeUnit) -> f64 {
    if l == 0 {
        return f64::NAN;
    }
    match linear::ln_growth_rate(l, beta, dim, model, time) {
        Some(ln_rate) => (ln_rate - laplacian_eigenvalue(l, dim).ln()).exp(),
        None => f64::NAN,
    }
}

/// Stability threshold of the uniform state `nu_# = nu_1 = lambda_1 / beta` (USA; see
/// [`degree_threshold`]). The uniform state is linearly stable iff `nu > nu_#`.
pub fn critical_noise(beta: f64, dim: usize, model: Model, time: TimeUnit) -> f64 {
    degree_threshold(1, beta, dim, model, time)
}

/// Noisy rate `gamma_l(nu) = l(l+d-2)(nu_l - nu)` per unit of `time` (`nu` in the same unit);
/// `0` for `l = 0`. Absolute accuracy a few ulp of `l(l+d-2) max(nu_l, nu)`.
pub fn noisy_growth_rate(
    l: usize,
    beta: f64,
    dim: usize,
    nu: f64,
    model: Model,
    time: TimeUnit,
) -> f64 {
    if l == 0 {
        return 0.0;
    }
    linear::growth_rate(l, beta, dim, model, time) - laplacian_eigenvalue(l, dim) * nu
}

/// Fastest-growing degree `l*(beta, nu) = argmax_{l >= 1} gamma_l(nu)` (it may have a negative
/// rate: then every degree decays, `nu > nu_#`). `l*(beta, 0)` is [`linear::dominant_degree`].
/// Returns 0 for invalid input.
pub fn dominant_degree_noisy(
    beta: f64,
    dim: usize,
    nu: f64,
    model: Model,
    time: TimeUnit,
) -> usize {
    let top = linear::dominant_degree(beta, dim);
    if top == 0 || !(nu.is_finite() && nu >= 0.0) {
        return 0;
    }
    if nu == 0.0 {
        return top;
    }
    let spectrum = linear::spectrum(top, beta, dim, model, time);
    let mut best = (1, f64::NEG_INFINITY);
    for m in spectrum.iter().skip(1) {
        let g = match m.log_rate {
            Some(lr) => lr.exp() - laplacian_eigenvalue(m.l, dim) * nu,
            None => f64::NEG_INFINITY,
        };
        if g > best.1 {
            best = (m.l, g);
        }
    }
    best.0
}

/// `beta_*^{(d)}`: the root of `I_{d/2+1}(beta)/I_{d/2}(beta) = 1/d` (unique: the ratio increases
/// strictly from 0 to 1), separating the continuous (`beta < beta_*`) from the discontinuous
/// (`beta > beta_*`) transition of the noisy USA model at `nu_#`. `beta_*(2) = 2.4469183...`,
/// decreasing to 1 as `d -> inf` (`I_{d/2+1}/I_{d/2} ~ beta/(d+2)` for small `beta`). Brent's
/// method in `ln beta` to ~1e-15 relative. NaN for `dim < 2`.
pub fn critical_beta(dim: usize) -> f64 {
    if dim < 2 {
        return f64::NAN;
    }
    let d = dim as f64;
    let h = |t: f64| (bessel_i_ratio(d / 2.0, t.exp()) * d).ln();
    // beta_* lies in (1, d + 2): the ratio is below beta/(d+2) and above beta/(d/2+1+sqrt(...))
    let (lo, hi) = (0.0_f64, (d + 2.0).ln());
    let (f_lo, f_hi) = (h(lo), h(hi));
    if !(f_lo <= 0.0 && f_hi >= 0.0) {
        return f64::NAN;
    }
    brent(h, lo, hi, f_lo, f_hi, 1e-16).exp()
}

/// Kind of the transition of the noisy USA model at `nu_#` for a given `beta`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// `beta < beta_*`: supercritical pitchfork, the order parameter grows continuously from 0.
    Continuous,
    /// `beta > beta_*`: subcritical bifurcation, a fold and a hysteresis window.
    Discontinuous,
}

/// The transition kind at `beta` in dimension `dim` (USA), by comparison with [`critical_beta`].
pub fn transition(beta: f64, dim: usize) -> Transition {
    if beta < critical_beta(dim) {
        Transition::Continuous
    } else {
        Transition::Discontinuous
    }
}
