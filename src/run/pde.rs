//! PDE runs: the specification (`[pde]` in a config file, `attnflow pde` on the command line),
//! its resolution into a plan, and the executor that writes the documented output layout as
//! the run goes, with checkpoints and resume.

use super::checkpoint::Checkpoint;
use super::outdir::{read_table, SeriesWriter};
use super::record::RunRecord;
use super::value::{count_opt, parse_count};
use crate::control::RunControl;
use crate::io::write_npy_f64;
use crate::model::TimeScale;
use crate::pde::{
    self, FixedInterval, Frame, InitialData, PdeConfig, PdeSink, PdeSolver, SolverState, Stepping,
    Summary,
};
use crate::spectral::{Basis, CircleBasis, Geometry, SphereBasis, ZonalBasis};
use crate::{Error, Model, Result, TimeUnit};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Default relative tolerance of the adaptive PDE stepper (per coefficient).
pub const DEFAULT_TOL: f64 = 1e-8;
/// Default number of output times.
pub const DEFAULT_OUTPUTS: usize = 11;
/// Default largest accepted fraction of spectral energy in the top eighth of the degrees.
pub const DEFAULT_RESOLUTION_TOL: f64 = 1e-10;
/// Largest number of output times accepted.
pub const MAX_OUTPUTS: usize = 1_000_000;
/// Largest dimension of the zonal geometry (orthonormal harmonics stay finite).
pub const MAX_DIM_ZONAL: usize = 64;

/// Largest degree a basis of `geometry` may have (memory and time grow like `L`, `L^3`, `L^2`).
pub fn max_lmax(geometry: Geometry) -> usize {
    match geometry {
        Geometry::Circle => 1 << 16,
        Geometry::Sphere => 1023,
        Geometry::Zonal => 2000,
    }
}

/// Default largest degree of a run.
pub fn default_lmax(geometry: Geometry) -> usize {
    match geometry {
        Geometry::Sphere => 32,
        _ => 64,
    }
}

/// Default refinement limit, chosen from the cost of one right-hand side at that degree on a
/// laptop: circle `L = 65536` (FFTs, ~10 ms), sphere `L = 512` (~0.3 s), zonal `L = 2000`
/// (dense Gegenbauer transforms, ~0.1 s).
pub fn default_lmax_limit(geometry: Geometry) -> usize {
    match geometry {
        Geometry::Circle => 1 << 16,
        Geometry::Sphere => 512,
        Geometry::Zonal => 2000,
    }
}

/// A mean-field run. Field names are the command-line flags with `-` written `_`; `geometry`,
/// `beta` and `t_end` are required.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
#[command(allow_negative_numbers = true)]
pub struct PdeSpec {
    /// Geometry: circle (S^1, d = 2), sphere (S^2, d = 3) or zonal (axisymmetric S^{d-1}).
    #[arg(long, value_enum)]
    pub geometry: Option<Geometry>,
    /// Ambient dimension d (circle: 2, sphere: 3; zonal: 2..=64, default 3).
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub dim: Option<usize>,
    /// Inverse temperature beta in [1e-6, 1e5].
    #[arg(long)]
    pub beta: Option<f64>,
    /// Attention model: usa (default) or sa.
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// Largest degree L of the basis [default: 64; sphere 32].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub lmax: Option<usize>,
    /// Diffusion coefficient nu >= 0 (term nu Lap rho, per unit of --time) [default: 0].
    #[arg(long)]
    pub nu: Option<f64>,
    /// Final time, in the unit of --time.
    #[arg(long)]
    pub t_end: Option<f64>,
    /// Unit of --t-end, --dt and --nu: physical (default) or scaled (tau = e^beta t for USA).
    #[arg(long, value_enum)]
    pub time: Option<TimeUnit>,
    /// Adaptive Dormand–Prince 5(4) with this relative tolerance [default: 1e-8].
    #[arg(long, conflicts_with = "dt")]
    pub tol: Option<f64>,
    /// Fixed-step RK4 with steps of at most H (unit of --time).
    #[arg(long)]
    pub dt: Option<f64>,
    /// Largest degree Lp of the power columns C_1..C_Lp [default: min(L, 32)].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub lmax_power: Option<usize>,
    /// Number K >= 2 of output times, equally spaced from 0 to --t-end [default: 11].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub outputs: Option<usize>,
    /// Largest accepted fraction of spectral energy in the top eighth of the degrees
    /// [default: 1e-10].
    #[arg(long)]
    pub resolution_tol: Option<f64>,
    /// Refine (pad to ceil(3L/2)) when resolution is lost, up to --lmax-limit [default: true;
    /// --refine false stops instead].
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub refine: Option<bool>,
    /// Largest degree refinement may reach [default: circle 65536, sphere 512, zonal 2000].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub lmax_limit: Option<usize>,
    /// Do not write the grid densities (coefficients are always written).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub no_density: Option<bool>,
    /// Prescribed modes: circle k:amplitude[:phase], sphere l:m:amplitude (m < 0: sine
    /// harmonic), zonal l:0:amplitude; comma-separated.
    #[arg(long)]
    pub init_modes: Option<String>,
    /// White noise of standard deviation SIGMA on the grid (projected, degrees 1..=init_lmax).
    #[arg(long)]
    pub init_noise: Option<f64>,
    /// Random coefficients of variance 1/N (finite-N statistics), degrees 1..=init_lmax.
    #[arg(long)]
    pub n_equiv: Option<f64>,
    /// Seed of the random initial data [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Largest degree receiving random initial perturbations [default: floor(L/2)].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub init_lmax: Option<usize>,
    /// Particle snapshot (.npy, N x d unit vectors) projected onto the basis.
    #[arg(long)]
    pub init_snapshot: Option<PathBuf>,
    /// Heat-kernel smoothing time eps of the snapshot projection: factor exp(-eps l(l+d-2))
    /// [default: ln(1e8)/(L(L+d-2)), i.e. 1e-8 at l = L].
    #[arg(long)]
    pub smoothing: Option<f64>,
    /// Output directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seconds of wall-clock time between checkpoints [default: 300].
    #[arg(long)]
    pub checkpoint_every: Option<f64>,
    /// Also make a movie OUT/movie.gif of the density (circle and zonal: profile and
    /// kymograph; sphere: equal-area map) from the outputs [default: false; with it, outputs
    /// defaults to 121].
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub movie: Option<bool>,
    /// Movie format: gif (default, pure Rust), mp4 (needs ffmpeg on the PATH) or both.
    #[arg(long, value_enum)]
    pub movie_format: Option<crate::plot::movie::MovieFormat>,
}

/// A resolved PDE run.
#[derive(Clone, Debug)]
pub struct PdePlan {
    /// The specification with every default filled in.
    pub spec: PdeSpec,
    /// Geometry.
    pub geometry: Geometry,
    /// Ambient dimension.
    pub dim: usize,
    /// Largest degree at the start.
    pub lmax: usize,
    /// Largest degree of the power columns.
    pub lmax_power: usize,
    /// Solver configuration.
    pub cfg: PdeConfig,
    /// Initial data.
    pub init: InitialData,
    /// Initial coefficients in the basis of degree `lmax`.
    pub initial: Vec<f64>,
    /// Warnings for the user (e.g. a negative random initial density).
    pub warnings: Vec<String>,
}

impl PdeSpec {
    /// Check every field, fill in every default, build the initial data. Nothing is written.
    pub fn resolve(&self) -> Result<PdePlan> {
        let s = self;
        let geometry = s
            .geometry
            .ok_or_else(|| Error::parameter("geometry", "(missing)", "circle, sphere or zonal"))?;
        let beta = crate::linear::check_beta(s.beta.ok_or_else(|| {
            Error::parameter("beta", "(missing)", "a finite number in [1e-6, 1e5]")
        })?)?;
        let dim = match (geometry, s.dim) {
            (Geometry::Circle, None | Some(2)) => 2,
            (Geometry::Circle, Some(d)) => {
                return Err(Error::parameter("dim", d, "2 for geometry circle"))
            }
            (Geometry::Sphere, None | Some(3)) => 3,
            (Geometry::Sphere, Some(d)) => {
                return Err(Error::parameter("dim", d, "3 for geometry sphere"))
            }
            (Geometry::Zonal, None) => 3,
            (Geometry::Zonal, Some(d)) if (2..=MAX_DIM_ZONAL).contains(&d) => d,
            (Geometry::Zonal, Some(d)) => {
                return Err(Error::parameter(
                    "dim",
                    d,
                    format!("an integer in [2, {MAX_DIM_ZONAL}] for geometry zonal"),
                ))
            }
        };
        let max_l = max_lmax(geometry);
        let lmax = s.lmax.unwrap_or(default_lmax(geometry));
        if !(1..=max_l).contains(&lmax) {
            return Err(Error::parameter(
                "lmax",
                lmax,
                format!(
                    "an integer in [1, {max_l}] for geometry {}",
                    geometry.name()
                ),
            ));
        }
        let lmax_power = s.lmax_power.unwrap_or(lmax.min(32));
        if !(1..=lmax).contains(&lmax_power) {
            return Err(Error::parameter(
                "lmax_power",
                lmax_power,
                format!("an integer in [1, {lmax}] (at most lmax)"),
            ));
        }
        let lmax_limit = s
            .lmax_limit
            .unwrap_or(default_lmax_limit(geometry).max(lmax));
        if !(lmax..=max_l).contains(&lmax_limit) {
            return Err(Error::parameter(
                "lmax_limit",
                lmax_limit,
                format!("an integer in [lmax = {lmax}, {max_l}]"),
            ));
        }
        let model = s.model.unwrap_or(Model::Usa);
        let time = s.time.unwrap_or(TimeUnit::Physical);
        let t_end = s.t_end.ok_or_else(|| {
            Error::parameter(
                "t_end",
                "(missing)",
                "a finite number > 0 in the unit of time",
            )
        })?;
        let (movie, movie_format) = crate::plot::movie::resolve_movie(s.movie, s.movie_format)?;
        if movie && s.no_density == Some(true) {
            return Err(Error::parameter(
                "no_density",
                "true",
                "false with movie = true (the movie shows the densities)",
            ));
        }
        let outputs = s.outputs.unwrap_or(if movie {
            crate::plot::movie::PDE_MOVIE_OUTPUTS
        } else {
            DEFAULT_OUTPUTS
        });
        crate::error::require_count("outputs", outputs, 2, MAX_OUTPUTS)?;
        let (stepping, tol, dt) = match (s.tol, s.dt) {
            (Some(_), Some(_)) => {
                return Err(Error::parameter(
                    "dt",
                    "(given with tol)",
                    "either dt (fixed-step RK4) or tol (adaptive), not both",
                ))
            }
            (_, Some(dt)) => (Stepping::Fixed { dt }, None, Some(dt)),
            (tol, None) => {
                let tol = tol.unwrap_or(DEFAULT_TOL);
                (Stepping::Adaptive { tol }, Some(tol), None)
            }
        };
        let cfg = PdeConfig {
            model,
            beta,
            nu: s.nu.unwrap_or(0.0),
            time,
            t_end,
            outputs,
            stepping,
            resolution_tol: s.resolution_tol.unwrap_or(DEFAULT_RESOLUTION_TOL),
            refine: s.refine.unwrap_or(true),
            lmax_limit,
        };
        cfg.validate()?;
        if t_end > 0.0 {
            TimeScale::new(model, beta, time).to_internal("t_end", t_end)?;
        }
        let checkpoint_every = crate::error::require_in_range(
            "checkpoint_every",
            s.checkpoint_every
                .unwrap_or(super::particles::DEFAULT_CHECKPOINT_EVERY),
            0.0,
            1e9,
        )?;
        // Initial data.
        let seed = s.seed.unwrap_or(0);
        let mut init = InitialData {
            seed,
            ..Default::default()
        };
        if let Some(spec) = &s.init_modes {
            init.modes = pde::parse_modes(spec, geometry, lmax)?;
        }
        if let Some(v) = s.init_noise {
            init.noise_sigma = Some(crate::error::require_positive("init_noise", v)?);
        }
        if let Some(v) = s.n_equiv {
            init.n_equiv = Some(crate::error::require_positive("n_equiv", v)?);
        }
        let init_lmax = s.init_lmax.unwrap_or(lmax / 2);
        if !(1..=lmax).contains(&init_lmax) {
            return Err(Error::parameter(
                "init_lmax",
                init_lmax,
                format!("an integer in [1, {lmax}]"),
            ));
        }
        init.noise_lmax = Some(init_lmax);
        if let Some(eps) = s.smoothing {
            if !(eps.is_finite() && eps >= 0.0) {
                return Err(Error::parameter("smoothing", eps, "a finite number >= 0"));
            }
        }
        if let Some(path) = &s.init_snapshot {
            init.snapshot = Some(pde::init::read_snapshot(path, dim)?);
            init.smoothing = Some(
                s.smoothing
                    .unwrap_or_else(|| pde::init::default_smoothing(lmax, dim)),
            );
        }
        super::limits::check_memory(
            &format!("a {} basis refined up to L = {lmax_limit}", geometry.name()),
            pde_memory(geometry, lmax_limit),
        )?;
        let (initial, min_rho) = with_basis(geometry, lmax, dim, InitialTask(&init))?;
        let mut warnings = Vec::new();
        if min_rho < 0.0 {
            let what = format!(
                "the initial density is negative somewhere (min rho = {min_rho:.3e} on the grid)"
            );
            if init.modes.is_empty() || init.noise_sigma.is_some() || init.n_equiv.is_some() {
                warnings.push(format!(
                    "{what}: random or projected initial data are not a probability density"
                ));
            } else {
                return Err(Error::parameter(
                    "init_modes",
                    s.init_modes.as_deref().unwrap_or(""),
                    format!(
                        "amplitudes that keep the density >= 0 ({what}; a density must be non-negative)"
                    ),
                ));
            }
        }
        let spec = PdeSpec {
            geometry: Some(geometry),
            dim: Some(dim),
            beta: Some(beta),
            model: Some(model),
            lmax: Some(lmax),
            nu: Some(cfg.nu),
            t_end: Some(t_end),
            time: Some(time),
            tol,
            dt,
            lmax_power: Some(lmax_power),
            outputs: Some(outputs),
            resolution_tol: Some(cfg.resolution_tol),
            refine: Some(cfg.refine),
            lmax_limit: Some(lmax_limit),
            no_density: Some(s.no_density.unwrap_or(false)),
            init_modes: s.init_modes.clone(),
            init_noise: init.noise_sigma,
            n_equiv: init.n_equiv,
            seed: Some(seed),
            init_lmax: Some(init_lmax),
            init_snapshot: s
                .init_snapshot
                .as_ref()
                .map(|p| super::particles::absolute(p)),
            smoothing: init.smoothing,
            out: s.out.clone(),
            checkpoint_every: Some(checkpoint_every),
            movie: Some(movie),
            movie_format,
        };
        Ok(PdePlan {
            spec,
            geometry,
            dim,
            lmax,
            lmax_power,
            cfg,
            init,
            initial,
            warnings,
        })
    }
}

impl PdeSpec {
    /// Resolve and run in memory (no files; `out` is ignored): every output frame.
    pub fn run_in_memory(&self, ctl: &RunControl) -> Result<PdeOutcome> {
        execute(&self.resolve()?, None, None, ctl, false)
    }
}

/// Memory of the solver at degree `l`: about 16 fields on the dealiased grid and in
/// coefficient space, plus the zonal transform matrix.
fn pde_memory(geometry: Geometry, l: usize) -> f64 {
    let lf = l as f64 + 1.0;
    let doubles = match geometry {
        Geometry::Circle => 16.0 * (3.0 * lf + 2.0 * lf),
        Geometry::Sphere => 16.0 * (4.5 * lf * lf + lf * lf),
        Geometry::Zonal => 16.0 * 2.5 * lf + 1.5 * lf * lf,
    };
    8.0 * doubles
}

/// Work that needs a concrete basis type.
trait BasisTask {
    type Out;
    fn run<B: Basis + GridNodes + 'static>(self, basis: B) -> Result<Self::Out>;
}

/// Call `task` with the basis of `geometry` at degree `lmax`.
fn with_basis<T: BasisTask>(
    geometry: Geometry,
    lmax: usize,
    dim: usize,
    task: T,
) -> Result<T::Out> {
    match geometry {
        Geometry::Circle => task.run(CircleBasis::new(lmax)),
        Geometry::Sphere => task.run(SphereBasis::new(lmax)),
        Geometry::Zonal => {
            let b = ZonalBasis::new(lmax, dim);
            if !b.is_finite() {
                return Err(Error::parameter(
                    "lmax",
                    lmax,
                    format!("a smaller degree for dim = {dim} (zonal harmonics overflow)"),
                ));
            }
            task.run(b)
        }
    }
}

struct InitialTask<'a>(&'a InitialData);

impl BasisTask for InitialTask<'_> {
    type Out = (Vec<f64>, f64);
    fn run<B: Basis + GridNodes + 'static>(self, mut basis: B) -> Result<Self::Out> {
        let c = pde::initial_coefficients(&mut basis, self.0)?;
        let mut grid = vec![0.0; basis.grid_len()];
        basis.synthesize(&c, &mut grid);
        let min = grid.iter().copied().fold(f64::INFINITY, f64::min);
        Ok((c, min))
    }
}

/// The one-dimensional node array that describes a basis' grid.
pub trait GridNodes: Basis {
    /// Circle: angles; sphere: `cos(theta)` of the rings; zonal: the `t` nodes.
    fn nodes(&self) -> Vec<f64>;
}

impl GridNodes for CircleBasis {
    fn nodes(&self) -> Vec<f64> {
        self.angles()
    }
}
impl GridNodes for SphereBasis {
    fn nodes(&self) -> Vec<f64> {
        self.ring_nodes().to_vec()
    }
}
impl GridNodes for ZonalBasis {
    fn nodes(&self) -> Vec<f64> {
        ZonalBasis::nodes(self).to_vec()
    }
}

/// Names of the grid files of degree `l`.
fn grid_names(l: usize) -> [String; 3] {
    [
        format!("grid_L{l:04}_nodes.npy"),
        format!("grid_L{l:04}_weights.npy"),
        format!("degrees_L{l:04}.npy"),
    ]
}

struct GridTask<'a>(&'a Path);

impl BasisTask for GridTask<'_> {
    type Out = Vec<String>;
    fn run<B: Basis + GridNodes + 'static>(self, basis: B) -> Result<Vec<String>> {
        let names = grid_names(basis.lmax());
        let nodes = basis.nodes();
        write_npy_f64(&self.0.join(&names[0]), &[nodes.len()], &nodes)?;
        write_npy_f64(
            &self.0.join(&names[1]),
            &basis.grid_shape(),
            basis.grid_weights(),
        )?;
        let deg: Vec<f64> = basis.degrees().iter().map(|&d| d as f64).collect();
        write_npy_f64(&self.0.join(&names[2]), &[deg.len()], &deg)?;
        Ok(names.to_vec())
    }
}

/// Columns of the PDE `series.csv`.
pub fn series_columns(lmax_power: usize) -> Vec<String> {
    let mut c: Vec<String> = [
        "t",
        "tau",
        "step",
        "energy",
        "mass",
        "min_rho",
        "tail_fraction",
        "lmax",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    c.extend((1..=lmax_power).map(|l| format!("C_{l}")));
    c
}

/// The values of the row of `frame` in the order of [`series_columns`].
pub fn series_values(frame: &Frame, lmax_power: usize) -> Vec<f64> {
    let d = frame.diagnostics;
    let mut v = vec![
        frame.t,
        frame.tau,
        frame.step as f64,
        d.energy,
        d.mass,
        d.min_rho,
        d.tail_fraction,
        frame.lmax as f64,
    ];
    v.extend((1..=lmax_power).map(|l| d.power.get(l).copied().unwrap_or(0.0)));
    v
}

fn layout(geometry: Geometry) -> &'static str {
    match geometry {
        Geometry::Circle => "f[0] <-> 1, f[2k-1] <-> sqrt(2) cos(k theta), f[2k] <-> sqrt(2) sin(k theta)",
        Geometry::Sphere => "f[l^2] <-> pbar_l^0(cos th), f[l^2+2m-1] <-> sqrt(2) pbar_l^m cos(m ph), f[l^2+2m] <-> sqrt(2) pbar_l^m sin(m ph)",
        Geometry::Zonal => "f[l] <-> Z_l(t) = sqrt(dim H_l) C_l^a(t)/C_l^a(1), t = x_d (last coordinate), a = (d-2)/2",
    }
}

fn grid_text(geometry: Geometry) -> &'static str {
    match geometry {
        Geometry::Circle => "density_K.npy shape (n,) at theta_j = 2 pi j / n; grid_L*_nodes.npy = theta_j",
        Geometry::Sphere => "density_K.npy shape (nlat, nlon): ring r at cos(th) = grid_L*_nodes.npy[r] (Gauss-Legendre, ascending), longitude 2 pi j / nlon",
        Geometry::Zonal => "density_K.npy shape (n,) at t_i = grid_L*_nodes.npy[i] (Gauss-Gegenbauer, ascending)",
    }
}

/// Meaning of every column and file of a PDE run (for `run.json`).
pub fn conventions(geometry: Geometry) -> serde_json::Value {
    json!({
        "t": "physical time of the equations (USA: t = e^-beta tau, may underflow to 0 for beta > ~700)",
        "tau": "internal time: tau = e^beta t for USA (scaled kernel exp(beta(<x,y>-1))), tau = t for SA",
        "step": "accepted steps so far",
        "energy": "E_s = (1/(2 beta)) int int exp(beta(<x,y>-1)) rho rho dsigma dsigma: the scaled-kernel energy (the physical energy is e^beta E_s); the same meaning as the particles' energy column",
        "mass": "int rho dsigma (coefficient 0)",
        "min_rho": "minimum of rho over the grid points",
        "tail_fraction": "sum of C_l over the top max(1, floor(L/8)) degrees / sum of all C_l (C_0 included): the resolution indicator",
        "lmax": "largest degree of the basis at this output (grows with refinement)",
        "C_l": "sum of squared orthonormal coefficients of degree l (N iid uniform tokens: C_l ~ dim(H_l)/N; circle: C_k = 2|M_k|^2)",
        "density": "rho w.r.t. the uniform probability measure sigma (uniform state rho = 1)",
        "coefficients": layout(geometry),
        "grid": grid_text(geometry),
        "files": "coeffs_KKKK.npy and density_KKKK.npy per output index K; grid_LXXXX_nodes.npy, grid_LXXXX_weights.npy, degrees_LXXXX.npy per degree L used",
    })
}

/// One output frame kept in memory.
#[derive(Clone, Debug)]
pub struct FrameData {
    /// Output index.
    pub index: usize,
    /// Physical time.
    pub t: f64,
    /// Internal time.
    pub tau: f64,
    /// Largest degree.
    pub lmax: usize,
    /// Coefficients.
    pub coefficients: Vec<f64>,
    /// Density on the grid (empty with `no_density`).
    pub density: Vec<f64>,
    /// Grid shape.
    pub grid_shape: Vec<usize>,
    /// The series row of this frame ([`series_columns`]).
    pub row: Vec<f64>,
}

/// Results of a PDE run.
pub struct PdeOutcome {
    /// Statistics.
    pub summary: Summary,
    /// Frames kept in memory (in-memory runs only).
    pub frames: Vec<FrameData>,
}

struct Files<'a> {
    dir: Option<&'a Path>,
    plan: &'a PdePlan,
    series: Option<SeriesWriter>,
    grids: BTreeSet<usize>,
    record: Option<&'a Mutex<RunRecord>>,
    ctl: &'a RunControl,
    frames: Vec<FrameData>,
}

impl Files<'_> {
    /// List `names` in the record; rewrite `run.json` when `write` (checkpoints and new grids,
    /// not every frame: the record is also written when the run ends).
    fn note(&self, names: &[String], write: bool) -> Result<()> {
        if let (Some(d), Some(rec)) = (self.dir, self.record) {
            let mut r = rec.lock().unwrap_or_else(|e| e.into_inner());
            for n in names {
                r.add_file(n.clone());
            }
            if write {
                r.write(d)?;
            }
        }
        Ok(())
    }
}

impl<B: Basis> PdeSink<B> for Files<'_> {
    fn frame(&mut self, f: &Frame) -> Result<()> {
        let row = series_values(f, self.plan.lmax_power);
        let no_density = self.plan.spec.no_density == Some(true);
        match self.dir {
            Some(d) => {
                let mut names = Vec::new();
                let new_grid = !self.grids.contains(&f.lmax);
                if new_grid {
                    names.extend(with_basis(
                        self.plan.geometry,
                        f.lmax,
                        self.plan.dim,
                        GridTask(d),
                    )?);
                    self.grids.insert(f.lmax);
                }
                let cname = format!("coeffs_{:04}.npy", f.index);
                write_npy_f64(&d.join(&cname), &[f.coefficients.len()], f.coefficients)?;
                names.push(cname);
                if !no_density {
                    let dname = format!("density_{:04}.npy", f.index);
                    write_npy_f64(&d.join(&dname), &f.grid_shape, f.density)?;
                    names.push(dname);
                }
                if let Some(s) = &mut self.series {
                    s.append(&row)?;
                }
                self.note(&names, new_grid)?;
            }
            None => self.frames.push(FrameData {
                index: f.index,
                t: f.t,
                tau: f.tau,
                lmax: f.lmax,
                coefficients: f.coefficients.to_vec(),
                density: if no_density {
                    Vec::new()
                } else {
                    f.density.to_vec()
                },
                grid_shape: f.grid_shape.clone(),
                row,
            }),
        }
        Ok(())
    }
    fn progress(&mut self, fraction: f64) {
        self.ctl.progress(fraction, "pde");
    }
    fn checkpoint(&mut self, state: &SolverState) -> Result<()> {
        if let Some(d) = self.dir {
            state_checkpoint(state).write(&d.join(CHECKPOINT))?;
            self.note(&[CHECKPOINT.to_string()], true)?;
        }
        Ok(())
    }
}

/// Name of the PDE checkpoint file.
pub const CHECKPOINT: &str = "checkpoint.bin";

fn state_checkpoint(st: &SolverState) -> Checkpoint {
    let mut c = Checkpoint::new();
    c.set("kind", "pde");
    c.set("lmax", st.lmax);
    c.set("next_output", st.next_output);
    c.set("fixed_steps", st.fixed.map(|f| (f.steps, f.done)));
    c.set("summary", &st.summary);
    c.push_array("coefficients", st.coefficients.clone());
    c.push_array("scalars", vec![st.tau, st.h, st.fixed.map_or(0.0, |f| f.h)]);
    c
}

fn state_from_checkpoint(c: &Checkpoint) -> Result<SolverState> {
    let sc = c.array("scalars")?;
    if sc.len() != 3 {
        return Err(Error::Numerical("checkpoint: inconsistent arrays".into()));
    }
    let fixed: Option<(usize, usize)> = c.get("fixed_steps")?;
    Ok(SolverState {
        lmax: c.get("lmax")?,
        coefficients: c.array("coefficients")?.to_vec(),
        tau: sc[0],
        h: sc[1],
        next_output: c.get("next_output")?,
        fixed: fixed.map(|(steps, done)| FixedInterval {
            steps,
            h: sc[2],
            done,
        }),
        summary: c.get("summary")?,
    })
}

struct RunTask<'a> {
    files: Files<'a>,
    saved: Option<SolverState>,
}

impl BasisTask for RunTask<'_> {
    type Out = (Summary, Vec<FrameData>);
    fn run<B: Basis + GridNodes + 'static>(mut self, basis: B) -> Result<Self::Out> {
        let plan = self.files.plan;
        let ctl = self.files.ctl;
        let mut solver = match self.saved {
            Some(st) => PdeSolver::restore(basis, st, &plan.cfg)?,
            None => PdeSolver::new(basis, &plan.initial, &plan.cfg)?,
        };
        let r = match self.files.dir {
            Some(_) => {
                let schedule = ctl.schedule();
                solver.run(&mut self.files, &|| schedule.poll())
            }
            None => solver.run(&mut self.files, &|| ctl.poll_stop()),
        };
        if let Some(rec) = self.files.record {
            let mut g = rec.lock().unwrap_or_else(|e| e.into_inner());
            g.results = json!({ "summary": solver.summary() });
        }
        r?;
        Ok((solver.summary().clone(), self.files.frames))
    }
}

/// Quantities derived from the plan, for `run.json`.
pub fn derived(plan: &PdePlan) -> serde_json::Value {
    let scale = TimeScale::new(plan.cfg.model, plan.cfg.beta, plan.cfg.time);
    json!({
        "internal_time": scale.internal_name(),
        "tau_end": plan.cfg.t_end * scale.ln_tau_per_unit().exp(),
        "nu_internal": scale.rate_to_internal(plan.cfg.nu),
        "stepper": match plan.cfg.stepping { Stepping::Adaptive { .. } => "lawson-dormand-prince-5(4)", Stepping::Fixed { .. } => "lawson-rk4" },
        "init_lmax": plan.init.noise_lmax,
        "snapshot_tokens": plan.init.snapshot.as_ref().map(|s| s.1),
    })
}

/// Run the plan. With `dir`, outputs are written as the run goes (record in `record`),
/// checkpoints follow `ctl`'s schedule; with `resume`, the run continues from
/// `dir/checkpoint.bin`. Without `dir`, frames are kept in memory.
pub fn execute(
    plan: &PdePlan,
    dir: Option<&Path>,
    record: Option<&Mutex<RunRecord>>,
    ctl: &RunControl,
    resume: bool,
) -> Result<PdeOutcome> {
    let saved = match (dir, resume) {
        (Some(d), true) if d.join(CHECKPOINT).is_file() => Some(state_from_checkpoint(
            &Checkpoint::read(&d.join(CHECKPOINT))?,
        )?),
        _ => None,
    };
    let lmax = saved.as_ref().map_or(plan.lmax, |s| s.lmax);
    let series = match dir {
        Some(d) => {
            let kept = match &saved {
                Some(st) => {
                    let (_, rows) = read_table(&d.join("series.csv"))?;
                    rows.into_iter().take(st.next_output).collect()
                }
                None => Vec::new(),
            };
            Some(SeriesWriter::create(
                &d.join("series.csv"),
                &series_columns(plan.lmax_power),
                &kept,
            )?)
        }
        None => None,
    };
    if let Some(rec) = record {
        let mut r = rec.lock().unwrap_or_else(|e| e.into_inner());
        r.derived = derived(plan);
        r.add_file("series.csv");
        if let Some(d) = dir {
            r.write(d)?;
        }
    }
    // Grids already written by an earlier session.
    let mut grids = BTreeSet::new();
    if let Some(d) = dir {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(l) = name
                    .strip_prefix("degrees_L")
                    .and_then(|r| r.strip_suffix(".npy"))
                    .and_then(|r| r.parse::<usize>().ok())
                {
                    grids.insert(l);
                }
            }
        }
    }
    let files = Files {
        dir,
        plan,
        series,
        grids,
        record,
        ctl,
        frames: Vec::new(),
    };
    let (summary, frames) = with_basis(plan.geometry, lmax, plan.dim, RunTask { files, saved })?;
    if let Some(d) = dir {
        let _ = std::fs::remove_file(d.join(CHECKPOINT));
        if let Some(rec) = record {
            rec.lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove_file(CHECKPOINT);
        }
    }
    Ok(PdeOutcome { summary, frames })
}
