//! Velocity fields: exact summation against a naive reference, fast (spectral) summation against
//! exact summation, thread-count independence, and the energy returned with the velocities.

use attnflow::analysis::energy_pairwise;
use attnflow::particles::state::rng_for;
use attnflow::particles::{build_velocity_field, ExactField, Method, TokenState, VelocityField};
use attnflow::spectral::simd::SimdPath;
use attnflow::Model;
use rand::RngExt;

/// Naive reference: `P_x (sum_j w_ij x_j) / norm` with `f64::exp`, sequential.
fn naive_velocity(x: &[f64], dim: usize, beta: f64, model: Model) -> Vec<f64> {
    let n = x.len() / dim;
    let mut v = vec![0.0; x.len()];
    for i in 0..n {
        let xi = &x[i * dim..(i + 1) * dim];
        let mut u = vec![0.0; dim];
        let mut sw = 0.0;
        for j in 0..n {
            let xj = &x[j * dim..(j + 1) * dim];
            let dot: f64 = xi.iter().zip(xj).map(|(a, b)| a * b).sum();
            let w = (beta * (dot - 1.0)).exp();
            sw += w;
            for k in 0..dim {
                u[k] += w * xj[k];
            }
        }
        let norm = if model == Model::Usa { n as f64 } else { sw };
        let radial: f64 = (0..dim).map(|k| u[k] / norm * xi[k]).sum();
        for k in 0..dim {
            v[i * dim + k] = u[k] / norm - radial * xi[k];
        }
    }
    v
}

/// `max_i |a_i - b_i| / max_i |b_i|` over token velocity vectors.
fn rel_err(a: &[f64], b: &[f64], dim: usize) -> f64 {
    let mut num: f64 = 0.0;
    let mut den: f64 = 0.0;
    for (ra, rb) in a.chunks(dim).zip(b.chunks(dim)) {
        let d: f64 = ra.iter().zip(rb).map(|(p, q)| (p - q) * (p - q)).sum();
        let m: f64 = rb.iter().map(|q| q * q).sum();
        num = num.max(d.sqrt());
        den = den.max(m.sqrt());
    }
    num / den
}

/// A clustered configuration: `k` random centres, tokens spread around them with angular
/// spread `width`, plus a few uniform stragglers; includes both poles for `d = 3`.
fn clustered(n: usize, dim: usize, k: usize, width: f64, seed: u64) -> Vec<f64> {
    let centres = TokenState::uniform(k, dim, seed, 1000);
    let noise = TokenState::uniform(n, dim, seed, 1001);
    let mut rng = rng_for(seed, 1002);
    let mut x = vec![0.0; n * dim];
    for i in 0..n {
        let c = centres.row(i % k);
        let e = noise.row(i);
        let s: f64 = if i % 17 == 0 {
            3.0
        } else {
            width * rng.random::<f64>()
        };
        for d in 0..dim {
            x[i * dim + d] = c[d] + s * e[d];
        }
    }
    if dim == 3 {
        x[0..3].copy_from_slice(&[0.0, 0.0, 1.0]);
        x[3..6].copy_from_slice(&[0.0, 0.0, -1.0]);
        x[6..9].copy_from_slice(&[1e-9, -2e-9, 1.0]);
    }
    TokenState::from_rows(n, dim, x).unwrap().0.x
}

#[test]
fn exact_summation_matches_naive_reference() {
    // With AVX2 + FMA and d <= 4: N = 203 is one ragged tile, N = 1101 five tiles (the last
    // ragged) in the symmetric scheme. d > 4 and the portable path sum row by row; with AVX2 in
    // blocks of 4 tokens (N mod 4 = 3 left for the tail) and chunks of coordinates 8 at a time:
    // d = 5 (one chunk of 5), d = 11 (8 + 3), d = 16 at N = 1101 (several chunks of blocks).
    for (dim, n) in [
        (2usize, 203usize),
        (3, 203),
        (5, 203),
        (11, 203),
        (2, 1101),
        (3, 1101),
        (4, 1101),
        (16, 1101),
    ] {
        for model in [Model::Usa, Model::Sa] {
            for beta in [0.5, 9.0, 300.0] {
                let x = clustered(n, dim, 3, 0.3, 7);
                let field = ExactField::new(dim, beta, model);
                let mut v = vec![0.0; x.len()];
                let mean = field.evaluate(&x, &mut v);
                let reference = naive_velocity(&x, dim, beta, model);
                let e = rel_err(&v, &reference, dim);
                assert!(e < 1e-13, "d={dim} {model} beta={beta}: {e}");
                let mut vp = vec![0.0; x.len()];
                let mean_p = field.clone().portable().evaluate(&x, &mut vp);
                let ep = rel_err(&vp, &reference, dim);
                assert!(ep < 1e-13, "portable d={dim} {model} beta={beta}: {ep}");
                assert!(
                    (mean_p - mean).abs() < 1e-13 * mean,
                    "portable mean d={dim}"
                );
                // Sums of N^2 (up to 1.2e6) positive terms in different orders: allow 1e-12.
                let energy = energy_pairwise(&x, dim, beta);
                assert!(
                    ((mean / (2.0 * beta)) - energy).abs() < 1e-12 * energy,
                    "energy d={dim} beta={beta}: {} vs {energy}",
                    mean / (2.0 * beta)
                );
            }
        }
    }
}

#[test]
fn exact_summation_is_accurate_where_the_exponential_is_clamped() {
    // beta = 1000: z = beta log2(e) (<x,y> - 1) reaches -2885, below the clamp at -1000. The
    // weights there (< 2^-1000) are negligible; the rounding of <x,y> limits the agreement with
    // the naive sum to a few beta eps.
    for (dim, n) in [(3usize, 1101usize), (5, 203)] {
        let x = clustered(n, dim, 3, 0.05, 3);
        for model in [Model::Usa, Model::Sa] {
            let field = ExactField::new(dim, 1000.0, model);
            let mut v = vec![0.0; x.len()];
            field.evaluate(&x, &mut v);
            let e = rel_err(&v, &naive_velocity(&x, dim, 1000.0, model), dim);
            assert!(e < 1e-12, "d={dim} {model}: {e}");
        }
    }
}

#[test]
fn exact_summation_never_overflows_at_large_beta() {
    let x = TokenState::uniform(100, 3, 3, 0).x;
    let field = ExactField::new(3, 1000.0, Model::Usa);
    let mut v = vec![0.0; x.len()];
    let mean = field.evaluate(&x, &mut v);
    assert!(mean.is_finite() && mean > 0.0);
    assert!(v.iter().all(|a| a.is_finite()));
}

#[test]
fn exact_summation_is_independent_of_thread_count() {
    // d = 3: symmetric tiles (beta = 9 unclamped, 1000 clamped); d = 8: packed row kernel; on
    // every instruction set the processor has.
    for path in SimdPath::available() {
        for (dim, beta) in [(3usize, 9.0), (3, 1000.0), (8, 9.0)] {
            thread_independence(dim, beta, path, 1000, Model::Sa);
        }
        // More than one group of 256 symmetric tiles (24 blocks of 256 tokens: 300 tiles), and
        // USA (no column weight sums).
        thread_independence(3, 9.0, path, 6000, Model::Usa);
    }
}

/// Several groups of symmetric tiles: the SIMD paths against the portable path (bound as in
/// `exact_simd_paths_agree_with_portable`) and the mean kernel against the plain double sum
/// of `exp(beta (<x_i, x_j> - 1))`.
#[test]
fn exact_summation_over_several_tile_groups() {
    let (dim, n, beta) = (3usize, 6000usize, 9.0);
    let x = clustered(n, dim, 3, 0.3, 23);
    let mut plain = 0.0;
    for xi in x.chunks_exact(dim) {
        for xj in x.chunks_exact(dim) {
            let dot: f64 = xi.iter().zip(xj).map(|(a, b)| a * b).sum();
            plain += (beta * (dot - 1.0)).exp();
        }
    }
    let plain = plain / (n * n) as f64;
    for model in [Model::Usa, Model::Sa] {
        let field = ExactField::new(dim, beta, model);
        let mut vp = vec![0.0; x.len()];
        let mp = field.clone().portable().evaluate(&x, &mut vp);
        assert!((mp - plain).abs() < 1e-12 * plain, "{mp} vs {plain}");
        for path in SimdPath::available() {
            let field = field.clone().with_path(path);
            let mut v = vec![0.0; x.len()];
            let m = field.evaluate(&x, &mut v);
            let e = rel_err(&v, &vp, dim) / f64::EPSILON;
            assert!(e < 32.0, "{} {model}: {e} eps", path.name());
            assert!((m - plain).abs() < 1e-12 * plain, "{} {model}", path.name());
        }
    }
}

/// Every SIMD path of the exact summation against the portable path: same sums in another
/// order (lanes of 4 or 8, symmetric tiles) with fused multiply-adds, so agreement to a few
/// ulps of the largest velocity (bound `32 eps max_i |v_i|`; measured up to 11 eps).
#[test]
fn exact_simd_paths_agree_with_portable() {
    for path in SimdPath::available() {
        let mut worst: f64 = 0.0;
        for (dim, n) in [
            (2usize, 1101usize),
            (3, 1101),
            (4, 203),
            (5, 203),
            (7, 1101),
            (11, 203),
            (16, 1101),
            (32, 301),
        ] {
            for model in [Model::Usa, Model::Sa] {
                for beta in [0.5, 9.0, 1000.0] {
                    let x = clustered(n, dim, 3, 0.3, 17);
                    let field = ExactField::new(dim, beta, model).with_path(path);
                    assert_eq!(field.effective_path(), path);
                    let (mut v, mut vp) = (vec![0.0; x.len()], vec![0.0; x.len()]);
                    let m = field.evaluate(&x, &mut v);
                    let mp = field.clone().portable().evaluate(&x, &mut vp);
                    let e = rel_err(&v, &vp, dim) / f64::EPSILON;
                    assert!(
                        e < 32.0,
                        "{} d={dim} {model} beta={beta}: {e} eps",
                        path.name()
                    );
                    assert!((m - mp).abs() < 1e-13 * mp);
                    worst = worst.max(e);
                }
            }
        }
        eprintln!("{}: worst {worst:.2} eps against portable", path.name());
    }
}

fn thread_independence(dim: usize, beta: f64, path: SimdPath, n: usize, model: Model) {
    let x = TokenState::uniform(n, dim, 11, 0).x;
    let field = ExactField::new(dim, beta, model).with_path(path);
    assert_eq!(field.effective_path(), path);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut v = vec![0.0; x.len()];
            let m = field.evaluate(&x, &mut v);
            (v, m)
        })
    };
    let (v1, m1) = run(1);
    let (v3, m3) = run(3);
    assert!(v1.iter().zip(&v3).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert_eq!(m1.to_bits(), m3.to_bits());
}

#[test]
fn fast_summation_matches_exact_to_1e_10() {
    for dim in [2usize, 3] {
        for model in [Model::Usa, Model::Sa] {
            for beta in [1.0, 9.0, 50.0] {
                for (name, x) in [
                    ("uniform", TokenState::uniform(600, dim, 5, 0).x),
                    ("clustered", clustered(600, dim, 4, 0.2, 9)),
                ] {
                    let fast =
                        build_velocity_field(Method::Fast, dim, beta, model, 600, 1e-12).unwrap();
                    let exact = ExactField::new(dim, beta, model);
                    let (mut vf, mut ve) = (vec![0.0; x.len()], vec![0.0; x.len()]);
                    let mf = fast.evaluate(&x, &mut vf);
                    let me = exact.evaluate(&x, &mut ve);
                    let e = rel_err(&vf, &ve, dim);
                    eprintln!(
                        "d={dim} {model} beta={beta} {name}: {e:.2e} {}",
                        fast.description()
                    );
                    assert!(
                        e < 1e-10,
                        "d={dim} {model} beta={beta} {name}: {e} ({})",
                        fast.description()
                    );
                    assert!(
                        (mf - me).abs() < 1e-12 * me,
                        "mean kernel d={dim} beta={beta}"
                    );
                }
            }
        }
    }
}

#[test]
fn fast_summation_is_independent_of_thread_count() {
    for dim in [2usize, 3] {
        let x = TokenState::uniform(5000, dim, 2, 0).x;
        let field = build_velocity_field(Method::Fast, dim, 9.0, Model::Usa, 5000, 1e-12).unwrap();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut v = vec![0.0; x.len()];
                field.evaluate(&x, &mut v);
                v
            })
        };
        let (a, b) = (run(1), run(4));
        assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
    }
}

#[test]
fn fast_method_is_rejected_above_dimension_three() {
    let e = build_velocity_field(Method::Fast, 4, 9.0, Model::Usa, 100, 1e-12)
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("invalid method = fast"), "{e}");
    // auto falls back to exact summation.
    let f = build_velocity_field(Method::Auto, 4, 9.0, Model::Usa, 100, 1e-12).unwrap();
    assert_eq!(f.description(), "exact pairwise summation");
}
