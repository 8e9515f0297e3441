//! Noisy linear theory (`attnflow::linear_noise`) against mpmath (40 digits) and identities.
//!
//! Fixtures: tests/fixtures/noise_critical_beta.csv and tests/fixtures/noise_threshold.csv, made
//! by scripts/reference_noise.py.

use attnflow::linear::{dominant_degree, growth_rate, spectrum};
use attnflow::linear_noise::{
    check_nu, critical_beta, critical_noise, degree_threshold, dominant_degree_noisy,
    laplacian_eigenvalue, noisy_growth_rate, transition, Transition,
};
use attnflow::special::bessel_i_ratio;
use attnflow::{Model, TimeUnit};

fn csv(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn critical_beta_matches_mpmath_to_1e_10() {
    let rows = csv(include_str!("fixtures/noise_critical_beta.csv"));
    assert!(rows.len() >= 5);
    for r in rows {
        let d: usize = r[0].parse().unwrap();
        let reference: f64 = r[1].parse().unwrap();
        let got = critical_beta(d);
        let rel = (got - reference).abs() / reference;
        assert!(rel < 1e-12, "d = {d}: {got} vs {reference} (rel {rel:e})");
    }
    // the value quoted in the issue
    assert!((critical_beta(2) - 2.446918).abs() < 1e-6);
}

#[test]
fn critical_beta_is_the_ratio_root_and_decreases_to_one() {
    let mut prev = f64::INFINITY;
    for d in [2usize, 3, 4, 6, 10, 32, 128, 1024] {
        let b = critical_beta(d);
        let r = bessel_i_ratio(d as f64 / 2.0, b);
        assert!((r * d as f64 - 1.0).abs() < 1e-13, "d = {d}: ratio {r}");
        assert!(b < prev && b > 1.0, "d = {d}: {b}");
        prev = b;
    }
    assert!(critical_beta(1024) < 1.002);
    assert!(critical_beta(1).is_nan());
    assert_eq!(transition(2.0, 2), Transition::Continuous);
    assert_eq!(transition(3.0, 2), Transition::Discontinuous);
}

#[test]
fn stability_threshold_matches_mpmath() {
    for r in csv(include_str!("fixtures/noise_threshold.csv")) {
        let d: usize = r[0].parse().unwrap();
        let beta: f64 = r[1].parse().unwrap();
        let reference: f64 = r[2].parse().unwrap();
        let got = critical_noise(beta, d, Model::Usa, TimeUnit::Physical);
        let rel = (got - reference).abs() / reference;
        assert!(rel < 1e-13, "d = {d}, beta = {beta}: {got} vs {reference}");
    }
}

#[test]
fn kappa_sharp_tends_to_d_at_small_beta() {
    for d in [2usize, 3, 5, 16] {
        let kappa = 1.0 / critical_noise(1e-5, d, Model::Usa, TimeUnit::Physical);
        assert!(
            (kappa - d as f64).abs() < 1e-4 * d as f64,
            "d = {d}: {kappa}"
        );
    }
}

#[test]
fn rates_change_sign_at_degree_thresholds_and_nu_sharp_is_first() {
    for &(d, beta) in &[(2usize, 9.0), (3, 4.0), (5, 30.0)] {
        for model in [Model::Usa, Model::Sa] {
            for time in [TimeUnit::Physical, TimeUnit::Scaled] {
                let mut prev = f64::INFINITY;
                for l in 1..12 {
                    let nl = degree_threshold(l, beta, d, model, time);
                    assert!(nl < prev, "nu_l must decrease: l = {l}");
                    prev = nl;
                    let g0 = growth_rate(l, beta, d, model, time);
                    let e = laplacian_eigenvalue(l, d);
                    assert!((nl * e - g0).abs() <= 1e-14 * g0);
                    // sign change across nu_l
                    assert!(noisy_growth_rate(l, beta, d, nl * (1.0 - 1e-9), model, time) > 0.0);
                    assert!(noisy_growth_rate(l, beta, d, nl * (1.0 + 1e-9), model, time) < 0.0);
                }
                let ns = critical_noise(beta, d, model, time);
                assert_eq!(ns, degree_threshold(1, beta, d, model, time));
            }
        }
    }
}

#[test]
fn scaled_units_are_consistent() {
    // USA: nu per unit tau = e^{-beta} nu per unit t; rates likewise
    let (beta, d, nu) = (7.0, 3, 0.01);
    let ph = noisy_growth_rate(2, beta, d, nu, Model::Usa, TimeUnit::Physical);
    let sc = noisy_growth_rate(2, beta, d, nu * (-beta).exp(), Model::Usa, TimeUnit::Scaled);
    assert!((sc - ph * (-beta).exp()).abs() < 1e-14 * ph.abs());
}

#[test]
fn noisy_dominant_degree_is_brute_force_argmax() {
    for &(d, beta) in &[(2usize, 9.0), (2, 100.0), (3, 30.0), (8, 200.0)] {
        let top = dominant_degree(beta, d);
        let nus = critical_noise(beta, d, Model::Usa, TimeUnit::Physical);
        for frac in [0.0, 0.01, 0.1, 0.3, 0.7, 1.5] {
            let nu = frac * nus;
            let spec = spectrum(3 * top + 10, beta, d, Model::Usa, TimeUnit::Physical);
            let brute = spec
                .iter()
                .skip(1)
                .map(|m| (m.l, m.rate.unwrap() - laplacian_eigenvalue(m.l, d) * nu))
                .fold((0, f64::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b })
                .0;
            let got = dominant_degree_noisy(beta, d, nu, Model::Usa, TimeUnit::Physical);
            assert_eq!(got, brute, "d = {d}, beta = {beta}, nu = {nu}");
            assert!(got <= top);
        }
    }
    assert!(check_nu(-1.0).is_err() && check_nu(f64::NAN).is_err() && check_nu(0.0).is_ok());
}
