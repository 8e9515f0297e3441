//! Diagnostics of a density given by its coefficients: mass, energy, minimum, the resolution
//! indicator and the rotation-invariant power spectrum.

use crate::spectral::Basis;

/// First degree of the top band used by the resolution indicator: the top `max(1, floor(L/8))`
/// degrees, `l >= L + 1 - max(1, floor(L/8))`.
pub fn tail_band_start(lmax: usize) -> usize {
    lmax + 1 - (lmax / 8).max(1)
}

/// Fraction of the spectral energy in the top band:
/// `sum_{l >= tail_band_start(L)} C_l / sum_{l >= 0} C_l` (`C_0 = mass^2` included, so a
/// nearly uniform density has a tiny fraction; a resolved solution has a fraction near
/// rounding level).
pub fn tail_fraction(power: &[f64]) -> f64 {
    let lmax = power.len() - 1;
    let total: f64 = power.iter().sum();
    let top: f64 = power[tail_band_start(lmax)..].iter().sum();
    if total > 0.0 {
        top / total
    } else {
        0.0
    }
}

/// Diagnostics at one time.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Diagnostics {
    /// `int rho dsigma` (coefficient 0).
    pub mass: f64,
    /// Energy with the scaled kernel, `E_s = (1/(2 beta)) int int exp(beta(<x,y> - 1)) rho rho`
    /// (`= e^{-beta} E`, finite for every beta; the particle simulator's `energy` column).
    pub energy: f64,
    /// Minimum of `rho` over the grid points.
    pub min_rho: f64,
    /// Resolution indicator, see [`tail_fraction`].
    pub tail_fraction: f64,
    /// `C_l = sum_{deg(i)=l} f_i^2`, `l = 0..=L`.
    pub power: Vec<f64>,
}

/// Compute the diagnostics of `coeffs`; `grid` receives the density on the grid;
/// `energy_scaled` is the scaled-kernel energy.
pub fn diagnose<B: Basis>(
    basis: &mut B,
    coeffs: &[f64],
    grid: &mut [f64],
    energy_scaled: f64,
) -> Diagnostics {
    basis.synthesize(coeffs, grid);
    let power = basis.power_spectrum(coeffs);
    Diagnostics {
        mass: coeffs[0],
        energy: energy_scaled,
        min_rho: grid.iter().copied().fold(f64::INFINITY, f64::min),
        tail_fraction: tail_fraction(&power),
        power,
    }
}
