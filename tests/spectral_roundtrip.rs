//! Transform round trips (coefficients -> grid -> coefficients) and orthonormality against
//! independent evaluations of the basis functions.

use attnflow::special::{gegenbauer_normalized, harmonic_dimension};
use attnflow::spectral::{Basis, CircleBasis, SphereBasis, ZonalBasis};

/// Deterministic pseudo-random coefficients in [-1, 1] (splitmix64).
fn coefficients(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

fn round_trip_error<B: Basis>(basis: &mut B, seed: u64) -> f64 {
    let c = coefficients(basis.len(), seed);
    let mut grid = vec![0.0; basis.grid_len()];
    let mut back = vec![0.0; basis.len()];
    basis.synthesize(&c, &mut grid);
    basis.analyze(&grid, &mut back);
    c.iter()
        .zip(&back)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn circle_round_trip() {
    for k in [1usize, 16, 255, 1000] {
        let mut b = CircleBasis::new(k);
        let e = round_trip_error(&mut b, 1);
        eprintln!("circle K={k}: max round-trip error {e:e}");
        assert!(e < 1e-13, "K={k}: {e}");
    }
}

#[test]
fn sphere_round_trip_l255() {
    let mut b = SphereBasis::new(255);
    let e = round_trip_error(&mut b, 2);
    eprintln!("sphere L=255 dealiased: max round-trip error {e:e}");
    assert!(e < 1e-12, "L=255 dealiased grid: {e}");
    // The minimal grid (nlat = L+1, nlon = 2L+2) is also exact for band-limited data.
    let mut b = SphereBasis::with_grid(255, 256, 512);
    let e = round_trip_error(&mut b, 3);
    assert!(e < 1e-12, "L=255 minimal grid: {e}");
    // L = 511: polar rings start far above m (extended-exponent starts).
    let mut b = SphereBasis::with_grid(511, 512, 1024);
    let e = round_trip_error(&mut b, 4);
    eprintln!("sphere L=511 minimal grid: max round-trip error {e:e}");
    assert!(e < 1e-12, "L=511 minimal grid: {e}");
}

#[test]
fn zonal_round_trip_l500() {
    for d in [3usize, 8] {
        let mut b = ZonalBasis::new(500, d);
        let e = round_trip_error(&mut b, 4 + d as u64);
        eprintln!("zonal L=500 d={d}: max round-trip error {e:e}");
        assert!(e < 1e-12, "d={d}: {e}");
    }
}

#[test]
fn zonal_weights_are_a_probability_rule() {
    for d in [2usize, 3, 5, 8] {
        let b = ZonalBasis::new(40, d);
        let s: f64 = b.grid_weights().iter().sum();
        assert!((s - 1.0).abs() < 1e-14, "d={d}: {s}");
    }
}

#[test]
fn zonal_harmonics_match_normalised_gegenbauer() {
    for d in [2usize, 3, 5, 8] {
        let a = (d as f64 - 2.0) / 2.0;
        let b = ZonalBasis::new(30, d);
        let mut z = vec![0.0; 31];
        for &t in &[-0.93, -0.2, 0.0, 0.41, 0.999] {
            b.zonal_harmonics(t, &mut z);
            for (l, zl) in z.iter().enumerate() {
                let want = harmonic_dimension(l, d).sqrt() * gegenbauer_normalized(l, a, t);
                assert!(
                    (zl - want).abs() < 1e-11 * (1.0 + want.abs()),
                    "d={d} l={l} t={t}: {zl} vs {want}"
                );
            }
        }
    }
}

/// Synthesis agrees with pointwise evaluation of the basis functions (`evaluate_at`), which
/// uses the independent column routine `legendre_column` / `sin_cos` / the zonal recurrence.
fn synthesis_matches_pointwise<B: Basis>(basis: &mut B, points: &[Vec<f64>], grid_index: &[usize]) {
    let c = coefficients(basis.len(), 9);
    let mut grid = vec![0.0; basis.grid_len()];
    basis.synthesize(&c, &mut grid);
    let mut y = vec![0.0; basis.len()];
    for (x, &j) in points.iter().zip(grid_index) {
        basis.evaluate_at(x, &mut y);
        let v: f64 = y.iter().zip(&c).map(|(a, b)| a * b).sum();
        assert!(
            (v - grid[j]).abs() < 1e-11 * (1.0 + v.abs()),
            "{v} vs {}",
            grid[j]
        );
    }
}

#[test]
fn synthesis_matches_pointwise_evaluation() {
    let mut c = CircleBasis::new(20);
    let th = c.angles();
    let pts: Vec<Vec<f64>> = [0usize, 5, 17]
        .iter()
        .map(|&j| vec![th[j].cos(), th[j].sin()])
        .collect();
    synthesis_matches_pointwise(&mut c, &pts, &[0, 5, 17]);

    let mut s = SphereBasis::new(40);
    let (_, nlon) = s.grid_size();
    let x = s.ring_nodes().to_vec();
    let mut pts = Vec::new();
    let mut idx = Vec::new();
    for &(r, j) in &[(0usize, 3usize), (7, 0), (30, 101), (x.len() - 1, 50)] {
        let ph = 2.0 * std::f64::consts::PI * j as f64 / nlon as f64;
        let st = (1.0 - x[r] * x[r]).sqrt();
        pts.push(vec![st * ph.cos(), st * ph.sin(), x[r]]);
        idx.push(r * nlon + j);
    }
    synthesis_matches_pointwise(&mut s, &pts, &idx);

    let mut z = ZonalBasis::new(30, 5);
    let t = z.nodes().to_vec();
    let pts: Vec<Vec<f64>> = [0usize, 10, 44]
        .iter()
        .map(|&i| vec![(1.0 - t[i] * t[i]).sqrt(), 0.0, 0.0, 0.0, t[i]])
        .collect();
    synthesis_matches_pointwise(&mut z, &pts, &[0, 10, 44]);
}

/// The sphere transform parallelises over orders; every output is one sequential sum, so the
/// result is bit-identical for any number of threads.
#[test]
fn sphere_transform_is_bitwise_independent_of_thread_count() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let b = SphereBasis::new(80);
            let c = coefficients(b.len(), 11);
            let mut g = vec![0.0; b.grid_len()];
            let mut back = vec![0.0; b.len()];
            b.synthesize(&c, &mut g);
            b.analyze(&g, &mut back);
            (g, back)
        })
    };
    let (g1, c1) = run(1);
    let (g3, c3) = run(3);
    assert!(g1.iter().zip(&g3).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert!(c1.iter().zip(&c3).all(|(a, b)| a.to_bits() == b.to_bits()));
}
