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
    }
    Ok(())
}
