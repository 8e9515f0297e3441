//! The diagnostics of one output row of a particle run (issue 12): the harmonic power
//! `C_0..C_L` ([`crate::analysis::harmonic_power`], from moments) and the cluster sizes
//! ([`ClusterFinder::sizes`]), computed side by side on the rayon pool, with the cluster
//! finder's buffers kept from row to row. The energy of a row is the step's own (the weights
//! the integrator already summed).

use super::clusters::{ClusterFinder, ClusterParams};
use super::power::harmonic_power;

/// Diagnostics of a row, keeping buffers between rows (one per run).
#[derive(Default)]
pub struct RowDiagnostics {
    finder: ClusterFinder,
}

impl RowDiagnostics {
    /// Empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// `(C_0..=C_lmax, cluster sizes largest first)` of the unit rows `x` (`N x dim`).
    pub fn compute(
        &mut self,
        x: &[f64],
        dim: usize,
        lmax: usize,
        params: &ClusterParams,
    ) -> (Vec<f64>, Vec<usize>) {
        let finder = &mut self.finder;
        rayon::join(
            || harmonic_power(x, dim, lmax),
            || finder.sizes(x, dim, params),
        )
    }
}
