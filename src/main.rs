//! The `attnflow` command line: parse arguments into run specifications, call the library,
//! print. Every error is one line on stderr; exit status 2 for bad input, 3 when a PDE run
//! ran out of resolution, 130 when interrupted, 1 for other failures; help and version go to
//! stdout.

mod cli;

use attnflow::control::{RunControl, StopFlag};
use attnflow::run::{self, RunSpec};
use attnflow::Error;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Self-attention as interacting particles on the sphere: linear theory, mean-field PDE,
/// particle simulation, comparisons and figures.
#[derive(Parser)]
#[command(name = "attnflow", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Linear stability of the uniform state: Funk–Hecke eigenvalues and growth rates per degree.
    Linear(cli::linear::LinearArgs),
    /// The dominant degree l*(beta) on a grid of beta, and the thresholds where it changes.
    Dominant(cli::linear::DominantArgs),
    /// Equiangular tokens (equal pairwise inner products): the scalar ODE of their inner
    /// product, the time to reach a given one, and its trajectory.
    Equiangular(cli::equiangular::EquiangularArgs),
    /// Critical values of the noisy model: beta_*(d) and the stability threshold nu_#(beta, d).
    Critical(cli::critical::CriticalArgs),
    /// Simulate N tokens on S^{d-1} (exact or fast summation) and record diagnostics.
    Particles(Box<cli::particles::ParticlesArgs>),
    /// Solve the mean-field continuity equation spectrally (circle, sphere, zonal).
    Pde(Box<cli::pde::PdeArgs>),
    /// Theory vs PDE vs particles: the comparison experiments, with reports and figures.
    Compare(Box<cli::compare::CompareArgs>),
    /// Run a config file (TOML/JSON: one table [particles], [pde] or [compare.<experiment>]),
    /// or re-run an earlier run's run.json bit for bit.
    Run(cli::run::RunArgs),
    /// Continue an interrupted run from its checkpoints.
    Resume(cli::run::ResumeArgs),
    /// Write the project's figures (PNG, embedded font); `all` also runs the gallery.
    Figures(cli::figures::FiguresArgs),
    /// Run a parameter sweep (a run config plus a [sweep] table), whole or one shard of it.
    Sweep(Box<cli::sweep::SweepArgs>),
    /// Merge the points of a sweep into one table, arrays and a summary figure.
    Merge(cli::sweep::MergeArgs),
    /// The seed papers' figures reproduced by attnflow's runs, with captions and index.html.
    Gallery(cli::gallery::GalleryArgs),
    /// Make the movie (GIF; MP4 with ffmpeg) of a particle or PDE output directory.
    Movie(cli::movie::MovieArgs),
    /// Write OUT/view.html: a self-contained interactive page of a particles or pde run
    /// (tokens or density per snapshot, time slider, the run's series).
    View(cli::view::ViewArgs),
    /// The standard figures of a particle or PDE output directory (energy, C_l with theory
    /// slopes, clusters, snapshots, kymograph) into RUN/plots.
    Plot(cli::plot::PlotArgs),
}

impl Command {
    /// The `--format` of the figures, for the commands that write figures.
    fn figure_format(&self) -> Option<attnflow::plot::FigureFormat> {
        Some(match self {
            Command::Compare(a) => a.format,
            Command::Run(a) => a.figure_format.format,
            Command::Resume(a) => a.figure_format.format,
            Command::Figures(a) => a.figure_format.format,
            Command::Merge(a) => a.figure_format.format,
            Command::Gallery(a) => a.figure_format.format,
            Command::Plot(a) => a.figure_format.format,
            _ => return None,
        })
    }
}

/// Collapse clap's multi-line error into one line (drops blank lines, usage and the help hint).
fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    parts.join(" ")
}

/// SIGINT/SIGTERM set the stop flag (the run finishes its step, writes a checkpoint and exits
/// 130); a second signal exits at once (every output file is still complete: all writes are
/// atomic or whole appended rows).
fn stop_on_signals() -> StopFlag {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&flag));
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
    StopFlag::from_arc(flag)
}

/// A progress bar on stderr, shown after a second and only on a terminal.
fn progress_bar(kind: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::hidden());
    let template = format!("{kind} {{bar:40}} {{percent}}% {{msg}} [{{elapsed}}, eta {{eta}}]");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// Execute a run specification with signals, progress and the summary line.
fn execute(
    spec: Option<RunSpec>,
    resume: Option<&std::path::Path>,
    overwrite: bool,
) -> attnflow::Result<()> {
    let kind = spec.as_ref().map_or("resume".to_string(), RunSpec::kind);
    let bar = progress_bar(&kind);
    let shown = bar.clone();
    let started = Instant::now();
    let on_terminal = std::io::stderr().is_terminal();
    let ctl = RunControl::new()
        .with_stop_flag(stop_on_signals())
        .with_progress(Box::new(move |fraction, message| {
            if on_terminal && shown.is_hidden() && started.elapsed() > Duration::from_secs(1) {
                shown.set_draw_target(ProgressDrawTarget::stderr());
            }
            if fraction.is_finite() {
                shown.set_position((fraction * 1000.0) as u64);
            }
            shown.set_message(message.to_string());
        }));
    let outcome = match (spec, resume) {
        (Some(spec), _) => run::execute_with_warnings(&spec, &ctl, overwrite, &mut |w| {
            eprintln!("attnflow: warning: {w}")
        }),
        (None, Some(out)) => run::resume(out, &ctl),
        (None, None) => unreachable!("a spec or a directory"),
    };
    bar.finish_and_clear();
    println!("{}", outcome?.summary);
    Ok(())
}

fn main() -> ExitCode {
    // Safety net: an internal bug is reported in one line, without a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("attnflow: internal error: {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = err.print();
                    ExitCode::SUCCESS
                }
                _ => {
                    eprintln!("attnflow: {}", one_line(&err));
                    ExitCode::from(2)
                }
            };
        }
    };
    if let Some(format) = cli.command.figure_format() {
        attnflow::plot::set_figure_format(format);
    }
    let mut flags = true;
    let result = match cli.command {
        Command::Linear(args) => cli::linear::run_linear(&args),
        Command::Dominant(args) => cli::linear::run_dominant(&args),
        Command::Equiangular(args) => cli::equiangular::run_equiangular(&args),
        Command::Critical(args) => cli::critical::run(&args),
        Command::Particles(args) => execute(Some(args.spec()), None, args.overwrite),
        Command::Pde(args) => execute(Some(args.spec()), None, args.overwrite),
        Command::Compare(args) => execute(Some(args.spec()), None, args.overwrite),
        Command::Run(args) => {
            flags = false;
            args.spec().and_then(|spec| {
                if args.print_resolved {
                    let (resolved, _) = spec.resolve()?;
                    print!("{}", resolved.to_toml());
                    Ok(())
                } else {
                    execute(Some(spec), None, args.overwrite)
                }
            })
        }
        Command::Resume(args) => {
            flags = false;
            execute(None, Some(&args.out), false)
        }
        Command::Sweep(args) => {
            flags = false;
            cli::sweep::run_sweep(&args)
        }
        Command::Merge(args) => cli::sweep::run_merge(&args),
        Command::Figures(args) => {
            cli::figures::run(&args, &RunControl::new().with_stop_flag(stop_on_signals()))
        }
        Command::Movie(args) => cli::movie::run(&args),
        Command::Plot(args) => cli::plot::run(&args),
        Command::Gallery(args) => {
            cli::gallery::run(&args, &RunControl::new().with_stop_flag(stop_on_signals()))
        }
        Command::View(args) => cli::view::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let e = if flags { e.with_flag_names() } else { e };
            match &e {
                Error::Interrupted(_) => eprintln!("attnflow: {e}"),
                _ => eprintln!("attnflow: error: {e}"),
            }
            ExitCode::from(e.exit_code())
        }
    }
}
