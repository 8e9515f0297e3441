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
}

impl CompareArgs {
    /// The run specification.
    pub fn spec(&self) -> RunSpec {
        RunSpec::Compare(self.experiment.clone())
    }
}
