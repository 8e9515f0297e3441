//! `attnflow linear` and `attnflow dominant`.

use clap::Args;

/// Arguments of `attnflow linear`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct LinearArgs {
    /// Ambient dimension d (tokens on S^{d-1}), d >= 2.
    #[arg(long = "dim")]
    pub dim: i64,
    /// Inverse temperature beta > 0.
    #[arg(long)]
    pub beta: f64,
}

/// Arguments of `attnflow dominant`.
#[derive(Args)]
#[command(allow_negative_numbers = true)]
pub struct DominantArgs {
    /// Ambient dimension d (tokens on S^{d-1}), d >= 2.
    #[arg(long = "dim")]
    pub dim: i64,
}

/// Run `attnflow linear`.
pub fn run_linear(_args: &LinearArgs) -> attnflow::Result<()> {
    Err(attnflow::Error::Numerical(
        "linear: not implemented yet".into(),
    ))
}

/// Run `attnflow dominant`.
pub fn run_dominant(_args: &DominantArgs) -> attnflow::Result<()> {
    Err(attnflow::Error::Numerical(
        "dominant: not implemented yet".into(),
    ))
}
