//! Modified Bessel functions of the first kind, `I_nu(x)`, for real order `nu >= 0` and `x > 0`.
//!
//! PROVISIONAL implementation (skeleton): a plain log-space power series; to be replaced by a
//! range-checked implementation accurate to 1e-13 for nu in [0, 2000], x in [1e-6, 1e5].

/// Exponentially scaled `e^{-x} I_nu(x)`.
pub fn bessel_i_scaled(nu: f64, x: f64) -> f64 {
    ln_bessel_i(nu, x).exp() * (-x).exp()
}

/// Natural logarithm `ln I_nu(x)`.
pub fn ln_bessel_i(nu: f64, x: f64) -> f64 {
    // series in log space: I_nu(x) = (x/2)^nu sum_k (x^2/4)^k / (k! Gamma(nu+k+1))
    use special::Gamma;
    let lg = |z: f64| Gamma::ln_gamma(z).0;
    let q = x * x / 4.0;
    let mut terms = Vec::new();
    let mut k = 0.0;
    loop {
        let t = k * q.ln() - lg(k + 1.0) - lg(nu + k + 1.0);
        terms.push(t);
        if k > q && t < terms[0] - 40.0 || k > 1e5 {
            break;
        }
        k += 1.0;
    }
    let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = terms.iter().map(|t| (t - m).exp()).sum();
    nu * (x / 2.0).ln() + m + s.ln()
}

/// Ratio `I_{nu+1}(x) / I_nu(x)`.
pub fn bessel_i_ratio(nu: f64, x: f64) -> f64 {
    (ln_bessel_i(nu + 1.0, x) - ln_bessel_i(nu, x)).exp()
}
