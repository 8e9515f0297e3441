//! One simulation: integrate a token system and record diagnostics on a time grid.

use super::integrate::{Integrator, StepControl};
use super::velocity::VelocityField;
use crate::analysis::{find_clusters, harmonic_power, ClusterParams};
use crate::Result;

/// What to run (all times in the internal unit: `tau` for USA, `t` for SA).
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Final time.
    pub t_end: f64,
    /// Step control.
    pub control: StepControl,
    /// Largest degree `Lp` of the recorded harmonic power `C_1..C_Lp`.
    pub lmax_power: usize,
    /// Save a snapshot every this many accepted steps (the initial and final states are always
    /// saved).
    pub save_every: Option<usize>,
    /// Number of intervals of the diagnostics grid (rows are recorded at `k t_end / P` for the
    /// adaptive method, every `ceil(steps / P)` steps for RK4, and always at the end).
    pub series_points: usize,
    /// Cluster definition.
    pub clusters: ClusterParams,
}

/// Snapshot callback `(step, time, x)`.
pub type SnapshotSink<'a> = dyn FnMut(usize, f64, &[f64]) -> Result<()> + 'a;

/// Diagnostics at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRow {
    /// Time (internal unit).
    pub time: f64,
    /// Accepted steps so far.
    pub step: usize,
    /// `E_N` with the scaled kernel.
    pub energy: f64,
    /// `(1/N) sum_i |dx_i/d(internal time)|^2`.
    pub speed2: f64,
    /// Number of clusters.
    pub clusters: usize,
    /// Fraction of tokens in the largest cluster (0 without clusters).
    pub largest_cluster: f64,
    /// `C_1..C_Lp`.
    pub power: Vec<f64>,
    /// Largest relative energy identity error over the steps since the previous row (NaN on the
    /// first row).
    pub identity_error: f64,
}

/// A saved state.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SnapshotInfo {
    /// Accepted steps when it was taken.
    pub step: usize,
    /// Time (internal unit).
    pub time: f64,
}

/// Outcome of [`simulate`].
#[derive(Clone, Debug)]
pub struct SimulationResult {
    /// Diagnostics rows.
    pub rows: Vec<SeriesRow>,
    /// Snapshots that were handed to the callback.
    pub snapshots: Vec<SnapshotInfo>,
    /// Accepted steps.
    pub steps: usize,
    /// Rejected adaptive steps.
    pub rejected: usize,
    /// Largest relative energy identity error over all steps (NaN for SA).
    pub max_identity_error: f64,
    /// Final state (row-major unit rows).
    pub final_x: Vec<f64>,
    /// Cluster sizes of the final state, largest first.
    pub final_cluster_sizes: Vec<usize>,
}

fn row_of(it: &Integrator, dim: usize, cfg: &RunConfig, identity_error: f64) -> SeriesRow {
    let power = harmonic_power(&it.x, dim, cfg.lmax_power);
    let cl = find_clusters(&it.x, dim, &cfg.clusters);
    let n = it.x.len() / dim;
    SeriesRow {
        time: it.time,
        step: it.steps,
        energy: it.energy(),
        speed2: it.speed2(),
        clusters: cl.count(),
        largest_cluster: cl.sizes.first().map_or(0.0, |&s| s as f64 / n as f64),
        power: power[1..].to_vec(),
        identity_error,
    }
}

/// Integrate from the unit rows `x0` to `cfg.t_end`. `snapshot(step, time, x)` is called for
/// the initial state, every `save_every` steps and the final state; `progress(fraction)` after
/// every step.
pub fn simulate(
    cfg: &RunConfig,
    field: &dyn VelocityField,
    x0: Vec<f64>,
    snapshot: &mut SnapshotSink,
    progress: &dyn Fn(f64),
) -> Result<SimulationResult> {
    let dim = field.dim();
    let (control, row_every) = match cfg.control {
        StepControl::Rk4 { dt } => {
            let steps = ((cfg.t_end / dt) * (1.0 - 1e-12)).ceil().max(1.0) as usize;
            let h = cfg.t_end / steps as f64;
            let every = steps.div_ceil(cfg.series_points.max(1));
            (StepControl::Rk4 { dt: h }, Some((h, every, steps)))
        }
        c => (c, None),
    };
    let mut it = Integrator::new(field, x0, control);
    let mut rows = vec![row_of(&it, dim, cfg, f64::NAN)];
    let mut snaps = vec![SnapshotInfo { step: 0, time: 0.0 }];
    snapshot(0, 0.0, &it.x)?;
    let mut max_err: f64 = 0.0;
    let mut seg_err: f64 = 0.0;
    let mut failure: Option<crate::Error> = None;
    let targets: Vec<f64> = match row_every {
        Some((h, every, steps)) => {
            let mut t = Vec::new();
            let mut k = every;
            while k < steps {
                t.push(h * k as f64);
                k += every;
            }
            t.push(cfg.t_end);
            t
        }
        None => {
            let p = cfg.series_points.max(1);
            (1..=p).map(|k| cfg.t_end * k as f64 / p as f64).collect()
        }
    };
    let last = targets.len() - 1;
    for (ti, &target) in targets.iter().enumerate() {
        let target = if ti == last { cfg.t_end } else { target };
        let mut saved_at = usize::MAX;
        it.advance_to(target, |it, r| {
            if !r.identity_error.is_nan() {
                seg_err = seg_err.max(r.identity_error);
            }
            if let Some(k) = cfg.save_every {
                if k > 0 && it.steps % k == 0 && failure.is_none() {
                    saved_at = it.steps;
                    if let Err(e) = snapshot(it.steps, it.time, &it.x) {
                        failure = Some(e);
                    }
                    snaps.push(SnapshotInfo {
                        step: it.steps,
                        time: it.time,
                    });
                }
            }
            progress(it.time / cfg.t_end);
        });
        if let Some(e) = failure.take() {
            return Err(e);
        }
        max_err = max_err.max(seg_err);
        let sa = field.model() == crate::Model::Sa;
        rows.push(row_of(&it, dim, cfg, if sa { f64::NAN } else { seg_err }));
        seg_err = 0.0;
        if ti == last && saved_at != it.steps {
            snapshot(it.steps, it.time, &it.x)?;
            snaps.push(SnapshotInfo {
                step: it.steps,
                time: it.time,
            });
        }
    }
    let final_cluster_sizes = find_clusters(&it.x, dim, &cfg.clusters).sizes;
    Ok(SimulationResult {
        rows,
        snapshots: snaps,
        steps: it.steps,
        rejected: it.rejected,
        max_identity_error: if field.model() == crate::Model::Sa {
            f64::NAN
        } else {
            max_err
        },
        final_x: it.x,
        final_cluster_sizes,
    })
}
