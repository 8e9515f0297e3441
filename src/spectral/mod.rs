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
pub mod points;
mod rings;
pub mod simd;
mod sphere;
pub(crate) mod zonal;

pub use circle::CircleBasis;
pub use simd::SimdPath;
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

/// Work space of the transforms of a [`Basis`], owned by the caller (the `&self` style of
/// rustfft's `process_with_scratch`): make one with [`Basis::make_scratch`] and pass it to
/// [`Basis::synthesize_with_scratch`] / [`Basis::analyze_with_scratch`]. A scratch made by
/// another basis (or an empty one) is resized on first use, so any scratch is accepted.
#[derive(Default)]
pub struct Scratch {
    inner: ScratchKind,
}

#[derive(Default)]
enum ScratchKind {
    #[default]
    Empty,
    Circle(circle::CircleScratch),
    Sphere(Box<sphere::SphereScratch>),
}

impl Scratch {
    /// An empty scratch (sized by the first transform that uses it).
    pub fn new() -> Self {
        Self::default()
    }
}

/// A real orthonormal harmonic basis with its own quadrature grid and point evaluation.
///
/// Transforms take `&self` plus a caller-owned [`Scratch`]; the basis itself is immutable and
/// shareable between threads. `Box<dyn Basis>` is itself a `Basis`: refinement
/// ([`Basis::refined`]) and the solver work without knowing the geometry.
pub trait Basis: Send + Sync {
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

    /// A scratch sized for this basis.
    fn make_scratch(&self) -> Scratch;
    /// Synthesis: `grid[j] = sum_i coeffs[i] Y_i(x_j)`.
    fn synthesize_with_scratch(&self, coeffs: &[f64], grid: &mut [f64], scratch: &mut Scratch);
    /// Analysis: `coeffs[i] = sum_j w_j grid[j] Y_i(x_j)` (exact for fields of degree `<= 2L`
    /// on the dealiased grid).
    fn analyze_with_scratch(&self, grid: &[f64], coeffs: &mut [f64], scratch: &mut Scratch);
    /// [`Basis::synthesize_with_scratch`] with a temporary scratch.
    fn synthesize(&self, coeffs: &[f64], grid: &mut [f64]) {
        self.synthesize_with_scratch(coeffs, grid, &mut self.make_scratch())
    }
    /// [`Basis::analyze_with_scratch`] with a temporary scratch.
    fn analyze(&self, grid: &[f64], coeffs: &mut [f64]) {
        self.analyze_with_scratch(grid, coeffs, &mut self.make_scratch())
    }

    /// The same kind of basis (same geometry and dimension) at another largest degree.
    fn refined(&self, lmax: usize) -> Box<dyn Basis>;
    /// The same kind of basis at another largest degree, as the concrete type.
    fn with_lmax(&self, lmax: usize) -> Self
    where
        Self: Sized;

    /// Values `Y_i(x)` of every basis function at the unit vector `x in R^d` (length `d`).
    fn evaluate_at(&self, x: &[f64], out: &mut [f64]);
    /// Moments of a point set: `moments[i] = sum_j m_j Y_i(x_j)` for the unit rows `points`
    /// (`N x d`) with masses `mass` (`m_j = 1/N` when `None`: the empirical measure).
    fn point_moments(&self, points: &[f64], mass: Option<&[f64]>, moments: &mut [f64]);
    /// Values `values[j] = sum_i coeffs[i] Y_i(x_j)` at the unit rows `points` (`N x d`).
    fn evaluate_points(&self, coeffs: &[f64], points: &[f64], values: &mut [f64]);
    /// Values and tangential gradients (`N x d`, in `R^d`) of `sum_i coeffs[i] Y_i` at the
    /// unit rows `points`.
    fn gradient_points(
        &self,
        coeffs: &[f64],
        points: &[f64],
        values: &mut [f64],
        gradients: &mut [f64],
    );

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

impl Basis for Box<dyn Basis> {
    fn geometry(&self) -> Geometry {
        (**self).geometry()
    }
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn lmax(&self) -> usize {
        (**self).lmax()
    }
    fn len(&self) -> usize {
        (**self).len()
    }
    fn degrees(&self) -> &[usize] {
        (**self).degrees()
    }
    fn grid_shape(&self) -> Vec<usize> {
        (**self).grid_shape()
    }
    fn grid_len(&self) -> usize {
        (**self).grid_len()
    }
    fn grid_weights(&self) -> &[f64] {
        (**self).grid_weights()
    }
    fn make_scratch(&self) -> Scratch {
        (**self).make_scratch()
    }
    fn synthesize_with_scratch(&self, coeffs: &[f64], grid: &mut [f64], scratch: &mut Scratch) {
        (**self).synthesize_with_scratch(coeffs, grid, scratch)
    }
    fn analyze_with_scratch(&self, grid: &[f64], coeffs: &mut [f64], scratch: &mut Scratch) {
        (**self).analyze_with_scratch(grid, coeffs, scratch)
    }
    fn refined(&self, lmax: usize) -> Box<dyn Basis> {
        (**self).refined(lmax)
    }
    fn with_lmax(&self, lmax: usize) -> Self {
        (**self).refined(lmax)
    }
    fn evaluate_at(&self, x: &[f64], out: &mut [f64]) {
        (**self).evaluate_at(x, out)
    }
    fn point_moments(&self, points: &[f64], mass: Option<&[f64]>, moments: &mut [f64]) {
        (**self).point_moments(points, mass, moments)
    }
    fn evaluate_points(&self, coeffs: &[f64], points: &[f64], values: &mut [f64]) {
        (**self).evaluate_points(coeffs, points, values)
    }
    fn gradient_points(
        &self,
        coeffs: &[f64],
        points: &[f64],
        values: &mut [f64],
        gradients: &mut [f64],
    ) {
        (**self).gradient_points(coeffs, points, values, gradients)
    }
    fn laplacian_eigenvalue(&self, i: usize) -> f64 {
        (**self).laplacian_eigenvalue(i)
    }
    fn kernel_multipliers(&self, beta: f64) -> Vec<f64> {
        (**self).kernel_multipliers(beta)
    }
    fn power_spectrum(&self, coeffs: &[f64]) -> Vec<f64> {
        (**self).power_spectrum(coeffs)
    }
}

/// The basis of `geometry` up to degree `lmax` on its dealiased grid (`dim` is used by the
/// zonal basis; the circle and the sphere have `d = 2` and `d = 3`).
pub fn basis_for(geometry: Geometry, lmax: usize, dim: usize) -> Box<dyn Basis> {
    match geometry {
        Geometry::Circle => Box::new(CircleBasis::new(lmax)),
        Geometry::Sphere => Box::new(SphereBasis::new(lmax)),
        Geometry::Zonal => Box::new(ZonalBasis::new(lmax, dim)),
    }
}

/// Masses of a point set: `mass[j]`, or `1/N` for every point when `None`.
#[inline]
pub(crate) fn point_mass(mass: Option<&[f64]>, n: usize, j: usize) -> f64 {
    match mass {
        Some(m) => m[j],
        None => 1.0 / n as f64,
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
