//! Token states: `N` points on `S^{d-1}` stored row-major (`N x d`, `f64`).

use crate::{Error, Result};
use rand::RngExt;
use rand_distr::StandardNormal;
use rand_pcg::Pcg64;
use std::path::Path;

/// `N` tokens on the unit sphere `S^{d-1}`, row-major: token `i` is `x[i*d .. (i+1)*d]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenState {
    /// Number of tokens `N`.
    pub n: usize,
    /// Ambient dimension `d` (tokens live on `S^{d-1}`).
    pub dim: usize,
    /// Coordinates, row-major `N x d`.
    pub x: Vec<f64>,
}

/// Fixed increment used to turn a user seed into a PCG state (any odd constant works; this keeps
/// seed 0 away from the all-zero state).
const SEED_MIX: u128 = 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835;

/// A PCG64 generator for `(seed, stream)`: distinct streams are statistically independent, so
/// system `s` of an ensemble uses stream `s` and results do not depend on the thread count.
pub fn rng_for(seed: u64, stream: u64) -> Pcg64 {
    Pcg64::new(
        (seed as u128).wrapping_mul(SEED_MIX) ^ SEED_MIX,
        stream as u128,
    )
}

impl TokenState {
    /// A state from raw row-major coordinates (checked: length, finite, non-zero rows), each row
    /// normalised to unit length. Returns the state and the number of rows that were not unit
    /// vectors to within `1e-12` (the caller may warn).
    pub fn from_rows(n: usize, dim: usize, mut x: Vec<f64>) -> Result<(Self, usize)> {
        if dim < 2 {
            return Err(Error::parameter("dim", dim, "an integer >= 2"));
        }
        if n < 1 {
            return Err(Error::parameter("n", n, "an integer >= 1"));
        }
        if x.len() != n * dim {
            return Err(Error::Numerical(format!(
                "token state: {} values for {n} tokens in dimension {dim}",
                x.len()
            )));
        }
        let mut renormalised = 0;
        for (i, row) in x.chunks_exact_mut(dim).enumerate() {
            if row.iter().any(|v| !v.is_finite()) {
                return Err(Error::Numerical(format!(
                    "token {i} has a non-finite coordinate"
                )));
            }
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm == 0.0 {
                return Err(Error::Numerical(format!(
                    "token {i} is the zero vector and cannot be put on the sphere"
                )));
            }
            if (norm - 1.0).abs() > 1e-12 {
                renormalised += 1;
            }
            row.iter_mut().for_each(|v| *v /= norm);
        }
        Ok((TokenState { n, dim, x }, renormalised))
    }

    /// `N` iid tokens uniform on `S^{d-1}` (normalised standard Gaussian vectors) drawn from
    /// `rng_for(seed, stream)`, sequentially, so the result depends only on `(seed, stream)`.
    pub fn uniform(n: usize, dim: usize, seed: u64, stream: u64) -> Self {
        let mut rng = rng_for(seed, stream);
        let mut x = vec![0.0; n * dim];
        for row in x.chunks_exact_mut(dim) {
            loop {
                for v in row.iter_mut() {
                    *v = rng.sample(StandardNormal);
                }
                let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm > 1e-150 {
                    row.iter_mut().for_each(|v| *v /= norm);
                    break;
                }
            }
        }
        TokenState { n, dim, x }
    }

    /// Load an `N x d` `float64` array from a `.npy` file. Rejected with [`Error::Input`]:
    /// unreadable or malformed files, arrays that are not 2-D, `N < 1`, `d` different from
    /// `expected_dim` (when given) or `< 2`, rows with NaN/infinite entries or zero rows.
    /// Rows that are not unit vectors are normalised; their count is returned.
    pub fn from_npy(path: &Path, expected_dim: Option<usize>) -> Result<(Self, usize)> {
        let bad = |message: String| Error::Input {
            path: path.to_path_buf(),
            message,
        };
        let arr = crate::io::read_npy_f64(path)?;
        if arr.shape.len() != 2 {
            return Err(bad(format!(
                "expected a 2-D array of shape (N, d), found shape {:?}",
                arr.shape
            )));
        }
        let (n, dim) = (arr.shape[0], arr.shape[1]);
        if n < 1 {
            return Err(bad("the array holds no tokens (N = 0)".into()));
        }
        if dim < 2 {
            return Err(bad(format!("dimension d = {dim}; accepted d >= 2")));
        }
        if let Some(d) = expected_dim {
            if d != dim {
                return Err(bad(format!("array has d = {dim} columns but dim is {d}")));
            }
        }
        Self::from_rows(n, dim, arr.data).map_err(|e| bad(e.to_string()))
    }

    /// Token `i` as a slice of length `d`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.dim..(i + 1) * self.dim]
    }

    /// Normalise every row to unit length (the retraction onto the sphere).
    pub fn normalise(&mut self) {
        normalise_rows(&mut self.x, self.dim);
    }
}

/// Normalise every row (length `dim`) of `x` to unit Euclidean length.
pub fn normalise_rows(x: &mut [f64], dim: usize) {
    for row in x.chunks_exact_mut(dim) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
    }
}
