//! Interaction energy of a token configuration (scaled kernel).
//!
//! `E_N = (1/(2 beta N^2)) sum_ij exp(beta(<x_i,x_j> - 1))`, i.e. `e^{-beta}` times the energy
//! `(1/(2 beta N^2)) sum_ij exp(beta <x_i,x_j>)` of DESIGN.md section 1 (always representable).
//! For USA, `dE_N/dtau = (1/N) sum_i |dx_i/dtau|^2` in the scaled time `tau = e^beta t`.

/// `E_N` by direct double summation with `f64::exp` (rows `x`, `N x dim`); `O(N^2 d)`.
pub fn energy_pairwise(x: &[f64], dim: usize, beta: f64) -> f64 {
    let n = x.len() / dim;
    let mut total = 0.0;
    for i in 0..n {
        let xi = &x[i * dim..(i + 1) * dim];
        for j in 0..n {
            let xj = &x[j * dim..(j + 1) * dim];
            let dot: f64 = xi.iter().zip(xj).map(|(a, b)| a * b).sum();
            total += (beta * (dot - 1.0)).exp();
        }
    }
    total / (n as f64 * n as f64) / (2.0 * beta)
}

/// `E_N = (1/(2 beta)) sum_l lambda~_l C_l` from the harmonic power `C_l` (`C_0 = 1`) and the
/// scaled Funk–Hecke eigenvalues `lambda~_l = e^{-beta} lambda_l` (Funk–Hecke expansion
/// `exp(beta(t-1)) = sum_l lambda~_l Z_l(t)`), truncated at the shorter of the two slices.
pub fn energy_from_power(power: &[f64], scaled_eigenvalues: &[f64], beta: f64) -> f64 {
    let s: f64 = power
        .iter()
        .zip(scaled_eigenvalues)
        .map(|(c, e)| c * e)
        .sum();
    s / (2.0 * beta)
}
