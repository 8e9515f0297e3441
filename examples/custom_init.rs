//! A particle run from custom initial data: tokens on the circle in two groups, one twice as
//! heavy and 0.7 rad apart, integrated with the library's own pieces (velocity field, run configuration,
//! simulation) and watched through the cluster count.
//!
//!     cargo run --release --example custom_init

use attnflow::analysis::ClusterParams;
use attnflow::control::Poll;
use attnflow::particles::{build_velocity_field, simulate, Method, RunConfig, StepControl};
use attnflow::Model;

fn main() -> attnflow::Result<()> {
    let (n, beta) = (600, 16.0);
    // Two groups of tokens around the angles 0 and 0.7, of widths 0.2 and 0.1: each collapses
    // into a cluster, then the two clusters attract each other and merge.
    let mut x = Vec::with_capacity(2 * n);
    for i in 0..n {
        let u = (i as f64 + 0.5) / n as f64;
        let angle = if i < 2 * n / 3 {
            0.2 * (1.5 * u - 0.5)
        } else {
            0.7 + 0.1 * (3.0 * u - 2.5)
        };
        x.extend([angle.cos(), angle.sin()]);
    }
    let field = build_velocity_field(Method::Auto, 2, beta, Model::Usa, n, 1e-12)?;
    let cfg = RunConfig {
        t_end: 80.0, // internal time tau = e^beta t
        control: StepControl::DormandPrince { tol: 1e-9 },
        lmax_power: 4,
        save_every: None,
        series_points: 16,
        spacing: attnflow::particles::RowSpacing::Linear,
        merge_radius: attnflow::particles::COINCIDENT_CHORD,
        clusters: ClusterParams::default(),
    };
    let result = simulate(&cfg, field.as_ref(), x, &mut (), &|| Poll::Continue)?;
    println!("{:>10} {:>10} {:>14}", "tau", "clusters", "energy E_N");
    for row in &result.rows {
        println!(
            "{:>10.2} {:>10} {:>14.8e}",
            row.time, row.clusters, row.energy
        );
    }
    println!(
        "{} steps; final cluster sizes {:?}",
        result.steps, result.final_cluster_sizes
    );
    Ok(())
}
