//! Timings of the Bessel functions and the linear theory.
//!
//! `cargo bench --bench bessel_linear`

use attnflow::linear::{dominant_degree, spectrum, threshold};
use attnflow::special::{bessel_i_ratio, bessel_i_scaled, ln_bessel_i};
use attnflow::{Model, TimeUnit};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn bessel(c: &mut Criterion) {
    // order >= 35: Debye expansion; order < 35: backward recurrence from order ~35
    c.bench_function("ln_bessel_i(nu=500, x=300) [Debye]", |b| {
        b.iter(|| ln_bessel_i(black_box(500.0), black_box(300.0)))
    });
    c.bench_function("ln_bessel_i(nu=2.5, x=300) [recurrence]", |b| {
        b.iter(|| ln_bessel_i(black_box(2.5), black_box(300.0)))
    });
    c.bench_function("bessel_i_scaled(nu=0, x=1e4)", |b| {
        b.iter(|| bessel_i_scaled(black_box(0.0), black_box(1e4)))
    });
    c.bench_function("bessel_i_ratio(nu=500, x=300)", |b| {
        b.iter(|| bessel_i_ratio(black_box(500.0), black_box(300.0)))
    });
}

fn linear(c: &mut Criterion) {
    c.bench_function("spectrum(lmax=2000, beta=9, d=3, SA)", |b| {
        b.iter(|| spectrum(2000, black_box(9.0), 3, Model::Sa, TimeUnit::Physical))
    });
    c.bench_function("dominant_degree(beta=1e4, d=64)", |b| {
        b.iter(|| dominant_degree(black_box(1e4), black_box(64)))
    });
    c.bench_function("threshold(k=8, d=3)", |b| {
        b.iter(|| threshold(black_box(8), black_box(3)))
    });
}

criterion_group!(benches, bessel, linear);
criterion_main!(benches);
