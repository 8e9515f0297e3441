//! Circle, sphere and zonal bases behind one small trait (DESIGN.md section 3).
//!
//! Every basis is *real* and *orthonormal with respect to the uniform probability measure*
//! `sigma` of its geometry, and orders its coefficients by degree, so that
//!
//! - coefficient 0 is the mean `int rho dsigma` (the mass),
//! - the coefficients of degree `<= L'` form a prefix of the vector for every `L' <= L`
//!   (padding to a larger `L` is appending zeros, truncation is taking a prefix),
//! - the rotation-invariant power of degree `l` is `C_l = sum_{deg(i) = l} f_i^2`, the
//!   normalisation of the particle simulator (`C_l ~ dim(H_l)/N` for `N` iid uniform tokens).
//!
//! Each basis owns a *dealiased* grid (3/2 rule): products of two fields of degree `<= L`
//! are integrated exactly against every basis function of degree `<= L`, so Galerkin
//! projections of quadratic terms are free of aliasing.

mod circle;
mod sphere;
mod zonal;

pub use circle::CircleBasis;
pub use sphere::SphereBasis;
pub use zonal::ZonalBasis;

/// The three geometries of the mean-field solver.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Geometry {
    /// The circle `S^1` (`d = 2`), Fourier modes.
    Circle,
    /// The 2-sphere `S^2` (`d = 3`), spherical harmonics.
    Sphere,
    /// Axisymmetric (zonal) densities on `S^{d-1}`, any `d >= 2`, Gegenbauer basis.
    Zonal,
}

impl Geometry {
    /// Lower-case name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Geometry::Circle => "circle",
            Geometry::Sphere => "sphere",
            Geometry::Zonal => "zonal",
        }
    }
}

/// A real orthonormal harmonic basis with its own dealiased quadrature grid.
///
/// Transforms take `&mut self` so that implementations can reuse internal scratch buffers
/// (no allocation per call).
pub trait Basis: Send {
    /// Geometry of the basis.
    fn geometry(&self) -> Geometry;
    /// Ambient dimension `d` of `S^{d-1}`.
    fn dim(&self) -> usize;
    /// Largest degree `L`.
    fn lmax(&self) -> usize;
    /// Number of real coefficients.
    fn len(&self) -> usize {
        self.degrees().len()
    }
    /// Always false (a basis holds at least the constant).
    fn is_empty(&self) -> bool {
        false
    }
    /// Degree `l` of each coefficient (non-decreasing).
    fn degrees(&self) -> &[usize];
    /// Shape of the grid (outermost first); the grid values are stored flat in C order.
    fn grid_shape(&self) -> Vec<usize>;
    /// Number of grid points.
    fn grid_len(&self) -> usize {
        self.grid_shape().iter().product()
    }
    /// Quadrature weights of the grid for the probability measure (`sum = 1`).
    fn grid_weights(&self) -> &[f64];
    /// Synthesis: `grid[j] = sum_i coeffs[i] Y_i(x_j)`.
    fn synthesize(&mut self, coeffs: &[f64], grid: &mut [f64]);
    /// Analysis: `coeffs[i] = sum_j w_j grid[j] Y_i(x_j)` (exact for fields of degree `<= 2L`).
    fn analyze(&mut self, grid: &[f64], coeffs: &mut [f64]);
    /// The same kind of basis at another largest degree.
    fn with_lmax(&self, lmax: usize) -> Self
    where
        Self: Sized;
    /// Values `Y_i(x)` of every basis function at the unit vector `x in R^d` (length `d`).
    fn evaluate_at(&self, x: &[f64], out: &mut [f64]);

    /// Laplace–Beltrami eigenvalue `-l(l+d-2)` of coefficient `i`.
    fn laplacian_eigenvalue(&self, i: usize) -> f64 {
        let l = self.degrees()[i] as f64;
        -l * (l + self.dim() as f64 - 2.0)
    }

    /// Funk–Hecke multiplier of the *scaled* kernel `exp(beta(<x,y> - 1))` for every coefficient:
    /// `e^{-beta} lambda_l(beta, d)` (see [`crate::linear::ln_funk_hecke_eigenvalue`]).
    fn kernel_multipliers(&self, beta: f64) -> Vec<f64> {
        let per_degree: Vec<f64> = (0..=self.lmax())
            .map(|l| (crate::linear::ln_funk_hecke_eigenvalue(l, beta, self.dim()) - beta).exp())
            .collect();
        self.degrees().iter().map(|&l| per_degree[l]).collect()
    }

    /// Rotation-invariant power `C_l = sum_{deg(i)=l} f_i^2` for `l = 0..=L`.
    fn power_spectrum(&self, coeffs: &[f64]) -> Vec<f64> {
        let mut p = vec![0.0; self.lmax() + 1];
        for (c, &l) in coeffs.iter().zip(self.degrees()) {
            p[l] += c * c;
        }
        p
    }
}

/// Smallest `n >= min` of the form `2^a 3^b 5^c` with `n` even (fast real FFT sizes).
pub fn fft_size(min: usize) -> usize {
    let mut n = min.max(2);
    loop {
        if n.is_multiple_of(2) {
            let mut m = n;
            for p in [2, 3, 5] {
                while m.is_multiple_of(p) {
                    m /= p;
                }
            }
            if m == 1 {
                return n;
            }
        }
        n += 1;
    }
}

/// Copy `src` (coefficients of a basis with fewer or more degrees) into `dst`, padding with
/// zeros or truncating: valid because every basis orders coefficients by degree.
pub fn resize_coefficients(src: &[f64], dst: &mut [f64]) {
    let n = src.len().min(dst.len());
    dst[..n].copy_from_slice(&src[..n]);
    dst[n..].iter_mut().for_each(|v| *v = 0.0);
}
