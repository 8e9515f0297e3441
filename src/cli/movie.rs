//! `attnflow movie OUT [--format gif|mp4|both]`: the movie of an existing particle or PDE
//! output directory (see [`attnflow::plot::movie`]).

use attnflow::plot::movie::{check_format, write_movie, MovieFormat};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `attnflow movie`.
#[derive(Args)]
pub struct MovieArgs {
    /// Output directory of an `attnflow particles` or `attnflow pde` run (movie frames of a
    /// run made with --movie, otherwise its snapshots or density outputs).
    pub out: PathBuf,
    /// gif (pure Rust), mp4 (needs ffmpeg on the PATH) or both.
    #[arg(long, value_enum, default_value = "gif")]
    pub format: MovieFormat,
}

/// Write the movie and print one line per file.
pub fn run(args: &MovieArgs) -> attnflow::Result<()> {
    check_format("format", args.format)?;
    let m = write_movie(&args.out, args.format)?;
    for note in &m.notes {
        eprintln!("attnflow: warning: {note}");
    }
    for f in &m.files {
        let bytes = std::fs::metadata(f).map(|md| md.len()).unwrap_or(0);
        println!(
            "wrote {} ({} frames, {}x{} px, {:.1} frames/s, {:.2} MB)",
            f.display(),
            m.frames,
            m.size.0,
            m.size.1,
            m.fps,
            bytes as f64 / 1e6
        );
    }
    Ok(())
}
