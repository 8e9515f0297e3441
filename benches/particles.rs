//! Right-hand-side benchmarks of the particle simulator (issue 3, item 7; issue 10, issue 12).
//!
//! exact summation at N = 4096 and 16384 (d = 3 and d = 32), fast summation at N = 1e5 and 1e6
//! for d = 2 and d = 3, beta = 9, USA. The numpy O(N^2) reference is
//! scripts/numpy_reference_particles.py; run both in one session and compare medians (README.md,
//! "Benchmarks" under the particle simulator).
//!
//! Group `row`: the diagnostics of one output row of `attnflow particles` at the same sizes,
//! through the functions a run calls: `RowDiagnostics::compute` (harmonic power C_0..C_16 from
//! moments and the cluster sizes with the default parameters) and `merge_check` (merge radius
//! 16 eps, collapsing pairs up to 1e-6; a run does it after every step up to 20000 tokens and
//! every 16th step above), on iid uniform tokens and on a clustered state (12 caps of angular
//! radius 0.01 holding 90% of the tokens), to compare with the cost of a step (four
//! right-hand sides for RK4). Group `row_part`: the three parts alone (`power`, `clusters`,
//! `merge`).
//!
//! `cargo bench --bench particles` (set ATTNFLOW_BENCH_QUICK=1 for a short smoke run).
//!
//! Environment:
//! - `ATTNFLOW_BENCH_CPU=1`: report the on-CPU time of one evaluation on a one-thread pool
//!   (from `/proc/thread-self/schedstat` of the worker thread, Linux) instead of the wall time,
//!   for machines shared with other work, where wall times mostly measure the other work.
//! - `ATTNFLOW_BENCH_PATH=avx512|avx2|portable`: instruction set of the exact summation
//!   (default: the widest the processor has; `ATTNFLOW_PORTABLE` forces the portable path).

use attnflow::analysis::{harmonic_power, ClusterFinder, ClusterParams, RowDiagnostics};
use attnflow::particles::{build_velocity_field, ExactField, Method, TokenState, VelocityField};
use attnflow::particles::{merge_check, CLOSE_CHORD, COINCIDENT_CHORD};
use attnflow::spectral::simd::SimdPath;
use attnflow::Model;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;

/// On-CPU time of the calling thread in nanoseconds (first field of its schedstat).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (ATTNFLOW_BENCH_CPU needs Linux)")
}

fn exact_path() -> Option<SimdPath> {
    let p = std::env::var("ATTNFLOW_BENCH_PATH").ok()?;
    Some(match p.as_str() {
        "avx512" => SimdPath::Avx512,
        "avx2" => SimdPath::Avx2Fma,
        "portable" => SimdPath::Portable,
        _ => panic!("ATTNFLOW_BENCH_PATH: avx512, avx2 or portable, not {p}"),
    })
}

fn rhs(c: &mut Criterion) {
    let beta = 9.0;
    let cpu = std::env::var_os("ATTNFLOW_BENCH_CPU").is_some();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("rhs");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    let cases: [(&str, Method, usize, usize); 8] = [
        ("exact_d3", Method::Exact, 3, 4096),
        ("exact_d3", Method::Exact, 3, 16384),
        ("exact_d32", Method::Exact, 32, 4096),
        ("exact_d32", Method::Exact, 32, 16384),
        ("fast_d2", Method::Fast, 2, 100_000),
        ("fast_d2", Method::Fast, 2, 1_000_000),
        ("fast_d3", Method::Fast, 3, 100_000),
        ("fast_d3", Method::Fast, 3, 1_000_000),
    ];
    for (name, method, dim, n) in cases {
        let x = TokenState::uniform(n, dim, 1, 0).x;
        let field: Box<dyn VelocityField> = match (method, exact_path()) {
            (Method::Exact, Some(p)) => {
                Box::new(ExactField::new(dim, beta, Model::Usa).with_path(p))
            }
            _ => build_velocity_field(method, dim, beta, Model::Usa, n, 1e-12).unwrap(),
        };
        let mut v = vec![0.0; x.len()];
        group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
            if cpu {
                b.iter_custom(|iters| {
                    pool.install(|| {
                        let t0 = thread_cpu_ns();
                        for _ in 0..iters {
                            field.evaluate(std::hint::black_box(&x), &mut v);
                        }
                        Duration::from_nanos(thread_cpu_ns() - t0)
                    })
                })
            } else {
                b.iter(|| field.evaluate(std::hint::black_box(&x), &mut v))
            }
        });
    }
    group.finish();
}

/// `n` tokens: `frac` of them in 12 caps of angular radius `r` around iid centres, the rest iid.
fn clustered(n: usize, dim: usize, frac: f64, r: f64) -> Vec<f64> {
    let centres = TokenState::uniform(12, dim, 1, 7).x;
    let mut x = TokenState::uniform(n, dim, 1, 3).x;
    let k = (frac * n as f64) as usize;
    for i in 0..k {
        let c = &centres[(i % 12) * dim..(i % 12 + 1) * dim];
        let row = &mut x[i * dim..(i + 1) * dim];
        // c + r * (tangential part of the random row), renormalised.
        let dot: f64 = row.iter().zip(c).map(|(a, b)| a * b).sum();
        for (a, b) in row.iter_mut().zip(c) {
            *a = b + r * (*a - dot * b);
        }
        let norm = row.iter().map(|a| a * a).sum::<f64>().sqrt();
        row.iter_mut().for_each(|a| *a /= norm);
    }
    x
}

/// Time `work` on one thread (CPU time with `ATTNFLOW_BENCH_CPU`), as the `rhs` group.
fn bench_on<F: FnMut() + Send>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    pool: &rayon::ThreadPool,
    cpu: bool,
    mut work: F,
) {
    group.bench_function(id, |b| {
        if cpu {
            b.iter_custom(|iters| {
                pool.install(|| {
                    let t0 = thread_cpu_ns();
                    for _ in 0..iters {
                        work();
                    }
                    Duration::from_nanos(thread_cpu_ns() - t0)
                })
            })
        } else {
            b.iter(&mut work)
        }
    });
}

fn row(c: &mut Criterion) {
    let cpu = std::env::var_os("ATTNFLOW_BENCH_CPU").is_some();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let params = ClusterParams::default();
    let cases = [(3usize, 16384usize), (2, 1_000_000), (3, 1_000_000)];
    let state = |dim: usize, n: usize, s: &str| {
        if s == "uniform" {
            TokenState::uniform(n, dim, 1, 0).x
        } else {
            clustered(n, dim, 0.9, 0.01)
        }
    };
    let mut group = c.benchmark_group("row");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for (dim, n) in cases {
        for s in ["uniform", "clustered"] {
            let x = state(dim, n, s);
            let mut diag = RowDiagnostics::new();
            let id = BenchmarkId::new(format!("d{dim}_{s}"), n);
            bench_on(&mut group, id, &pool, cpu, || {
                let row = diag.compute(std::hint::black_box(&x), dim, 16, &params);
                let merge = merge_check(&x, dim, COINCIDENT_CHORD, CLOSE_CHORD);
                std::hint::black_box((row, merge));
            });
        }
    }
    group.finish();
    let mut group = c.benchmark_group("row_part");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for (dim, n) in cases {
        for s in ["uniform", "clustered"] {
            let x = state(dim, n, s);
            let mut finder = ClusterFinder::new();
            let name = |part: &str| BenchmarkId::new(format!("{part}_d{dim}_{s}"), n);
            bench_on(&mut group, name("power"), &pool, cpu, || {
                std::hint::black_box(harmonic_power(std::hint::black_box(&x), dim, 16));
            });
            bench_on(&mut group, name("clusters"), &pool, cpu, || {
                std::hint::black_box(finder.sizes(std::hint::black_box(&x), dim, &params));
            });
            bench_on(&mut group, name("merge"), &pool, cpu, || {
                std::hint::black_box(merge_check(
                    std::hint::black_box(&x),
                    dim,
                    COINCIDENT_CHORD,
                    CLOSE_CHORD,
                ));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, rhs, row);
criterion_main!(benches);
