//! Particle runs: the specification (`[particles]` in a config file, `attnflow particles` on the
//! command line), its resolution into a plan, and the executor that writes the documented
//! output layout as the run goes, with checkpoints and resume.
//!
//! Every default is defined here (or in the library function named next to the field) and
//! nowhere else; [`ParticlesSpec::resolve`] fills them in, and a run is executed from the
//! resolved specification only, so re-running `run.json` repeats it bit for bit.

use super::checkpoint::Checkpoint;
use super::limits;
use super::outdir::SeriesWriter;
use super::record::RunRecord;
use super::value::{count_opt, parse_count};
use crate::analysis::ClusterParams;
use crate::control::{Poll, RunControl};
use crate::io::write_npy_f64;
use crate::model::TimeScale;
use crate::particles::{
    build_velocity_field, initial_state, IntegratorState, MergeEvent, Method, RowSpacing,
    RunConfig, SeriesRow, Simulation, SimulationResult, SimulationSink, SimulationState,
    SnapshotInfo, StepControl, TokenState, VelocityField, COINCIDENT_CHORD,
};
use crate::{linear, Error, Model, Result, TimeUnit};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Default local error tolerance of the adaptive Dormand–Prince integrator (absolute, on unit
/// vectors), for particle runs and every experiment built on them.
pub const DEFAULT_TOL: f64 = 1e-8;
/// Default relative truncation tolerance of the fast summation.
pub const DEFAULT_SUMMATION_TOL: f64 = 1e-12;
/// Default largest degree of the recorded harmonic power.
pub const DEFAULT_LMAX_POWER: usize = 16;
/// Default number of intervals of the diagnostics grid.
pub const DEFAULT_SERIES_POINTS: usize = 200;
/// Default wall-clock interval between checkpoints, seconds.
pub const DEFAULT_CHECKPOINT_EVERY: f64 = 300.0;
/// Largest ensemble accepted.
pub const MAX_ENSEMBLE: usize = 1_000_000;
/// Largest number of diagnostics intervals accepted.
pub const MAX_SERIES_POINTS: usize = 10_000_000;
/// Largest recorded harmonic degree accepted.
pub const MAX_LMAX_POWER: usize = 1000;

/// Default final time (internal unit): `(ln N + 5) / gamma_{l*}`, about twice the time
/// `ln(N) / (2 gamma_{l*})` at which the meta-stable clusters appear (linear theory).
pub fn default_t_end(n: usize, beta: f64, dim: usize, model: Model) -> f64 {
    let lstar = linear::dominant_degree(beta, dim);
    let rate = linear::growth_rate(lstar, beta, dim, model, TimeUnit::Scaled);
    ((n.max(2) as f64).ln() + 5.0) / rate
}

/// A particle run. Field names are the command-line flags with `-` written `_`; every field
/// is optional in a config file except `dim`, `beta` and `n` (or `init`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
#[command(allow_negative_numbers = true)]
pub struct ParticlesSpec {
    /// Ambient dimension d (tokens on S^{d-1}), 2 <= d <= 1024.
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub dim: Option<usize>,
    /// Number of tokens N >= 1 (1e6 is accepted); taken from the file with --init.
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub n: Option<usize>,
    /// Inverse temperature beta in [1e-6, 1e5].
    #[arg(long)]
    pub beta: Option<f64>,
    /// Attention model: usa (unnormalised, default) or sa (softmax).
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// Final time, in the unit of --time [default: (ln N + 5) / gamma_{l*}, about twice the
    /// time at which clusters appear].
    #[arg(long)]
    pub t_end: Option<f64>,
    /// Unit of --t-end and --dt: physical (t, default) or scaled (tau = e^beta t for USA;
    /// identical to t for SA).
    #[arg(long, value_enum)]
    pub time: Option<TimeUnit>,
    /// Classical RK4 with this step (unit of --time), shortened to divide --t-end.
    #[arg(long, conflicts_with = "tol")]
    pub dt: Option<f64>,
    /// Adaptive Dormand–Prince 5(4) with this local error tolerance [default: 1e-8].
    #[arg(long)]
    pub tol: Option<f64>,
    /// Integrator: dopri5 (adaptive, default without --dt), rk4 (default with --dt) or euler
    /// (explicit Euler + renormalisation with --dt: the published codes' scheme, for exact
    /// reproduction only).
    #[arg(long, value_enum)]
    pub integrator: Option<IntegratorKind>,
    /// Random seed of the initial state (system s of an ensemble uses PCG stream s) and of the
    /// noise (counter-based stream of (seed, s)) [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Diffusion coefficient nu >= 0 of the noisy model dX = v dt + sqrt(2 nu) dW (per unit of
    /// --time, like the PDE's --nu; kappa = 1/nu) [default: 0, the deterministic flow].
    #[arg(long)]
    pub nu: Option<f64>,
    /// Summation: exact (O(N^2 d)), fast (spectral, d = 2, 3) or auto (the cheaper, default).
    #[arg(long, value_enum)]
    pub method: Option<Method>,
    /// Relative truncation tolerance of the fast summation [default: 1e-12].
    #[arg(long)]
    pub summation_tol: Option<f64>,
    /// Number of independent systems run in parallel [default: 1].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub ensemble: Option<usize>,
    /// Largest degree Lp of the recorded harmonic power C_1..C_Lp [default: 16].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub lmax_power: Option<usize>,
    /// Also save the state every K accepted steps (the initial and final states are always saved).
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub save_every: Option<usize>,
    /// Number of intervals of the diagnostics time grid [default: 200].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub series_points: Option<usize>,
    /// Spacing of the diagnostics rows: linear (default), log (for runs over many decades) or
    /// steps (a row after every accepted step).
    #[arg(long, value_enum)]
    pub series_spacing: Option<SeriesSpacing>,
    /// First positive row time with log spacing, unit of --time [default: one internal time
    /// unit, or t_end / series_points if smaller].
    #[arg(long)]
    pub series_start: Option<f64>,
    /// Merge tokens closer than this chord into one weighted token (mass kept, centre of mass
    /// on the sphere) [default: 3.6e-15, tokens that coincide to rounding; 0: never merge].
    #[arg(long)]
    pub merge_radius: Option<f64>,
    /// Cluster definition: angular radius delta in radians [default: 0.03].
    #[arg(long)]
    pub cluster_radius: Option<f64>,
    /// Cluster definition: required density relative to uniform [default: 3].
    #[arg(long)]
    pub cluster_density: Option<f64>,
    /// Cluster definition: smallest cluster as a fraction of N [default: 0.01].
    #[arg(long)]
    pub cluster_min_fraction: Option<f64>,
    /// Initial state: an N x d float64 .npy file (rows normalised to the sphere).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Output directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seconds of wall-clock time between checkpoints [default: 300].
    #[arg(long)]
    pub checkpoint_every: Option<f64>,
    /// Also make a movie OUT/movie.gif (tokens on the circle with trails, or on a rotating
    /// sphere), from the states at the diagnostics rows (at most 1000 tokens of system 0 each,
    /// saved in movie.npy, indexed by movie.csv) [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub movie: Option<bool>,
    /// Movie format: gif (default, pure Rust), mp4 (needs ffmpeg on the PATH) or both.
    #[arg(long, value_enum)]
    pub movie_format: Option<crate::plot::movie::MovieFormat>,
}

/// Spacing of the diagnostics rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SeriesSpacing {
    /// Equal intervals.
    Linear,
    /// Log-spaced from `series_start` to `t_end`.
    Log,
    /// A row after every accepted step.
    Steps,
}

/// Time integrator of a particle run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum IntegratorKind {
    /// Adaptive Dormand–Prince 5(4) (`tol`).
    Dopri5,
    /// Classical RK4 with fixed step `dt`.
    Rk4,
    /// Explicit Euler + renormalisation with fixed step `dt` (reproduction aid).
    Euler,
}

/// A resolved particle run: what the executor needs, in internal units.
#[derive(Clone, Debug)]
pub struct ParticlesPlan {
    /// The specification with every default filled in.
    pub spec: ParticlesSpec,
    /// Ambient dimension.
    pub dim: usize,
    /// Tokens per system.
    pub n: usize,
    /// Inverse temperature.
    pub beta: f64,
    /// Model.
    pub model: Model,
    /// The time conversion.
    pub scale: TimeScale,
    /// Integration and diagnostics configuration (internal unit).
    pub cfg: RunConfig,
    /// Summation method requested.
    pub method: Method,
    /// Fast-summation tolerance.
    pub summation_tol: f64,
    /// Number of systems.
    pub ensemble: usize,
    /// Seed.
    pub seed: u64,
    /// Diffusion coefficient per unit of the internal time (0: deterministic).
    pub nu_internal: f64,
    /// Initial state from a file.
    pub init: Option<TokenState>,
    /// Rows of the init file that were not unit vectors.
    pub init_rows_normalised: usize,
}

/// The local error tolerance of the adaptive particle integrator: `tol` (default
/// [`DEFAULT_TOL`]) in `[1e-15, 0.1]`; one check for particle runs and the experiments.
pub fn check_tol(tol: Option<f64>) -> Result<f64> {
    crate::error::require_in_range("tol", tol.unwrap_or(DEFAULT_TOL), 1e-15, 0.1)
}

/// `path` made absolute (the record is re-run from any directory).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn required<T: Clone>(v: &Option<T>, name: &str, accepted: &str) -> Result<T> {
    v.clone()
        .ok_or_else(|| Error::parameter(name, "(missing)", accepted))
}

impl ParticlesSpec {
    /// Check every field, fill in every default and derive the plan. Nothing is written.
    pub fn resolve(&self) -> Result<ParticlesPlan> {
        let s = self;
        let dim = required(&s.dim, "dim", "an integer in [2, 1024]")?;
        let dim = linear::check_dim(dim.min(i64::MAX as usize) as i64)?;
        let beta = linear::check_beta(required(&s.beta, "beta", "a finite number > 0")?)?;
        let model = s.model.unwrap_or(Model::Usa);
        let time = s.time.unwrap_or(TimeUnit::Physical);
        let scale = TimeScale::new(model, beta, time);
        let (init, init_rows_normalised) = match &s.init {
            Some(path) => {
                let (st, k) = TokenState::from_npy(path, Some(dim))?;
                (Some(st), k)
            }
            None => (None, 0),
        };
        let n = match (&init, s.n) {
            (Some(st), Some(n)) if n != st.n => {
                return Err(Error::parameter(
                    "n",
                    n,
                    format!("the number of rows of the init file ({})", st.n),
                ))
            }
            (Some(st), _) => st.n,
            (None, Some(n)) => crate::error::require_count("n", n, 1, usize::MAX)?,
            (None, None) => {
                return Err(Error::parameter(
                    "n",
                    "(missing)",
                    "an integer >= 1, or an init file",
                ))
            }
        };
        let summation_tol = crate::error::require_in_range(
            "summation_tol",
            s.summation_tol.unwrap_or(DEFAULT_SUMMATION_TOL),
            1e-16,
            1e-2,
        )?;
        let ensemble =
            crate::error::require_count("ensemble", s.ensemble.unwrap_or(1), 1, MAX_ENSEMBLE)?;
        let lmax_power = crate::error::require_count(
            "lmax_power",
            s.lmax_power.unwrap_or(DEFAULT_LMAX_POWER),
            1,
            MAX_LMAX_POWER,
        )?;
        if let Some(k) = s.save_every {
            crate::error::require_count("save_every", k, 1, usize::MAX)?;
        }
        let series_points = crate::error::require_count(
            "series_points",
            s.series_points.unwrap_or(DEFAULT_SERIES_POINTS),
            1,
            MAX_SERIES_POINTS,
        )?;
        let defaults = ClusterParams::default();
        let clusters = ClusterParams {
            radius: crate::error::require_in_range(
                "cluster_radius",
                s.cluster_radius.unwrap_or(defaults.radius),
                1e-9,
                3.0,
            )?,
            density_factor: crate::error::require_positive(
                "cluster_density",
                s.cluster_density.unwrap_or(defaults.density_factor),
            )?,
            min_fraction: crate::error::require_in_range(
                "cluster_min_fraction",
                s.cluster_min_fraction.unwrap_or(defaults.min_fraction),
                0.0,
                1.0,
            )?,
        };
        let checkpoint_every = crate::error::require_in_range(
            "checkpoint_every",
            s.checkpoint_every.unwrap_or(DEFAULT_CHECKPOINT_EVERY),
            0.0,
            1e9,
        )?;
        let method = s.method.unwrap_or(Method::Auto);
        let seed = s.seed.unwrap_or(0);
        let nu = crate::linear_noise::check_nu(s.nu.unwrap_or(0.0))?;
        let nu_internal = scale.rate_to_internal(nu);
        if nu > 0.0 && !(nu_internal.is_finite() && nu_internal > 0.0) {
            return Err(Error::parameter(
                "nu",
                nu,
                format!("a value whose scaled value e^-beta * nu is a positive number at beta = {beta} (or time = \"scaled\")"),
            ));
        }
        // Final time: the default is formed in the internal unit, expressed in the user's unit,
        // and the run uses the round trip of that value (so re-running the record is exact).
        let t_end_user = match s.t_end {
            Some(t) => t,
            None => {
                let user = scale.to_user(default_t_end(n, beta, dim, model));
                if !(user.is_finite() && user > 0.0) {
                    return Err(Error::parameter(
                        "t_end",
                        "(default)",
                        format!("an explicit value: the default underflows in {time} time at beta = {beta} (use time = \"scaled\")"),
                    ));
                }
                user
            }
        };
        let t_end = scale.to_internal("t_end", t_end_user)?;
        let kind = match (s.integrator, s.dt, s.tol) {
            (Some(k), _, _) => k,
            (None, Some(_), _) => IntegratorKind::Rk4,
            (None, None, _) => IntegratorKind::Dopri5,
        };
        let (control, dt, tol) = match (kind, s.dt, s.tol) {
            (_, Some(_), Some(_)) => {
                return Err(Error::parameter(
                    "dt",
                    "(given with tol)",
                    "either dt (fixed-step rk4 or euler) or tol (adaptive dopri5), not both",
                ))
            }
            (IntegratorKind::Rk4 | IntegratorKind::Euler, Some(dt), None) => {
                let h = scale.to_internal("dt", dt)?;
                let steps = t_end / h;
                if steps > crate::pde::MAX_FIXED_STEPS {
                    return Err(Error::Resources(format!(
                        "t_end / dt = {steps:.3e} steps (more than {:e}): raise dt or use adaptive stepping (tol)",
                        crate::pde::MAX_FIXED_STEPS
                    )));
                }
                let control = if kind == IntegratorKind::Euler {
                    StepControl::Euler { dt: h }
                } else {
                    StepControl::Rk4 { dt: h }
                };
                (control, Some(dt), None)
            }
            (IntegratorKind::Rk4 | IntegratorKind::Euler, None, _) => {
                return Err(Error::parameter(
                    "dt",
                    "(missing)",
                    format!("a step size for integrator = {kind:?}").to_lowercase(),
                ))
            }
            (IntegratorKind::Dopri5, Some(dt), _) => return Err(Error::parameter(
                "dt",
                dt,
                "no dt with the adaptive integrator dopri5 (give tol, or integrator = rk4/euler)",
            )),
            (IntegratorKind::Dopri5, None, tol) => {
                let tol = check_tol(tol)?;
                (StepControl::DormandPrince { tol }, None, Some(tol))
            }
        };
        let spacing_kind = s.series_spacing.unwrap_or(SeriesSpacing::Linear);
        let (spacing, series_start) = match spacing_kind {
            SeriesSpacing::Linear => {
                if s.series_start.is_some() {
                    return Err(Error::parameter(
                        "series_start",
                        s.series_start.unwrap_or(0.0),
                        "no value with series_spacing = linear (it sets the first row of log spacing)",
                    ));
                }
                (RowSpacing::Linear, None)
            }
            SeriesSpacing::Steps => (RowSpacing::EveryStep, None),
            SeriesSpacing::Log => {
                let user = match s.series_start {
                    Some(v) => v,
                    None => scale.to_user((1.0f64).min(t_end / series_points as f64)),
                };
                let first = scale.to_internal("series_start", user)?;
                if first > t_end {
                    return Err(Error::parameter(
                        "series_start",
                        user,
                        format!("a time in (0, t_end = {t_end_user}]"),
                    ));
                }
                (RowSpacing::Log { first }, Some(user))
            }
        };
        // Noise separates coincident tokens and its stream is indexed by token: no merging.
        let (movie, movie_format) = crate::plot::movie::resolve_movie(s.movie, s.movie_format)?;
        let merge_default = if nu > 0.0 { 0.0 } else { COINCIDENT_CHORD };
        let merge_radius = crate::error::require_in_range(
            "merge_radius",
            s.merge_radius.unwrap_or(merge_default),
            0.0,
            0.1,
        )?;
        if nu > 0.0 && merge_radius > 0.0 {
            return Err(Error::parameter(
                "merge_radius",
                merge_radius,
                "0 when nu > 0 (noisy tokens do not coincide; merging is for the deterministic flow)",
            ));
        }
        let cfg = RunConfig {
            t_end,
            control,
            lmax_power,
            save_every: s.save_every,
            series_points,
            spacing,
            merge_radius,
            clusters,
        };
        limits::check_particles(n, dim, ensemble, &cfg)?;
        // The summation method must exist for this run (fast: d = 2, 3 and a bounded degree).
        build_velocity_field(method, dim, beta, model, n, summation_tol)?;
        let spec = ParticlesSpec {
            dim: Some(dim),
            n: Some(n),
            beta: Some(beta),
            model: Some(model),
            t_end: Some(t_end_user),
            time: Some(time),
            dt,
            tol,
            integrator: Some(kind),
            seed: Some(seed),
            nu: Some(nu),
            method: Some(method),
            summation_tol: Some(summation_tol),
            ensemble: Some(ensemble),
            lmax_power: Some(lmax_power),
            save_every: s.save_every,
            series_points: Some(series_points),
            series_spacing: Some(spacing_kind),
            series_start,
            merge_radius: Some(merge_radius),
            cluster_radius: Some(clusters.radius),
            cluster_density: Some(clusters.density_factor),
            cluster_min_fraction: Some(clusters.min_fraction),
            init: s.init.as_ref().map(|p| absolute(p)),
            out: s.out.clone(),
            checkpoint_every: Some(checkpoint_every),
            movie: Some(movie),
            movie_format,
        };
        Ok(ParticlesPlan {
            spec,
            dim,
            n,
            beta,
            model,
            scale,
            cfg,
            method,
            summation_tol,
            ensemble,
            seed,
            nu_internal,
            init,
            init_rows_normalised,
        })
    }
}

impl ParticlesSpec {
    /// Resolve and run in memory (no files; `out` is ignored): the results of every system.
    pub fn run_in_memory(&self, ctl: &RunControl) -> Result<ParticlesOutcome> {
        execute(&self.resolve()?, None, None, ctl, false)
    }
}

/// Columns of `series.csv` after the optional `system` column.
pub fn series_columns(lmax_power: usize) -> Vec<String> {
    let mut c: Vec<String> = [
        "t",
        "tau",
        "step",
        "energy",
        "speed2",
        "arc_length",
        "clusters",
        "largest_cluster_fraction",
        "energy_identity_error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    c.extend((1..=lmax_power).map(|l| format!("C_{l}")));
    c
}

/// The values of one row in the order of [`series_columns`].
pub fn series_values(row: &SeriesRow, scale: &TimeScale) -> Vec<f64> {
    let mut v = vec![
        scale.t_of_tau(row.time),
        row.time,
        row.step as f64,
        row.energy,
        row.speed2,
        row.arc_length,
        row.clusters as f64,
        row.largest_cluster,
        row.identity_error,
    ];
    v.extend_from_slice(&row.power);
    v
}

/// Meaning of every column and file of a particle run (for `run.json`).
pub fn conventions() -> serde_json::Value {
    json!({
        "t": "physical time of the equations (USA: t = e^-beta tau, may underflow to 0 for beta > ~700)",
        "tau": "internal time: tau = e^beta t for USA (scaled kernel exp(beta(<x,y>-1))), tau = t for SA",
        "step": "accepted integrator steps so far",
        "energy": "E_N = (1/(2 beta N^2)) sum_ij exp(beta(<x_i,x_j> - 1)): the scaled-kernel energy (the physical energy is e^beta E_N); the same meaning as the PDE's energy column",
        "speed2": "(1/N) sum_i |dx_i/dtau|^2, per unit of the internal time tau; for USA dE_N/dtau = speed2 exactly",
        "arc_length": "int |dX/dtau| dtau with |dX/dtau|^2 = sum_i |dx_i/dtau|^2: the arc length of the trajectory in R^{N d} (the normalised-gradient time of Geshkovski-Koubbi-Polyanskiy-Rigollet is arc_length / ln beta)",
        "clusters": "number of clusters (density-based definition, parameters cluster_radius, cluster_density, cluster_min_fraction)",
        "largest_cluster_fraction": "fraction of the tokens in the largest cluster (0 without clusters)",
        "energy_identity_error": "max over the steps since the previous row of |dE_N/dtau - speed2| / speed2 (difference quotient against the method's quadrature); NaN on the first row and for SA",
        "C_l": "harmonic power C_l = (1/N^2) sum_ij Z_l(<x_i,x_j>), Z_l = dim(H_l) C_l^a/C_l^a(1), a = (d-2)/2; E C_l = dim(H_l)/N for iid uniform tokens",
        "system": "index of the system in an ensemble (initial state from PCG stream `system` of the seed)",
        "snapshots": "x_<step>.npy (ensembles: x_s<system>_<step>.npy): N x d float64 unit rows; their times are in snapshots.csv (system, step, t, tau) and in results.snapshots",
        "series_mean.csv": "ensembles: the mean over systems of every column at each row time",
        "merges.csv": "tokens merged into one weighted token (they coincided within merge_radius): time, tokens of the original system in the merged token, its mass (fraction of N), number of parts and the largest and smallest part (fractions of N); ensembles: system first",
    })
}

/// Output names of system `s` of an ensemble of `m`.
struct Names {
    suffix: String,
}

impl Names {
    fn new(s: usize, m: usize) -> Self {
        Names {
            suffix: if m > 1 {
                format!("_s{s}")
            } else {
                String::new()
            },
        }
    }
    fn series(&self) -> String {
        format!("series{}.csv", self.suffix)
    }
    fn snapshots(&self) -> String {
        format!("snapshots{}.csv", self.suffix)
    }
    fn checkpoint(&self) -> String {
        format!("checkpoint{}.bin", self.suffix)
    }
    fn snapshot(&self, step: usize) -> String {
        format!("x{}_{step:06}.npy", self.suffix)
    }
}

fn snapshot_columns() -> Vec<String> {
    ["step", "t", "tau"].iter().map(|s| s.to_string()).collect()
}

fn snapshot_values(info: &SnapshotInfo, scale: &TimeScale) -> Vec<f64> {
    vec![info.step as f64, scale.t_of_tau(info.time), info.time]
}

/// Save a simulation state as a checkpoint.
fn state_checkpoint(system: usize, st: &SimulationState) -> Checkpoint {
    let mut c = Checkpoint::new();
    c.set("kind", "particles");
    c.set("system", system);
    c.set("steps", st.integrator.steps);
    c.set("rejected", st.integrator.rejected);
    c.set("next_row", st.next_row);
    c.set("rows", st.rows.len());
    c.set(
        "snapshot_steps",
        st.snapshots.iter().map(|s| s.step).collect::<Vec<_>>(),
    );
    c.set("n_tokens", st.integrator.n_tokens);
    c.set("merges", &st.merges);
    c.set("weighted", st.integrator.mass.is_some());
    c.push_array("x", st.integrator.x.clone());
    c.push_array("mass", st.integrator.mass.clone().unwrap_or_default());
    c.push_array("owner", st.owner.iter().map(|&o| o as f64).collect());
    c.push_array(
        "scalars",
        vec![
            st.integrator.time,
            st.integrator.h_next,
            st.segment_error,
            st.max_error,
            st.integrator.arc_length,
            st.integrator.max_step,
        ],
    );
    c.push_array(
        "snapshot_times",
        st.snapshots.iter().map(|s| s.time).collect(),
    );
    c.push_array("rows", st.rows.iter().flat_map(|r| r.to_values()).collect());
    c
}

fn state_from_checkpoint(c: &Checkpoint) -> Result<SimulationState> {
    let scalars = c.array("scalars")?;
    let steps: Vec<usize> = c.get("snapshot_steps")?;
    let times = c.array("snapshot_times")?;
    let nrows: usize = c.get("rows")?;
    let flat = c.array("rows")?;
    if scalars.len() != 6 || times.len() != steps.len() || (nrows > 0 && flat.len() % nrows != 0) {
        return Err(Error::Numerical("checkpoint: inconsistent arrays".into()));
    }
    let width = flat.len().checked_div(nrows).unwrap_or(0);
    Ok(SimulationState {
        integrator: IntegratorState {
            x: c.array("x")?.to_vec(),
            time: scalars[0],
            steps: c.get("steps")?,
            rejected: c.get("rejected")?,
            h_next: scalars[1],
            arc_length: scalars[4],
            mass: if c.get::<bool>("weighted")? {
                Some(c.array("mass")?.to_vec())
            } else {
                None
            },
            n_tokens: c.get("n_tokens")?,
            max_step: scalars[5],
        },
        owner: c.array("owner")?.iter().map(|&o| o as usize).collect(),
        merges: c.get("merges")?,
        next_row: c.get("next_row")?,
        segment_error: scalars[2],
        max_error: scalars[3],
        rows: flat
            .chunks(width.max(1))
            .take(nrows)
            .map(SeriesRow::from_values)
            .collect(),
        snapshots: steps
            .iter()
            .zip(times)
            .map(|(&step, &time)| SnapshotInfo { step, time })
            .collect(),
    })
}

/// The files of one system, written as the simulation goes.
struct SystemFiles<'a> {
    dir: &'a Path,
    names: Names,
    dim: usize,
    scale: TimeScale,
    system: usize,
    series: SeriesWriter,
    snapshots: SeriesWriter,
    progress: &'a (dyn Fn(usize, f64) + Sync),
    record: Option<&'a Mutex<RunRecord>>,
    ensemble: usize,
    /// Movie frames (system 0 with `movie = true`).
    movie: Option<crate::plot::rundir::MovieWriter>,
}

impl SimulationSink for SystemFiles<'_> {
    fn row_state(&mut self, index: usize, row: &SeriesRow, x: &[f64]) -> Result<()> {
        match &mut self.movie {
            Some(m) => m.row_state(index, row.step, self.scale.t_of_tau(row.time), row.time, x),
            None => Ok(()),
        }
    }
    fn row(&mut self, row: &SeriesRow) -> Result<()> {
        self.series.append(&series_values(row, &self.scale))
    }
    fn snapshot(&mut self, info: &SnapshotInfo, x: &[f64]) -> Result<()> {
        let path = self.dir.join(self.names.snapshot(info.step));
        write_npy_f64(&path, &[x.len() / self.dim, self.dim], x)?;
        self.snapshots.append(&snapshot_values(info, &self.scale))
    }
    fn checkpoint(&mut self, state: &SimulationState) -> Result<()> {
        state_checkpoint(self.system, state).write(&self.dir.join(self.names.checkpoint()))?;
        match self.record {
            Some(rec) => note_checkpoint(rec, self.dir, self.ensemble, self.system),
            None => Ok(()),
        }
    }
    fn progress(&mut self, fraction: f64) {
        (self.progress)(self.system, fraction)
    }
}

/// In-memory sink that only reports progress.
struct ProgressOnly<'a> {
    system: usize,
    progress: &'a (dyn Fn(usize, f64) + Sync),
}

impl SimulationSink for ProgressOnly<'_> {
    fn progress(&mut self, fraction: f64) {
        (self.progress)(self.system, fraction)
    }
}

/// Results of a particle run.
pub struct ParticlesOutcome {
    /// One result per system.
    pub systems: Vec<SimulationResult>,
    /// The summation method actually used.
    pub method: String,
}

/// Quantities derived from the plan, for `run.json`.
pub fn derived(plan: &ParticlesPlan, field: &dyn VelocityField) -> serde_json::Value {
    json!({
        "internal_time": plan.scale.internal_name(),
        "tau_end": plan.cfg.t_end,
        "integrator": plan.cfg.control.name(),
        "dt_internal": plan.cfg.control.fixed_step(),
        "series_spacing": match plan.cfg.spacing { RowSpacing::Linear => json!("linear"), RowSpacing::Log { first } => json!({"log_from_tau": first}), RowSpacing::EveryStep => json!("steps") },
        "method": field.description(),
        "init_rows_normalised": plan.init_rows_normalised,
        "dominant_degree": linear::dominant_degree(plan.beta, plan.dim),
        "nu_internal": plan.nu_internal,
        "noise": if plan.nu_internal > 0.0 {
            json!({
                "scheme": "Lie splitting: deterministic step, then a geodesic Brownian increment (exact in law on the circle); weak order 1",
                "rng": "counter-based (SplitMix64 hash of seed, system, step, token), thread-count independent",
                "max_adaptive_step_internal": crate::particles::Noise::new(plan.nu_internal, plan.seed, 0).max_step(plan.dim),
                "nu_sharp": crate::linear_noise::critical_noise(plan.beta, plan.dim, plan.model, plan.scale.unit),
            })
        } else {
            serde_json::Value::Null
        },
    })
}

/// Run the plan. With `dir`, the outputs are written into it as the run goes (the record is
/// kept in `record`); checkpoints follow `ctl`'s schedule and are written before an
/// interruption; with `resume`, systems continue from their checkpoints. Without `dir`, the
/// run is in memory and a stop request ends it with [`Error::Interrupted`].
pub fn execute(
    plan: &ParticlesPlan,
    dir: Option<&Path>,
    record: Option<&Mutex<RunRecord>>,
    ctl: &RunControl,
    resume: bool,
) -> Result<ParticlesOutcome> {
    use rayon::prelude::*;
    let field = build_velocity_field(
        plan.method,
        plan.dim,
        plan.beta,
        plan.model,
        plan.n,
        plan.summation_tol,
    )?;
    if let Some(rec) = record {
        let mut r = rec.lock().unwrap_or_else(|e| e.into_inner());
        r.derived = derived(plan, field.as_ref());
        if let Some(d) = dir {
            r.write(d)?;
        }
    }
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
    let run_one = |s: usize| -> Result<SimulationResult> {
        let names = Names::new(s, m);
        let saved = match (dir, resume) {
            (Some(d), true) if d.join(names.checkpoint()).is_file() => Some(state_from_checkpoint(
                &Checkpoint::read(&d.join(names.checkpoint()))?,
            )?),
            _ => None,
        };
        if saved.is_none() {
            ctl.check()?;
        }
        let resumed = saved.is_some();
        let sim = match saved {
            Some(st) => Simulation::restore(&plan.cfg, field.as_ref(), st),
            None => Simulation::new(
                &plan.cfg,
                field.as_ref(),
                initial_state(plan.n, plan.dim, plan.seed, s, plan.init.as_ref()),
            ),
        };
        let mut sim = sim.with_noise(
            (plan.nu_internal > 0.0)
                .then(|| crate::particles::Noise::new(plan.nu_internal, plan.seed, s as u64)),
        );
        let schedule = ctl.schedule();
        let poll = || schedule.poll();
        match dir {
            Some(d) => {
                let st = sim.state();
                let mut files = SystemFiles {
                    dir: d,
                    dim: plan.dim,
                    scale: plan.scale,
                    system: s,
                    series: SeriesWriter::create(
                        &d.join(names.series()),
                        &series_columns(plan.cfg.lmax_power),
                        &st.rows
                            .iter()
                            .map(|r| series_values(r, &plan.scale))
                            .collect::<Vec<_>>(),
                    )?,
                    snapshots: SeriesWriter::create(
                        &d.join(names.snapshots()),
                        &snapshot_columns(),
                        &st.snapshots
                            .iter()
                            .map(|i| snapshot_values(i, &plan.scale))
                            .collect::<Vec<_>>(),
                    )?,
                    names,
                    progress: &report,
                    record,
                    ensemble: m,
                    movie: if s == 0 && plan.spec.movie == Some(true) {
                        Some(crate::plot::rundir::MovieWriter::start(
                            d,
                            plan.n.min(crate::plot::movie::MOVIE_TOKENS),
                            plan.dim,
                            (plan.cfg.series_points + 1).div_ceil(crate::plot::movie::MAX_FRAMES),
                            plan.cfg.t_end,
                            resumed.then_some(st.next_row),
                        )?)
                    } else {
                        None
                    },
                };
                if !sim.is_finished() {
                    sim.run(&mut files, &poll)?;
                    // A finished system keeps its final state until the whole run completes.
                    files.checkpoint(&sim.state())?;
                }
            }
            None => {
                let mut sink = ProgressOnly {
                    system: s,
                    progress: &report,
                };
                let stop = || match ctl.poll_stop() {
                    Poll::Stop => Poll::Stop,
                    _ => Poll::Continue,
                };
                sim.run(&mut sink, &stop)?;
            }
        }
        Ok(sim.into_result())
    };
    let results: Vec<Result<SimulationResult>> = (0..m).into_par_iter().map(run_one).collect();
    let systems = collect_systems(results)?;
    if let (Some(d), Some(rec)) = (dir, record) {
        finish_files(plan, d, &systems, rec)?;
    }
    Ok(ParticlesOutcome {
        systems,
        method: field.description(),
    })
}

/// After a checkpoint of system `s`: list its files in the record and rewrite it.
fn note_checkpoint(rec: &Mutex<RunRecord>, dir: &Path, ensemble: usize, s: usize) -> Result<()> {
    let names = Names::new(s, ensemble);
    let mut r = rec.lock().unwrap_or_else(|e| e.into_inner());
    for f in [names.series(), names.snapshots(), names.checkpoint()] {
        if dir.join(&f).is_file() {
            r.add_file(f);
        }
    }
    r.write(dir)
}

/// Gather ensemble tables, list every file, drop the checkpoints and fill the results.
fn finish_files(
    plan: &ParticlesPlan,
    dir: &Path,
    systems: &[SimulationResult],
    rec: &Mutex<RunRecord>,
) -> Result<()> {
    let m = plan.ensemble;
    let mut r = rec.lock().unwrap_or_else(|e| e.into_inner());
    let cols = series_columns(plan.cfg.lmax_power);
    if m > 1 {
        let mut header = vec!["system".to_string()];
        header.extend(cols.iter().cloned());
        let mut all = Vec::new();
        let mut snaps = Vec::new();
        for (s, sys) in systems.iter().enumerate() {
            for row in &sys.rows {
                let mut v = vec![s as f64];
                v.extend(series_values(row, &plan.scale));
                all.push(v);
            }
            for i in &sys.snapshots {
                let mut v = vec![s as f64];
                v.extend(snapshot_values(i, &plan.scale));
                snaps.push(v);
            }
        }
        SeriesWriter::create(&dir.join("series.csv"), &header, &all)?;
        let mut sh = vec!["system".to_string()];
        sh.extend(snapshot_columns());
        SeriesWriter::create(&dir.join("snapshots.csv"), &sh, &snaps)?;
        let rows = systems[0].rows.len();
        let mean: Vec<Vec<f64>> = (0..rows)
            .map(|k| {
                let per: Vec<Vec<f64>> = systems
                    .iter()
                    .map(|sys| series_values(&sys.rows[k], &plan.scale))
                    .collect();
                (0..cols.len())
                    .map(|c| per.iter().map(|p| p[c]).sum::<f64>() / m as f64)
                    .collect()
            })
            .collect();
        SeriesWriter::create(&dir.join("series_mean.csv"), &cols, &mean)?;
        for s in 0..m {
            let names = Names::new(s, m);
            for f in [names.series(), names.snapshots()] {
                let _ = std::fs::remove_file(dir.join(&f));
                r.remove_file(&f);
            }
        }
        for f in ["series.csv", "snapshots.csv", "series_mean.csv"] {
            r.add_file(f);
        }
    } else {
        r.add_file("series.csv");
        r.add_file("snapshots.csv");
    }
    // Merge events of every system.
    let mut mh: Vec<String> = if m > 1 {
        vec!["system".into()]
    } else {
        Vec::new()
    };
    mh.extend(
        [
            "t",
            "tau",
            "step",
            "tokens",
            "mass",
            "parts",
            "largest_part",
            "smallest_part",
        ]
        .iter()
        .map(|c| c.to_string()),
    );
    let mut merge_rows = Vec::new();
    for (s, sys) in systems.iter().enumerate() {
        for e in &sys.merges {
            let mut v = if m > 1 { vec![s as f64] } else { Vec::new() };
            v.extend([
                plan.scale.t_of_tau(e.time),
                e.time,
                e.step as f64,
                e.tokens as f64,
                e.tokens as f64 / plan.n as f64,
                e.parts.len() as f64,
                e.parts.first().copied().unwrap_or(0.0),
                e.parts.last().copied().unwrap_or(0.0),
            ]);
            merge_rows.push(v);
        }
    }
    SeriesWriter::create(&dir.join("merges.csv"), &mh, &merge_rows)?;
    r.add_file("merges.csv");
    let mut snapshot_list = Vec::new();
    for (s, sys) in systems.iter().enumerate() {
        let names = Names::new(s, m);
        for i in &sys.snapshots {
            let file = names.snapshot(i.step);
            r.add_file(file.clone());
            snapshot_list.push(json!({
                "system": s, "step": i.step, "tau": i.time, "t": plan.scale.t_of_tau(i.time), "file": file,
            }));
        }
        let _ = std::fs::remove_file(dir.join(names.checkpoint()));
        r.remove_file(&names.checkpoint());
    }
    r.results = json!({
        "steps": systems.iter().map(|s| s.steps).collect::<Vec<_>>(),
        "rejected_steps": systems.iter().map(|s| s.rejected).collect::<Vec<_>>(),
        "max_energy_identity_error": systems.iter().map(|s| finite_or_null(s.max_identity_error)).collect::<Vec<_>>(),
        "final_cluster_sizes": systems.iter().map(|s| s.final_cluster_sizes.clone()).collect::<Vec<_>>(),
        "merges": systems.iter().map(|s| merge_list(&s.merges, plan)).collect::<Vec<_>>(),
        "snapshots": snapshot_list,
    });
    Ok(())
}

fn merge_list(merges: &[MergeEvent], plan: &ParticlesPlan) -> serde_json::Value {
    merges
        .iter()
        .map(|e| {
            json!({"tau": e.time, "t": plan.scale.t_of_tau(e.time), "step": e.step,
                   "tokens": e.tokens, "parts": e.parts})
        })
        .collect()
}

fn finite_or_null(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else {
        serde_json::Value::Null
    }
}

/// The velocity field of a plan (for callers that evaluate it themselves).
pub fn field_of(plan: &ParticlesPlan) -> Result<Box<dyn VelocityField>> {
    build_velocity_field(
        plan.method,
        plan.dim,
        plan.beta,
        plan.model,
        plan.n,
        plan.summation_tol,
    )
}

/// The systems' results in order, or the first error that is not an interruption (else the
/// interruption).
pub(crate) fn collect_systems<T>(results: Vec<Result<T>>) -> Result<Vec<T>> {
    let mut systems = Vec::with_capacity(results.len());
    let mut first_err: Option<Error> = None;
    for r in results {
        match r {
            Ok(v) => systems.push(v),
            Err(e) => {
                let replace = match &first_err {
                    None => true,
                    Some(Error::Interrupted(_)) => !matches!(e, Error::Interrupted(_)),
                    _ => false,
                };
                if replace {
                    first_err = Some(e);
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(systems),
    }
}
