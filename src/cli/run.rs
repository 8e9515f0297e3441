//! `attnflow run CONFIG` and `attnflow resume OUT`.

use attnflow::run::{load_config, RunSpec};
use attnflow::Result;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `attnflow run`.
#[derive(Args)]
pub struct RunArgs {
    /// Config file: TOML (or JSON) with one table [particles], [pde] or
    /// [compare.<experiment>]; or the run.json of an earlier run (reproduces it).
    pub config: PathBuf,
    /// Output directory (overrides `out` in the file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an earlier run in the output directory (only the files it wrote are removed).
    #[arg(long)]
    pub overwrite: bool,
    /// Print the resolved specification (every default filled in) as TOML and exit.
    #[arg(long)]
    pub print_resolved: bool,
    /// Figure file format.
    #[command(flatten)]
    pub figure_format: super::FigureFormatArg,
}

impl RunArgs {
    /// The run specification of the file, with `--out` applied.
    pub fn spec(&self) -> Result<RunSpec> {
        let mut spec = load_config(&self.config)?;
        if let Some(o) = &self.out {
            *spec.out_mut() = Some(o.clone());
        }
        Ok(spec)
    }
}

/// Arguments of `attnflow resume`.
#[derive(Args)]
pub struct ResumeArgs {
    /// Output directory of an interrupted run.
    pub out: PathBuf,
    /// Figure file format.
    #[command(flatten)]
    pub figure_format: super::FigureFormatArg,
}
