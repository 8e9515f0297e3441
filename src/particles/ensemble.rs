//! Many independent systems at once, in parallel across systems.
//!
//! System `s` starts from `TokenState::uniform(n, d, seed, s)` (PCG stream `s`), or from a
//! common initial state; every system is integrated by [`simulate`] with the same velocity
//! field and configuration. Results are collected in system order and are independent of the
//! number of threads.

use super::run::{simulate, RunConfig, SimulationResult};
use super::state::TokenState;
use super::velocity::VelocityField;
use crate::Result;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Snapshot callback `(system, step, time, x)`.
pub type SnapshotFn<'a> = dyn Fn(usize, usize, f64, &[f64]) -> Result<()> + Sync + 'a;

/// Per-system results, in system order.
pub struct EnsembleResult {
    /// One result per system.
    pub systems: Vec<SimulationResult>,
}

impl EnsembleResult {
    /// Mean over systems of `f(row)` at each row index (all systems share the time grid).
    pub fn mean_series(&self, f: impl Fn(&super::run::SeriesRow) -> f64) -> Vec<f64> {
        let rows = self.systems[0].rows.len();
        (0..rows)
            .map(|r| {
                self.systems.iter().map(|s| f(&s.rows[r])).sum::<f64>() / self.systems.len() as f64
            })
            .collect()
    }
}

/// Run `systems` systems. `init` gives a common initial state; otherwise system `s` draws iid
/// uniform tokens from `(seed, s)`. `snapshot(system, step, time, x)` is called as in
/// [`simulate`]; `progress(done_systems)` after each finished system.
#[allow(clippy::too_many_arguments)]
pub fn run_ensemble(
    cfg: &RunConfig,
    field: &dyn VelocityField,
    n: usize,
    systems: usize,
    seed: u64,
    init: Option<&TokenState>,
    snapshot: &SnapshotFn,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<EnsembleResult> {
    let dim = field.dim();
    let done = AtomicUsize::new(0);
    let results: Vec<Result<SimulationResult>> = (0..systems)
        .into_par_iter()
        .map(|s| {
            let x0 = match init {
                Some(st) => st.x.clone(),
                None => TokenState::uniform(n, dim, seed, s as u64).x,
            };
            let mut snap = |step: usize, t: f64, x: &[f64]| snapshot(s, step, t, x);
            let r = simulate(cfg, field, x0, &mut snap, &|_| {});
            progress(done.fetch_add(1, Ordering::SeqCst) + 1);
            r
        })
        .collect();
    let systems = results.into_iter().collect::<Result<Vec<_>>>()?;
    Ok(EnsembleResult { systems })
}
