//! Diagnostics of token configurations and time series: rotation-invariant harmonic power,
//! cluster detection and energy (issue 3); least-squares growth fits, plateaus and merge events
//! (issue 5).

pub mod clusters;
pub mod energy;
pub mod events;
pub mod fit;
pub mod power;
pub(crate) mod radix;
pub mod row;

pub use clusters::{
    find_clusters, find_clusters_reference, ClusterFinder, ClusterParams, Clusters,
};
pub use energy::{energy_from_power, energy_pairwise};
pub use power::{harmonic_power, harmonic_power_pairwise, zonal_kernels};
pub use row::RowDiagnostics;
