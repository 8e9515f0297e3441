//! `attnflow pde`.

use clap::Args;
use std::path::PathBuf;

/// Arguments of `attnflow pde`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct PdeArgs {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Run `attnflow pde`.
pub fn run(_args: &PdeArgs) -> attnflow::Result<()> {
    Err(attnflow::Error::Numerical(
        "pde: not implemented yet".into(),
    ))
}
