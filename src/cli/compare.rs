//! `attnflow compare <experiment>`: the flags are the fields of [`CompareSpec`]'s experiments.

use attnflow::run::{CompareSpec, RunSpec};
use clap::Args;

/// Arguments of `attnflow compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// The experiment.
    #[command(subcommand)]
    pub experiment: CompareSpec,
    /// Replace an earlier run in --out (only the files it wrote are removed).
    #[arg(long, global = true)]
    pub overwrite: bool,
    /// Figure files: png, svg (vector; text converted to glyph outlines, heat maps embedded as
    /// PNG images) or both (same file stem).
    #[arg(long = "format", global = true, default_value = "png", value_parser = super::parse_figure_format)]
    pub format: attnflow::plot::FigureFormat,
}

impl CompareArgs {
    /// The run specification.
    pub fn spec(&self) -> RunSpec {
        RunSpec::Compare(self.experiment.clone())
    }
}
