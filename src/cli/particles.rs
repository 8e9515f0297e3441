//! `attnflow particles`: simulate N tokens on S^{d-1} and record diagnostics.

use attnflow::analysis::ClusterParams;
use attnflow::io::{prepare_output_dir, write_json, write_npy_f64, CsvTable};
use attnflow::particles::{
    build_velocity_field, run_ensemble, Method, RunConfig, SeriesRow, StepControl, TokenState,
};
use attnflow::{Error, Model, Result, TimeUnit};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `attnflow particles` (boxed: the option set is large).
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct ParticlesArgs {
    /// All options.
    #[command(flatten)]
    pub options: Box<ParticlesOptions>,
}

/// The options of `attnflow particles`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct ParticlesOptions {
    /// Ambient dimension d (tokens on S^{d-1}), d >= 2.
    #[arg(long)]
    pub dim: i64,
    /// Number of tokens N >= 1 (taken from the file with --init).
    #[arg(long)]
    pub n: Option<i64>,
    /// Inverse temperature beta > 0.
    #[arg(long)]
    pub beta: f64,
    /// Attention model: usa (unnormalised) or sa (softmax).
    #[arg(long, default_value = "usa")]
    pub model: String,
    /// Final time, in the unit of --time [default: (ln N + 5) / gamma_{l*}, about twice the
    /// time at which clusters appear].
    #[arg(long = "t-end")]
    pub t_end: Option<f64>,
    /// Unit of --t-end and --dt and of the reported rates: physical (t) or scaled (tau = e^beta t
    /// for USA; identical to t for SA).
    #[arg(long, default_value = "physical")]
    pub time: String,
    /// Classical RK4 with this step (in the unit of --time).
    #[arg(long, conflicts_with = "tol")]
    pub dt: Option<f64>,
    /// Adaptive Dormand–Prince 5(4) with this local error tolerance [default: 1e-9].
    #[arg(long)]
    pub tol: Option<f64>,
    /// Random seed of the initial state (system s of an ensemble uses PCG stream s).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Summation method: exact (O(N^2 d)), fast (spectral, d = 2, 3) or auto (the cheaper).
    #[arg(long, default_value = "auto")]
    pub method: String,
    /// Relative truncation tolerance of the fast summation.
    #[arg(long = "summation-tol", default_value_t = 1e-12)]
    pub summation_tol: f64,
    /// Number of independent systems run in parallel.
    #[arg(long, default_value_t = 1)]
    pub ensemble: i64,
    /// Largest degree Lp of the recorded harmonic power C_1..C_Lp.
    #[arg(long = "lmax-power", default_value_t = 16)]
    pub lmax_power: i64,
    /// Also save the state every K accepted steps (the initial and final states are always saved).
    #[arg(long = "save-every")]
    pub save_every: Option<i64>,
    /// Number of intervals of the diagnostics time grid.
    #[arg(long = "series-points", default_value_t = 200)]
    pub series_points: i64,
    /// Cluster definition: angular radius delta (radians).
    #[arg(long = "cluster-radius", default_value_t = 0.03)]
    pub cluster_radius: f64,
    /// Cluster definition: required density relative to the uniform density.
    #[arg(long = "cluster-density", default_value_t = 3.0)]
    pub cluster_density: f64,
    /// Cluster definition: smallest cluster as a fraction of N.
    #[arg(long = "cluster-min-fraction", default_value_t = 0.01)]
    pub cluster_min_fraction: f64,
    /// Initial state: an N x d float64 .npy file (rows normalised to the sphere).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

fn int_at_least(name: &'static str, v: i64, lo: i64) -> Result<usize> {
    if v >= lo {
        Ok(v as usize)
    } else {
        Err(Error::parameter(name, v, format!("an integer >= {lo}")))
    }
}

/// Everything recorded in run.json.
#[derive(serde::Serialize)]
struct RunRecord {
    program: &'static str,
    version: &'static str,
    dim: usize,
    n: usize,
    beta: f64,
    model: Model,
    time_unit: TimeUnit,
    t_end: f64,
    t_end_default: bool,
    tau_end: f64,
    integrator: String,
    dt: Option<f64>,
    tol: Option<f64>,
    seed: u64,
    method_requested: Method,
    method: String,
    summation_tol: f64,
    ensemble: usize,
    lmax_power: usize,
    save_every: Option<usize>,
    series_points: usize,
    clusters: ClusterParams,
    init: Option<String>,
    init_rows_normalised: usize,
    steps: Vec<usize>,
    rejected_steps: Vec<usize>,
    max_energy_identity_error: Vec<f64>,
    final_cluster_sizes: Vec<Vec<usize>>,
    snapshots: Vec<String>,
    conventions: Conventions,
    wall_time_seconds: f64,
}

#[derive(serde::Serialize)]
struct Conventions {
    t: &'static str,
    tau: &'static str,
    energy: &'static str,
    speed2: &'static str,
    power: &'static str,
    clusters: &'static str,
    energy_identity_error: &'static str,
    snapshots: &'static str,
}

const CONVENTIONS: Conventions = Conventions {
    t: "physical time of dx/dt = P_x((1/N) sum_j exp(beta<x,y_j>) y_j) (USA; t = e^-beta tau, may underflow to 0 for beta > ~700) or of the softmax model (SA; t = tau)",
    tau: "internal time: tau = e^beta t for USA (scaled kernel exp(beta(<x,y>-1))), tau = t for SA",
    energy: "E_N = (1/(2 beta N^2)) sum_ij exp(beta(<x_i,x_j> - 1)) (scaled kernel; the physical energy is e^beta E_N)",
    speed2: "(1/N) sum_i |dx_i/ds|^2 with s the time of --time (physical: e^{2 beta} times the scaled value for USA)",
    power: "C_l = (1/N^2) sum_ij Z_l(<x_i,x_j>), Z_l = dim(H_l) C_l^a/C_l^a(1), a = (d-2)/2; E C_l = dim(H_l)/N for iid uniform tokens",
    clusters: "density-based: core tokens have >= max(3, ceil(f N), ceil(rho N p(delta))) tokens within angle delta; clusters are components of core tokens linked within delta, plus tokens within delta of them; clusters with < f N tokens are ignored",
    energy_identity_error: "max over the steps since the previous row of |dE_N/dtau - (1/N) sum_i |dx_i/dtau|^2| / ((1/N) sum_i |dx_i/dtau|^2), difference quotient against the method's quadrature; meaningful for USA only",
    snapshots: "x_<step>.npy (x_s<system>_<step>.npy for ensembles): N x d float64, step zero-padded to 6 digits",
};

/// Run `attnflow particles`.
pub fn run(args: &ParticlesArgs) -> Result<()> {
    let started = Instant::now();
    let args: &ParticlesOptions = &args.options;
    // ---- validation (nothing is written before every input has been checked) ----
    let dim = int_at_least("dim", args.dim, 2)?;
    if dim > attnflow::linear::MAX_DIM {
        return Err(Error::parameter(
            "dim",
            args.dim,
            format!("an integer in [2, {}]", attnflow::linear::MAX_DIM),
        ));
    }
    let beta = attnflow::error::require_positive("beta", args.beta)?;
    let model: Model = args.model.parse()?;
    let time: TimeUnit = args.time.parse()?;
    let method: Method = args.method.parse()?;
    let summation_tol =
        attnflow::error::require_in_range("summation-tol", args.summation_tol, 1e-16, 1e-2)?;
    if let Some(dt) = args.dt {
        attnflow::error::require_positive("dt", dt)?;
    }
    if let Some(tol) = args.tol {
        attnflow::error::require_in_range("tol", tol, 1e-15, 1e-1)?;
    }
    if let Some(t) = args.t_end {
        attnflow::error::require_positive("t-end", t)?;
    }
    let ensemble = int_at_least("ensemble", args.ensemble, 1)?;
    let lmax_power = int_at_least("lmax-power", args.lmax_power, 1)?;
    if lmax_power > 1000 {
        return Err(Error::parameter(
            "lmax-power",
            args.lmax_power,
            "an integer in [1, 1000]",
        ));
    }
    let save_every = match args.save_every {
        Some(k) => Some(int_at_least("save-every", k, 1)?),
        None => None,
    };
    let series_points = int_at_least("series-points", args.series_points, 1)?;
    let clusters = ClusterParams {
        radius: attnflow::error::require_in_range(
            "cluster-radius",
            args.cluster_radius,
            1e-9,
            3.0,
        )?,
        density_factor: attnflow::error::require_positive("cluster-density", args.cluster_density)?,
        min_fraction: attnflow::error::require_in_range(
            "cluster-min-fraction",
            args.cluster_min_fraction,
            0.0,
            1.0,
        )?,
    };
    let (init, init_normalised) = match &args.init {
        Some(path) => {
            let (st, k) = TokenState::from_npy(path, Some(dim))?;
            if let Some(n) = args.n {
                if n < 0 || n as usize != st.n {
                    return Err(Error::parameter(
                        "n",
                        n,
                        format!("the number of rows of {} ({})", path.display(), st.n),
                    ));
                }
            }
            if k > 0 {
                eprintln!(
                    "attnflow: warning: {k} rows of {} were not unit vectors and were normalised",
                    path.display()
                );
            }
            (Some(st), k)
        }
        None => (None, 0),
    };
    let n = match (&init, args.n) {
        (Some(st), _) => st.n,
        (None, Some(n)) => int_at_least("n", n, 1)?,
        (None, None) => {
            return Err(Error::parameter(
                "n",
                "(missing)",
                "an integer >= 1, or --init FILE.npy",
            ))
        }
    };
    // Internal time unit: tau for USA, t for SA; physical inputs are multiplied by e^beta (USA).
    let ln_tau_per_t = TimeUnit::ln_tau_per_t(model, beta);
    let to_internal = |v: f64| match time {
        TimeUnit::Physical => v * ln_tau_per_t.exp(),
        TimeUnit::Scaled => v,
    };
    let (t_end_internal, t_end_default) = match args.t_end {
        Some(t) => {
            let ti = to_internal(t);
            if !ti.is_finite() || ti <= 0.0 {
                return Err(Error::parameter(
                    "t-end",
                    t,
                    format!(
                        "a value whose scaled time e^beta t is a finite number > 0 (beta = {beta}; use --time scaled)"
                    ),
                ));
            }
            (ti, false)
        }
        None => {
            let lstar = attnflow::linear::dominant_degree(beta, dim);
            let internal_unit = match model {
                Model::Usa => TimeUnit::Scaled,
                Model::Sa => TimeUnit::Physical,
            };
            let rate = attnflow::linear::growth_rate(lstar, beta, dim, model, internal_unit);
            ((((n.max(2)) as f64).ln() + 5.0) / rate, true)
        }
    };
    let control = match (args.dt, args.tol) {
        (Some(dt), _) => {
            let h = to_internal(dt);
            if !h.is_finite() {
                return Err(Error::parameter(
                    "dt",
                    dt,
                    "a step whose scaled value e^beta dt is finite (use --time scaled)",
                ));
            }
            StepControl::Rk4 { dt: h }
        }
        (None, tol) => StepControl::DormandPrince {
            tol: tol.unwrap_or(1e-9),
        },
    };
    let field = build_velocity_field(method, dim, beta, model, n, summation_tol)?;
    prepare_output_dir(&args.out)?;

    // ---- run ----
    let cfg = RunConfig {
        t_end: t_end_internal,
        control,
        lmax_power,
        save_every,
        series_points,
        clusters,
    };
    let out = args.out.clone();
    let snapshot_name = move |system: usize, step: usize| -> String {
        if ensemble > 1 {
            format!("x_s{system}_{step:06}.npy")
        } else {
            format!("x_{step:06}.npy")
        }
    };
    let write_snapshot = |system: usize, step: usize, _t: f64, x: &[f64]| -> Result<()> {
        write_npy_f64(
            &out.join(snapshot_name(system, step)),
            &[x.len() / dim, dim],
            x,
        )
    };
    let bar = progress_bar(ensemble);
    let show_after = Duration::from_secs(1);
    let on_progress = |done: usize| {
        if started.elapsed() > show_after && std::io::stderr().is_terminal() && bar.is_hidden() {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_position(done as u64);
    };
    let result = if ensemble == 1 {
        // One system: progress by time fraction (per mille).
        let x0 = match &init {
            Some(st) => st.x.clone(),
            None => TokenState::uniform(n, dim, args.seed, 0).x,
        };
        let mut snap = |step: usize, t: f64, x: &[f64]| write_snapshot(0, step, t, x);
        let prog = |frac: f64| on_progress((frac * 1000.0) as usize);
        let r = attnflow::particles::simulate(&cfg, field.as_ref(), x0, &mut snap, &prog)?;
        attnflow::particles::EnsembleResult { systems: vec![r] }
    } else {
        run_ensemble(
            &cfg,
            field.as_ref(),
            n,
            ensemble,
            args.seed,
            init.as_ref(),
            &write_snapshot,
            &on_progress,
        )?
    };
    bar.finish_and_clear();

    // ---- outputs ----
    let t_of_tau = |tau: f64| tau * (-ln_tau_per_t).exp();
    let speed_factor = match time {
        TimeUnit::Physical => (2.0 * ln_tau_per_t).exp(),
        TimeUnit::Scaled => 1.0,
    };
    let mut header: Vec<String> = Vec::new();
    if ensemble > 1 {
        header.push("system".into());
    }
    let values = |r: &SeriesRow| -> Vec<f64> {
        let mut v = vec![
            t_of_tau(r.time),
            r.time,
            r.energy,
            r.speed2 * speed_factor,
            r.clusters as f64,
        ];
        v.extend_from_slice(&r.power);
        v.push(r.step as f64);
        v.push(r.largest_cluster);
        v.push(r.identity_error);
        v
    };
    let mut base: Vec<String> = ["t", "tau", "energy", "speed2", "clusters"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    base.extend((1..=lmax_power).map(|l| format!("C_{l}")));
    base.extend(
        ["step", "largest_cluster_fraction", "energy_identity_error"]
            .iter()
            .map(|s| s.to_string()),
    );
    header.extend(base.iter().cloned());
    let mut table = CsvTable::new(header);
    for (s, sys) in result.systems.iter().enumerate() {
        for r in &sys.rows {
            let mut v = Vec::new();
            if ensemble > 1 {
                v.push(s as f64);
            }
            v.extend(values(r));
            table.push(&v);
        }
    }
    table.write(&args.out.join("series.csv"))?;
    if ensemble > 1 {
        let rows = result.systems[0].rows.len();
        let mut mean = CsvTable::new(base.clone());
        for k in 0..rows {
            let per: Vec<Vec<f64>> = result.systems.iter().map(|s| values(&s.rows[k])).collect();
            let cols = per[0].len();
            let m: Vec<f64> = (0..cols)
                .map(|c| per.iter().map(|p| p[c]).sum::<f64>() / ensemble as f64)
                .collect();
            mean.push(&m);
        }
        mean.write(&args.out.join("series_mean.csv"))?;
    }
    let mut snapshots = Vec::new();
    for (s, sys) in result.systems.iter().enumerate() {
        for sn in &sys.snapshots {
            snapshots.push(snapshot_name(s, sn.step));
        }
    }
    let record = RunRecord {
        program: "attnflow particles",
        version: env!("CARGO_PKG_VERSION"),
        dim,
        n,
        beta,
        model,
        time_unit: time,
        t_end: match time {
            TimeUnit::Physical => t_of_tau(t_end_internal),
            TimeUnit::Scaled => t_end_internal,
        },
        t_end_default,
        tau_end: t_end_internal,
        integrator: match control {
            StepControl::Rk4 { .. } => "rk4".into(),
            StepControl::DormandPrince { .. } => "dormand-prince-5(4)".into(),
        },
        dt: args.dt,
        tol: match control {
            StepControl::DormandPrince { tol } => Some(tol),
            _ => None,
        },
        seed: args.seed,
        method_requested: method,
        method: field.description(),
        summation_tol,
        ensemble,
        lmax_power,
        save_every,
        series_points,
        clusters,
        init: args.init.as_ref().map(|p| p.display().to_string()),
        init_rows_normalised: init_normalised,
        steps: result.systems.iter().map(|s| s.steps).collect(),
        rejected_steps: result.systems.iter().map(|s| s.rejected).collect(),
        max_energy_identity_error: result
            .systems
            .iter()
            .map(|s| s.max_identity_error)
            .collect(),
        final_cluster_sizes: result
            .systems
            .iter()
            .map(|s| s.final_cluster_sizes.clone())
            .collect(),
        snapshots,
        conventions: CONVENTIONS,
        wall_time_seconds: started.elapsed().as_secs_f64(),
    };
    write_json(&args.out.join("run.json"), &record)?;
    Ok(())
}

fn progress_bar(ensemble: usize) -> ProgressBar {
    let len = if ensemble > 1 { ensemble as u64 } else { 1000 };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    let template = if ensemble > 1 {
        "particles {bar:40} {pos}/{len} systems, eta {eta}"
    } else {
        "particles {bar:40} {percent}%, eta {eta}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
