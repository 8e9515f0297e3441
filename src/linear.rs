//! Linear stability theory of the uniform state (DESIGN.md section 2).
//!
//! PROVISIONAL skeleton: Funk–Hecke eigenvalue and growth rate only.

use crate::model::{Model, TimeUnit};
use crate::special::ln_bessel_i;

/// `ln lambda_l(beta, d)`, `lambda_l = Gamma(d/2) (2/beta)^{(d-2)/2} I_{l+(d-2)/2}(beta)`
/// (kernel `exp(beta <x,y>)`, physical units).
pub fn ln_funk_hecke_eigenvalue(l: usize, beta: f64, dim: usize) -> f64 {
    use special::Gamma;
    let a = (dim as f64 - 2.0) / 2.0;
    Gamma::ln_gamma(dim as f64 / 2.0).0 + a * (2.0 / beta).ln() + ln_bessel_i(l as f64 + a, beta)
}

/// Growth rate `gamma_l` of a degree-`l` perturbation, per unit of the chosen time
/// (`l(l+d-2) lambda_l / beta` for USA, divided by `lambda_0` for SA; scaled time divides the
/// USA rate by `e^beta`). May overflow to `inf` in physical USA units for large `beta`.
pub fn growth_rate(l: usize, beta: f64, dim: usize, model: Model, time: TimeUnit) -> f64 {
    let lf = l as f64;
    let eig = (lf * (lf + dim as f64 - 2.0)).ln();
    let mut ln = eig + ln_funk_hecke_eigenvalue(l, beta, dim) - beta.ln();
    match model {
        Model::Usa => {
            if time == TimeUnit::Scaled {
                ln -= beta;
            }
        }
        Model::Sa => ln -= ln_funk_hecke_eigenvalue(0, beta, dim),
    }
    if l == 0 {
        0.0
    } else {
        ln.exp()
    }
}

/// Dominant degree `l* = argmax_{l >= 1} gamma_l`.
pub fn dominant_degree(beta: f64, dim: usize) -> usize {
    let mut best = (1, f64::NEG_INFINITY);
    for l in 1..(4.0 * (2.0 * beta).sqrt() + 10.0) as usize {
        let g = growth_rate(l, beta, dim, Model::Sa, TimeUnit::Physical).ln();
        if g > best.1 {
            best = (l, g);
        }
    }
    best.0
}
