//! `attnflow particles`: the flags are the fields of [`ParticlesSpec`].

use attnflow::run::{ParticlesSpec, RunSpec};
use clap::Args;

/// Arguments of `attnflow particles`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct ParticlesArgs {
    /// The run.
    #[command(flatten)]
    pub spec: ParticlesSpec,
    /// Replace an earlier run in --out (only the files it wrote are removed).
    #[arg(long)]
    pub overwrite: bool,
}

impl ParticlesArgs {
    /// The run specification.
    pub fn spec(&self) -> RunSpec {
        RunSpec::Particles(self.spec.clone())
    }
}
