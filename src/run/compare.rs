//! Comparison experiments as run specifications (`[compare.<experiment>]` in a config file,
//! `attnflow compare <experiment>` on the command line): fields, defaults, validation, and
//! the dispatch to [`crate::compare`]. Experiments resume at the granularity of completed
//! sub-runs (see [`crate::compare::parts`]).

use super::particles::{check_tol, default_t_end, DEFAULT_SERIES_POINTS};
use super::value::{count_opt, counts_opt, parse_count};
use crate::analysis::ClusterParams;
use crate::compare::{self, common::ParticleSetup, parts::Parts};
use crate::control::RunControl;
use crate::error::{require_count, require_in_range, require_positive};
use crate::{linear, Error, Model, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Default local error tolerance of the `phase` experiment's many small systems (its heat map
/// resolves fractions of pairs to 1/496, far above this error; the other experiments use the
/// particle runs' default).
pub const PHASE_TOL: f64 = 1e-7;

/// Default ambient dimension of the particle experiments.
pub const DEFAULT_DIM: usize = 2;
/// Default inverse temperature of the particle experiments.
pub const DEFAULT_BETA: f64 = 9.0;
/// Default inverse temperature of `compare staircase` (several coarsening steps by default).
pub const STAIRCASE_BETA: f64 = 25.0;
/// Largest token count of an experiment.
const MAX_N: usize = 10_000_000;

/// The options shared by the particle experiments, resolved.
#[derive(Clone, Copy, Debug)]
struct Common {
    dim: usize,
    beta: f64,
    model: Model,
    seed: u64,
    tol: f64,
}

fn resolve_common(
    dim: Option<usize>,
    beta: Option<f64>,
    model: Option<Model>,
    seed: Option<u64>,
    tol: Option<f64>,
) -> Result<Common> {
    Ok(Common {
        dim: linear::check_dim(dim.unwrap_or(DEFAULT_DIM).min(1 << 20) as i64)?,
        beta: linear::check_beta(beta.unwrap_or(DEFAULT_BETA))?,
        model: model.unwrap_or(Model::Usa),
        seed: seed.unwrap_or(0),
        tol: check_tol(tol)?,
    })
}

/// A particle experiment's specification: the shared fields (`dim`, `beta`, `model`, `seed`,
/// `tol`, `out`, `checkpoint_every`) and its own.
macro_rules! particle_experiment {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
        #[serde(default, deny_unknown_fields)]
        #[command(allow_negative_numbers = true)]
        pub struct $name {
            /// Ambient dimension d [default: 2].
            #[arg(long, value_parser = parse_count)]
            #[serde(deserialize_with = "count_opt")]
            pub dim: Option<usize>,
            /// Inverse temperature beta [default: 9; staircase: 25].
            #[arg(long)]
            pub beta: Option<f64>,
            /// Attention model: usa (default) or sa.
            #[arg(long, value_enum)]
            pub model: Option<Model>,
            /// Base random seed (system s uses PCG stream s) [default: 0].
            #[arg(long)]
            pub seed: Option<u64>,
            /// Local error tolerance of the adaptive integrator [default: 1e-8].
            #[arg(long)]
            pub tol: Option<f64>,
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Output directory.
            #[arg(long)]
            pub out: Option<PathBuf>,
            /// Seconds between checkpoints [default: 300] (experiments resume at completed
            /// sub-runs).
            #[arg(long)]
            pub checkpoint_every: Option<f64>,
        }

        impl $name {
            fn common(&self) -> Result<Common> {
                resolve_common(self.dim, self.beta, self.model, self.seed, self.tol)
            }
            fn fill_common(&mut self, c: &Common) {
                self.dim = Some(c.dim);
                self.beta = Some(c.beta);
                self.model = Some(c.model);
                self.seed = Some(c.seed);
                self.tol = Some(c.tol);
                self.checkpoint_every =
                    Some(self.checkpoint_every.unwrap_or(super::particles::DEFAULT_CHECKPOINT_EVERY));
            }
        }
    };
}

particle_experiment! {
    /// `growth`: fitted growth rates of the harmonic power vs linear theory (and the PDE).
    GrowthSpec {
        /// Tokens per system [default: 1e5].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        n: Option<usize>,
        /// Number of systems (seeds) [default: 8].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        seeds: Option<usize>,
        /// Largest degree fitted [default: 12].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        lmax_power: Option<usize>,
    }
}

particle_experiment! {
    /// `onset`: onset time of the meta-stable structure against ln N.
    OnsetSpec {
        /// Smallest N [default: 300].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        n_min: Option<usize>,
        /// Largest N, at least 100 n_min (two decades) [default: 30000].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        n_max: Option<usize>,
        /// Number of sizes, log-spaced [default: 5].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        points: Option<usize>,
        /// Systems per size [default: 6].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        seeds: Option<usize>,
        /// Onset level: C_{l*} reaches level * dim(H_{l*}) [default: 0.1].
        #[arg(long)]
        level: Option<f64>,
    }
}

particle_experiment! {
    /// `predict`: cluster locations predicted from the initial data vs where clusters form.
    PredictSpec {
        /// Tokens [default: 2000].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        n: Option<usize>,
        /// Final time in the internal unit [default: 1.4 ln N / (2 gamma_{l*})].
        #[arg(long)]
        t_end: Option<f64>,
    }
}

particle_experiment! {
    /// `staircase`: a long run past meta-stability: energy staircase and merge events.
    StaircaseSpec {
        /// Tokens [default: 300; beta defaults to 25 here].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        n: Option<usize>,
        /// Final time in the internal unit [default: 1e6 / gamma_{l*}].
        #[arg(long)]
        t_end: Option<f64>,
        /// A published setting instead: gkpr (Geshkovski–Koubbi–Polyanskiy–Rigollet: n = 5 on
        /// the circle, their initial angles, beta in {500, ..., 4000}, their rescaled time).
        #[arg(long, value_enum)]
        preset: Option<StaircasePreset>,
    }
}

particle_experiment! {
    /// `pde-vs-particles`: the same initial data through particles and PDE.
    PvpSpec {
        /// Token counts [default: 1000,4000,16000,64000].
        #[arg(long, value_delimiter = ',', value_parser = parse_count)]
        #[serde(deserialize_with = "counts_opt")]
        ns: Option<Vec<usize>>,
        /// PDE degree L [default: 128 on the circle, 32 on the sphere].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        lmax: Option<usize>,
        /// Final time in the internal unit [default: ln(max N) / gamma_{l*}].
        #[arg(long)]
        t_end: Option<f64>,
        /// Number of output times [default: 61].
        #[arg(long, value_parser = parse_count)]
        #[serde(deserialize_with = "count_opt")]
        outputs: Option<usize>,
    }
}

/// Published settings of `compare staircase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StaircasePreset {
    /// Geshkovski–Koubbi–Polyanskiy–Rigollet, *Dynamic metastability in the self-attention model*.
    Gkpr,
}

/// `clusters`: meta-stable cluster counts over a sweep of beta vs l*(beta).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
#[command(allow_negative_numbers = true)]
pub struct ClustersSpec {
    /// Ambient dimension d [default: 2].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub dim: Option<usize>,
    /// Attention model: usa (default) or sa.
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// Base random seed [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Local error tolerance of the adaptive integrator [default: 1e-8].
    #[arg(long)]
    pub tol: Option<f64>,
    /// Tokens per system [default: 2000].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub n: Option<usize>,
    /// Systems per beta [default: 4].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub seeds: Option<usize>,
    /// Smallest beta of the sweep [default: 1].
    #[arg(long)]
    pub beta_min: Option<f64>,
    /// Largest beta of the sweep [default: 60].
    #[arg(long)]
    pub beta_max: Option<f64>,
    /// Number of betas, log-spaced [default: 12].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub points: Option<usize>,
    /// Output directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seconds between checkpoints [default: 300].
    #[arg(long)]
    pub checkpoint_every: Option<f64>,
}

/// `phase`: (beta, time) phase diagram of clustering from ensembles of small systems. The
/// literature's setting is `systems = 1024, betas = 90, dims = [2, 8, 32, 128, 512, 1024]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
#[command(allow_negative_numbers = true)]
pub struct PhaseSpec {
    /// Dimensions, one diagram each [default: 2,8,32,128].
    #[arg(long, value_delimiter = ',', value_parser = parse_count)]
    #[serde(deserialize_with = "counts_opt")]
    pub dims: Option<Vec<usize>>,
    /// Tokens per system [default: 32].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub n: Option<usize>,
    /// Systems per beta [default: 32].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub systems: Option<usize>,
    /// Smallest beta [default: 0.1].
    #[arg(long)]
    pub beta_min: Option<f64>,
    /// Largest beta [default: 9].
    #[arg(long)]
    pub beta_max: Option<f64>,
    /// Number of betas, evenly spaced [default: 30].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub betas: Option<usize>,
    /// Final time (t for SA, tau for USA) [default: 30].
    #[arg(long)]
    pub t_end: Option<f64>,
    /// Number of output intervals in time [default: 60].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub steps: Option<usize>,
    /// Attention model [default: sa, as in the literature].
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// Base seed [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Local error tolerance of the adaptive integrator [default: 1e-7].
    #[arg(long)]
    pub tol: Option<f64>,
    /// Integrator: dopri5 (adaptive, default) or euler (explicit Euler + renormalisation with
    /// step --dt, the published codes' scheme, for exact reproduction of their figure).
    #[arg(long, value_enum)]
    pub integrator: Option<super::particles::IntegratorKind>,
    /// Step of the euler integrator [default: 0.1, as in the published codes].
    #[arg(long)]
    pub dt: Option<f64>,
    /// Compute only this column of the beta grid (0-based index into the --betas values;
    /// default: all). For sweeps and job arrays: a sweep over `beta_index = { range = [0,
    /// betas] }`, merged by `attnflow merge`, gives the whole heat map, bit for bit.
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub beta_index: Option<usize>,
    /// Output directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seconds between checkpoints [default: 300].
    #[arg(long)]
    pub checkpoint_every: Option<f64>,
}

/// `reproduce`: the published circle experiments (beta = 5 and 7, N = 2e4; mean field from
/// 0.01 noise).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
#[command(allow_negative_numbers = true)]
pub struct ReproduceSpec {
    /// Tokens [default: 20000].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub n: Option<usize>,
    /// Seed [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Integrator tolerance [default: 1e-8].
    #[arg(long)]
    pub tol: Option<f64>,
    /// PDE degree of the mean-field run [default: 512].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub pde_lmax: Option<usize>,
    /// Output directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seconds between checkpoints [default: 300].
    #[arg(long)]
    pub checkpoint_every: Option<f64>,
}

/// `noise`: the noisy USA model — noisy rates of the modes across `nu` (theory, PDE,
/// particles) and the bifurcation diagram `r(nu)` for one `beta < beta_*` and one `beta >
/// beta_*` (continuation, long PDE runs, particles), with a hysteresis sweep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
#[command(allow_negative_numbers = true)]
pub struct NoiseSpec {
    /// Ambient dimension d, 2 or 3 [default: 2].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub dim: Option<usize>,
    /// Inverse temperature below beta_*(d) (supercritical) [default: 0.6 beta_* to one decimal: 1.5 for d = 2].
    #[arg(long)]
    pub beta_low: Option<f64>,
    /// Inverse temperature above beta_*(d) (subcritical; also the rates' beta) [default: 2 beta_* rounded: 5 for d = 2].
    #[arg(long)]
    pub beta_high: Option<f64>,
    /// Small sizes for a fast check (seconds): fewer tokens and systems, shorter runs.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub quick: Option<bool>,
    /// Tokens per system of the rate ensembles [default: 4000; quick: 1000].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub n: Option<usize>,
    /// Systems per rate ensemble [default: 24; quick: 8].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub systems: Option<usize>,
    /// Tokens of the order-parameter runs and the hysteresis sweep [default: 4000; quick: 1000].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub n_order: Option<usize>,
    /// Degree of the PDE runs and the continuation [default: 40].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub lmax: Option<usize>,
    /// Stages of each leg of the hysteresis sweep [default: 8; quick: 5].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub stages: Option<usize>,
    /// Base seed [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Local error tolerance of the adaptive particle integrator [default: 1e-8].
    #[arg(long)]
    pub tol: Option<f64>,
    /// Output directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seconds between checkpoints [default: 300] (the experiment resumes at completed sub-runs).
    #[arg(long)]
    pub checkpoint_every: Option<f64>,
}

/// `bifurcation`: the branches of axisymmetric stationary states of the noisy USA model for
/// every `(d, beta)` (Newton + pseudo-arclength continuation, stability), as `attnflow critical
/// --diagram` writes them: `bifurcation.csv`, `bifurcation.json`, `bifurcation.png`, plus
/// `report.md` and `data.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
#[command(allow_negative_numbers = true)]
pub struct BifurcationSpec {
    /// Ambient dimensions [default: 2,3].
    #[arg(long, value_delimiter = ',', value_parser = parse_count)]
    #[serde(deserialize_with = "counts_opt")]
    pub dims: Option<Vec<usize>>,
    /// Inverse temperatures [default: 1.5,3,5].
    #[arg(long, value_delimiter = ',')]
    pub betas: Option<Vec<f64>>,
    /// Truncation degree, 4 <= L <= 400 [default: 48].
    #[arg(long, value_parser = parse_count)]
    #[serde(deserialize_with = "count_opt")]
    pub lmax: Option<usize>,
    /// Output directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seconds between checkpoints (unused: the diagram takes seconds) [default: 300].
    #[arg(long)]
    pub checkpoint_every: Option<f64>,
}

/// A comparison experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clap::Subcommand)]
#[serde(rename_all = "kebab-case")]
pub enum CompareSpec {
    /// Fitted growth rates of the harmonic power vs linear theory.
    Growth(GrowthSpec),
    /// Onset time of the meta-stable structure against ln N, vs 1/(2 gamma_{l*}).
    Onset(OnsetSpec),
    /// Cluster locations predicted from the initial data vs where particle clusters form.
    Predict(PredictSpec),
    /// Meta-stable cluster counts over a sweep of beta vs l*(beta).
    Clusters(ClustersSpec),
    /// A long run past meta-stability: energy staircase and merge events.
    Staircase(StaircaseSpec),
    /// (beta, time) phase diagram of clustering from ensembles of small systems.
    Phase(PhaseSpec),
    /// The same initial data evolved by the particles and by the PDE; distance and scaling in N.
    PdeVsParticles(PvpSpec),
    /// The published circle experiments (beta = 5 and 7, N = 2e4; mean field from 0.01 noise).
    Reproduce(ReproduceSpec),
    /// The noisy model: noisy rates across nu and the bifurcation diagram with hysteresis.
    Noise(NoiseSpec),
    /// Branches of stationary states of the noisy USA model and their stability.
    Bifurcation(BifurcationSpec),
}

/// A resolved experiment.
#[derive(Clone, Debug)]
pub enum ComparePlan {
    /// growth.
    Growth(ParticleSetup),
    /// onset: base setup, sizes, level.
    Onset(ParticleSetup, Vec<usize>, f64),
    /// predict.
    Predict(compare::predict_run::PredictSetup),
    /// clusters: base setup, betas.
    Clusters(ParticleSetup, Vec<f64>),
    /// staircase.
    Staircase(compare::staircase::StaircaseSetup),
    /// staircase, published setting.
    Gkpr(compare::gkpr::GkprSetup),
    /// phase.
    Phase(compare::phase::PhaseSetup),
    /// pde-vs-particles.
    PdeVsParticles(compare::pde_vs_particles::PvpSetup),
    /// reproduce.
    Reproduce(compare::reproduce::ReproduceSetup),
    /// noise.
    Noise(compare::noise::NoiseSetup),
    /// bifurcation: dims, betas, lmax.
    Bifurcation(Vec<usize>, Vec<f64>, usize),
}

fn theory_gamma(c: &Common) -> f64 {
    let star = linear::dominant_degree(c.beta, c.dim);
    compare::common::theory_rate(star, c.beta, c.dim, c.model)
}

fn particle_setup(c: &Common, n: usize, systems: usize, lmax_power: usize) -> ParticleSetup {
    ParticleSetup {
        dim: c.dim,
        beta: c.beta,
        model: c.model,
        n,
        systems,
        seed: c.seed,
        t_end: default_t_end(n, c.beta, c.dim, c.model),
        series_points: DEFAULT_SERIES_POINTS,
        lmax_power,
        tol: c.tol,
        clusters: ClusterParams::default(),
    }
}

fn optional_positive(name: &str, v: Option<f64>) -> Result<Option<f64>> {
    v.map(|t| require_positive(name, t)).transpose()
}

fn two_or_three(dim: usize) -> Result<usize> {
    if dim == 2 || dim == 3 {
        Ok(dim)
    } else {
        Err(Error::parameter("dim", dim, "2 or 3"))
    }
}

/// `points` log-spaced values from `lo` to `hi`, both included exactly.
pub fn log_grid(lo: f64, hi: f64, points: usize) -> Vec<f64> {
    if points == 1 {
        return vec![lo];
    }
    let (a, b) = (lo.ln(), hi.ln());
    (0..points)
        .map(|i| {
            if i + 1 == points {
                hi
            } else {
                (a + (b - a) * i as f64 / (points - 1) as f64).exp()
            }
        })
        .collect()
}

/// Check a beta range `beta_min < beta_max` inside the linear theory's domain.
pub fn check_beta_range(lo: f64, hi: f64) -> Result<(f64, f64)> {
    let lo = linear::check_beta(lo).map_err(|e| rename(e, "beta_min"))?;
    let hi = linear::check_beta(hi).map_err(|e| rename(e, "beta_max"))?;
    if lo >= hi {
        return Err(Error::parameter(
            "beta_max",
            hi,
            format!("a value > beta_min = {lo}"),
        ));
    }
    Ok((lo, hi))
}

fn rename(e: Error, name: &str) -> Error {
    match e {
        Error::Parameter {
            value, accepted, ..
        } => Error::Parameter {
            name: name.into(),
            value,
            accepted,
        },
        e => e,
    }
}

fn checkpoint_every(v: Option<f64>) -> Result<f64> {
    require_in_range(
        "checkpoint_every",
        v.unwrap_or(super::particles::DEFAULT_CHECKPOINT_EVERY),
        0.0,
        1e9,
    )
}

impl CompareSpec {
    /// Experiment name (`growth`, `pde-vs-particles`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            CompareSpec::Growth(_) => "growth",
            CompareSpec::Onset(_) => "onset",
            CompareSpec::Predict(_) => "predict",
            CompareSpec::Clusters(_) => "clusters",
            CompareSpec::Staircase(_) => "staircase",
            CompareSpec::Phase(_) => "phase",
            CompareSpec::PdeVsParticles(_) => "pde-vs-particles",
            CompareSpec::Reproduce(_) => "reproduce",
            CompareSpec::Noise(_) => "noise",
            CompareSpec::Bifurcation(_) => "bifurcation",
        }
    }

    /// The output directory.
    pub fn out(&self) -> Option<&Path> {
        match self {
            CompareSpec::Growth(s) => s.out.as_deref(),
            CompareSpec::Onset(s) => s.out.as_deref(),
            CompareSpec::Predict(s) => s.out.as_deref(),
            CompareSpec::Clusters(s) => s.out.as_deref(),
            CompareSpec::Staircase(s) => s.out.as_deref(),
            CompareSpec::Phase(s) => s.out.as_deref(),
            CompareSpec::PdeVsParticles(s) => s.out.as_deref(),
            CompareSpec::Reproduce(s) => s.out.as_deref(),
            CompareSpec::Noise(s) => s.out.as_deref(),
            CompareSpec::Bifurcation(s) => s.out.as_deref(),
        }
    }

    /// The output directory field.
    pub fn out_mut(&mut self) -> &mut Option<PathBuf> {
        match self {
            CompareSpec::Growth(s) => &mut s.out,
            CompareSpec::Onset(s) => &mut s.out,
            CompareSpec::Predict(s) => &mut s.out,
            CompareSpec::Clusters(s) => &mut s.out,
            CompareSpec::Staircase(s) => &mut s.out,
            CompareSpec::Phase(s) => &mut s.out,
            CompareSpec::PdeVsParticles(s) => &mut s.out,
            CompareSpec::Reproduce(s) => &mut s.out,
            CompareSpec::Noise(s) => &mut s.out,
            CompareSpec::Bifurcation(s) => &mut s.out,
        }
    }

    /// Check every field and fill in every default: the resolved specification and the plan.
    pub fn resolve(&self) -> Result<(CompareSpec, ComparePlan)> {
        match self {
            CompareSpec::Growth(g) => {
                let c = g.common()?;
                let n = require_count("n", g.n.unwrap_or(100_000), 2, MAX_N)?;
                let seeds = require_count("seeds", g.seeds.unwrap_or(8), 1, 100_000)?;
                let lp = require_count("lmax_power", g.lmax_power.unwrap_or(12), 1, 64)?;
                let mut r = g.clone();
                r.fill_common(&c);
                r.checkpoint_every = Some(checkpoint_every(g.checkpoint_every)?);
                (r.n, r.seeds, r.lmax_power) = (Some(n), Some(seeds), Some(lp));
                let setup = particle_setup(&c, n, seeds, lp);
                super::limits::check_particles(n, c.dim, seeds, &to_cfg(&setup))?;
                Ok((CompareSpec::Growth(r), ComparePlan::Growth(setup)))
            }
            CompareSpec::Onset(o) => {
                let c = o.common()?;
                let n0 = require_count("n_min", o.n_min.unwrap_or(300), 10, MAX_N)?;
                let n1 = require_count("n_max", o.n_max.unwrap_or(30_000), 10, MAX_N)?;
                if (n1 as f64) < 100.0 * n0 as f64 {
                    return Err(Error::parameter(
                        "n_max",
                        n1,
                        format!("at least 100 * n_min = {} (two decades of N)", 100 * n0),
                    ));
                }
                let points = require_count("points", o.points.unwrap_or(5), 3, 100)?;
                let seeds = require_count("seeds", o.seeds.unwrap_or(6), 1, 100_000)?;
                let level = require_in_range("level", o.level.unwrap_or(0.1), 1e-6, 0.9)?;
                let mut r = o.clone();
                r.fill_common(&c);
                r.checkpoint_every = Some(checkpoint_every(o.checkpoint_every)?);
                (r.n_min, r.n_max, r.points, r.seeds, r.level) =
                    (Some(n0), Some(n1), Some(points), Some(seeds), Some(level));
                let ns: Vec<usize> = log_grid(n0 as f64, n1 as f64, points)
                    .iter()
                    .map(|v| v.round() as usize)
                    .collect();
                let base = particle_setup(&c, n0, seeds, 1);
                Ok((CompareSpec::Onset(r), ComparePlan::Onset(base, ns, level)))
            }
            CompareSpec::Predict(p) => {
                let c = p.common()?;
                two_or_three(c.dim)?;
                let n = require_count("n", p.n.unwrap_or(2000), 2, MAX_N)?;
                let t_end = optional_positive("t_end", p.t_end)?;
                let mut r = p.clone();
                r.fill_common(&c);
                r.checkpoint_every = Some(checkpoint_every(p.checkpoint_every)?);
                r.n = Some(n);
                let setup = compare::predict_run::PredictSetup {
                    dim: c.dim,
                    beta: c.beta,
                    model: c.model,
                    n,
                    seed: c.seed,
                    t_end,
                    tol: c.tol,
                };
                Ok((CompareSpec::Predict(r), ComparePlan::Predict(setup)))
            }
            CompareSpec::Clusters(k) => {
                let c = resolve_common(k.dim, None, k.model, k.seed, k.tol)?;
                let n = require_count("n", k.n.unwrap_or(2000), 2, MAX_N)?;
                let seeds = require_count("seeds", k.seeds.unwrap_or(4), 1, 100_000)?;
                let (b0, b1) =
                    check_beta_range(k.beta_min.unwrap_or(1.0), k.beta_max.unwrap_or(60.0))?;
                let points = require_count("points", k.points.unwrap_or(12), 2, 1000)?;
                let r = ClustersSpec {
                    dim: Some(c.dim),
                    model: Some(c.model),
                    seed: Some(c.seed),
                    tol: Some(c.tol),
                    n: Some(n),
                    seeds: Some(seeds),
                    beta_min: Some(b0),
                    beta_max: Some(b1),
                    points: Some(points),
                    out: k.out.clone(),
                    checkpoint_every: Some(checkpoint_every(k.checkpoint_every)?),
                };
                let base = particle_setup(&c, n, seeds, 1);
                Ok((
                    CompareSpec::Clusters(r),
                    ComparePlan::Clusters(base, log_grid(b0, b1, points)),
                ))
            }
            CompareSpec::Staircase(st) if st.preset == Some(StaircasePreset::Gkpr) => {
                let given: Vec<&str> = [
                    ("dim", st.dim.is_some()),
                    ("beta", st.beta.is_some()),
                    ("model", st.model.is_some()),
                    ("n", st.n.is_some()),
                    ("t_end", st.t_end.is_some()),
                    ("seed", st.seed.is_some()),
                ]
                .iter()
                .filter(|f| f.1)
                .map(|f| f.0)
                .collect();
                if let Some(f) = given.first() {
                    return Err(Error::parameter(
                        *f,
                        "(given with preset = gkpr)",
                        "nothing: the gkpr preset fixes d = 2, n = 5, USA, the betas and the initial angles (tol is accepted)",
                    ));
                }
                let tol = check_tol(st.tol)?;
                let r = StaircaseSpec {
                    tol: Some(tol),
                    preset: st.preset,
                    out: st.out.clone(),
                    checkpoint_every: Some(checkpoint_every(st.checkpoint_every)?),
                    ..Default::default()
                };
                let setup = compare::gkpr::GkprSetup {
                    betas: compare::gkpr::BETAS.to_vec(),
                    tol,
                    max_iter: 2_000_000,
                };
                Ok((CompareSpec::Staircase(r), ComparePlan::Gkpr(setup)))
            }
            CompareSpec::Staircase(st) => {
                // Its own default beta: at beta = 25 (l* = 7 on the circle) the run passes
                // through several meta-stable states within seconds.
                let mut with_beta = st.clone();
                with_beta.beta = Some(st.beta.unwrap_or(STAIRCASE_BETA));
                let c = with_beta.common()?;
                let n = require_count("n", st.n.unwrap_or(300), 2, MAX_N)?;
                let t_end =
                    optional_positive("t_end", st.t_end)?.unwrap_or_else(|| 1e6 / theory_gamma(&c));
                let mut r = st.clone();
                r.fill_common(&c);
                r.checkpoint_every = Some(checkpoint_every(st.checkpoint_every)?);
                (r.n, r.t_end) = (Some(n), Some(t_end));
                let setup = compare::staircase::StaircaseSetup {
                    dim: c.dim,
                    beta: c.beta,
                    model: c.model,
                    n,
                    seed: c.seed,
                    t_end,
                    tol: c.tol,
                };
                Ok((CompareSpec::Staircase(r), ComparePlan::Staircase(setup)))
            }
            CompareSpec::Phase(p) => {
                let dims = p
                    .dims
                    .clone()
                    .unwrap_or_else(|| vec![2, 8, 32, 128])
                    .into_iter()
                    .map(|d| {
                        linear::check_dim(d.min(1 << 20) as i64).map_err(|e| rename(e, "dims"))
                    })
                    .collect::<Result<Vec<usize>>>()?;
                if dims.is_empty() {
                    return Err(Error::parameter(
                        "dims",
                        "[]",
                        "a non-empty list of dimensions",
                    ));
                }
                let (b0, b1) =
                    check_beta_range(p.beta_min.unwrap_or(0.1), p.beta_max.unwrap_or(9.0))?;
                let nb = require_count("betas", p.betas.unwrap_or(30), 2, 10_000)?;
                use super::particles::IntegratorKind;
                let (control, tol, dt) = match p.integrator.unwrap_or(IntegratorKind::Dopri5) {
                    IntegratorKind::Dopri5 => {
                        if let Some(dt) = p.dt {
                            return Err(Error::parameter(
                                "dt",
                                dt,
                                "no dt with the adaptive integrator (integrator = euler takes dt)",
                            ));
                        }
                        let tol = check_tol(Some(p.tol.unwrap_or(PHASE_TOL)))?;
                        (
                            crate::particles::StepControl::DormandPrince { tol },
                            Some(tol),
                            None,
                        )
                    }
                    IntegratorKind::Euler | IntegratorKind::Rk4 => {
                        let dt = require_positive("dt", p.dt.unwrap_or(0.1))?;
                        let control = if p.integrator == Some(IntegratorKind::Rk4) {
                            crate::particles::StepControl::Rk4 { dt }
                        } else {
                            crate::particles::StepControl::Euler { dt }
                        };
                        (control, None, Some(dt))
                    }
                };
                let setup = compare::phase::PhaseSetup {
                    dims: dims.clone(),
                    n: require_count("n", p.n.unwrap_or(32), 2, 100_000)?,
                    systems: require_count("systems", p.systems.unwrap_or(32), 1, 1_000_000)?,
                    betas: (0..nb)
                        .map(|i| b0 + (b1 - b0) * i as f64 / (nb - 1) as f64)
                        .collect(),
                    t_end: require_positive("t_end", p.t_end.unwrap_or(30.0))?,
                    steps: require_count("steps", p.steps.unwrap_or(60), 1, 100_000)?,
                    model: p.model.unwrap_or(Model::Sa),
                    eps: 1e-3,
                    seed: p.seed.unwrap_or(0),
                    control,
                    beta_index: match p.beta_index {
                        Some(b) if b >= nb => {
                            return Err(Error::parameter(
                                "beta_index",
                                b,
                                format!(
                                    "an index into the {nb} betas of the grid, 0 to {}",
                                    nb - 1
                                ),
                            ))
                        }
                        b => b,
                    },
                };
                let r = PhaseSpec {
                    dims: Some(dims),
                    n: Some(setup.n),
                    systems: Some(setup.systems),
                    beta_min: Some(b0),
                    beta_max: Some(b1),
                    betas: Some(nb),
                    t_end: Some(setup.t_end),
                    steps: Some(setup.steps),
                    model: Some(setup.model),
                    seed: Some(setup.seed),
                    tol,
                    integrator: Some(p.integrator.unwrap_or(IntegratorKind::Dopri5)),
                    dt,
                    beta_index: setup.beta_index,
                    out: p.out.clone(),
                    checkpoint_every: Some(checkpoint_every(p.checkpoint_every)?),
                };
                Ok((CompareSpec::Phase(r), ComparePlan::Phase(setup)))
            }
            CompareSpec::PdeVsParticles(v) => {
                let c = v.common()?;
                two_or_three(c.dim)?;
                let ns =
                    v.ns.clone()
                        .unwrap_or_else(|| vec![1000, 4000, 16000, 64000])
                        .into_iter()
                        .map(|n| require_count("ns", n, 10, MAX_N))
                        .collect::<Result<Vec<usize>>>()?;
                if ns.is_empty() {
                    return Err(Error::parameter(
                        "ns",
                        "[]",
                        "a non-empty list of token counts",
                    ));
                }
                let lmax = require_count(
                    "lmax",
                    v.lmax.unwrap_or(if c.dim == 2 { 128 } else { 32 }),
                    4,
                    1024,
                )?;
                let n_max = *ns.iter().max().unwrap_or(&1000) as f64;
                let t_end = optional_positive("t_end", v.t_end)?
                    .unwrap_or_else(|| n_max.ln() / theory_gamma(&c));
                let outputs = require_count("outputs", v.outputs.unwrap_or(61), 2, 100_000)?;
                let mut r = v.clone();
                r.fill_common(&c);
                r.checkpoint_every = Some(checkpoint_every(v.checkpoint_every)?);
                (r.ns, r.lmax, r.t_end, r.outputs) =
                    (Some(ns.clone()), Some(lmax), Some(t_end), Some(outputs));
                let setup = compare::pde_vs_particles::PvpSetup {
                    dim: c.dim,
                    beta: c.beta,
                    model: c.model,
                    ns,
                    lmax,
                    t_end,
                    outputs,
                    seed: c.seed,
                    tol: c.tol,
                };
                Ok((
                    CompareSpec::PdeVsParticles(r),
                    ComparePlan::PdeVsParticles(setup),
                ))
            }
            CompareSpec::Reproduce(p) => {
                let setup = compare::reproduce::ReproduceSetup {
                    n: require_count("n", p.n.unwrap_or(20_000), 10, MAX_N)?,
                    seed: p.seed.unwrap_or(0),
                    tol: check_tol(p.tol)?,
                    pde_lmax: require_count("pde_lmax", p.pde_lmax.unwrap_or(512), 16, 8192)?,
                };
                let r = ReproduceSpec {
                    n: Some(setup.n),
                    seed: Some(setup.seed),
                    tol: Some(setup.tol),
                    pde_lmax: Some(setup.pde_lmax),
                    out: p.out.clone(),
                    checkpoint_every: Some(checkpoint_every(p.checkpoint_every)?),
                };
                Ok((CompareSpec::Reproduce(r), ComparePlan::Reproduce(setup)))
            }
            CompareSpec::Bifurcation(b) => {
                let dims = b
                    .dims
                    .clone()
                    .unwrap_or_else(|| vec![2, 3])
                    .into_iter()
                    .map(|d| {
                        linear::check_dim(d.min(1 << 20) as i64).map_err(|e| rename(e, "dims"))
                    })
                    .collect::<Result<Vec<usize>>>()?;
                let betas = b
                    .betas
                    .clone()
                    .unwrap_or_else(|| vec![1.5, 3.0, 5.0])
                    .into_iter()
                    .map(|v| linear::check_beta(v).map_err(|e| rename(e, "betas")))
                    .collect::<Result<Vec<f64>>>()?;
                if dims.is_empty() || betas.is_empty() {
                    return Err(Error::parameter(
                        if dims.is_empty() { "dims" } else { "betas" },
                        "[]",
                        "a non-empty list",
                    ));
                }
                let lmax = require_count(
                    "lmax",
                    b.lmax.unwrap_or(crate::stationary::diagram::DEFAULT_LMAX),
                    4,
                    400,
                )?;
                let r = BifurcationSpec {
                    dims: Some(dims.clone()),
                    betas: Some(betas.clone()),
                    lmax: Some(lmax),
                    out: b.out.clone(),
                    checkpoint_every: Some(checkpoint_every(b.checkpoint_every)?),
                };
                Ok((
                    CompareSpec::Bifurcation(r),
                    ComparePlan::Bifurcation(dims, betas, lmax),
                ))
            }
            CompareSpec::Noise(p) => {
                let (spec, setup) = resolve_noise(p)?;
                Ok((CompareSpec::Noise(spec), ComparePlan::Noise(setup)))
            }
        }
    }

    /// Wall-clock seconds between checkpoints (after [`CompareSpec::resolve`]).
    pub fn checkpoint_every(&self) -> f64 {
        let v = match self {
            CompareSpec::Growth(s) => s.checkpoint_every,
            CompareSpec::Onset(s) => s.checkpoint_every,
            CompareSpec::Predict(s) => s.checkpoint_every,
            CompareSpec::Clusters(s) => s.checkpoint_every,
            CompareSpec::Staircase(s) => s.checkpoint_every,
            CompareSpec::Phase(s) => s.checkpoint_every,
            CompareSpec::PdeVsParticles(s) => s.checkpoint_every,
            CompareSpec::Reproduce(s) => s.checkpoint_every,
            CompareSpec::Noise(s) => s.checkpoint_every,
            CompareSpec::Bifurcation(s) => s.checkpoint_every,
        };
        v.unwrap_or(super::particles::DEFAULT_CHECKPOINT_EVERY)
    }
}

/// Check and fill in a `compare noise` specification.
fn resolve_noise(p: &NoiseSpec) -> Result<(NoiseSpec, compare::noise::NoiseSetup)> {
    let dim = two_or_three(linear::check_dim(p.dim.unwrap_or(2).min(1 << 20) as i64)?)?;
    let star = crate::linear_noise::critical_beta(dim);
    let beta_low = linear::check_beta(p.beta_low.unwrap_or((6.0 * star).round() / 10.0))
        .map_err(|e| rename(e, "beta_low"))?;
    if beta_low >= star {
        return Err(Error::parameter(
            "beta_low",
            beta_low,
            format!("a value in (0, beta_*({dim}) = {star:.6}) (supercritical side)"),
        ));
    }
    let beta_high = p.beta_high.unwrap_or((2.0 * star).round());
    if !(beta_high.is_finite() && beta_high > star && beta_high <= 30.0) {
        return Err(Error::parameter(
            "beta_high",
            beta_high,
            format!("a value in (beta_*({dim}) = {star:.6}, 30] (subcritical side)"),
        ));
    }
    let quick = p.quick.unwrap_or(false);
    let pick = |full: usize, small: usize| if quick { small } else { full };
    let n = require_count("n", p.n.unwrap_or(pick(4000, 1000)), 100, MAX_N)?;
    let systems = require_count("systems", p.systems.unwrap_or(pick(24, 8)), 3, 100_000)?;
    let n_order = require_count("n_order", p.n_order.unwrap_or(pick(4000, 1000)), 100, MAX_N)?;
    let lmax = require_count("lmax", p.lmax.unwrap_or(40), 8, 200)?;
    let stages = require_count("stages", p.stages.unwrap_or(pick(8, 5)), 3, 1000)?;
    let tol = check_tol(p.tol)?;
    let seed = p.seed.unwrap_or(0);
    let setup = compare::noise::NoiseSetup {
        dim,
        beta_low,
        beta_high,
        lmax,
        nu_factors: vec![0.5, 0.8, 1.25, 2.0],
        rate_n: n,
        rate_systems: systems,
        rate_amplitude: 0.3,
        order_n: n_order,
        order_time: if quick { 20.0 } else { 60.0 },
        sweep_stages: stages,
        stage_time: if quick { 15.0 } else { 30.0 },
        seed,
        tol,
    };
    let spec = NoiseSpec {
        dim: Some(dim),
        beta_low: Some(beta_low),
        beta_high: Some(beta_high),
        quick: p.quick,
        n: Some(n),
        systems: Some(systems),
        n_order: Some(n_order),
        lmax: Some(lmax),
        stages: Some(stages),
        seed: Some(seed),
        tol: Some(tol),
        out: p.out.clone(),
        checkpoint_every: Some(checkpoint_every(p.checkpoint_every)?),
    };
    Ok((spec, setup))
}

fn to_cfg(s: &ParticleSetup) -> crate::particles::RunConfig {
    crate::particles::RunConfig {
        t_end: s.t_end,
        control: crate::particles::StepControl::DormandPrince { tol: s.tol },
        lmax_power: s.lmax_power,
        save_every: None,
        series_points: s.series_points,
        spacing: crate::particles::RowSpacing::Linear,
        merge_radius: crate::particles::COINCIDENT_CHORD,
        clusters: s.clusters,
    }
}

/// Run the experiment into `out` (report, data, figures); completed sub-runs are kept in
/// `out/parts/` until the report is written, so an interrupted experiment resumes there.
pub fn execute(plan: &ComparePlan, out: &Path, ctl: &RunControl) -> Result<()> {
    let parts = Parts::new(Some(out), ctl);
    match plan {
        ComparePlan::Growth(s) => compare::growth::run(s, &parts, out).map(drop),
        ComparePlan::Onset(s, ns, level) => {
            compare::onset::run(s, ns, *level, &parts, out).map(drop)
        }
        ComparePlan::Predict(s) => compare::predict_run::run(s, &parts, out).map(drop),
        ComparePlan::Clusters(s, betas) => {
            compare::clusters_sweep::run(s, betas, &parts, out).map(drop)
        }
        ComparePlan::Staircase(s) => compare::staircase::run(s, &parts, out).map(drop),
        ComparePlan::Gkpr(s) => compare::gkpr::run(s, &parts, out).map(drop),
        ComparePlan::Phase(s) => compare::phase::run(s, &parts, out).map(drop),
        ComparePlan::PdeVsParticles(s) => compare::pde_vs_particles::run(s, &parts, out).map(drop),
        ComparePlan::Reproduce(s) => compare::reproduce::run(s, &parts, out).map(drop),
        ComparePlan::Noise(s) => compare::noise::run(s, &parts, out).map(drop),
        ComparePlan::Bifurcation(dims, betas, lmax) => {
            compare::noise::bifurcation(dims, betas, *lmax, out).map(drop)
        }
    }?;
    parts.clear();
    Ok(())
}
