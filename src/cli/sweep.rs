//! `attnflow sweep SWEEP.toml --out DIR` and `attnflow merge DIR`.

use attnflow::control::RunControl;
use attnflow::sweep::{self, RunOptions, SbatchOptions, Shard, Sweep};
use attnflow::{Error, Result};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `attnflow sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// Sweep file: a run config (one table [particles], [pde] or [compare.<experiment>]) plus
    /// a [sweep] table of axes (beta = [1.0, 2.0], seed = { range = [0, 4] }, ...).
    pub file: PathBuf,
    /// Sweep directory (overrides `out` in the file): manifest sweep.json, points/<index>/.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only shard i of n (the points p with p mod n = i); default: from the SLURM array
    /// variables, else every point.
    #[arg(long)]
    pub shard: Option<String>,
    /// Run points that failed earlier again.
    #[arg(long)]
    pub retry_failed: bool,
    /// Check every point and list them; nothing is written or run.
    #[arg(long)]
    pub dry_run: bool,
    /// Write DIR/sweep.sbatch, a SLURM job-array script that runs the sweep, instead of running.
    #[arg(long)]
    pub sbatch: bool,
    /// Array tasks of the sbatch script [default: the number of points, at most 1000].
    #[arg(long, requires = "sbatch")]
    pub tasks: Option<usize>,
    /// Wall-clock limit per task in the sbatch script (SLURM format).
    #[arg(long, requires = "sbatch", default_value = "01:00:00")]
    pub time: String,
    /// CPUs per task in the sbatch script.
    #[arg(long, requires = "sbatch", default_value_t = 2)]
    pub cpus_per_task: usize,
    /// Job name in the sbatch script.
    #[arg(long, requires = "sbatch", default_value = "attnflow-sweep")]
    pub job_name: String,
}

/// Arguments of `attnflow merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// Sweep directory (holding sweep.json).
    pub dir: PathBuf,
    /// Figure file format.
    #[command(flatten)]
    pub figure_format: super::FigureFormatArg,
}

fn flag(e: Error) -> Error {
    match e {
        Error::Parameter { ref name, .. } if name.starts_with("SLURM_") => e,
        e => e.with_flag_names(),
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::Input {
        path: p.to_path_buf(),
        message: e.to_string(),
    })
}

/// Run `attnflow sweep`.
pub fn run_sweep(args: &SweepArgs) -> Result<()> {
    let sw = Sweep::load(&args.file)?;
    let dir = args.out.clone().or_else(|| sw.out.clone()).ok_or_else(|| {
        Error::parameter(
            "--out",
            "(missing)",
            "the sweep directory (--out DIR, or out = \"DIR\" in the run's table)",
        )
    })?;
    let flag_shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(flag)?;
    let slurm = Shard::from_slurm(&|v| std::env::var(v).ok()).map_err(flag)?;
    let shard = Shard::choose(flag_shard, slurm).map_err(flag)?;
    if args.dry_run {
        sw.resolve_all(&dir)?;
        for p in &sw.points {
            let mark = if shard.owns(p.index) {
                ""
            } else {
                " (other shard)"
            };
            println!("{} {}{mark}", p.dir, p.describe(&sw.axes));
        }
        println!(
            "sweep of {}: {} points, all valid; shard {shard} runs {}",
            sw.kind,
            sw.points.len(),
            sw.points.iter().filter(|p| shard.owns(p.index)).count()
        );
        return Ok(());
    }
    if args.sbatch {
        sw.resolve_all(&dir)?;
        let opts = SbatchOptions {
            exe: std::env::current_exe().map_err(|e| Error::Input {
                path: PathBuf::from("attnflow"),
                message: format!("cannot locate the executable: {e}"),
            })?,
            sweep_file: absolute(&args.file)?,
            dir: absolute(&dir)?,
            tasks: args.tasks.unwrap_or(sw.points.len().min(1000)),
            time: args.time.clone(),
            cpus_per_task: args.cpus_per_task,
            job_name: args.job_name.clone(),
            points: sw.points.len(),
        };
        let script = sweep::sbatch_script(&opts).map_err(flag)?;
        sweep::claim(&sw, &dir).map_err(flag)?;
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(|e| Error::Output {
            path: logs.clone(),
            message: e.to_string(),
        })?;
        let path = dir.join("sweep.sbatch");
        attnflow::io::write_atomic(&path, script.as_bytes())?;
        println!(
            "sweep of {}: {} points in {} array tasks; edit and submit: sbatch {}",
            sw.kind,
            sw.points.len(),
            opts.tasks,
            path.display()
        );
        return Ok(());
    }
    let ctl = RunControl::new().with_stop_flag(crate::stop_on_signals());
    let outcome = sweep::run_sweep(
        &sw,
        &dir,
        RunOptions {
            shard,
            retry_failed: args.retry_failed,
        },
        &ctl,
        &mut |line| eprintln!("attnflow: {line}"),
    )
    .map_err(flag)?;
    println!("{}", outcome.summary(&dir));
    if outcome.failed() > 0 {
        return Err(Error::Numerical(format!(
            "{} point(s) of shard {} failed; their run.json says why (attnflow merge {} lists them)",
            outcome.failed(),
            outcome.shard,
            dir.display()
        )));
    }
    Ok(())
}

/// Run `attnflow merge`; an incomplete sweep exits with status 4 after writing what exists.
pub fn run_merge(args: &MergeArgs) -> Result<()> {
    let o = sweep::merge(&args.dir)?;
    if o.is_complete() {
        println!("{}", o.summary());
        Ok(())
    } else {
        eprintln!("attnflow: incomplete sweep: {}", o.summary());
        std::process::exit(4);
    }
}
