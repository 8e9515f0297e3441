//! Run a config file through the library, exactly as `attnflow run CONFIG --out DIR` does.
//!
//!     cargo run --release --example load_config -- examples/configs/particles.toml out/example

use attnflow::control::RunControl;
use attnflow::run::{execute, load_config, RunRecord};
use std::path::PathBuf;

fn main() -> attnflow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let config = PathBuf::from(args.get(1).map_or("examples/configs/particles.toml", |s| s));
    let out = PathBuf::from(args.get(2).map_or("out/load_config", |s| s));
    let mut spec = load_config(&config)?;
    *spec.out_mut() = Some(out.clone());
    // The resolved specification: every default filled in, as run.json will record it.
    let (resolved, _) = spec.resolve()?;
    print!("{}", resolved.to_toml());
    let outcome = execute(&spec, &RunControl::new(), true)?;
    println!("{}", outcome.summary);
    let record = RunRecord::read(&out)?;
    println!("status {:?}, {} files", record.status, record.files.len());
    Ok(())
}
