//! `attnflow view OUT [--out FILE]`: the interactive page of a run (see [`attnflow::view`]).

use clap::Args;
use std::path::PathBuf;

/// Arguments of `attnflow view`.
#[derive(Args)]
pub struct ViewArgs {
    /// Output directory of `attnflow particles` or `attnflow pde` (holding run.json).
    #[arg(value_name = "OUT")]
    pub dir: PathBuf,
    /// Where to write the page (default OUT/view.html; written atomically).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Most frames in the page (evenly spaced over the saved snapshots or outputs).
    #[arg(long, default_value_t = attnflow::view::DEFAULT_MAX_FRAMES)]
    pub max_frames: usize,
    /// Most tokens drawn per frame (the same evenly strided tokens in every frame).
    #[arg(long, default_value_t = attnflow::view::DEFAULT_MAX_TOKENS)]
    pub max_tokens: usize,
}

/// Write the page and print its path and size.
pub fn run(args: &ViewArgs) -> attnflow::Result<()> {
    let opts = attnflow::view::ViewOptions {
        max_frames: args.max_frames,
        max_tokens: args.max_tokens,
    };
    let path = attnflow::view::write_view(&args.dir, args.out.as_deref(), &opts)?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {} ({:.2} MB); open it in a browser (no network needed)",
        path.display(),
        bytes as f64 / 1e6
    );
    Ok(())
}
