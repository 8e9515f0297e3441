//! Many independent systems at once, in parallel across systems.
//!
//! System `s` starts from `TokenState::uniform(n, d, seed, s)` (PCG stream `s`), or from a
//! common initial state; every system is integrated by [`simulate`] with the same velocity
//! field and configuration. Results are collected in system order and are independent of the
//! number of threads.

use super::run::{simulate, RunConfig, SeriesRow, SimulationResult};
use super::state::TokenState;
use super::velocity::VelocityField;
use crate::control::Poll;
use crate::Result;
use rayon::prelude::*;

/// Per-system results, in system order.
pub struct EnsembleResult {
    /// One result per system.
    pub systems: Vec<SimulationResult>,
}

impl EnsembleResult {
    /// Mean over systems of `f(row)` at each row index (all systems share the time grid).
    pub fn mean_series(&self, f: impl Fn(&SeriesRow) -> f64) -> Vec<f64> {
        let rows = self.systems[0].rows.len();
        (0..rows)
            .map(|r| {
                self.systems.iter().map(|s| f(&s.rows[r])).sum::<f64>() / self.systems.len() as f64
            })
            .collect()
    }
}

/// The initial state of system `s`: `init` if given, otherwise `N` iid uniform tokens from
/// PCG stream `s` of `seed`.
pub fn initial_state(
    n: usize,
    dim: usize,
    seed: u64,
    s: usize,
    init: Option<&TokenState>,
) -> Vec<f64> {
    match init {
        Some(st) => st.x.clone(),
        None => TokenState::uniform(n, dim, seed, s as u64).x,
    }
}

/// Run `systems` systems in memory; `poll` is asked after every step of every system (a
/// [`Poll::Stop`] ends the ensemble with [`crate::Error::Interrupted`]; checkpoint requests are
/// ignored: ensembles run this way restart whole).
pub fn run_ensemble(
    cfg: &RunConfig,
    field: &dyn VelocityField,
    n: usize,
    systems: usize,
    seed: u64,
    init: Option<&TokenState>,
    poll: &(dyn Fn() -> Poll + Sync),
) -> Result<EnsembleResult> {
    let dim = field.dim();
    let stop_only = || match poll() {
        Poll::Stop => Poll::Stop,
        _ => Poll::Continue,
    };
    let results: Vec<Result<SimulationResult>> = (0..systems)
        .into_par_iter()
        .map(|s| {
            let x0 = initial_state(n, dim, seed, s, init);
            simulate(cfg, field, x0, &mut (), &stop_only)
        })
        .collect();
    let systems = results.into_iter().collect::<Result<Vec<_>>>()?;
    Ok(EnsembleResult { systems })
}
