//! Particle runs in memory with every output a file run writes: the diagnostics rows, the saved
//! states (`x_<step>.npy` of a file run) and the final state, for front ends that hand results
//! back as arrays (the Python package) instead of files.
//!
//! [`particles_in_memory`] integrates exactly what [`super::particles::execute`] integrates for
//! the same plan (same initial states, same steps), so its rows and states equal those of the
//! file run of the same specification bit for bit.

use super::particles::{series_values, ParticlesPlan};
use crate::control::{Poll, RunControl};
use crate::particles::{
    build_velocity_field, initial_state, MergeEvent, SeriesRow, Simulation, SimulationSink,
    SnapshotInfo,
};
use crate::Result;
use std::sync::Mutex;

/// One saved state of a system.
#[derive(Clone, Debug)]
pub struct MemorySnapshot {
    /// Accepted steps when it was saved.
    pub step: usize,
    /// Physical time.
    pub t: f64,
    /// Internal time.
    pub tau: f64,
    /// `N x d` unit rows, row-major (the content of `x_<step>.npy`).
    pub x: Vec<f64>,
}

/// Everything one system of a particle run produced.
#[derive(Clone, Debug)]
pub struct MemorySystem {
    /// Rows of `series.csv` (columns [`super::particles::series_columns`], no `system` column).
    pub series: Vec<Vec<f64>>,
    /// Saved states, in the order they were taken (initial first, final last).
    pub snapshots: Vec<MemorySnapshot>,
    /// Accepted steps.
    pub steps: usize,
    /// Rejected adaptive steps.
    pub rejected: usize,
    /// Largest relative energy identity error (NaN for SA).
    pub max_identity_error: f64,
    /// Final cluster sizes, largest first.
    pub final_cluster_sizes: Vec<usize>,
    /// Merge events.
    pub merges: Vec<MergeEvent>,
}

/// Results of an in-memory particle run.
#[derive(Clone, Debug)]
pub struct MemoryParticles {
    /// One entry per system of the ensemble.
    pub systems: Vec<MemorySystem>,
    /// Summation method actually used (with its truncation).
    pub method: String,
}

struct Keep<'a> {
    plan: &'a ParticlesPlan,
    system: usize,
    snapshots: Vec<MemorySnapshot>,
    report: &'a (dyn Fn(usize, f64) + Sync),
}

impl SimulationSink for Keep<'_> {
    fn snapshot(&mut self, info: &SnapshotInfo, x: &[f64]) -> Result<()> {
        self.snapshots.push(MemorySnapshot {
            step: info.step,
            t: self.plan.scale.t_of_tau(info.time),
            tau: info.time,
            x: x.to_vec(),
        });
        Ok(())
    }
    fn progress(&mut self, fraction: f64) {
        (self.report)(self.system, fraction)
    }
}

/// Run a resolved particle plan in memory, keeping the rows and every saved state. A stop
/// request on `ctl` ends it with [`crate::Error::Interrupted`] between steps.
pub fn particles_in_memory(plan: &ParticlesPlan, ctl: &RunControl) -> Result<MemoryParticles> {
    use rayon::prelude::*;
    let field = build_velocity_field(
        plan.method,
        plan.dim,
        plan.beta,
        plan.model,
        plan.n,
        plan.summation_tol,
    )?;
    let m = plan.ensemble;
    let fractions: Vec<Mutex<f64>> = (0..m).map(|_| Mutex::new(0.0)).collect();
    let report = |s: usize, f: f64| {
        if let Ok(mut v) = fractions[s].lock() {
            *v = f;
        }
        let mean = fractions
            .iter()
            .map(|v| *v.lock().unwrap_or_else(|e| e.into_inner()))
            .sum::<f64>()
            / m as f64;
        ctl.progress(mean, "particles");
    };
    let run_one = |s: usize| -> Result<MemorySystem> {
        ctl.check()?;
        // The same noise stream as the file executor (counter-based on seed, system, step).
        let mut sim = Simulation::new(
            &plan.cfg,
            field.as_ref(),
            initial_state(plan.n, plan.dim, plan.seed, s, plan.init.as_ref()),
        )
        .with_noise(
            (plan.nu_internal > 0.0)
                .then(|| crate::particles::Noise::new(plan.nu_internal, plan.seed, s as u64)),
        );
        let mut sink = Keep {
            plan,
            system: s,
            snapshots: Vec::new(),
            report: &report,
        };
        let stop = || match ctl.poll_stop() {
            Poll::Stop => Poll::Stop,
            _ => Poll::Continue,
        };
        sim.run(&mut sink, &stop)?;
        let r = sim.into_result();
        Ok(MemorySystem {
            series: r
                .rows
                .iter()
                .map(|row: &SeriesRow| series_values(row, &plan.scale))
                .collect(),
            snapshots: sink.snapshots,
            steps: r.steps,
            rejected: r.rejected,
            max_identity_error: r.max_identity_error,
            final_cluster_sizes: r.final_cluster_sizes,
            merges: r.merges,
        })
    };
    let results: Vec<Result<MemorySystem>> = (0..m).into_par_iter().map(run_one).collect();
    let systems = super::particles::collect_systems(results)?;
    Ok(MemoryParticles {
        systems,
        method: field.description(),
    })
}
