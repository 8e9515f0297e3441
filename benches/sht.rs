//! Spherical harmonic transform speed: synthesis + analysis at L = 63, 127, 255, 511 on the
//! minimal Gauss–Legendre grid (nlat = L+1, nlon = 2L+2: the grid ducc0 is timed on by
//! `scripts/ducc0_sht_bench.py`), the same on the dealiased grid used by the solver, and one
//! USA right-hand side. Run single-threaded for the ducc0 comparison:
//! `RAYON_NUM_THREADS=1 cargo bench --bench sht`.

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
    for lmax in [63usize, 127, 255, 511] {
        let b = SphereBasis::with_grid(lmax, lmax + 1, 2 * lmax + 2);
        let coeffs = coefficients(b.len());
        let mut grid = vec![0.0; b.grid_len()];
        let mut back = vec![0.0; b.len()];
        g.bench_with_input(BenchmarkId::from_parameter(lmax), &lmax, |bench, _| {
            bench.iter(|| {
                b.synthesize(black_box(&coeffs), &mut grid);
                b.analyze(black_box(&grid), &mut back);
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
        g.bench_with_input(BenchmarkId::from_parameter(lmax), &lmax, |bench, _| {
            bench.iter(|| {
                b.synthesize(black_box(&coeffs), &mut grid);
                b.analyze(black_box(&grid), &mut back);
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

criterion_group!(benches, bench_sht);
criterion_main!(benches);
