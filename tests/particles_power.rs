//! Harmonic power C_l: zonal kernels against the Gegenbauer functions of `special`, moments
//! against the pairwise sum, exact single-token values, and the iid-uniform statistics.

use attnflow::analysis::{harmonic_power, harmonic_power_pairwise, zonal_kernels};
use attnflow::particles::TokenState;
use attnflow::special::{gegenbauer_normalized, harmonic_dimension};

#[test]
fn zonal_kernels_match_gegenbauer() {
    for dim in [2usize, 3, 4, 7] {
        let a = (dim as f64 - 2.0) / 2.0;
        for &t in &[-0.93, -0.2, 0.0, 0.41, 0.999] {
            let mut z = vec![0.0; 21];
            zonal_kernels(dim, t, &mut z);
            for (l, zl) in z.iter().enumerate() {
                let want = harmonic_dimension(l, dim) * gegenbauer_normalized(l, a, t);
                assert!(
                    (zl - want).abs() < 1e-12 * (1.0 + want.abs()),
                    "d={dim} l={l} t={t}"
                );
            }
        }
    }
}

#[test]
fn moment_power_matches_pairwise_power() {
    for dim in [2usize, 3] {
        let x = TokenState::uniform(300, dim, 8, 0).x;
        let a = harmonic_power(&x, dim, 24);
        let b = harmonic_power_pairwise(&x, dim, 24);
        assert!((a[0] - 1.0).abs() < 1e-14 && (b[0] - 1.0).abs() < 1e-14);
        for l in 1..=24 {
            assert!(
                (a[l] - b[l]).abs() < 1e-12 * (b[l] + 1e-3),
                "d={dim} l={l}: {} {}",
                a[l],
                b[l]
            );
        }
    }
}

#[test]
fn one_token_has_power_dim_h() {
    // N = 1: C_l = Z_l(1) = dim H_l exactly, wherever the token is (poles included).
    for (dim, x) in [
        (2usize, vec![0.6, 0.8]),
        (3, vec![0.0, 0.0, 1.0]),
        (3, vec![0.48, -0.6, 0.64]),
        (5, vec![0.2, 0.4, 0.4, 0.8, 0.0]),
    ] {
        let c = harmonic_power(&x, dim, 12);
        for (l, cl) in c.iter().enumerate() {
            let h = harmonic_dimension(l, dim);
            assert!((cl - h).abs() < 1e-11 * h, "d={dim} l={l}: {cl} vs {h}");
        }
    }
}

#[test]
fn iid_uniform_power_is_dim_h_over_n() {
    // E[C_l] = dim(H_l)/N exactly for iid uniform tokens; N C_l / h is approximately chi^2_h / h
    // (mean 1, variance 2/h). Averaging R independent samples gives standard deviation
    // sqrt(2/(h R)); we allow 4.5 standard deviations (fixed seeds).
    let (n, reps, lmax) = (200usize, 120usize, 8usize);
    for dim in [2usize, 3, 4] {
        let mut mean = vec![0.0; lmax + 1];
        for r in 0..reps {
            let x = TokenState::uniform(n, dim, 99, r as u64).x;
            let c = harmonic_power(&x, dim, lmax);
            for l in 1..=lmax {
                mean[l] += c[l] * n as f64 / harmonic_dimension(l, dim) / reps as f64;
            }
        }
        for (l, m) in mean.iter().enumerate().skip(1) {
            let sd = (2.0 / (harmonic_dimension(l, dim) * reps as f64)).sqrt();
            assert!(
                (m - 1.0).abs() < 4.5 * sd,
                "d={dim} l={l}: mean {m}, sd {sd}"
            );
        }
    }
}
