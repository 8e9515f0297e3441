//! The `attnflow` command line: parse arguments, call the library, print and write outputs.
//!
//! Every error is one line on stderr and exit status 2; help and version go to stdout.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Self-attention as interacting particles on the sphere: linear theory, mean-field PDE,
/// particle simulation and figures.
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
    /// Simulate N tokens on S^{d-1} (exact or fast summation) and record diagnostics.
    Particles(cli::particles::ParticlesArgs),
    /// Solve the mean-field continuity equation spectrally (circle, sphere, zonal).
    Pde(cli::pde::PdeArgs),
    /// Theory vs PDE vs particles: the comparison experiments, with reports and figures.
    Compare(cli::compare::CompareArgs),
    /// Write the project's figures (PNG, embedded font).
    Figures(cli::figures::FiguresArgs),
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
    let result = match cli.command {
        Command::Linear(args) => cli::linear::run_linear(&args),
        Command::Dominant(args) => cli::linear::run_dominant(&args),
        Command::Particles(args) => cli::particles::run(&args),
        Command::Pde(args) => cli::pde::run(&args),
        Command::Compare(args) => cli::compare::run(&args),
        Command::Figures(args) => cli::figures::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attnflow: error: {e}");
            ExitCode::from(2)
        }
    }
}
