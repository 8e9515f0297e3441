//! `attnflow particles`.

use clap::Args;
use std::path::PathBuf;

/// Arguments of `attnflow particles`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct ParticlesArgs {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Run `attnflow particles`.
pub fn run(_args: &ParticlesArgs) -> attnflow::Result<()> {
    Err(attnflow::Error::Numerical(
        "particles: not implemented yet".into(),
    ))
}
