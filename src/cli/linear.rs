//! `attnflow linear` (growth rates per degree) and `attnflow dominant` (l* and thresholds).

use super::{parse_model, parse_time, Format};
use attnflow::linear::{self, check_degree, check_dim, MAX_DEGREE};
use attnflow::linear_noise;
use attnflow::run::compare::{check_beta_range, log_grid};
use attnflow::{Error, Model, Result, TimeUnit};
use clap::Args;
use serde::Serialize;

/// Largest number of thresholds `--thresholds` may ask for.
pub const MAX_THRESHOLDS: usize = 200;
/// Largest number of grid points for `dominant`.
pub const MAX_POINTS: usize = 100_000;

/// Arguments of `attnflow linear`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct LinearArgs {
    /// Ambient dimension d (tokens on S^{d-1}), 2 <= d <= 1024.
    #[arg(long = "dim")]
    pub dim: i64,
    /// Inverse temperature beta, in [1e-6, 1e5].
    #[arg(long)]
    pub beta: f64,
    /// Attention model: usa (unnormalised) or sa (softmax).
    #[arg(long, default_value = "usa", value_parser = parse_model)]
    pub model: Model,
    /// Largest degree listed, 0 <= L <= 2000 (default 3 l* + 10, capped at 2000).
    #[arg(long)]
    pub lmax: Option<i64>,
    /// Time unit of the rates: physical t, or scaled tau = e^beta t (USA; SA is unaffected).
    #[arg(long, default_value = "physical", value_parser = parse_time)]
    pub time: TimeUnit,
    /// Diffusion coefficient nu >= 0 (noisy model, per unit of --time): adds the noisy rates
    /// gamma_l(nu) = l(l+d-2)(nu_l - nu) and the degree thresholds nu_l; l* becomes the noisy one.
    #[arg(long)]
    pub nu: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Arguments of `attnflow dominant`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct DominantArgs {
    /// Ambient dimension d (tokens on S^{d-1}), 2 <= d <= 1024.
    #[arg(long = "dim")]
    pub dim: i64,
    /// A single inverse temperature (instead of a range).
    #[arg(long, conflicts_with_all = ["beta_min", "beta_max"])]
    pub beta: Option<f64>,
    /// Smallest beta of a log-spaced grid.
    #[arg(long, requires = "beta_max")]
    pub beta_min: Option<f64>,
    /// Largest beta of a log-spaced grid.
    #[arg(long, requires = "beta_min")]
    pub beta_max: Option<f64>,
    /// Number of grid points (log-spaced, both ends included), 2 <= P <= 100000.
    #[arg(long, default_value_t = 41)]
    pub points: i64,
    /// Also print the first K thresholds beta_k where l* moves from k to k+1 (1 <= K <= 200).
    #[arg(long)]
    pub thresholds: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// One row of the `linear` output.
#[derive(Serialize)]
struct ModeRow {
    l: usize,
    log_lambda: f64,
    rate: Option<f64>,
    log_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nu_l: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    noisy_rate: Option<f64>,
}

#[derive(Serialize)]
struct LinearReport {
    dim: usize,
    beta: f64,
    model: Model,
    time: TimeUnit,
    #[serde(skip_serializing_if = "Option::is_none")]
    nu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nu_sharp: Option<f64>,
    dominant: usize,
    modes: Vec<ModeRow>,
}

fn fmt_opt(v: Option<f64>, width: usize, sci: bool) -> String {
    match v {
        Some(x) if sci => format!("{x:>width$.12e}"),
        Some(x) => format!("{x:>width$.14}"),
        None => format!("{:>width$}", "-"),
    }
}

/// Run `attnflow linear`.
pub fn run_linear(args: &LinearArgs) -> Result<()> {
    let dim = check_dim(args.dim)?;
    let beta = linear::check_beta(args.beta)?;
    let nu = args.nu.map(linear_noise::check_nu).transpose()?;
    let top = linear::dominant_degree(beta, dim);
    let dominant = match nu {
        Some(nu) => linear_noise::dominant_degree_noisy(beta, dim, nu, args.model, args.time),
        None => top,
    };
    let lmax = match args.lmax {
        None => (3 * top + 10).min(MAX_DEGREE),
        Some(l) => check_degree(l)?,
    };
    let modes: Vec<ModeRow> = (0..=lmax)
        .map(|l| {
            let log_rate = linear::ln_growth_rate(l, beta, dim, args.model, args.time);
            let rate = log_rate.map(f64::exp).filter(|r| r.is_finite());
            ModeRow {
                l,
                log_lambda: linear::ln_funk_hecke_eigenvalue(l, beta, dim),
                rate: if l == 0 { Some(0.0) } else { rate },
                log_rate,
                nu_l: nu
                    .filter(|_| l > 0)
                    .map(|_| linear_noise::degree_threshold(l, beta, dim, args.model, args.time)),
                noisy_rate: nu.map(|nu| {
                    linear_noise::noisy_growth_rate(l, beta, dim, nu, args.model, args.time)
                }),
            }
        })
        .collect();
    let report = LinearReport {
        dim,
        beta,
        model: args.model,
        time: args.time,
        nu,
        nu_sharp: nu.map(|_| linear_noise::critical_noise(beta, dim, args.model, args.time)),
        dominant,
        modes,
    };
    let text = match args.format {
        Format::Json => serde_json::to_string(&report).expect("serialisable") + "\n",
        Format::Csv => {
            let mut s = String::from("l,log_lambda,rate,log_rate");
            s += if nu.is_some() {
                ",nu_l,noisy_rate\n"
            } else {
                "\n"
            };
            for m in &report.modes {
                let o = |v: Option<f64>| v.map(|x| format!("{x:e}")).unwrap_or_default();
                s += &format!("{},{:e},{},{}", m.l, m.log_lambda, o(m.rate), o(m.log_rate));
                if nu.is_some() {
                    s += &format!(",{},{}", o(m.nu_l), o(m.noisy_rate));
                }
                s += "\n";
            }
            s
        }
        Format::Table => {
            let unit = match (args.model, args.time) {
                (Model::Usa, TimeUnit::Scaled) => "per unit tau = e^beta t",
                _ => "per unit t",
            };
            let mut s = format!(
                "# linear theory: d = {dim}, beta = {beta}, model = {}, rates {unit}\n\
                 # lambda_l: Funk-Hecke eigenvalue of exp(beta <x,y>) w.r.t. the uniform probability measure\n\
                 # '-' in gamma_l: not representable in double precision (use ln gamma_l)\n\
                 # dominant degree l* = {dominant}\n",
                args.model
            );
            if let (Some(nu), Some(ns)) = (nu, report.nu_sharp) {
                s += &format!(
                    "# noise nu = {nu} (same unit as the rates): gamma_l(nu) = l(l+d-2)(nu_l - nu); \
                     uniform state {} (nu_# = {ns:.15e})\n",
                    if nu > ns { "stable" } else { "unstable" }
                );
            }
            s += &format!(
                "{:>5}  {:>22}  {:>20}  {:>20}",
                "l", "ln lambda_l", "gamma_l", "ln gamma_l"
            );
            if nu.is_some() {
                s += &format!("  {:>20}  {:>20}", "nu_l", "gamma_l(nu)");
            }
            s += "\n";
            for m in &report.modes {
                let mark = if m.l == dominant { " <- l*" } else { "" };
                s += &format!(
                    "{:>5}  {:>22.14}  {}  {}",
                    m.l,
                    m.log_lambda,
                    fmt_opt(m.rate, 20, true),
                    fmt_opt(m.log_rate, 20, false)
                );
                if nu.is_some() {
                    s += &format!(
                        "  {}  {}",
                        fmt_opt(m.nu_l, 20, true),
                        fmt_opt(m.noisy_rate, 20, true)
                    );
                }
                s += &format!("{mark}\n");
            }
            s
        }
    };
    print!("{text}");
    Ok(())
}

#[derive(Serialize)]
struct ThresholdRow {
    from: usize,
    to: usize,
    beta: f64,
}

#[derive(Serialize)]
struct GridRow {
    beta: f64,
    dominant: usize,
}

#[derive(Serialize)]
struct DominantReport {
    dim: usize,
    thresholds: Vec<ThresholdRow>,
    grid: Vec<GridRow>,
}

/// Run `attnflow dominant`.
pub fn run_dominant(args: &DominantArgs) -> Result<()> {
    let dim = check_dim(args.dim)?;
    let betas = match (args.beta, args.beta_min, args.beta_max) {
        (Some(b), _, _) => vec![linear::check_beta(b)?],
        (None, Some(b0), Some(b1)) => {
            let (b0, b1) = check_beta_range(b0, b1)?;
            if !(2..=MAX_POINTS as i64).contains(&args.points) {
                return Err(Error::parameter(
                    "points",
                    args.points,
                    format!("an integer 2 <= P <= {MAX_POINTS}"),
                ));
            }
            log_grid(b0, b1, args.points as usize)
        }
        _ => {
            return Err(Error::parameter(
                "beta",
                "(missing)",
                "either --beta B, or --beta-min B0 with --beta-max B1",
            ))
        }
    };
    let count = match args.thresholds {
        None => 0,
        Some(k) if (1..=MAX_THRESHOLDS as i64).contains(&k) => k as usize,
        Some(k) => {
            return Err(Error::parameter(
                "thresholds",
                k,
                format!("an integer 1 <= K <= {MAX_THRESHOLDS}"),
            ))
        }
    };
    let values = if count > 0 {
        linear::thresholds(count, dim)
    } else {
        Vec::new()
    };
    let thresholds: Vec<ThresholdRow> = values
        .into_iter()
        .enumerate()
        .map(|(i, beta)| ThresholdRow {
            from: i + 1,
            to: i + 2,
            beta,
        })
        .collect();
    let grid: Vec<GridRow> = betas
        .iter()
        .map(|&beta| GridRow {
            beta,
            dominant: linear::dominant_degree(beta, dim),
        })
        .collect();
    let report = DominantReport {
        dim,
        thresholds,
        grid,
    };
    let text = match args.format {
        Format::Json => serde_json::to_string(&report).expect("serialisable") + "\n",
        Format::Csv => {
            let mut s = String::new();
            if !report.thresholds.is_empty() {
                s += "from,to,beta\n";
                for t in &report.thresholds {
                    s += &format!("{},{},{:e}\n", t.from, t.to, t.beta);
                }
                s += "\n";
            }
            s += "beta,dominant\n";
            for g in &report.grid {
                s += &format!("{:e},{}\n", g.beta, g.dominant);
            }
            s
        }
        Format::Table => {
            let mut s = format!("# dominant degree l* = argmax_l gamma_l, d = {dim}\n");
            if !report.thresholds.is_empty() {
                s += "# thresholds: l* moves from k to k+1 at beta_k\n";
                s += &format!("{:>5} {:>5}  {:>22}\n", "from", "to", "beta_k");
                for t in &report.thresholds {
                    s += &format!("{:>5} {:>5}  {:>22.15e}\n", t.from, t.to, t.beta);
                }
            }
            s += &format!("{:>22}  {:>5}  {:>10}\n", "beta", "l*", "sqrt(2b)");
            for g in &report.grid {
                s += &format!(
                    "{:>22.15e}  {:>5}  {:>10.4}\n",
                    g.beta,
                    g.dominant,
                    (2.0 * g.beta).sqrt()
                );
            }
            s
        }
    };
    print!("{text}");
    Ok(())
}
