//! The equiangular reduction (Geshkovski–Letrouit–Polyanskiy–Rigollet): if the `n` tokens have
//! equal pairwise inner products `<x_i, x_j> = rho` (`i != j`), they keep equal inner products,
//! and `rho` obeys a scalar ODE. From `x_i' = P_{x_i}(sum_j a_ij x_j)` and symmetry,
//! `rho' = 2 <x_i', x_k>`, which gives, in the internal time (`tau = e^beta t` for USA, `t`
//! for SA), with `w = exp(beta (rho - 1))`:
//!
//! ```text
//! USA:  rho' = (2/n) w (1 - rho) (1 + (n-1) rho)
//! SA:   rho' = 2 w (1 - rho) (1 + (n-1) rho) / (1 + (n-1) w)
//! ```
//!
//! `rho = -1/(n-1)` (the regular simplex) and `rho = 1` (one cluster) are fixed points; from any
//! `rho0 > -1/(n-1)` the tokens cluster. The time to reach `rho1` is a one-dimensional integral,
//! evaluated here by adaptive Gauss–Legendre quadrature in `u = ln(1 - rho)`
//! (`u_k = ln(1 - rho_k)`):
//!
//! ```text
//! USA:  T = (n/2) int_{u1}^{u0} exp(beta e^u) / (n - (n-1) e^u) du
//! SA:   T = (1/2) int_{u1}^{u0} (exp(beta e^u) + n - 1) / (n - (n-1) e^u) du
//! ```
//!
//! A start with `rho0 = 0` is an orthonormal frame ([`orthonormal_frame`], `n <= d`), the
//! typical configuration of random tokens in high dimension; the time to `rho = 1 - eps` is the
//! clustering-time curve drawn over the phase diagrams of `compare phase`.

use crate::special::quadrature::gauss_legendre;
use crate::{Error, Model, Result};

/// `d rho / d(internal time)` at `rho` for `n` tokens.
pub fn rate(rho: f64, beta: f64, n: usize, model: Model) -> f64 {
    let nf = n as f64;
    let w = (beta * (rho - 1.0)).exp();
    let core = (1.0 - rho) * (1.0 + (nf - 1.0) * rho);
    match model {
        Model::Usa => 2.0 / nf * w * core,
        Model::Sa => 2.0 * w * core / (1.0 + (nf - 1.0) * w),
    }
}

/// Check the inputs shared by the functions of this module.
fn check(rho0: f64, rho1: f64, beta: f64, n: usize) -> Result<()> {
    crate::linear::check_beta(beta)?;
    if n < 2 {
        return Err(Error::parameter("n", n, "an integer >= 2"));
    }
    let lo = -1.0 / (n as f64 - 1.0);
    if !(rho0.is_finite() && rho0 > lo && rho0 < 1.0) {
        return Err(Error::parameter(
            "rho0",
            rho0,
            format!("a number in ({lo}, 1) (above the simplex fixed point, below one cluster)"),
        ));
    }
    if !(rho1.is_finite() && rho1 >= rho0 && rho1 < 1.0) {
        return Err(Error::parameter(
            "rho1",
            rho1,
            format!("a number in [rho0 = {rho0}, 1)"),
        ));
    }
    Ok(())
}

/// Time (internal unit: `tau` for USA, `t` for SA) for `rho` to go from `rho0` to `rho1`
/// (`-1/(n-1) < rho0 <= rho1 < 1`): `int_{rho0}^{rho1} d rho / rate(rho)`, by adaptive
/// 20-point Gauss–Legendre quadrature in `u = ln(1 - rho)` (relative accuracy ~1e-15). The
/// result overflows to infinity when it exceeds f64 (USA at large beta: use the scaled time).
pub fn time_to(rho0: f64, rho1: f64, beta: f64, n: usize, model: Model) -> Result<f64> {
    check(rho0, rho1, beta, n)?;
    if rho1 == rho0 {
        return Ok(0.0);
    }
    // d rho = -e^u du, and 1 - rho = e^u: the integrand in u is e^u / rate(1 - e^u), positive.
    let f = |u: f64| {
        let v = u.exp();
        v / rate(1.0 - v, beta, n, model)
    };
    let (a, b) = ((1.0 - rho1).ln(), (1.0 - rho0).ln());
    Ok(adaptive_gauss(&f, a, b, 1e-15, 40))
}

/// `int_a^b f` by recursive bisection with a 20-point Gauss–Legendre rule per panel, until a
/// panel and its two halves agree to `rel` (relative to the whole) or `depth` is exhausted.
fn adaptive_gauss(f: &dyn Fn(f64) -> f64, a: f64, b: f64, rel: f64, depth: usize) -> f64 {
    let rule = gauss_legendre(20);
    let panel = |lo: f64, hi: f64| {
        let (c, h) = (0.5 * (lo + hi), 0.5 * (hi - lo));
        h * rule.integrate(|x| f(c + h * x))
    };
    fn go(
        panel: &dyn Fn(f64, f64) -> f64,
        lo: f64,
        hi: f64,
        whole: f64,
        scale: f64,
        rel: f64,
        depth: usize,
    ) -> f64 {
        let mid = 0.5 * (lo + hi);
        let (l, r) = (panel(lo, mid), panel(mid, hi));
        if depth == 0 || ((l + r) - whole).abs() <= rel * scale.abs().max((l + r).abs()) {
            l + r
        } else {
            go(panel, lo, mid, l, scale, rel, depth - 1)
                + go(panel, mid, hi, r, scale, rel, depth - 1)
        }
    }
    let whole = panel(a, b);
    go(&panel, a, b, whole, whole, rel, depth)
}

/// `rho` at the times `times` (non-decreasing, internal unit) from `rho(0) = rho0`, by
/// Dormand–Prince 5(4) on the scalar ODE with relative tolerance `1e-13` (an independent route
/// to the quadrature of [`time_to`]).
pub fn trajectory(rho0: f64, beta: f64, n: usize, model: Model, times: &[f64]) -> Result<Vec<f64>> {
    use crate::butcher::dopri5::{A, B, B_HAT};
    check(rho0, rho0, beta, n)?;
    let f = |r: f64| rate(r, beta, n, model);
    let tol = 1e-13;
    let (mut t, mut r) = (0.0f64, rho0);
    let mut h = 1e-3 / f(r).abs().max(1e-300);
    let mut out = Vec::with_capacity(times.len());
    for &target in times {
        while t < target {
            let step = h.min(target - t);
            let mut k = [0.0; 7];
            k[0] = f(r);
            for s in 1..7 {
                let y = r + step * (0..s).map(|j| A[s][j] * k[j]).sum::<f64>();
                k[s] = f(y);
            }
            let new = r + step * (0..7).map(|j| B[j] * k[j]).sum::<f64>();
            let err = step * (0..7).map(|j| (B[j] - B_HAT[j]) * k[j]).sum::<f64>();
            let scale = tol * (1e-300 + r.abs().max(new.abs()).max((1.0 - new).abs()));
            let ratio = err.abs() / scale;
            if ratio <= 1.0 {
                t = if step == target - t { target } else { t + step };
                r = new;
            }
            let fac = if ratio > 0.0 {
                (0.9 * ratio.powf(-0.2)).clamp(0.2, 5.0)
            } else {
                5.0
            };
            h = step * fac;
        }
        out.push(r);
    }
    Ok(out)
}

/// `n` orthonormal tokens `e_1..e_n` in `R^d` (`n <= d`): an equiangular start with `rho = 0`.
pub fn orthonormal_frame(n: usize, dim: usize) -> Result<Vec<f64>> {
    if n < 2 || n > dim {
        return Err(Error::parameter(
            "n",
            n,
            format!("an integer in [2, dim = {dim}] (an orthonormal frame)"),
        ));
    }
    let mut x = vec![0.0; n * dim];
    for i in 0..n {
        x[i * dim + i] = 1.0;
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_at_small_beta() {
        // beta -> 0: rho' = (2/n)(1 - rho)(1 + (n-1) rho) (USA), whose solution satisfies
        // ln((1 + (n-1) rho)/(1 - rho)) = 2t + const.
        let (n, beta) = (5usize, 1e-6);
        let (r0, r1) = (0.1, 0.9);
        let g = |r: f64| ((1.0 + (n as f64 - 1.0) * r) / (1.0 - r)).ln();
        let want = (g(r1) - g(r0)) / 2.0;
        let got = time_to(r0, r1, beta, n, Model::Usa).unwrap();
        assert!((got / want - 1.0).abs() < 1e-5, "{got} vs {want}");
    }
}
