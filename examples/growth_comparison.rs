//! Growth rates of the harmonic power C_l(t) of an ensemble of particle systems against the
//! linear theory gamma_l, fitted on each system's automatic linear window.
//!
//!     cargo run --release --example growth_comparison          # N = 10000 tokens per system
//!     cargo run --release --example growth_comparison -- 2000  # another N (at least 100)

use attnflow::analysis::fit::{fit_growth_rate, mean_interval, WindowOptions};
use attnflow::control::RunControl;
use attnflow::run::ParticlesSpec;
use attnflow::special::harmonic_dimension;
use attnflow::{linear, Model, TimeUnit};

fn main() -> attnflow::Result<()> {
    let n = match std::env::args().nth(1) {
        None => 10_000,
        Some(a) => match a.parse::<usize>() {
            Ok(n) if n >= 100 => n,
            _ => {
                return Err(attnflow::Error::parameter(
                    "N",
                    a,
                    "a number of tokens of at least 100 (default 10000)",
                ))
            }
        },
    };
    let (dim, beta) = (2, 9.0);
    let spec = ParticlesSpec {
        dim: Some(dim),
        n: Some(n),
        beta: Some(beta),
        ensemble: Some(3),
        lmax_power: Some(6),
        ..Default::default()
    };
    let outcome = spec.run_in_memory(&RunControl::new())?;
    let star = linear::dominant_degree(beta, dim);
    println!("d = {dim}, beta = {beta}, N = {n}: l* = {star}; rates per unit tau = e^beta t");
    for l in 1..=6 {
        let ceiling = harmonic_dimension(l, dim);
        let rates: Vec<f64> = outcome
            .systems
            .iter()
            .filter_map(|s| {
                let t: Vec<f64> = s.rows.iter().map(|r| r.time).collect();
                let c: Vec<f64> = s.rows.iter().map(|r| r.power[l - 1]).collect();
                fit_growth_rate(
                    &t,
                    &c,
                    ceiling / n as f64,
                    ceiling,
                    WindowOptions::default(),
                )
                .map(|f| f.rate)
            })
            .collect();
        let theory = linear::growth_rate(l, beta, dim, Model::Usa, TimeUnit::Scaled);
        match mean_interval(&rates, 0.05) {
            Some(m) if m.n >= 2 => println!(
                "l = {l}: theory {theory:.5}, particles {:.5} ± {:.5} ({} systems)",
                m.mean, m.half_width, m.n
            ),
            _ => println!("l = {l}: theory {theory:.5}, no linear window in the particles"),
        }
    }
    Ok(())
}
