//! `attnflow equiangular`: the scalar ODE of the common inner product of equiangular tokens
//! (library: [`attnflow::equiangular`]).

use super::{parse_model, Format};
use attnflow::equiangular;
use attnflow::{Error, Model, Result};
use clap::Args;
use serde::Serialize;

/// Largest number of trajectory points.
pub const MAX_POINTS: usize = 100_000;

/// Arguments of `attnflow equiangular`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct EquiangularArgs {
    /// Number of tokens n >= 2 (equal pairwise inner products rho).
    #[arg(long)]
    pub n: i64,
    /// Inverse temperature beta, in [1e-6, 1e5].
    #[arg(long)]
    pub beta: f64,
    /// Attention model: usa (unnormalised) or sa (softmax).
    #[arg(long, default_value = "usa", value_parser = parse_model)]
    pub model: Model,
    /// Initial inner product, in (-1/(n-1), 1); 0 is an orthonormal frame.
    #[arg(long, default_value_t = 0.0)]
    pub rho0: f64,
    /// Target inner product: the command reports the time to reach it, in [rho0, 1).
    #[arg(long, default_value_t = 0.999)]
    pub rho1: f64,
    /// Number of trajectory points, equally spaced from 0 to the time to reach rho1 (0: none).
    #[arg(long, default_value_t = 11)]
    pub points: i64,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Serialize)]
struct Report {
    n: usize,
    beta: f64,
    model: Model,
    /// Unit of every time below: scaled `tau = e^beta t` for USA, `t` for SA.
    time_unit: &'static str,
    rho0: f64,
    rho1: f64,
    /// Time to go from rho0 to rho1 (adaptive Gauss–Legendre quadrature).
    time_to_rho1: f64,
    /// `(time, rho)` from the ODE integrated by Dormand–Prince (an independent route).
    trajectory: Vec<(f64, f64)>,
}

/// Run `attnflow equiangular`.
pub fn run_equiangular(args: &EquiangularArgs) -> Result<()> {
    if args.n < 2 {
        return Err(Error::parameter("n", args.n, "an integer >= 2"));
    }
    let n = args.n as usize;
    if !(0..=MAX_POINTS as i64).contains(&args.points) {
        return Err(Error::parameter(
            "points",
            args.points,
            format!("an integer in [0, {MAX_POINTS}]"),
        ));
    }
    let total = equiangular::time_to(args.rho0, args.rho1, args.beta, n, args.model)?;
    let points = args.points as usize;
    let times: Vec<f64> = if points == 0 || !total.is_finite() {
        Vec::new()
    } else if points == 1 {
        vec![0.0]
    } else {
        (0..points)
            .map(|k| total * k as f64 / (points - 1) as f64)
            .collect()
    };
    let rho = equiangular::trajectory(args.rho0, args.beta, n, args.model, &times)?;
    let time_unit = match args.model {
        Model::Usa => "tau = e^beta t",
        Model::Sa => "t",
    };
    let report = Report {
        n,
        beta: args.beta,
        model: args.model,
        time_unit,
        rho0: args.rho0,
        rho1: args.rho1,
        time_to_rho1: total,
        trajectory: times.into_iter().zip(rho).collect(),
    };
    let text = match args.format {
        Format::Json => serde_json::to_string(&report).expect("serialisable") + "\n",
        Format::Csv => {
            let mut s = String::from("time,rho\n");
            for (t, r) in &report.trajectory {
                s += &format!("{t:e},{r:e}\n");
            }
            s
        }
        Format::Table => {
            let mut s = format!(
                "# equiangular tokens: n = {n}, beta = {}, model = {}, time unit {time_unit}\n\
                 # rho' = (2/n) w (1-rho)(1+(n-1)rho) (USA), 2 w (1-rho)(1+(n-1)rho)/(1+(n-1)w) (SA), w = exp(beta(rho-1))\n\
                 # time from rho0 = {} to rho1 = {}: {:.15e}\n",
                args.beta, args.model, args.rho0, args.rho1, total
            );
            s += &format!("{:>24}  {:>22}\n", "time", "rho");
            for (t, r) in &report.trajectory {
                s += &format!("{t:>24.15e}  {r:>22.17}\n");
            }
            s
        }
    };
    print!("{text}");
    Ok(())
}
