//! Right-hand-side benchmarks of the particle simulator (issue 3, item 7).
//!
//! exact summation at N = 4096 and 16384 (d = 3), fast summation at N = 1e5 and 1e6 for d = 2
//! and d = 3, beta = 9, USA. The numpy O(N^2) reference is scripts/numpy_reference_particles.py;
//! run both in one session and compare medians (README.md, "Benchmarks" under the particle simulator).
//!
//! `cargo bench --bench particles` (set ATTNFLOW_BENCH_QUICK=1 for a short smoke run).

use attnflow::particles::{build_velocity_field, Method, TokenState};
use attnflow::Model;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;

fn rhs(c: &mut Criterion) {
    let beta = 9.0;
    let mut group = c.benchmark_group("rhs");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    let cases: [(&str, Method, usize, usize); 6] = [
        ("exact_d3", Method::Exact, 3, 4096),
        ("exact_d3", Method::Exact, 3, 16384),
        ("fast_d2", Method::Fast, 2, 100_000),
        ("fast_d2", Method::Fast, 2, 1_000_000),
        ("fast_d3", Method::Fast, 3, 100_000),
        ("fast_d3", Method::Fast, 3, 1_000_000),
    ];
    for (name, method, dim, n) in cases {
        let x = TokenState::uniform(n, dim, 1, 0).x;
        let field = build_velocity_field(method, dim, beta, Model::Usa, n, 1e-12).unwrap();
        let mut v = vec![0.0; x.len()];
        group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
            b.iter(|| field.evaluate(std::hint::black_box(&x), &mut v))
        });
    }
    group.finish();
}

criterion_group!(benches, rhs);
criterion_main!(benches);
