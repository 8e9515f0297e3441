//! Argument structures, one file per subcommand, and shared parsers. The science and its
//! defaults live in the library (`attnflow::run`); these files only map flags onto it.

pub mod compare;
pub mod critical;
pub mod equiangular;
pub mod figures;
pub mod gallery;
pub mod linear;
pub mod movie;
pub mod particles;
pub mod pde;
pub mod plot;
pub mod run;
pub mod sweep;
pub mod view;

use attnflow::plot::FigureFormat;
use attnflow::{Model, TimeUnit};

/// `--format png|svg|both` of the commands that write figures.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct FigureFormatArg {
    /// Figure files: png, svg (vector; text converted to glyph outlines, heat maps embedded as
    /// PNG images) or both (same file stem).
    #[arg(long = "format", default_value = "png", value_parser = parse_figure_format)]
    pub format: FigureFormat,
}

/// clap value parser for the figures' `--format`.
pub fn parse_figure_format(s: &str) -> Result<FigureFormat, String> {
    s.parse::<FigureFormat>()
}

/// Output format of the tabular subcommands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned, human-readable table with a commented header.
    Table,
    /// One JSON object.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

/// clap value parser for `--model`.
pub fn parse_model(s: &str) -> Result<Model, String> {
    s.parse::<Model>()
        .map_err(|_| "accepted values: usa, sa".to_string())
}

/// clap value parser for `--time`.
pub fn parse_time(s: &str) -> Result<TimeUnit, String> {
    s.parse::<TimeUnit>()
        .map_err(|_| "accepted values: physical, scaled".to_string())
}
