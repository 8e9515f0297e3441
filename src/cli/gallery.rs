//! `attnflow gallery --out DIR [--quick]`: the seed papers' figures reproduced, with captions,
//! `DIR/index.html` and `DIR/README.md` (see [`attnflow::gallery`]).

use clap::Args;
use std::path::PathBuf;

/// Arguments of `attnflow gallery`.
#[derive(Args)]
pub struct GalleryArgs {
    /// Output directory (created if missing; each experiment replaces its own subdirectory).
    #[arg(long, default_value = "gallery")]
    pub out: PathBuf,
    /// CI size: fewer tokens, seeds and betas (well under a minute on 2 cores).
    #[arg(long)]
    pub quick: bool,
    /// Figure file format.
    #[command(flatten)]
    pub figure_format: super::FigureFormatArg,
}

/// Run the gallery and print one line per experiment.
pub fn run(args: &GalleryArgs, ctl: &attnflow::control::RunControl) -> attnflow::Result<()> {
    let sections = attnflow::gallery::run(&args.out, args.quick, ctl)?;
    for s in &sections {
        println!(
            "{:<22} {:>3} figures  {:>6.1} s  {}",
            s.experiment.dir,
            s.figures.len(),
            s.seconds,
            s.command
        );
    }
    println!("wrote {}", args.out.join("index.html").display());
    println!("wrote {}", args.out.join("README.md").display());
    Ok(())
}
