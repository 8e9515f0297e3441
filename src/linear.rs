//! Linear stability theory of the uniform state (DESIGN.md section 2).
//!
//! PROVISIONAL skeleton: the public signatures are final, the implementations are not.

use crate::model::{Model, TimeUnit};
use crate::special::ln_bessel_i;

/// Largest degree `l` supported by the linear theory.
pub const MAX_DEGREE: usize = 2000;
/// Largest ambient dimension `d` accepted.
pub const MAX_DIM: usize = 1024;

/// `ln lambda_l(beta, d)`, `lambda_l = Gamma(d/2) (2/beta)^{(d-2)/2} I_{l+(d-2)/2}(beta)`
/// (kernel `exp(beta <x,y>)`, physical units).
pub fn ln_funk_hecke_eigenvalue(l: usize, beta: f64, dim: usize) -> f64 {
    use special::Gamma;
    let a = (dim as f64 - 2.0) / 2.0;
    Gamma::ln_gamma(dim as f64 / 2.0).0 + a * (2.0 / beta).ln() + ln_bessel_i(l as f64 + a, beta)
}

/// `ln gamma_l`, the logarithm of the growth rate of a degree-`l` perturbation per unit of the
/// chosen time: `gamma_l = l(l+d-2) lambda_l / beta` (USA), divided by `lambda_0` (SA); scaled
/// time divides the USA rate by `e^beta`. `None` for `l = 0` (rate 0).
pub fn ln_growth_rate(
    l: usize,
    beta: f64,
    dim: usize,
    model: Model,
    time: TimeUnit,
) -> Option<f64> {
    if l == 0 {
        return None;
    }
    let lf = l as f64;
    let mut ln =
        (lf * (lf + dim as f64 - 2.0)).ln() + ln_funk_hecke_eigenvalue(l, beta, dim) - beta.ln();
    match model {
        Model::Usa => {
            if time == TimeUnit::Scaled {
                ln -= beta;
            }
        }
        Model::Sa => ln -= ln_funk_hecke_eigenvalue(0, beta, dim),
    }
    Some(ln)
}

/// Growth rate `gamma_l` (see [`ln_growth_rate`]); `0` for `l = 0`, `+inf` where it overflows.
pub fn growth_rate(l: usize, beta: f64, dim: usize, model: Model, time: TimeUnit) -> f64 {
    ln_growth_rate(l, beta, dim, model, time).map_or(0.0, f64::exp)
}

/// Dominant degree `l* = argmax_{l >= 1} gamma_l` (the same for USA and SA).
pub fn dominant_degree(beta: f64, dim: usize) -> usize {
    let mut best = (1, f64::NEG_INFINITY);
    for l in 1..(4.0 * (2.0 * beta).sqrt() + 10.0) as usize {
        let g = ln_growth_rate(l, beta, dim, Model::Sa, TimeUnit::Physical).unwrap();
        if g > best.1 {
            best = (l, g);
        }
    }
    best.0
}

/// `beta_k`: the inverse temperature at which `l*` moves from `k` to `k + 1`, i.e. the root of
/// `gamma_k(beta) = gamma_{k+1}(beta)`, for `k = 1..=count`.
pub fn thresholds(count: usize, dim: usize) -> Vec<f64> {
    let _ = (count, dim);
    unimplemented!("provisional skeleton")
}
