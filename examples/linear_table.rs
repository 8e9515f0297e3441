//! Linear theory of the uniform state: growth rates per degree, the dominant degree l*, and the
//! thresholds beta_k where l* moves from k to k + 1.
//!
//!     cargo run --release --example linear_table [-- DIM BETA]

use attnflow::{linear, Model, TimeUnit};

fn main() -> attnflow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dim: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let beta = linear::check_beta(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(9.0))?;
    let star = linear::dominant_degree(beta, dim);
    println!("d = {dim}, beta = {beta}: dominant degree l* = {star}");
    println!(
        "{:>3} {:>16} {:>16} {:>16}",
        "l", "ln lambda_l", "gamma_l (USA, t)", "gamma_l (SA, t)"
    );
    for l in 0..=2 * star + 2 {
        let ln_lambda = linear::ln_funk_hecke_eigenvalue(l, beta, dim);
        let usa = linear::growth_rate(l, beta, dim, Model::Usa, TimeUnit::Physical);
        let sa = linear::growth_rate(l, beta, dim, Model::Sa, TimeUnit::Physical);
        let mark = if l == star { " <- l*" } else { "" };
        println!("{l:>3} {ln_lambda:>16.10} {usa:>16.8e} {sa:>16.8e}{mark}");
    }
    let thresholds = linear::thresholds(5, dim);
    for (k, b) in thresholds.iter().enumerate() {
        println!("l* moves from {} to {} at beta = {b:.10}", k + 1, k + 2);
    }
    Ok(())
}
