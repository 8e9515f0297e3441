//! Initial data: the uniform density plus prescribed modes, white noise on the grid, random
//! coefficients with finite-N statistics, or a particle snapshot projected onto the basis.

use crate::spectral::{Basis, Geometry};
use crate::{Error, Result};
use rand::RngExt;
use rand_distr::StandardNormal;
use rand_pcg::Pcg64;

/// One prescribed mode of `--init-modes`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Circle: adds `amplitude * cos(k theta + phase)`.
    Fourier {
        /// Wavenumber `k >= 1`.
        k: usize,
        /// Amplitude.
        amplitude: f64,
        /// Phase.
        phase: f64,
    },
    /// Sphere / zonal: adds `amplitude * Y_lm` (real orthonormal harmonic w.r.t. the probability
    /// measure; `m > 0` the cosine harmonic `sqrt(2) pbar_l^m cos(m ph)`, `m < 0` the sine harmonic
    /// `sqrt(2) pbar_l^|m| sin(|m| ph)`, `m = 0` the zonal one; zonal geometry: `m = 0` only).
    Harmonic {
        /// Degree `l >= 1`.
        l: usize,
        /// Order, `|m| <= l`.
        m: i64,
        /// Amplitude.
        amplitude: f64,
    },
}

fn bad_modes(spec: &str, accepted: &str) -> Error {
    Error::parameter("init-modes", spec, accepted)
}

/// Parse `--init-modes`: comma-separated `k:amplitude[:phase]` (circle) or `l:m:amplitude`
/// (sphere, zonal with `m = 0`); degrees must lie in `1..=lmax`.
pub fn parse_modes(spec: &str, geometry: Geometry, lmax: usize) -> Result<Vec<Mode>> {
    let circle = geometry == Geometry::Circle;
    let accepted = if circle {
        format!(
            "comma-separated k:amplitude[:phase] with integer 1 <= k <= {lmax} and finite numbers"
        )
    } else if geometry == Geometry::Sphere {
        format!("comma-separated l:m:amplitude with integers 1 <= l <= {lmax}, |m| <= l and a finite amplitude")
    } else {
        format!(
            "comma-separated l:0:amplitude with integer 1 <= l <= {lmax} and a finite amplitude"
        )
    };
    let mut modes = Vec::new();
    for item in spec.split(',') {
        let parts: Vec<&str> = item.trim().split(':').collect();
        let num = |s: &str| -> Result<f64> {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad_modes(spec, &accepted))
        };
        let int = |s: &str| -> Result<i64> {
            s.trim()
                .parse::<i64>()
                .map_err(|_| bad_modes(spec, &accepted))
        };
        if circle {
            if !(2..=3).contains(&parts.len()) {
                return Err(bad_modes(spec, &accepted));
            }
            let k = int(parts[0])?;
            if k < 1 || k as usize > lmax {
                return Err(bad_modes(spec, &accepted));
            }
            let phase = if parts.len() == 3 {
                num(parts[2])?
            } else {
                0.0
            };
            modes.push(Mode::Fourier {
                k: k as usize,
                amplitude: num(parts[1])?,
                phase,
            });
        } else {
            if parts.len() != 3 {
                return Err(bad_modes(spec, &accepted));
            }
            let (l, m) = (int(parts[0])?, int(parts[1])?);
            let ok = l >= 1
                && l as usize <= lmax
                && m.abs() <= l
                && (geometry == Geometry::Sphere || m == 0);
            if !ok {
                return Err(bad_modes(spec, &accepted));
            }
            modes.push(Mode::Harmonic {
                l: l as usize,
                m,
                amplitude: num(parts[2])?,
            });
        }
    }
    Ok(modes)
}

/// Coefficient index of a mode in a basis of geometry `geometry`, with the coefficient values
/// to add: `[(index, value)]`.
pub fn mode_coefficients(mode: &Mode, geometry: Geometry) -> Vec<(usize, f64)> {
    let r = std::f64::consts::FRAC_1_SQRT_2;
    match (*mode, geometry) {
        (
            Mode::Fourier {
                k,
                amplitude,
                phase,
            },
            _,
        ) => {
            // A cos(k th + ph) = (A cos ph / sqrt2) sqrt2 cos(k th) + (-A sin ph / sqrt2) sqrt2 sin(k th)
            vec![
                (2 * k - 1, amplitude * phase.cos() * r),
                (2 * k, -amplitude * phase.sin() * r),
            ]
        }
        (Mode::Harmonic { l, m, amplitude }, Geometry::Sphere) => {
            let idx = crate::spectral::SphereBasis::index(l, m.unsigned_abs() as usize, m < 0);
            vec![(idx, amplitude)]
        }
        (Mode::Harmonic { l, amplitude, .. }, _) => vec![(l, amplitude)],
    }
}

/// How to build the initial density.
#[derive(Clone, Debug, Default)]
pub struct InitialData {
    /// Prescribed modes added to the uniform density.
    pub modes: Vec<Mode>,
    /// White noise of standard deviation `sigma` at every grid point, projected onto the basis
    /// and restricted to degrees `1..=noise_lmax`.
    pub noise_sigma: Option<f64>,
    /// Random coefficients, each of variance `1/N`, for degrees `1..=noise_lmax`.
    pub n_equiv: Option<f64>,
    /// Seed of the random draws (PCG64, stream 0x5eed).
    pub seed: u64,
    /// Largest degree receiving random perturbations (default `floor(L/2)`).
    pub noise_lmax: Option<usize>,
    /// Particle positions, `N x d` row-major unit vectors.
    pub snapshot: Option<(Vec<f64>, usize)>,
    /// Heat-kernel smoothing time `eps` for the snapshot: coefficient of degree `l` multiplied by
    /// `exp(-eps l(l+d-2))`; default such that the factor at `l = L` is `1e-8`.
    pub smoothing: Option<f64>,
}

/// Default snapshot smoothing: `eps = ln(1e8) / (L(L+d-2))`.
pub fn default_smoothing(lmax: usize, dim: usize) -> f64 {
    let l = lmax.max(1) as f64;
    1e8f64.ln() / (l * (l + dim as f64 - 2.0))
}

/// Coefficients of the initial density in `basis` (mass exactly 1 except for a snapshot, whose
/// mass is 1 by construction: coefficient 0 is the empirical mean of `Y_0 = 1`).
pub fn initial_coefficients<B: Basis>(basis: &mut B, init: &InitialData) -> Result<Vec<f64>> {
    let n = basis.len();
    let lmax = basis.lmax();
    let dim = basis.dim();
    let degrees = basis.degrees().to_vec();
    let mut c = vec![0.0; n];
    c[0] = 1.0;
    if let Some((points, npts)) = &init.snapshot {
        let eps = init
            .smoothing
            .unwrap_or_else(|| default_smoothing(lmax, dim));
        let mut moments = vec![0.0; n];
        basis.point_moments(&points[..npts * dim], None, &mut moments);
        for i in 0..n {
            let l = degrees[i] as f64;
            c[i] = moments[i] * (-eps * l * (l + dim as f64 - 2.0)).exp();
        }
        c[0] = 1.0;
    }
    for mode in &init.modes {
        for (i, v) in mode_coefficients(mode, basis.geometry()) {
            c[i] += v;
        }
    }
    let noise_lmax = init.noise_lmax.unwrap_or(lmax / 2).min(lmax);
    let mut rng = Pcg64::new(init.seed as u128, 0x5eed);
    if let Some(sigma) = init.noise_sigma {
        let mut grid = vec![0.0; basis.grid_len()];
        for g in grid.iter_mut() {
            let z: f64 = rng.sample(StandardNormal);
            *g = sigma * z;
        }
        let mut w = vec![0.0; n];
        basis.analyze(&grid, &mut w);
        for i in 1..n {
            if degrees[i] <= noise_lmax {
                c[i] += w[i];
            }
        }
    }
    if let Some(nn) = init.n_equiv {
        let sd = 1.0 / nn.sqrt();
        for i in 1..n {
            let z: f64 = rng.sample(StandardNormal);
            if degrees[i] <= noise_lmax {
                c[i] += sd * z;
            }
        }
    }
    Ok(c)
}

/// Validate a particle snapshot (`N x d`, unit rows within `1e-6`) and return it normalised.
pub fn read_snapshot(path: &std::path::Path, dim: usize) -> Result<(Vec<f64>, usize)> {
    let arr = crate::io::read_npy_f64(path)?;
    let bad = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    if arr.shape.len() != 2 || arr.shape[1] != dim || arr.shape[0] == 0 {
        return Err(bad(format!(
            "expected an N x {dim} array of unit vectors (N >= 1), found shape {:?}",
            arr.shape
        )));
    }
    let npts = arr.shape[0];
    let mut data = arr.data;
    for (j, row) in data.chunks_mut(dim).enumerate() {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if !norm.is_finite() || (norm - 1.0).abs() > 1e-6 {
            return Err(bad(format!(
                "row {j} has norm {norm}: expected unit vectors (within 1e-6)"
            )));
        }
        row.iter_mut().for_each(|v| *v /= norm);
    }
    Ok((data, npts))
}
