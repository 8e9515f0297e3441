//! `attnflow pde`: the flags are the fields of [`PdeSpec`].

use attnflow::run::{PdeSpec, RunSpec};
use clap::Args;

/// Arguments of `attnflow pde`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct PdeArgs {
    /// The run.
    #[command(flatten)]
    pub spec: PdeSpec,
    /// Replace an earlier run in --out (only the files it wrote are removed).
    #[arg(long)]
    pub overwrite: bool,
}

impl PdeArgs {
    /// The run specification.
    pub fn spec(&self) -> RunSpec {
        RunSpec::Pde(self.spec.clone())
    }
}
