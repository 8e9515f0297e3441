//! One simulation: integrate a token system and record diagnostics on a time grid, resumable
//! from a [`SimulationState`] bit for bit.
//!
//! Rows are recorded at the times `targets[k]` of [`row_times`]: `targets[0] = 0` (the initial
//! state), then equal intervals of `t_end / P` for the adaptive method (every `ceil(steps / P)`
//! steps for RK4), and always `t_end`. Results go to a [`SimulationSink`] as they are produced
//! (rows, snapshots, checkpoints) and are also kept in memory.

use super::integrate::{has_pair_between, merge_check, Integrator, IntegratorState, StepControl};
use super::velocity::VelocityField;
use crate::analysis::{find_clusters, ClusterParams, RowDiagnostics};
use crate::control::Poll;
use crate::{Error, Result};
use std::ops::ControlFlow;

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
    /// Number of intervals of the diagnostics grid (see [`row_times`]).
    pub series_points: usize,
    /// Spacing of the diagnostics grid.
    pub spacing: RowSpacing,
    /// Tokens closer than this chord are merged into one weighted token after each step
    /// ([`COINCIDENT_CHORD`]: coincident to rounding; 0: never).
    pub merge_radius: f64,
    /// Cluster definition.
    pub clusters: ClusterParams,
}

/// Chord below which two unit vectors coincide to rounding (`16 eps`): merging such tokens
/// does not change the dynamics beyond rounding, and removes the stiffness of collapsed
/// clusters (their internal contraction would otherwise limit explicit steps to `O(1)` in
/// `tau` for ever).
pub const COINCIDENT_CHORD: f64 = 16.0 * f64::EPSILON;

/// Pairs closer than this chord but not yet merged are collapsing (their separation contracts
/// at a rate at most 1 per internal time unit, since `sum_j m_j w_ij <= 1`).
pub const CLOSE_CHORD: f64 = 1e-6;

/// Largest adaptive step while collapsing pairs exist: inside the real stability interval of
/// Dormand–Prince (about `[-3.3, 0]`) for contraction rates up to 1, where each step contracts
/// them by ~0.17, so they reach the merge radius in a few dozen steps instead of stalling at
/// the stability limit (where an explicit step neither contracts nor grows them).
pub const STIFF_STEP: f64 = 2.0;

/// Tokens merged into one weighted token.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MergeEvent {
    /// Time (internal unit).
    pub time: f64,
    /// Accepted steps.
    pub step: usize,
    /// Masses of the merged parts (fractions of the whole system), largest first.
    pub parts: Vec<f64>,
    /// Tokens of the original system in the merged token.
    pub tokens: usize,
}

/// Spacing of the diagnostics rows in time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum RowSpacing {
    /// Equal intervals `t_end / P`.
    #[default]
    Linear,
    /// `P` rows log-spaced from `first` to `t_end` (after the row at 0): for runs over many
    /// decades of time (coarsening, meta-stable plateaus).
    Log {
        /// First positive row time (internal unit).
        first: f64,
    },
    /// A row after every accepted step (and at 0 and `t_end`): resolves events that happen
    /// between log-spaced rows (collisions at `tau ~ e^300`).
    EveryStep,
}

/// Diagnostics at one time.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeriesRow {
    /// Time (internal unit).
    pub time: f64,
    /// Accepted steps so far.
    pub step: usize,
    /// `E_N` with the scaled kernel.
    pub energy: f64,
    /// `(1/N) sum_i |dx_i/d(internal time)|^2`.
    pub speed2: f64,
    /// Arc length travelled, `int |dX/dtau| dtau` (`|dX/dtau|^2 = sum_i |dx_i/dtau|^2`).
    pub arc_length: f64,
    /// Number of clusters.
    pub clusters: usize,
    /// Fraction of tokens in the largest cluster (0 without clusters).
    pub largest_cluster: f64,
    /// `C_1..C_Lp`.
    pub power: Vec<f64>,
    /// Largest relative energy identity error over the steps since the previous row (NaN on the
    /// first row and for SA).
    pub identity_error: f64,
}

impl SeriesRow {
    /// Flat values `[time, step, energy, speed2, arc_length, clusters, largest, identity_error,
    /// C_1..]` (exact: counts are far below 2^53).
    pub fn to_values(&self) -> Vec<f64> {
        let mut v = vec![
            self.time,
            self.step as f64,
            self.energy,
            self.speed2,
            self.arc_length,
            self.clusters as f64,
            self.largest_cluster,
            self.identity_error,
        ];
        v.extend_from_slice(&self.power);
        v
    }

    /// Inverse of [`SeriesRow::to_values`].
    pub fn from_values(v: &[f64]) -> Self {
        SeriesRow {
            time: v[0],
            step: v[1] as usize,
            energy: v[2],
            speed2: v[3],
            arc_length: v[4],
            clusters: v[5] as usize,
            largest_cluster: v[6],
            identity_error: v[7],
            power: v[8..].to_vec(),
        }
    }
}

/// A saved state.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotInfo {
    /// Accepted steps when it was taken.
    pub step: usize,
    /// Time (internal unit).
    pub time: f64,
}

/// Everything needed to continue a simulation bit for bit.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulationState {
    /// The integrator.
    pub integrator: IntegratorState,
    /// Index of the next row time (rows `0..next_row` are recorded).
    pub next_row: usize,
    /// Largest identity error since the last row.
    pub segment_error: f64,
    /// Largest identity error so far.
    pub max_error: f64,
    /// Rows recorded so far.
    pub rows: Vec<SeriesRow>,
    /// Snapshots taken so far.
    pub snapshots: Vec<SnapshotInfo>,
    /// Index of the (weighted) token holding each original token.
    pub owner: Vec<usize>,
    /// Merges so far.
    pub merges: Vec<MergeEvent>,
}

/// Receives what a simulation produces, when it produces it. Every method has a do-nothing
/// default; `()` is the sink that keeps results in memory only.
pub trait SimulationSink {
    /// A diagnostics row was recorded.
    fn row(&mut self, _row: &SeriesRow) -> Result<()> {
        Ok(())
    }
    /// A state was saved.
    fn snapshot(&mut self, _info: &SnapshotInfo, _x: &[f64]) -> Result<()> {
        Ok(())
    }
    /// The state (`N x d` unit rows, weighted tokens expanded) at the row time `targets[index]`
    /// of [`row_times`], right after its row was recorded (movie frames). Not called for the
    /// extra rows of step spacing.
    fn row_state(&mut self, _index: usize, _row: &SeriesRow, _x: &[f64]) -> Result<()> {
        Ok(())
    }
    /// A checkpoint was asked for (by the poll function, or before an interruption).
    fn checkpoint(&mut self, _state: &SimulationState) -> Result<()> {
        Ok(())
    }
    /// Fraction of the run done.
    fn progress(&mut self, _fraction: f64) {}
}

impl SimulationSink for () {}

/// Outcome of a whole simulation.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SimulationResult {
    /// Diagnostics rows.
    pub rows: Vec<SeriesRow>,
    /// Snapshots that were handed to the sink.
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
    /// Tokens merged into weighted tokens during the run.
    pub merges: Vec<MergeEvent>,
}

/// Row times of `cfg` (internal unit), starting with 0 and ending with `t_end`, and the step
/// control actually used (fixed steps are shortened to `t_end / ceil(t_end / dt)`; their rows
/// fall on whole steps: every `ceil(steps / P)` steps, or the steps nearest to the log-spaced
/// times).
pub fn row_times(cfg: &RunConfig) -> (Vec<f64>, StepControl) {
    let p = cfg.series_points.max(1);
    let wanted: Vec<f64> = match cfg.spacing {
        RowSpacing::Linear => (1..p).map(|k| cfg.t_end * k as f64 / p as f64).collect(),
        RowSpacing::Log { first } if first < cfg.t_end => {
            let ratio = (cfg.t_end / first).ln();
            (0..p - 1)
                .map(|k| first * (ratio * k as f64 / (p - 1) as f64).exp())
                .collect()
        }
        RowSpacing::Log { .. } | RowSpacing::EveryStep => Vec::new(),
    };
    match cfg.control.fixed_step() {
        Some(dt) => {
            let steps = ((cfg.t_end / dt) * (1.0 - 1e-12)).ceil().max(1.0) as usize;
            let h = cfg.t_end / steps as f64;
            let mut ks: Vec<usize> = match cfg.spacing {
                RowSpacing::Linear => {
                    let every = steps.div_ceil(p);
                    (1..)
                        .map(|j| j * every)
                        .take_while(|&k| k < steps)
                        .collect()
                }
                RowSpacing::EveryStep => (1..steps).collect(),
                RowSpacing::Log { .. } => wanted
                    .iter()
                    .map(|t| ((t / h).round() as usize).max(1))
                    .filter(|&k| k < steps)
                    .collect(),
            };
            ks.dedup();
            let mut t = vec![0.0];
            t.extend(ks.iter().map(|&k| h * k as f64));
            t.push(cfg.t_end);
            let control = match cfg.control {
                StepControl::Euler { .. } => StepControl::Euler { dt: h },
                _ => StepControl::Rk4 { dt: h },
            };
            (t, control)
        }
        None => {
            let mut t = vec![0.0];
            t.extend(wanted);
            t.push(cfg.t_end);
            (t, cfg.control)
        }
    }
}

/// A running simulation.
pub struct Simulation<'f> {
    cfg: RunConfig,
    field: &'f dyn VelocityField,
    it: Integrator<'f>,
    targets: Vec<f64>,
    next_row: usize,
    seg_err: f64,
    max_err: f64,
    rows: Vec<SeriesRow>,
    snapshots: Vec<SnapshotInfo>,
    owner: Vec<usize>,
    merges: Vec<MergeEvent>,
    diagnostics: RowDiagnostics,
}

/// The state of the original tokens: row `i` is the position of the token holding token `i`.
fn expand<'a>(x: &'a [f64], dim: usize, owner: &[usize]) -> std::borrow::Cow<'a, [f64]> {
    if owner.len() * dim == x.len() {
        std::borrow::Cow::Borrowed(x)
    } else {
        let mut full = Vec::with_capacity(owner.len() * dim);
        for &o in owner {
            full.extend_from_slice(&x[o * dim..(o + 1) * dim]);
        }
        std::borrow::Cow::Owned(full)
    }
}

impl<'f> Simulation<'f> {
    /// A simulation from the unit rows `x0` (nothing is recorded before [`Simulation::run`]).
    pub fn new(cfg: &RunConfig, field: &'f dyn VelocityField, x0: Vec<f64>) -> Self {
        let (targets, control) = row_times(cfg);
        let n = x0.len() / field.dim();
        Simulation {
            cfg: cfg.clone(),
            field,
            it: Integrator::new(field, x0, control),
            targets,
            next_row: 0,
            seg_err: 0.0,
            max_err: 0.0,
            rows: Vec::new(),
            snapshots: Vec::new(),
            owner: (0..n).collect(),
            merges: Vec::new(),
            diagnostics: RowDiagnostics::new(),
        }
    }

    /// Continue from a state saved by [`Simulation::state`] with the same configuration.
    pub fn restore(cfg: &RunConfig, field: &'f dyn VelocityField, state: SimulationState) -> Self {
        let (targets, control) = row_times(cfg);
        Simulation {
            cfg: cfg.clone(),
            field,
            it: Integrator::restore(field, state.integrator, control),
            targets,
            next_row: state.next_row,
            seg_err: state.segment_error,
            max_err: state.max_error,
            rows: state.rows,
            snapshots: state.snapshots,
            owner: state.owner,
            merges: state.merges,
            diagnostics: RowDiagnostics::new(),
        }
    }

    /// Make the run stochastic (see [`crate::particles::noise`] and
    /// [`Integrator::set_noise`]); also after [`Simulation::restore`] (the noise stream is keyed
    /// by the step count, so a resumed run continues bit for bit). Merging should be off
    /// (`merge_radius = 0`): noise separates coincident tokens, and the stream is indexed by
    /// token.
    pub fn with_noise(mut self, noise: Option<crate::particles::noise::Noise>) -> Self {
        self.it.set_noise(noise);
        self
    }

    /// The state to save.
    pub fn state(&self) -> SimulationState {
        SimulationState {
            integrator: self.it.state(),
            next_row: self.next_row,
            segment_error: self.seg_err,
            max_error: self.max_err,
            rows: self.rows.clone(),
            snapshots: self.snapshots.clone(),
            owner: self.owner.clone(),
            merges: self.merges.clone(),
        }
    }

    /// The current state of the original tokens (`N x d`; merged tokens repeated).
    pub fn tokens(&self) -> Vec<f64> {
        expand(&self.it.x, self.field.dim(), &self.owner).into_owned()
    }

    /// Merge tokens closer than `merge_radius`, record the events, and cap the step while
    /// closer-than-[`CLOSE_CHORD`] pairs are still collapsing (see [`STIFF_STEP`]).
    fn merge(&mut self) {
        let dim = self.field.dim();
        let k = self.it.x.len() / dim;
        if k > 20_000 && !self.it.steps.is_multiple_of(16) {
            return;
        }
        // Merge first, then look for one pair still collapsing: listing every pair within
        // CLOSE_CHORD would cost O(m^2) memory for a collapsing cluster of m tokens.
        let check = merge_check(&self.it.x, dim, self.cfg.merge_radius, CLOSE_CHORD);
        let collapsing = match (&check.groups, check.collapsing) {
            (Some(groups), _) => {
                self.record_merges(groups);
                has_pair_between(&self.it.x, dim, self.cfg.merge_radius, CLOSE_CHORD)
            }
            (None, c) => c.unwrap_or(false),
        };
        self.it.set_max_step(if collapsing {
            STIFF_STEP
        } else {
            f64::INFINITY
        });
    }

    /// Merge `groups` (old indices of each new token) and record the merge events.
    fn record_merges(&mut self, groups: &[Vec<usize>]) {
        let k = self.it.x.len() / self.field.dim();
        self.it.merge_groups(groups);
        let n = self.owner.len();
        let mut new_index = vec![0usize; k];
        for (g, members) in groups.iter().enumerate() {
            for &i in members {
                new_index[i] = g;
            }
        }
        // Tokens of the original system held by each old index.
        let mut held = vec![0usize; k];
        for &o in &self.owner {
            held[o] += 1;
        }
        for members in groups {
            if members.len() > 1 {
                let mut parts: Vec<f64> =
                    members.iter().map(|&i| held[i] as f64 / n as f64).collect();
                parts.sort_by(|a, b| b.total_cmp(a));
                self.merges.push(MergeEvent {
                    time: self.it.time,
                    step: self.it.steps,
                    tokens: members.iter().map(|&i| held[i]).sum(),
                    parts,
                });
            }
        }
        for o in &mut self.owner {
            *o = new_index[*o];
        }
    }

    /// True when every row has been recorded.
    pub fn is_finished(&self) -> bool {
        self.next_row >= self.targets.len()
    }

    fn is_sa(&self) -> bool {
        self.field.model() == crate::Model::Sa
    }

    /// Record a row of the current state (`at_target`: the row of the next row time).
    fn record_row(&mut self, sink: &mut dyn SimulationSink, at_target: bool) -> Result<()> {
        let it = &self.it;
        let dim = self.field.dim();
        if !(it.energy().is_finite() && it.x.iter().all(|v| v.is_finite())) {
            return Err(Error::Numerical(format!(
                "the token state is not finite at time {} (internal unit, step {}): the run cannot continue",
                it.time, it.steps
            )));
        }
        let full = expand(&it.x, dim, &self.owner);
        let (power, sizes) =
            self.diagnostics
                .compute(&full, dim, self.cfg.lmax_power, &self.cfg.clusters);
        let n = self.owner.len();
        let identity_error = if self.next_row == 0 || self.is_sa() {
            f64::NAN
        } else {
            self.seg_err
        };
        let row = SeriesRow {
            time: it.time,
            step: it.steps,
            energy: it.energy(),
            speed2: it.speed2(),
            arc_length: it.arc_length,
            clusters: sizes.len(),
            largest_cluster: sizes.first().map_or(0.0, |&s| s as f64 / n as f64),
            power: power[1..].to_vec(),
            identity_error,
        };
        sink.row(&row)?;
        if at_target {
            sink.row_state(self.next_row, &row, &full)?;
        }
        self.rows.push(row);
        self.max_err = self.max_err.max(self.seg_err);
        self.seg_err = 0.0;
        if at_target {
            self.next_row += 1;
        }
        Ok(())
    }

    fn save_snapshot(&mut self, sink: &mut dyn SimulationSink) -> Result<()> {
        let info = SnapshotInfo {
            step: self.it.steps,
            time: self.it.time,
        };
        let full = expand(&self.it.x, self.field.dim(), &self.owner);
        sink.snapshot(&info, &full)?;
        self.snapshots.push(info);
        Ok(())
    }

    /// Run to the end, handing results to `sink`. `poll()` is asked after every accepted step:
    /// [`Poll::Checkpoint`] hands the state to `sink.checkpoint`, [`Poll::Stop`] does the same
    /// and returns [`Error::Interrupted`] (continue later with [`Simulation::restore`]).
    pub fn run(&mut self, sink: &mut dyn SimulationSink, poll: &dyn Fn() -> Poll) -> Result<()> {
        if self.next_row == 0 {
            if self.cfg.merge_radius > 0.0 {
                // Tokens that coincide at the start move as one from the first step on.
                self.merge();
            }
            self.record_row(sink, true)?;
            self.save_snapshot(sink)?;
        }
        let t_end = self.cfg.t_end;
        while !self.is_finished() {
            let target = self.targets[self.next_row];
            let mut pending: Option<Result<()>> = None;
            let mut failure: Option<Error> = None;
            let save_every = self.cfg.save_every;
            let mut snaps: Vec<SnapshotInfo> = Vec::new();
            let mut seg_err = self.seg_err;
            let merging = self.cfg.merge_radius > 0.0;
            let every_step = self.cfg.spacing == RowSpacing::EveryStep
                && self.cfg.control.fixed_step().is_none();
            let dim = self.field.dim();
            let owner = &self.owner;
            let reached = {
                let sink_ref = &mut *sink;
                self.it.advance_until(target, |it, r| {
                    if !r.identity_error.is_nan() {
                        seg_err = seg_err.max(r.identity_error);
                    }
                    if let Some(k) = save_every {
                        if it.steps.is_multiple_of(k) {
                            let info = SnapshotInfo {
                                step: it.steps,
                                time: it.time,
                            };
                            let full = expand(&it.x, dim, owner);
                            if let Err(e) = sink_ref.snapshot(&info, &full) {
                                failure = Some(e);
                                return ControlFlow::Break(());
                            }
                            snaps.push(info);
                        }
                    }
                    sink_ref.progress(it.time / t_end);
                    match poll() {
                        // With merging, leave after every step to merge before the next one.
                        Poll::Continue if merging || every_step => ControlFlow::Break(()),
                        Poll::Continue => ControlFlow::Continue(()),
                        p => {
                            pending = Some(if p == Poll::Stop {
                                Err(Error::Interrupted(String::new()))
                            } else {
                                Ok(())
                            });
                            ControlFlow::Break(())
                        }
                    }
                })
            };
            self.seg_err = seg_err;
            self.snapshots.extend(snaps);
            if let Some(e) = failure {
                return Err(e);
            }
            if let Some(e) = self.it.failure() {
                return Err(e);
            }
            if merging {
                self.merge();
            }
            if every_step && !reached {
                self.record_row(sink, false)?;
            }
            if reached {
                self.record_row(sink, true)?;
                let last = self.next_row == self.targets.len();
                if last && self.snapshots.last().map(|s| s.step) != Some(self.it.steps) {
                    self.save_snapshot(sink)?;
                }
            }
            if let Some(p) = pending {
                sink.checkpoint(&self.state())?;
                p?;
            }
        }
        Ok(())
    }

    /// The results (call after [`Simulation::run`] returned `Ok`).
    pub fn into_result(self) -> SimulationResult {
        let dim = self.field.dim();
        let final_x = self.tokens();
        let final_cluster_sizes = find_clusters(&final_x, dim, &self.cfg.clusters).sizes;
        let sa = self.is_sa();
        SimulationResult {
            rows: self.rows,
            snapshots: self.snapshots,
            steps: self.it.steps,
            rejected: self.it.rejected,
            max_identity_error: if sa { f64::NAN } else { self.max_err },
            final_x,
            final_cluster_sizes,
            merges: self.merges,
        }
    }
}

/// Integrate from the unit rows `x0` to `cfg.t_end` in one go, handing results to `sink`;
/// `poll` as in [`Simulation::run`] (pass `&|| Poll::Continue` to never stop).
pub fn simulate(
    cfg: &RunConfig,
    field: &dyn VelocityField,
    x0: Vec<f64>,
    sink: &mut dyn SimulationSink,
    poll: &dyn Fn() -> Poll,
) -> Result<SimulationResult> {
    let mut sim = Simulation::new(cfg, field, x0);
    sim.run(sink, poll)?;
    Ok(sim.into_result())
}
