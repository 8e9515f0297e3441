//! `attnflow plot OUT [--out DIR]`: the standard figures of a particle or PDE output directory
//! (see [`attnflow::plot::runplots`]).

use clap::Args;
use std::path::PathBuf;

/// Arguments of `attnflow plot`.
#[derive(Args)]
pub struct PlotArgs {
    /// Output directory of an `attnflow particles` or `attnflow pde` run.
    pub run: PathBuf,
    /// Where to write the figures [default: RUN/plots].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Figure file format.
    #[command(flatten)]
    pub figure_format: super::FigureFormatArg,
}

/// Write the figures and print one line per file.
pub fn run(args: &PlotArgs) -> attnflow::Result<()> {
    let figs = attnflow::plot::runplots::plot_run(&args.run, args.out.as_deref())?;
    for f in &figs {
        for p in args.figure_format.format.files(&f.path) {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}
