//! `attnflow figures SET [--out DIR]`: write figures and print a short summary.

use attnflow::linear;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Which figures to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FigureSet {
    /// Linear theory: growth_rates.png, dominant_mode.png.
    Linear,
    /// Linear theory, and the gallery (default size) into OUT/gallery: the seed papers'
    /// figures reproduced, with OUT/gallery/index.html and OUT/gallery/README.md.
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
    /// Figure file format.
    #[command(flatten)]
    pub figure_format: super::FigureFormatArg,
}

/// Short table printed by `figures linear`: l* and gamma_{l*} for a few beta, and thresholds.
fn linear_summary() -> String {
    use attnflow::{Model, TimeUnit};
    let mut s = String::from(
        "# linear theory of the uniform state (USA, rates per unit of scaled time tau = e^beta t)\n",
    );
    s += &format!(
        "{:>8}  {:>4} {:>12}  {:>4} {:>12}\n",
        "beta", "l*", "gamma_l*", "l*", "gamma_l*"
    );
    s += &format!("{:>8}  {:>17}  {:>17}\n", "", "d = 2", "d = 3");
    for beta in [1.0, 4.0, 9.0, 25.0, 100.0, 1000.0] {
        s += &format!("{beta:>8}");
        for dim in [2, 3] {
            let l = linear::dominant_degree(beta, dim);
            let g = linear::growth_rate(l, beta, dim, Model::Usa, TimeUnit::Scaled);
            s += &format!("  {l:>4} {g:>12.6e}");
        }
        s += "\n";
    }
    for dim in [2, 3] {
        let t = linear::thresholds(6, dim);
        let txt: Vec<String> = t.iter().map(|b| format!("{b:.6}")).collect();
        s += &format!(
            "# d = {dim}: l* moves k -> k+1 at beta_k = {}\n",
            txt.join(", ")
        );
    }
    s
}

/// Run `attnflow figures`.
pub fn run(args: &FiguresArgs, ctl: &attnflow::control::RunControl) -> attnflow::Result<()> {
    attnflow::io::prepare_output_dir(&args.out)?;
    let mut written = Vec::new();
    if matches!(args.set, FigureSet::Linear | FigureSet::All) {
        written.extend(attnflow::plot::linear::write_linear_figures(&args.out)?);
        print!("{}", linear_summary());
    }
    for p in written
        .iter()
        .flat_map(|p| args.figure_format.format.files(p))
    {
        println!("wrote {}", p.display());
    }
    if args.set == FigureSet::All {
        super::gallery::run(
            &super::gallery::GalleryArgs {
                out: args.out.join("gallery"),
                quick: false,
                figure_format: args.figure_format,
            },
            ctl,
        )?;
    }
    Ok(())
}
