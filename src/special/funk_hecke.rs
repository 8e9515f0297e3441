//! Funk–Hecke eigenvalues of the kernel `exp(beta <x, y>)` on `S^{d-1}` by Gauss–Gegenbauer
//! quadrature: the second, independent route to `lambda_l` (the closed form is
//! [`crate::linear::ln_funk_hecke_eigenvalue`], through Bessel functions).
//!
//! Formula (`a = (d - 2)/2`, `sigma` the uniform probability measure, `P_l^a = C_l^a / C_l^a(1)`,
//! Chebyshev `T_l` for `d = 2`):
//!
//! `lambda_l(beta, d) = c_d int_{-1}^{1} e^{beta t} P_l^a(t) (1 - t^2)^{(d-3)/2} dt`,
//! `c_d = 1 / int_{-1}^{1} (1 - t^2)^{(d-3)/2} dt`,
//!
//! evaluated as `ln lambda_l = beta + ln sum_k w_k e^{beta (x_k - 1)} P_l^a(x_k)` with the
//! probability rule [`crate::special::sphere_zonal_rule`] (so no term overflows, for any `beta`).
//! `x_k - 1` and `P_l^a(x_k)` are formed from the complements `1 - |x_k|` kept to full relative
//! precision ([`sphere_zonal_rule_with_complements`]): from the rounded double `x_k` the
//! terms near `x = 1`, which dominate for large `beta`, would carry relative errors
//! `~beta eps` (exponential) and `~l^2 eps` (polynomial).
//!
//! Conditioning: the terms `w_k e^{beta (x_k - 1)} P_l^a(x_k)` have both signs for `l >= 1`.
//! The condition number of the sum, `kappa = sum |terms| / |sum|`, is at most
//! `lambda_0 / lambda_l` (because `|P_l^a| <= 1`), and the relative error of the result is
//! about `kappa` times the relative accuracy of the terms (a few `1e-16`). Once
//! `lambda_l / lambda_0` falls to `~1e-14` the quadrature route carries no digits; use the
//! closed form there. [`funk_hecke_by_quadrature`] returns `kappa` with the value.

use crate::special::gegenbauer::{
    for_each_normalized_plain, for_each_normalized_reinsch, ldexp, REINSCH_THRESHOLD,
};
use crate::special::quadrature::{sphere_zonal_rule_with_complements, Quadrature};

/// Result of the quadrature route: `ln lambda_l` and the condition number of the sum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FunkHeckeQuadrature {
    /// `ln lambda_l(beta, d)`; NaN when rounding leaves a non-positive sum (then `condition` is
    /// `inf` and the true `lambda_l` is below the rounding level of the sum).
    pub ln_lambda: f64,
    /// `ln(e^{-beta} lambda_l)`, the eigenvalue of the scaled kernel `e^{beta(<x,y> - 1)}`: the
    /// logarithm of the computed sum itself, without the rounding of adding `beta` (for
    /// `beta ~ 5000` a double holding `ln lambda_l` is only good to `~5e-13` absolute). NaN as
    /// `ln_lambda`.
    pub ln_scaled_lambda: f64,
    /// `kappa = sum_k |w_k e^{beta (x_k - 1)} P_l(x_k)| / |sum_k w_k e^{beta (x_k - 1)} P_l(x_k)|`
    /// (`>= 1`): the relative error of `lambda_l` is about `kappa * 1e-16`.
    pub condition: f64,
}

/// A node count for which the Gauss rule integrates `e^{beta t} P_l(t)` to full double precision:
/// `n = ceil((l + 10 sqrt(beta) + 40) / 2) + 1`. The rule is exact for degree `2n - 1`, and the
/// Gegenbauer coefficients of `e^{beta t}` beyond degree `K` decay like `exp(-K^2 / (2 beta))`
/// (`K << beta`) or `(beta/2)^K / K!` (`K >> beta`); `K = 10 sqrt(beta) + 40` puts the
/// truncation below `1e-20` of `lambda_0`.
pub fn funk_hecke_quadrature_nodes(l: usize, beta: f64) -> usize {
    ((l as f64 + 10.0 * beta.sqrt() + 40.0) / 2.0).ceil() as usize + 1
}

fn check(beta: f64, dim: usize) {
    assert!(
        beta > 0.0 && beta.is_finite(),
        "funk_hecke_by_quadrature: beta = {beta}, accepted a finite number > 0"
    );
    assert!(
        dim >= 2,
        "funk_hecke_by_quadrature: dimension {dim}, accepted d >= 2"
    );
}

fn sums_all(
    lmax: usize,
    beta: f64,
    dim: usize,
    rule: &Quadrature,
    complements: &[f64],
) -> Vec<FunkHeckeQuadrature> {
    let a = (dim as f64 - 2.0) / 2.0;
    let mut p = vec![0.0; lmax + 1];
    let mut signed = vec![0.0; lmax + 1];
    let mut absolute = vec![0.0; lmax + 1];
    for ((&x, &w), &c) in rule.nodes.iter().zip(&rule.weights).zip(complements) {
        // x - 1 from the complement c = 1 - |x| (exact relative precision near x = 1)
        let x_minus_1 = if x >= 0.0 { -c } else { -(2.0 - c) };
        let we = w * (beta * x_minus_1).exp();
        let mut store = |k: usize, m: f64, e: i64| p[k] = if e == 0 { m } else { ldexp(m, e) };
        if x.abs() >= REINSCH_THRESHOLD {
            for_each_normalized_reinsch(lmax, a, c, &mut store);
            if x < 0.0 {
                p.iter_mut().skip(1).step_by(2).for_each(|v| *v = -*v);
            }
        } else {
            for_each_normalized_plain(lmax, a, x, &mut store);
        }
        for l in 0..=lmax {
            let t = we * p[l];
            signed[l] += t;
            absolute[l] += t.abs();
        }
    }
    signed
        .iter()
        .zip(&absolute)
        .map(|(&s, &abs)| {
            if s > 0.0 {
                FunkHeckeQuadrature {
                    ln_lambda: beta + s.ln(),
                    ln_scaled_lambda: s.ln(),
                    condition: abs / s,
                }
            } else {
                FunkHeckeQuadrature {
                    ln_lambda: f64::NAN,
                    ln_scaled_lambda: f64::NAN,
                    condition: f64::INFINITY,
                }
            }
        })
        .collect()
}

/// `ln lambda_l(beta, d)` and its condition number for `l = 0..=lmax`, by `n_nodes`-point
/// Gauss–Gegenbauer quadrature of the Funk–Hecke integral (see the module notes; pick
/// `n_nodes >= funk_hecke_quadrature_nodes(lmax, beta)` for full accuracy).
///
/// # Panics
/// If `beta` is not finite and positive, `dim < 2` or `n_nodes = 0`.
pub fn funk_hecke_by_quadrature_all(
    lmax: usize,
    beta: f64,
    dim: usize,
    n_nodes: usize,
) -> Vec<FunkHeckeQuadrature> {
    check(beta, dim);
    let (rule, complements) = sphere_zonal_rule_with_complements(n_nodes, dim);
    sums_all(lmax, beta, dim, &rule, &complements)
}

/// `ln lambda_l(beta, d)` and its condition number by `n_nodes`-point Gauss–Gegenbauer
/// quadrature of
/// `lambda_l = c_d int_{-1}^{1} e^{beta t} C_l^a(t)/C_l^a(1) (1-t^2)^{(d-3)/2} dt`,
/// `a = (d-2)/2` (see the module notes).
///
/// # Panics
/// If `beta` is not finite and positive, `dim < 2` or `n_nodes = 0`.
pub fn funk_hecke_by_quadrature(
    l: usize,
    beta: f64,
    dim: usize,
    n_nodes: usize,
) -> FunkHeckeQuadrature {
    funk_hecke_by_quadrature_all(l, beta, dim, n_nodes)[l]
}

/// `ln lambda_l(beta, d)` by quadrature (the `ln_lambda` of [`funk_hecke_by_quadrature`]); NaN
/// where cancellation leaves no digits.
///
/// # Panics
/// If `beta` is not finite and positive, `dim < 2` or `n_nodes = 0`.
pub fn ln_funk_hecke_by_quadrature(l: usize, beta: f64, dim: usize, n_nodes: usize) -> f64 {
    funk_hecke_by_quadrature(l, beta, dim, n_nodes).ln_lambda
}
