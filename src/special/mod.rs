//! Special functions: modified Bessel `I_nu` (exponentially scaled and logarithmic),
//! Gegenbauer polynomials, and Gauss quadrature rules.

pub mod bessel;
pub(crate) mod dd;
pub mod funk_hecke;
pub mod gegenbauer;
pub mod legendre;
pub mod quadrature;

pub use bessel::{
    bessel_i_ratio, bessel_i_scaled, ln_bessel_i, ln_bessel_i_orders, ln_bessel_i_scaled,
};
pub use gegenbauer::{
    gegenbauer, gegenbauer_normalized, gegenbauer_normalized_all, harmonic_dimension,
    ln_gegenbauer_at_one, ln_harmonic_dimension,
};
pub use quadrature::{
    gauss_gegenbauer, gauss_legendre, gegenbauer_weight_mass, sphere_zonal_rule,
    sphere_zonal_rule_with_complements, Quadrature,
};
