//! Harmonic power, growth-rate fits, cluster detection, energy (issues 3 and 5).

pub mod events;
pub mod fit;
