//! `attnflow compare <experiment>`: theory vs PDE vs particles.

use super::{linear::check_beta_named, parse_model};
use attnflow::analysis::ClusterParams;
use attnflow::compare::{
    self,
    common::{check_count, ParticleSetup},
};
use attnflow::linear::{self, check_dim};
use attnflow::{Model, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Arguments of `attnflow compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// The experiment.
    #[command(subcommand)]
    pub experiment: Experiment,
}

/// The experiments.
#[derive(Subcommand)]
pub enum Experiment {
    /// Fitted growth rates of the harmonic power vs linear theory.
    Growth(GrowthArgs),
    /// Onset time of the meta-stable structure against ln N, vs 1/(2 gamma_{l*}).
    Onset(OnsetArgs),
    /// Cluster locations predicted from the initial data vs where particle clusters form.
    Predict(PredictArgs),
    /// Meta-stable cluster counts over a sweep of beta vs l*(beta).
    Clusters(ClustersArgs),
    /// A long run past meta-stability: energy staircase and merge events.
    Staircase(StaircaseArgs),
    /// (beta, time) phase diagram of clustering from ensembles of small systems.
    Phase(PhaseArgs),
    /// The same initial data evolved by the particles and by the PDE; distance and scaling in N.
    PdeVsParticles(PvpArgs),
    /// The published circle experiments (beta = 5 and 7, N = 2e4; mean field from 0.01 noise).
    Reproduce(ReproduceArgs),
}

/// Arguments of `compare reproduce`.
#[derive(Args)]
pub struct ReproduceArgs {
    /// Tokens.
    #[arg(long, default_value_t = 20_000)]
    pub n: i64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Integrator tolerance.
    #[arg(long, default_value_t = 1e-8)]
    pub tol: f64,
    /// PDE degree of the mean-field run.
    #[arg(long, default_value_t = 512)]
    pub pde_lmax: i64,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `compare pde-vs-particles`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct PvpArgs {
    #[command(flatten)]
    pub common: ParticleOpts,
    /// Token counts (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1000,4000,16000,64000")]
    pub ns: Vec<i64>,
    /// PDE degree L (default 128 on the circle, 32 on the sphere).
    #[arg(long)]
    pub lmax: Option<i64>,
    /// Final time in the internal unit (default ln(max N) / gamma_{l*}).
    #[arg(long)]
    pub t_end: Option<f64>,
    /// Number of output times.
    #[arg(long, default_value_t = 61)]
    pub outputs: i64,
}

/// Arguments of `compare phase`. The literature's setting is `--systems 1024 --betas 90
/// --dims 2,8,32,128,512,1024`; the defaults are smaller so that it runs in minutes.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct PhaseArgs {
    /// Dimensions (comma-separated), one diagram each.
    #[arg(long, value_delimiter = ',', default_value = "2,8,32,128")]
    pub dims: Vec<i64>,
    /// Tokens per system.
    #[arg(long, default_value_t = 32)]
    pub n: i64,
    /// Systems per beta.
    #[arg(long, default_value_t = 32)]
    pub systems: i64,
    /// Smallest beta.
    #[arg(long, default_value_t = 0.1)]
    pub beta_min: f64,
    /// Largest beta.
    #[arg(long, default_value_t = 9.0)]
    pub beta_max: f64,
    /// Number of betas (evenly spaced).
    #[arg(long, default_value_t = 30)]
    pub betas: i64,
    /// Final time.
    #[arg(long, default_value_t = 30.0)]
    pub t_end: f64,
    /// Number of output intervals in time.
    #[arg(long, default_value_t = 60)]
    pub steps: i64,
    /// Attention model (the literature uses sa).
    #[arg(long, default_value = "sa", value_parser = parse_model)]
    pub model: Model,
    /// Base seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Local error tolerance of the integrator.
    #[arg(long, default_value_t = 1e-7)]
    pub tol: f64,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `compare staircase`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct StaircaseArgs {
    #[command(flatten)]
    pub common: ParticleOpts,
    /// Tokens.
    #[arg(long, default_value_t = 1000)]
    pub n: i64,
    /// Final time in the internal unit (default 2000 / gamma_{l*}).
    #[arg(long)]
    pub t_end: Option<f64>,
}

/// Arguments of `compare clusters`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct ClustersArgs {
    #[command(flatten)]
    pub common: ParticleOpts,
    /// Tokens per system.
    #[arg(long, default_value_t = 2000)]
    pub n: i64,
    /// Systems per beta.
    #[arg(long, default_value_t = 4)]
    pub seeds: i64,
    /// Smallest beta of the sweep.
    #[arg(long, default_value_t = 1.0)]
    pub beta_min: f64,
    /// Largest beta of the sweep.
    #[arg(long, default_value_t = 60.0)]
    pub beta_max: f64,
    /// Number of betas (log-spaced).
    #[arg(long, default_value_t = 12)]
    pub points: i64,
}

/// Arguments of `compare predict`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct PredictArgs {
    #[command(flatten)]
    pub common: ParticleOpts,
    /// Tokens.
    #[arg(long, default_value_t = 2000)]
    pub n: i64,
    /// Final time in the internal unit (default 1.4 ln N / (2 gamma_{l*})).
    #[arg(long)]
    pub t_end: Option<f64>,
}

/// Arguments of `compare onset`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct OnsetArgs {
    #[command(flatten)]
    pub common: ParticleOpts,
    /// Smallest N.
    #[arg(long, default_value_t = 300)]
    pub n_min: i64,
    /// Largest N (at least 100 n-min: two decades).
    #[arg(long, default_value_t = 30_000)]
    pub n_max: i64,
    /// Number of sizes (log-spaced).
    #[arg(long, default_value_t = 5)]
    pub points: i64,
    /// Systems per size.
    #[arg(long, default_value_t = 6)]
    pub seeds: i64,
    /// Onset level: C_{l*} reaches level * dim(H_{l*}).
    #[arg(long, default_value_t = 0.1)]
    pub level: f64,
}

/// Options shared by the particle experiments.
#[derive(Args, Clone)]
#[command(allow_negative_numbers = true)]
pub struct ParticleOpts {
    /// Ambient dimension d (2 or 3 for the fast summation; any d >= 2 works exactly).
    #[arg(long, default_value_t = 2)]
    pub dim: i64,
    /// Inverse temperature beta.
    #[arg(long, default_value_t = 9.0)]
    pub beta: f64,
    /// Attention model: usa or sa.
    #[arg(long, default_value = "usa", value_parser = parse_model)]
    pub model: Model,
    /// Base random seed (system s uses PCG stream s).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Local error tolerance of the adaptive integrator.
    #[arg(long, default_value_t = 1e-8)]
    pub tol: f64,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `compare growth`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct GrowthArgs {
    #[command(flatten)]
    pub common: ParticleOpts,
    /// Tokens per system.
    #[arg(long, default_value_t = 100_000)]
    pub n: i64,
    /// Number of systems (seeds).
    #[arg(long, default_value_t = 8)]
    pub seeds: i64,
    /// Largest degree fitted.
    #[arg(long, default_value_t = 12)]
    pub lmax_power: i64,
}

fn setup(c: &ParticleOpts, n: i64, systems: i64, lmax_power: usize) -> Result<ParticleSetup> {
    let dim = check_dim(c.dim)?;
    let beta = check_beta_named("beta", c.beta)?;
    let n = check_count("n", n, 2, 10_000_000)?;
    let systems = check_count("seeds", systems, 1, 100_000)?;
    attnflow::error::require_in_range("tol", c.tol, 1e-14, 1e-2)?;
    attnflow::io::prepare_output_dir(&c.out)?;
    let star = linear::dominant_degree(beta, dim);
    let gamma = compare::common::theory_rate(star, beta, dim, c.model);
    Ok(ParticleSetup {
        dim,
        beta,
        model: c.model,
        n,
        systems,
        seed: c.seed,
        t_end: (n as f64).ln() / gamma,
        series_points: 200,
        lmax_power,
        tol: c.tol,
        clusters: ClusterParams::default(),
    })
}

/// Run `attnflow compare`.
pub fn run(args: &CompareArgs) -> Result<()> {
    match &args.experiment {
        Experiment::Growth(a) => {
            let lp = check_count("lmax-power", a.lmax_power, 1, 64)?;
            let s = setup(&a.common, a.n, a.seeds, lp)?;
            compare::growth::run(&s, &a.common.out)?;
            println!("wrote {}", a.common.out.join("report.md").display());
        }
        Experiment::Onset(a) => {
            let n0 = check_count("n-min", a.n_min, 10, 10_000_000)?;
            let n1 = check_count("n-max", a.n_max, 10, 10_000_000)?;
            if (n1 as f64) < 100.0 * n0 as f64 {
                return Err(attnflow::Error::parameter(
                    "n-max",
                    n1,
                    format!("at least 100 * --n-min = {} (two decades of N)", 100 * n0),
                ));
            }
            let points = check_count("points", a.points, 3, 100)?;
            attnflow::error::require_in_range("level", a.level, 1e-6, 0.9)?;
            let s = setup(&a.common, a.n_min, a.seeds, 1)?;
            let ns: Vec<usize> = super::linear::log_grid(n0 as f64, n1 as f64, points)
                .iter()
                .map(|v| v.round() as usize)
                .collect();
            compare::onset::run(&s, &ns, a.level, &a.common.out)?;
            println!("wrote {}", a.common.out.join("report.md").display());
        }
        Experiment::Clusters(a) => {
            let s = setup(&a.common, a.n, a.seeds, 1)?;
            let (b0, b1) = super::linear::check_beta_range(a.beta_min, a.beta_max)?;
            let points = check_count("points", a.points, 2, 1000)?;
            let betas = super::linear::log_grid(b0, b1, points);
            compare::clusters_sweep::run(&s, &betas, &a.common.out)?;
            println!("wrote {}", a.common.out.join("report.md").display());
        }
        Experiment::Staircase(a) => {
            let s = setup(&a.common, a.n, 1, 1)?;
            let star = linear::dominant_degree(s.beta, s.dim);
            let gamma = compare::common::theory_rate(star, s.beta, s.dim, s.model);
            let t_end = match a.t_end {
                Some(t) => attnflow::error::require_positive("t-end", t)?,
                None => 2000.0 / gamma,
            };
            let st = compare::staircase::StaircaseSetup {
                dim: s.dim,
                beta: s.beta,
                model: s.model,
                n: s.n,
                seed: s.seed,
                t_end,
                tol: s.tol,
            };
            compare::staircase::run(&st, &a.common.out)?;
            println!("wrote {}", a.common.out.join("report.md").display());
        }
        Experiment::Phase(a) => {
            let dims = a
                .dims
                .iter()
                .map(|&d| check_dim(d))
                .collect::<Result<Vec<usize>>>()?;
            let (b0, b1) = super::linear::check_beta_range(a.beta_min, a.beta_max)?;
            let nb = check_count("betas", a.betas, 2, 10_000)?;
            let p = compare::phase::PhaseSetup {
                dims,
                n: check_count("n", a.n, 2, 100_000)?,
                systems: check_count("systems", a.systems, 1, 1_000_000)?,
                betas: (0..nb)
                    .map(|i| b0 + (b1 - b0) * i as f64 / (nb - 1) as f64)
                    .collect(),
                t_end: attnflow::error::require_positive("t-end", a.t_end)?,
                steps: check_count("steps", a.steps, 1, 100_000)?,
                model: a.model,
                eps: 1e-3,
                seed: a.seed,
                tol: attnflow::error::require_in_range("tol", a.tol, 1e-14, 1e-2)?,
            };
            attnflow::io::prepare_output_dir(&a.out)?;
            compare::phase::run(&p, &a.out)?;
            println!("wrote {}", a.out.join("report.md").display());
        }
        Experiment::PdeVsParticles(a) => {
            let s = setup(&a.common, 2, 1, 1)?;
            if s.dim > 3 {
                return Err(attnflow::Error::parameter("dim", s.dim, "2 or 3"));
            }
            let ns =
                a.ns.iter()
                    .map(|&n| check_count("ns", n, 10, 10_000_000))
                    .collect::<Result<Vec<usize>>>()?;
            let lmax = match a.lmax {
                Some(l) => check_count("lmax", l, 4, 1024)?,
                None => {
                    if s.dim == 2 {
                        128
                    } else {
                        32
                    }
                }
            };
            let star = linear::dominant_degree(s.beta, s.dim);
            let gamma = compare::common::theory_rate(star, s.beta, s.dim, s.model);
            let n_max = *ns.iter().max().unwrap_or(&1000) as f64;
            let p = compare::pde_vs_particles::PvpSetup {
                dim: s.dim,
                beta: s.beta,
                model: s.model,
                ns,
                lmax,
                t_end: match a.t_end {
                    Some(t) => attnflow::error::require_positive("t-end", t)?,
                    None => n_max.ln() / gamma,
                },
                outputs: check_count("outputs", a.outputs, 2, 100_000)?,
                seed: s.seed,
                tol: s.tol,
            };
            compare::pde_vs_particles::run(&p, &a.common.out)?;
            println!("wrote {}", a.common.out.join("report.md").display());
        }
        Experiment::Reproduce(a) => {
            let r = compare::reproduce::ReproduceSetup {
                n: check_count("n", a.n, 10, 10_000_000)?,
                seed: a.seed,
                tol: attnflow::error::require_in_range("tol", a.tol, 1e-14, 1e-2)?,
                pde_lmax: check_count("pde-lmax", a.pde_lmax, 16, 8192)?,
            };
            attnflow::io::prepare_output_dir(&a.out)?;
            compare::reproduce::run(&r, &a.out)?;
            println!("wrote {}", a.out.join("report.md").display());
        }
        Experiment::Predict(a) => {
            let s = setup(&a.common, a.n, 1, 1)?;
            if s.dim > 3 {
                return Err(attnflow::Error::parameter("dim", s.dim, "2 or 3"));
            }
            if let Some(t) = a.t_end {
                attnflow::error::require_positive("t-end", t)?;
            }
            let p = compare::predict_run::PredictSetup {
                dim: s.dim,
                beta: s.beta,
                model: s.model,
                n: s.n,
                seed: s.seed,
                t_end: a.t_end,
                tol: s.tol,
            };
            compare::predict_run::run(&p, &a.common.out)?;
            println!("wrote {}", a.common.out.join("report.md").display());
        }
    }
    Ok(())
}
