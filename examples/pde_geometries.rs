//! The mean-field PDE on each geometry, run in memory from the same specification type the
//! command line and config files use.
//!
//!     cargo run --release --example pde_geometries

use attnflow::control::RunControl;
use attnflow::run::PdeSpec;
use attnflow::spectral::Geometry;
use attnflow::{Model, TimeUnit};

fn main() -> attnflow::Result<()> {
    for (geometry, dim, modes) in [
        (Geometry::Circle, 2, "4:0.05"),
        (Geometry::Sphere, 3, "2:1:0.05,3:-2:0.02"),
        (Geometry::Zonal, 6, "2:0:0.05"),
    ] {
        let spec = PdeSpec {
            geometry: Some(geometry),
            dim: Some(dim),
            beta: Some(4.0),
            model: Some(Model::Usa),
            time: Some(TimeUnit::Scaled),
            t_end: Some(3.0),
            lmax: Some(16),
            init_modes: Some(modes.into()),
            outputs: Some(4),
            ..Default::default()
        };
        let outcome = spec.run_in_memory(&RunControl::new())?;
        println!(
            "{} (d = {dim}): {} steps",
            geometry.name(),
            outcome.summary.steps_accepted
        );
        for f in &outcome.frames {
            // Columns of attnflow::run::pde::series_columns: t, tau, step, energy, mass, ...
            let (energy, mass, min_rho) = (f.row[3], f.row[4], f.row[5]);
            println!(
                "  tau = {:5.2}  energy = {energy:.10}  mass = {mass:.15}  min rho = {min_rho:.4}",
                f.tau
            );
        }
    }
    Ok(())
}
