//! `attnflow pde`: solve the mean-field continuity equation and write its outputs.
//!
//! Files in `--out DIR` (all written atomically; rewritten after every output time, so a run
//! that stops keeps everything computed so far):
//! `series.csv` (t, tau, mass, energy, min_rho, tail_fraction, C_1..C_Lp), `coeffs_KKKK.npy`,
//! `density_KKKK.npy` per output time, `grid_LXXXX_nodes.npy`, `grid_LXXXX_weights.npy`,
//! `degrees_LXXXX.npy` per basis size used, and `run.json` (every parameter, status, statistics).

use attnflow::io::{prepare_output_dir, write_json, write_npy_f64, CsvTable};
use attnflow::pde::{self, InitialData, PdeConfig, Stepping, Summary};
use attnflow::spectral::{Basis, CircleBasis, Geometry, SphereBasis, ZonalBasis};
use attnflow::{Error, Model, Result, TimeUnit};
use clap::Args;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Largest degree accepted per geometry (memory and time grow like `L`, `L^3`, `L^2`).
const MAX_LMAX_CIRCLE: usize = 1 << 16;
const MAX_LMAX_SPHERE: usize = 1023;
const MAX_LMAX_ZONAL: usize = 2000;
/// Largest dimension for the zonal geometry (orthonormal harmonics stay finite).
const MAX_DIM_ZONAL: usize = 64;

/// Arguments of `attnflow pde`.
#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct PdeArgs {
    /// Geometry: circle (S^1, d = 2), sphere (S^2, d = 3) or zonal (axisymmetric S^{d-1}, any d >= 2).
    #[arg(long)]
    pub geometry: String,
    /// Ambient dimension d (circle: 2, sphere: 3; zonal: 2..=64). Default: 2, 3, 3.
    #[arg(long)]
    pub dim: Option<usize>,
    /// Inverse temperature beta > 0.
    #[arg(long)]
    pub beta: f64,
    /// Attention model: usa or sa.
    #[arg(long, default_value = "usa")]
    pub model: String,
    /// Largest degree L of the basis (default 64; sphere 32).
    #[arg(long)]
    pub lmax: Option<usize>,
    /// Diffusion coefficient nu >= 0 (term nu Lap rho, per unit of --time).
    #[arg(long, default_value_t = 0.0)]
    pub nu: f64,
    /// Final time, in the unit of --time.
    #[arg(long)]
    pub t_end: f64,
    /// Time unit of --t-end, --dt, --nu and of the energy: physical or scaled (tau = e^beta t for USA).
    #[arg(long, default_value = "physical")]
    pub time: String,
    /// Initial data.
    #[command(flatten)]
    pub init: Box<InitArgs>,
    /// Time stepping, outputs and resolution control.
    #[command(flatten)]
    pub numerics: Box<NumericsArgs>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Time stepping, output and resolution options of `attnflow pde`.
#[derive(Args, Debug)]
pub struct NumericsArgs {
    /// Adaptive Dormand–Prince 5(4) with this relative tolerance (default 1e-8).
    #[arg(long, conflicts_with = "dt")]
    pub tol: Option<f64>,
    /// Fixed-step RK4 with steps of at most H (unit of --time).
    #[arg(long)]
    pub dt: Option<f64>,
    /// Largest degree Lp of the power columns C_1..C_Lp (default min(L, 32)).
    #[arg(long)]
    pub lmax_power: Option<usize>,
    /// Number K >= 2 of output times, equally spaced from 0 to --t-end.
    #[arg(long, default_value_t = 11)]
    pub outputs: usize,
    /// Largest accepted fraction of spectral energy in the top eighth of the degrees.
    #[arg(long, default_value_t = 1e-10)]
    pub resolution_tol: f64,
    /// Refine (pad to ceil(3L/2)) instead of stopping when resolution is lost.
    #[arg(long)]
    pub refine: bool,
    /// Largest degree refinement may reach (default 8 L, within the geometry's maximum).
    #[arg(long)]
    pub lmax_limit: Option<usize>,
    /// Do not write the grid densities (coefficients are always written).
    #[arg(long)]
    pub no_density: bool,
}

/// Initial-data options of `attnflow pde` (uniform density plus the given perturbations).
#[derive(Args, Debug)]
pub struct InitArgs {
    /// Prescribed modes: circle `k:amplitude[:phase]`, sphere `l:m:amplitude` (m < 0: sine
    /// harmonic), zonal `l:0:amplitude`; comma-separated.
    #[arg(long)]
    pub init_modes: Option<String>,
    /// White noise of standard deviation SIGMA on the grid (projected, degrees 1..=--init-lmax).
    #[arg(long)]
    pub init_noise: Option<f64>,
    /// Random coefficients of variance 1/N (finite-N statistics), degrees 1..=--init-lmax.
    #[arg(long)]
    pub n_equiv: Option<f64>,
    /// Seed of the random initial data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Largest degree receiving random initial perturbations (default floor(L/2)).
    #[arg(long)]
    pub init_lmax: Option<usize>,
    /// Particle snapshot (.npy, N x d unit vectors) projected onto the basis.
    #[arg(long)]
    pub init_snapshot: Option<PathBuf>,
    /// Heat-kernel smoothing time eps of the snapshot projection: factor exp(-eps l(l+d-2))
    /// (default ln(1e8)/(L(L+d-2)), i.e. 1e-8 at l = L).
    #[arg(long)]
    pub smoothing: Option<f64>,
}

/// Everything recorded in `run.json`.
#[derive(serde::Serialize)]
struct RunRecord<'a> {
    command: &'static str,
    version: &'static str,
    geometry: Geometry,
    dim: usize,
    lmax: usize,
    lmax_power: usize,
    config: &'a PdeConfig,
    init: InitRecord,
    conventions: Conventions,
    status: String,
    summary: &'a Summary,
    files: Vec<String>,
}

#[derive(serde::Serialize, Clone)]
struct InitRecord {
    modes: Option<String>,
    noise_sigma: Option<f64>,
    n_equiv: Option<f64>,
    seed: u64,
    noise_lmax: usize,
    snapshot: Option<String>,
    snapshot_tokens: Option<usize>,
    smoothing: Option<f64>,
}

#[derive(serde::Serialize)]
struct Conventions {
    density: &'static str,
    coefficients: &'static str,
    power: &'static str,
    energy: String,
    time: String,
    tail_fraction: &'static str,
    grid: &'static str,
}

fn geometry_from(s: &str) -> Result<Geometry> {
    match s.to_ascii_lowercase().as_str() {
        "circle" => Ok(Geometry::Circle),
        "sphere" => Ok(Geometry::Sphere),
        "zonal" => Ok(Geometry::Zonal),
        _ => Err(Error::parameter("geometry", s, "circle, sphere or zonal")),
    }
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

/// Run `attnflow pde`.
pub fn run(args: &PdeArgs) -> Result<()> {
    let geometry = geometry_from(&args.geometry)?;
    let model: Model = args.model.parse()?;
    let time: TimeUnit = args.time.parse()?;
    attnflow::error::require_positive("beta", args.beta)?;
    let dim = match (geometry, args.dim) {
        (Geometry::Circle, None | Some(2)) => 2,
        (Geometry::Circle, Some(d)) => {
            return Err(Error::parameter("dim", d, "2 for --geometry circle"))
        }
        (Geometry::Sphere, None | Some(3)) => 3,
        (Geometry::Sphere, Some(d)) => {
            return Err(Error::parameter("dim", d, "3 for --geometry sphere"))
        }
        (Geometry::Zonal, None) => 3,
        (Geometry::Zonal, Some(d)) if (2..=MAX_DIM_ZONAL).contains(&d) => d,
        (Geometry::Zonal, Some(d)) => {
            return Err(Error::parameter(
                "dim",
                d,
                format!("an integer in [2, {MAX_DIM_ZONAL}] for --geometry zonal"),
            ))
        }
    };
    let max_l = match geometry {
        Geometry::Circle => MAX_LMAX_CIRCLE,
        Geometry::Sphere => MAX_LMAX_SPHERE,
        Geometry::Zonal => MAX_LMAX_ZONAL,
    };
    let lmax = args
        .lmax
        .unwrap_or(if geometry == Geometry::Sphere { 32 } else { 64 });
    if !(1..=max_l).contains(&lmax) {
        return Err(Error::parameter(
            "lmax",
            lmax,
            format!(
                "an integer in [1, {max_l}] for --geometry {}",
                geometry.name()
            ),
        ));
    }
    let lmax_power = args.numerics.lmax_power.unwrap_or(lmax.min(32));
    if !(1..=lmax).contains(&lmax_power) {
        return Err(Error::parameter(
            "lmax-power",
            lmax_power,
            format!("an integer in [1, {lmax}] (at most --lmax)"),
        ));
    }
    let lmax_limit = args.numerics.lmax_limit.unwrap_or((8 * lmax).min(max_l));
    if !(lmax..=max_l).contains(&lmax_limit) {
        return Err(Error::parameter(
            "lmax-limit",
            lmax_limit,
            format!("an integer in [--lmax = {lmax}, {max_l}]"),
        ));
    }
    let stepping = match (args.numerics.tol, args.numerics.dt) {
        (_, Some(dt)) => Stepping::Fixed { dt },
        (Some(tol), None) => Stepping::Adaptive { tol },
        (None, None) => Stepping::Adaptive { tol: 1e-8 },
    };
    let cfg = PdeConfig {
        model,
        beta: args.beta,
        nu: args.nu,
        time,
        t_end: args.t_end,
        outputs: args.numerics.outputs,
        stepping,
        resolution_tol: args.numerics.resolution_tol,
        refine: args.numerics.refine,
        lmax_limit,
    };
    cfg.validate()?;

    // Initial data.
    let mut init = InitialData {
        seed: args.init.seed,
        ..Default::default()
    };
    if let Some(spec) = &args.init.init_modes {
        init.modes = pde::parse_modes(spec, geometry, lmax)?;
    }
    if let Some(s) = args.init.init_noise {
        attnflow::error::require_positive("init-noise", s)?;
        init.noise_sigma = Some(s);
    }
    if let Some(n) = args.init.n_equiv {
        attnflow::error::require_positive("n-equiv", n)?;
        init.n_equiv = Some(n);
    }
    if let Some(l) = args.init.init_lmax {
        if !(1..=lmax).contains(&l) {
            return Err(Error::parameter(
                "init-lmax",
                l,
                format!("an integer in [1, {lmax}]"),
            ));
        }
        init.noise_lmax = Some(l);
    }
    if let Some(eps) = args.init.smoothing {
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(Error::parameter("smoothing", eps, "a finite number >= 0"));
        }
        init.smoothing = Some(eps);
    }
    if let Some(path) = &args.init.init_snapshot {
        init.snapshot = Some(pde::init::read_snapshot(path, dim)?);
    }
    let init_record = InitRecord {
        modes: args.init.init_modes.clone(),
        noise_sigma: init.noise_sigma,
        n_equiv: init.n_equiv,
        seed: args.init.seed,
        noise_lmax: init.noise_lmax.unwrap_or(lmax / 2),
        snapshot: args
            .init
            .init_snapshot
            .as_ref()
            .map(|p| p.display().to_string()),
        snapshot_tokens: init.snapshot.as_ref().map(|s| s.1),
        smoothing: init.snapshot.as_ref().map(|_| {
            init.smoothing
                .unwrap_or(pde::init::default_smoothing(lmax, dim))
        }),
    };

    prepare_output_dir(&args.out)?;
    let ctx = Context {
        args,
        geometry,
        dim,
        lmax,
        lmax_power,
        cfg: &cfg,
        init: init_record,
    };
    match geometry {
        Geometry::Circle => ctx.run(CircleBasis::new(lmax), &init),
        Geometry::Sphere => ctx.run(SphereBasis::new(lmax), &init),
        Geometry::Zonal => {
            let b = ZonalBasis::new(lmax, dim);
            if !b.is_finite() {
                return Err(Error::parameter(
                    "lmax",
                    lmax,
                    format!("a smaller degree for --dim {dim} (zonal harmonics overflow)"),
                ));
            }
            ctx.run(b, &init)
        }
    }
}

struct Context<'a> {
    args: &'a PdeArgs,
    geometry: Geometry,
    dim: usize,
    lmax: usize,
    lmax_power: usize,
    cfg: &'a PdeConfig,
    init: InitRecord,
}

fn npy_name(prefix: &str, k: usize) -> String {
    format!("{prefix}_{k:04}.npy")
}

/// Write the grid description of a basis of degree `L` (once per `L`).
fn write_grid<B: GridInfo>(dir: &Path, basis: &B, files: &mut Vec<String>) -> Result<()> {
    let l = basis.lmax();
    let nodes = basis.nodes();
    let names = [
        format!("grid_L{l:04}_nodes.npy"),
        format!("grid_L{l:04}_weights.npy"),
        format!("degrees_L{l:04}.npy"),
    ];
    write_npy_f64(&dir.join(&names[0]), &[nodes.len()], &nodes)?;
    let w = basis.grid_weights();
    write_npy_f64(&dir.join(&names[1]), &basis.grid_shape(), w)?;
    let deg: Vec<f64> = basis.degrees().iter().map(|&d| d as f64).collect();
    write_npy_f64(&dir.join(&names[2]), &[deg.len()], &deg)?;
    files.extend(names);
    Ok(())
}

/// The one-dimensional node array that describes a basis' grid.
trait GridInfo: Basis {
    fn nodes(&self) -> Vec<f64>;
}

impl GridInfo for CircleBasis {
    fn nodes(&self) -> Vec<f64> {
        self.angles()
    }
}
impl GridInfo for SphereBasis {
    fn nodes(&self) -> Vec<f64> {
        self.ring_nodes().to_vec()
    }
}
impl GridInfo for ZonalBasis {
    fn nodes(&self) -> Vec<f64> {
        ZonalBasis::nodes(self).to_vec()
    }
}

impl Context<'_> {
    fn record(&self, status: String, summary: &Summary, files: &[String]) -> Result<()> {
        let time_text = format!(
            "columns t (physical) and tau (scaled: e^beta t for USA, t for SA); --t-end, --dt and --nu in {} units; outputs at k t_end/(K-1)",
            self.cfg.time
        );
        let energy = match self.cfg.time {
            TimeUnit::Physical => "E = (1/(2 beta)) int int exp(beta <x,y>) rho rho dsigma dsigma (physical kernel)".to_string(),
            TimeUnit::Scaled => "E_s = (1/(2 beta)) int int exp(beta(<x,y>-1)) rho rho dsigma dsigma = e^{-beta} E (scaled kernel)".to_string(),
        };
        let rec = RunRecord {
            command: "pde",
            version: env!("CARGO_PKG_VERSION"),
            geometry: self.geometry,
            dim: self.dim,
            lmax: self.lmax,
            lmax_power: self.lmax_power,
            config: self.cfg,
            init: self.init.clone(),
            conventions: Conventions {
                density: "rho w.r.t. the uniform probability measure sigma (uniform state rho = 1)",
                coefficients: layout(self.geometry),
                power: "C_l = sum of squared orthonormal coefficients of degree l (N iid uniform tokens: C_l ~ dim(H_l)/N; circle: C_k = 2|M_k|^2)",
                energy,
                time: time_text,
                tail_fraction: "sum of C_l over the top max(1, floor(L/8)) degrees / sum of all C_l (C_0 included)",
                grid: grid_text(self.geometry),
            },
            status,
            summary,
            files: files.to_vec(),
        };
        write_json(&self.args.out.join("run.json"), &rec)
    }

    fn run<B: GridInfo + 'static>(&self, mut basis: B, init: &InitialData) -> Result<()> {
        let dir = &self.args.out;
        let c0 = pde::initial_coefficients(&mut basis, init)?;
        let mut header: Vec<String> = ["t", "tau", "mass", "energy", "min_rho", "tail_fraction"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        header.extend((1..=self.lmax_power).map(|l| format!("C_{l}")));
        let mut table = CsvTable::new(header);
        let mut files: Vec<String> = vec!["series.csv".into(), "run.json".into()];
        let mut grids_written = BTreeSet::new();
        write_grid(dir, &basis, &mut files)?;
        grids_written.insert(basis.lmax());
        let mut summary = Summary::default();
        self.record("running".into(), &summary, &files)?;

        let bar = indicatif::ProgressBar::new(1000);
        if !std::io::stderr().is_terminal() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "pde [{elapsed_precise}] {wide_bar} {percent}% {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let lp = self.lmax_power;
        let no_density = self.args.numerics.no_density;
        let mut frame_files: Vec<String> = Vec::new();
        let mut new_grids: Vec<usize> = Vec::new();
        let result = pde::solve(
            basis,
            &c0,
            self.cfg,
            |f| {
                let d = f.diagnostics;
                let mut row = vec![f.t, f.tau, d.mass, d.energy, d.min_rho, d.tail_fraction];
                row.extend((1..=lp).map(|l| d.power.get(l).copied().unwrap_or(0.0)));
                table.push(&row);
                let cname = npy_name("coeffs", f.index);
                write_npy_f64(&dir.join(&cname), &[f.coefficients.len()], f.coefficients)?;
                frame_files.push(cname);
                if !no_density {
                    let dname = npy_name("density", f.index);
                    write_npy_f64(&dir.join(&dname), &f.grid_shape, f.density)?;
                    frame_files.push(dname);
                }
                if !grids_written.contains(&f.lmax) {
                    new_grids.push(f.lmax);
                    grids_written.insert(f.lmax);
                }
                table.write(&dir.join("series.csv"))?;
                bar.set_message(format!("t = {:.4e} L = {}", f.time, f.lmax));
                Ok(())
            },
            |frac| bar.set_position((frac * 1000.0) as u64),
            &mut summary,
        );
        bar.finish_and_clear();
        files.extend(frame_files);
        // Grids of refined bases (built again only to describe them).
        for l in new_grids {
            let b = match self.geometry {
                Geometry::Circle => write_grid(dir, &CircleBasis::new(l), &mut files),
                Geometry::Sphere => write_grid(dir, &SphereBasis::new(l), &mut files),
                Geometry::Zonal => write_grid(dir, &ZonalBasis::new(l, self.dim), &mut files),
            };
            b?;
        }
        if table.is_empty() {
            table.write(&dir.join("series.csv"))?;
        }
        let status = match &result {
            Ok(()) => "completed".to_string(),
            Err(e) => format!("stopped: {e}"),
        };
        self.record(status, &summary, &files)?;
        result
    }
}
