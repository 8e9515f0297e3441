//! attnflow: self-attention as a system of interacting particles on the sphere `S^{d-1}`.
//!
//! Conventions: densities are taken with respect to the uniform
//! *probability* measure `sigma` on the sphere, so the uniform state is `rho = 1`;
//! the attention kernel is `K(x, y) = exp(beta <x, y>)`; USA is the unnormalised model,
//! SA the softmax-normalised one.
//!
//! The library is organised one concept per module:
//!
//! - [`special`]: Bessel `I_nu` (scaled and logarithmic), Gegenbauer polynomials, Gauss quadrature.
//! - [`linear`]: Funk–Hecke eigenvalues, linear growth rates, the dominant degree `l*`, thresholds.
//! - [`particles`]: the finite-N token system, exact and fast summation, integrators.
//! - [`spectral`]: circle, sphere and zonal bases behind one trait.
//! - [`equiangular`]: the scalar ODE of equiangular token configurations.
//! - [`pde`]: the mean-field continuity equation, one right-hand side for every basis.
//! - [`analysis`]: harmonic power, fits, cluster detection.
//! - [`plot`]: figures with an embedded font.
//! - [`io`]: atomic writes, `.npy`, CSV and JSON outputs.
//! - [`run`]: runs as data — specifications, config files, the run record, checkpoints and
//!   resume; [`control`]: stop requests, checkpoint schedule and progress of a run.

pub mod analysis;
pub mod butcher;
pub mod compare;
pub mod control;
pub mod equiangular;
pub mod error;
pub mod gallery;
pub mod io;
pub mod linear;
pub mod linear_noise;
pub mod model;
pub mod particles;
pub mod pde;
pub mod plot;
pub mod run;
pub mod special;
pub mod spectral;
pub mod stationary;
pub mod sweep;
pub mod view;

pub use error::{Error, Result};
pub use model::{Model, TimeScale, TimeUnit};
