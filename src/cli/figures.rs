//! `attnflow figures SET [--out DIR]`.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Which figures to write.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FigureSet {
    /// Linear theory: growth_rates.png, dominant_mode.png.
    Linear,
    /// Every figure the tool can make.
    All,
}

/// Arguments of `attnflow figures`.
#[derive(Args)]
pub struct FiguresArgs {
    /// The set of figures.
    pub set: FigureSet,
    /// Output directory (created if missing).
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
}

/// Run `attnflow figures`.
pub fn run(args: &FiguresArgs) -> attnflow::Result<()> {
    attnflow::io::prepare_output_dir(&args.out)?;
    let _ = args.set;
    Err(attnflow::Error::Numerical(
        "figures: not implemented yet".into(),
    ))
}
