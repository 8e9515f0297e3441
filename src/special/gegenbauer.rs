//! Gegenbauer polynomials `C_l^a(t)` and the zonal normalisation `C_l^a(t) / C_l^a(1)`.
//!
//! PROVISIONAL implementation (skeleton): plain three-term recurrence.

/// Normalised Gegenbauer polynomial `C_l^a(t) / C_l^a(1)`; for `a = 0` the Chebyshev `T_l(t)`.
pub fn gegenbauer_normalized(l: usize, a: f64, t: f64) -> f64 {
    // P_l = C_l^a / C_l^a(1) satisfies
    // (l + 2a) P_{l+1} = 2 (l + a) t P_l - l P_{l-1}, P_0 = 1, P_1 = t.
    if l == 0 {
        return 1.0;
    }
    let (mut p0, mut p1) = (1.0, t);
    for k in 1..l {
        let kf = k as f64;
        let p2 = (2.0 * (kf + a) * t * p1 - kf * p0) / (kf + 2.0 * a);
        p0 = p1;
        p1 = p2;
    }
    p1
}

/// Gegenbauer polynomial `C_l^a(t)` (`a > 0`).
pub fn gegenbauer(l: usize, a: f64, t: f64) -> f64 {
    use special::Gamma;
    // C_l^a(1) = Gamma(l + 2a) / (Gamma(2a) l!)
    let ln_c1 = Gamma::ln_gamma(l as f64 + 2.0 * a).0
        - Gamma::ln_gamma(2.0 * a).0
        - Gamma::ln_gamma(l as f64 + 1.0).0;
    gegenbauer_normalized(l, a, t) * ln_c1.exp()
}

/// Dimension of the space of degree-`l` spherical harmonics on `S^{d-1}`:
/// `dim H_l = (2l + d - 2)/(l + d - 2) * binom(l + d - 2, l)`, with `dim H_0 = 1` and, for `d = 2`,
/// `dim H_l = 2` (`l >= 1`).
pub fn harmonic_dimension(l: usize, d: usize) -> f64 {
    use special::Gamma;
    if l == 0 {
        return 1.0;
    }
    if d == 2 {
        return 2.0;
    }
    let (lf, df) = (l as f64, d as f64);
    let ln_binom = Gamma::ln_gamma(lf + df - 1.0).0
        - Gamma::ln_gamma(lf + 1.0).0
        - Gamma::ln_gamma(df - 1.0).0;
    (2.0 * lf + df - 2.0) / (lf + df - 2.0) * ln_binom.exp()
}
