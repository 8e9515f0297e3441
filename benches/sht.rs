//! Harmonic engine speed.
//!
//! - `sht_synthesis_plus_analysis_minimal_grid`: one synthesis + one analysis at L = 63 .. 1023
//!   on the minimal Gauss–Legendre grid (nlat = L+1, nlon = 2L+2: the grid ducc0 is timed on by
//!   `scripts/ducc0_sht_bench.py`), with a caller-owned scratch. Single-threaded for the ducc0
//!   comparison: `RAYON_NUM_THREADS=1 cargo bench --bench sht -- minimal`; two threads:
//!   `RAYON_NUM_THREADS=2 ...`.
//! - `sht_synthesis_plus_analysis_dealiased_grid` and `sphere_rhs_usa`: the solver's grid and
//!   one USA right-hand side (4 syntheses + 2 analyses).
//! - `power_vs_rhs`: one diagnostics row of harmonic power (`C_1..C_16`, d = 2, 3) against one
//!   right-hand side of the simulator with the default summation (`auto`), beta = 9, USA,
//!   iid uniform tokens; an RK4 step is 4 right-hand sides.

use attnflow::analysis::harmonic_power;
use attnflow::particles::{build_velocity_field, Method, TokenState};
use attnflow::pde::MeanFieldRhs;
use attnflow::spectral::{Basis, SphereBasis};
use attnflow::Model;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::Duration;

fn coefficients(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64) * 0.618_033_988_75).fract() - 0.5)
        .collect()
}

fn bench_sht(c: &mut Criterion) {
    let mut g = c.benchmark_group("sht_synthesis_plus_analysis_minimal_grid");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for lmax in [63usize, 127, 255, 511, 1023] {
        let b = SphereBasis::with_grid(lmax, lmax + 1, 2 * lmax + 2);
        let coeffs = coefficients(b.len());
        let mut grid = vec![0.0; b.grid_len()];
        let mut back = vec![0.0; b.len()];
        let mut scratch = b.make_scratch();
        g.bench_with_input(BenchmarkId::from_parameter(lmax), &lmax, |bench, _| {
            bench.iter(|| {
                b.synthesize_with_scratch(black_box(&coeffs), &mut grid, &mut scratch);
                b.analyze_with_scratch(black_box(&grid), &mut back, &mut scratch);
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sht_synthesis_plus_analysis_dealiased_grid");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for lmax in [63usize, 127, 255] {
        let b = SphereBasis::new(lmax);
        let coeffs = coefficients(b.len());
        let mut grid = vec![0.0; b.grid_len()];
        let mut back = vec![0.0; b.len()];
        let mut scratch = b.make_scratch();
        g.bench_with_input(BenchmarkId::from_parameter(lmax), &lmax, |bench, _| {
            bench.iter(|| {
                b.synthesize_with_scratch(black_box(&coeffs), &mut grid, &mut scratch);
                b.analyze_with_scratch(black_box(&grid), &mut back, &mut scratch);
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sphere_rhs_usa");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for lmax in [63usize, 127] {
        let b = SphereBasis::new(lmax);
        let mut c0 = vec![0.0; b.len()];
        c0[0] = 1.0;
        for (i, v) in coefficients(b.len()).iter().enumerate().skip(1) {
            c0[i] = 1e-3 * v;
        }
        let mut rhs = MeanFieldRhs::new(b, Model::Usa, 4.0);
        let mut dc = vec![0.0; c0.len()];
        g.bench_with_input(BenchmarkId::from_parameter(lmax), &lmax, |bench, _| {
            bench.iter(|| rhs.evaluate(black_box(&c0), &mut dc))
        });
    }
    g.finish();
}

fn bench_power(c: &mut Criterion) {
    let mut g = c.benchmark_group("power_vs_rhs");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (dim, n) in [(3usize, 16384usize), (2, 1_000_000), (3, 1_000_000)] {
        let x = TokenState::uniform(n, dim, 1, 0).x;
        g.bench_with_input(
            BenchmarkId::new(format!("power_lp16_d{dim}"), n),
            &n,
            |bench, _| bench.iter(|| harmonic_power(black_box(&x), dim, 16)),
        );
        let field = build_velocity_field(Method::Auto, dim, 9.0, Model::Usa, n, 1e-12).unwrap();
        let mut v = vec![0.0; x.len()];
        g.bench_with_input(
            BenchmarkId::new(format!("rhs_auto_d{dim}"), n),
            &n,
            |bench, _| bench.iter(|| field.evaluate(black_box(&x), &mut v)),
        );
    }
    g.finish();
}

criterion_group!(benches, bench_sht, bench_power);
criterion_main!(benches);
