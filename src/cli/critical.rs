//! `attnflow critical`: the noisy model's critical values, `beta_*(d)` and `nu_#(beta, d)`.

use super::{parse_model, parse_time, Format};
use attnflow::linear::{self, check_dim};
use attnflow::linear_noise::{self, Transition};
use attnflow::{Error, Model, Result, TimeUnit};
use clap::Args;
use serde::Serialize;

/// Arguments of `attnflow critical`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct CriticalArgs {
    /// Ambient dimensions d (comma-separated list), each 2 <= d <= 1024.
    #[arg(long = "dim", value_delimiter = ',', default_value = "2,3,4,8,16")]
    pub dim: Vec<i64>,
    /// Inverse temperatures beta (comma-separated list, each in [1e-6, 1e5]) at which to
    /// print nu_# = lambda_1/beta (USA; SA: lambda_1/(beta lambda_0)) and the kind of transition.
    #[arg(long, value_delimiter = ',')]
    pub beta: Vec<f64>,
    /// Attention model of nu_#: usa (unnormalised) or sa (softmax). beta_* is for USA.
    #[arg(long, default_value = "usa", value_parser = parse_model)]
    pub model: Model,
    /// Unit of nu_#: physical t, or scaled tau = e^beta t (USA).
    #[arg(long, default_value = "physical", value_parser = parse_time)]
    pub time: TimeUnit,
    /// Also compute the branch of axisymmetric stationary states (USA) for every (d, beta)
    /// and write bifurcation.csv, bifurcation.json and bifurcation.png into this directory.
    #[arg(long)]
    pub diagram: Option<std::path::PathBuf>,
    /// Largest degree of the stationary states of --diagram, 4 <= L <= 400 [default: 48].
    #[arg(long)]
    pub lmax: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Serialize)]
struct StarRow {
    dim: usize,
    beta_star: f64,
}

#[derive(Serialize)]
struct SharpRow {
    dim: usize,
    beta: f64,
    nu_sharp: f64,
    kappa_sharp: f64,
    transition: Option<Transition>,
}

#[derive(Serialize)]
struct CriticalReport {
    model: Model,
    time: TimeUnit,
    beta_star: Vec<StarRow>,
    thresholds: Vec<SharpRow>,
}

/// Run `attnflow critical`.
pub fn run(args: &CriticalArgs) -> Result<()> {
    if args.dim.is_empty() {
        return Err(Error::parameter(
            "dim",
            "(empty)",
            "a list of integers in [2, 1024]",
        ));
    }
    let dims = args
        .dim
        .iter()
        .map(|&d| check_dim(d))
        .collect::<Result<Vec<_>>>()?;
    let betas = args
        .beta
        .iter()
        .map(|&b| linear::check_beta(b))
        .collect::<Result<Vec<_>>>()?;
    let lmax = match args.lmax {
        None => attnflow::stationary::diagram::DEFAULT_LMAX,
        Some(l) if (4..=400).contains(&l) => l as usize,
        Some(l) => return Err(Error::parameter("lmax", l, "an integer in [4, 400]")),
    };
    if let Some(dir) = &args.diagram {
        if betas.is_empty() || args.model != Model::Usa {
            return Err(Error::parameter(
                "diagram",
                dir.display(),
                "a directory, with --beta values and --model usa",
            ));
        }
    }
    let beta_star: Vec<StarRow> = dims
        .iter()
        .map(|&dim| StarRow {
            dim,
            beta_star: linear_noise::critical_beta(dim),
        })
        .collect();
    let mut thresholds = Vec::new();
    for &dim in &dims {
        for &beta in &betas {
            let nu_sharp = linear_noise::critical_noise(beta, dim, args.model, args.time);
            thresholds.push(SharpRow {
                dim,
                beta,
                nu_sharp,
                kappa_sharp: 1.0 / nu_sharp,
                transition: (args.model == Model::Usa).then(|| linear_noise::transition(beta, dim)),
            });
        }
    }
    let report = CriticalReport {
        model: args.model,
        time: args.time,
        beta_star,
        thresholds,
    };
    let kind = |t: &Option<Transition>| match t {
        Some(Transition::Continuous) => "continuous",
        Some(Transition::Discontinuous) => "discontinuous",
        None => "",
    };
    let text = match args.format {
        Format::Json => serde_json::to_string(&report).expect("serialisable") + "\n",
        Format::Csv => {
            let mut s = String::from("dim,beta_star\n");
            for r in &report.beta_star {
                s += &format!("{},{:e}\n", r.dim, r.beta_star);
            }
            if !report.thresholds.is_empty() {
                s += "\ndim,beta,nu_sharp,kappa_sharp,transition\n";
                for r in &report.thresholds {
                    s += &format!(
                        "{},{:e},{:e},{:e},{}\n",
                        r.dim,
                        r.beta,
                        r.nu_sharp,
                        r.kappa_sharp,
                        kind(&r.transition)
                    );
                }
            }
            s
        }
        Format::Table => {
            let mut s = String::from(
                "# noisy model dX = v dt + sqrt(2 nu) dW on S^{d-1} (kappa = 1/nu)\n\
                 # beta_*(d): root of I_{d/2+1}(beta)/I_{d/2}(beta) = 1/d; for USA the transition at nu_# is\n\
                 # continuous (supercritical) for beta < beta_* and discontinuous (subcritical) for beta > beta_*\n",
            );
            s += &format!("{:>5}  {:>22}\n", "d", "beta_*");
            for r in &report.beta_star {
                s += &format!("{:>5}  {:>22.15}\n", r.dim, r.beta_star);
            }
            if !report.thresholds.is_empty() {
                let unit = match (args.model, args.time) {
                    (Model::Usa, TimeUnit::Scaled) => "per unit tau = e^beta t",
                    _ => "per unit t",
                };
                s += &format!(
                    "# nu_# = lambda_1/beta{} ({unit}): the uniform state is linearly stable iff nu > nu_#\n",
                    if args.model == Model::Sa { "/lambda_0" } else { "" }
                );
                s += &format!(
                    "{:>5}  {:>14}  {:>22}  {:>22}  {:>13}\n",
                    "d", "beta", "nu_#", "kappa_#", "transition"
                );
                for r in &report.thresholds {
                    s += &format!(
                        "{:>5}  {:>14}  {:>22.15e}  {:>22.15e}  {:>13}\n",
                        r.dim,
                        r.beta,
                        r.nu_sharp,
                        r.kappa_sharp,
                        kind(&r.transition)
                    );
                }
            }
            s
        }
    };
    print!("{text}");
    if let Some(dir) = &args.diagram {
        let summaries = attnflow::stationary::write_bifurcation_diagram(dir, &dims, &betas, lmax)?;
        for s in &summaries {
            eprintln!(
                "d = {}, beta = {}: {} (largest nu/nu_# on the branch {:.6}, {} points)",
                s.dim, s.beta, s.bifurcation, s.fold_nu_over_nu_sharp, s.points
            );
        }
        eprintln!("bifurcation diagram written to {}", dir.display());
    }
    Ok(())
}
