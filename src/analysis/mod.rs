//! Diagnostics of token configurations: rotation-invariant harmonic power, cluster detection and
//! energy (issue 3); growth-rate fits are added by later issues.

pub mod clusters;
pub mod energy;
pub mod power;

pub use clusters::{find_clusters, ClusterParams, Clusters};
pub use energy::{energy_from_power, energy_pairwise};
pub use power::{harmonic_power, harmonic_power_pairwise, zonal_kernels};
