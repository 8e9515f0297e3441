//! Linear theory (`attnflow::linear`) against mpmath (40 digits), closed forms and identities.
//!
//! Fixtures: tests/fixtures/linear_rates.csv and tests/fixtures/linear_thresholds.csv, made by
//! scripts/reference_linear.py.

use attnflow::linear::{
    check_beta, check_degree, check_dim, dominant_degree, dominant_degree_asymptote,
    funk_hecke_eigenvalue_scaled, funk_hecke_eigenvalues_scaled, growth_rate,
    ln_funk_hecke_eigenvalue, ln_growth_rate, spectrum, threshold, thresholds, MAX_DIM,
};
use attnflow::special::ln_bessel_i;
use attnflow::{Model, TimeUnit};

/// One unit in the last place of `v`.
fn ulp(v: f64) -> f64 {
    let v = v.abs();
    f64::from_bits(v.to_bits() + 1) - v
}

/// Tolerance for a logarithm: 8 ulp of `max(|v|, 1)`, capped at the floor of 1e-12
/// absolute, but never below 2 ulp of `v` (for |v| > 2048 one ulp exceeds 1e-12, so no f64
/// result can meet the floor there).
fn ln_tol(v: f64) -> f64 {
    (8.0 * ulp(v.abs().max(1.0))).min(1e-12).max(2.0 * ulp(v))
}

struct RateRow {
    dim: usize,
    beta: f64,
    l: usize,
    ln_lambda: f64,
    usa_physical: f64,
    usa_scaled: f64,
    sa: f64,
    /// `e^{-beta} lambda_l`, then the three rates (NaN where not a normal f64 / l = 0).
    values: [f64; 4],
}

fn rate_rows() -> Vec<RateRow> {
    include_str!("fixtures/linear_rates.csv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let num = |s: &str| {
                if s.is_empty() {
                    f64::NAN
                } else {
                    s.parse().unwrap()
                }
            };
            RateRow {
                dim: f[0].parse().unwrap(),
                beta: f[1].parse().unwrap(),
                l: f[2].parse().unwrap(),
                ln_lambda: num(f[3]),
                usa_physical: num(f[4]),
                usa_scaled: num(f[5]),
                sa: num(f[6]),
                values: [num(f[7]), num(f[8]), num(f[9]), num(f[10])],
            }
        })
        .collect()
}

#[test]
fn rates_match_mpmath() {
    let rows = rate_rows();
    assert_eq!(rows.len(), 9 * 9 * 11);
    let mut worst = 0.0_f64;
    let mut worst_abs = 0.0_f64;
    let mut worst_rel_rate = 0.0_f64;
    let mut check = |what: &str, r: &RateRow, got: f64, want: f64| {
        let err = (got - want).abs();
        assert!(
            err <= ln_tol(want),
            "{what} d={} beta={} l={}: {got:e} vs mpmath {want:e} (error {err:e})",
            r.dim,
            r.beta,
            r.l
        );
        worst = worst.max(err / ln_tol(want));
        if r.dim <= 64 {
            worst_abs = worst_abs.max(err);
        }
    };
    for r in &rows {
        check(
            "ln lambda",
            r,
            ln_funk_hecke_eigenvalue(r.l, r.beta, r.dim),
            r.ln_lambda,
        );
        if r.l == 0 {
            for m in [Model::Usa, Model::Sa] {
                for t in [TimeUnit::Physical, TimeUnit::Scaled] {
                    assert_eq!(ln_growth_rate(0, r.beta, r.dim, m, t), None);
                    assert_eq!(growth_rate(0, r.beta, r.dim, m, t), 0.0);
                }
            }
            continue;
        }
        let cases = [
            (Model::Usa, TimeUnit::Physical, r.usa_physical, r.values[1]),
            (Model::Usa, TimeUnit::Scaled, r.usa_scaled, r.values[2]),
            (Model::Sa, TimeUnit::Physical, r.sa, r.values[3]),
            (Model::Sa, TimeUnit::Scaled, r.sa, r.values[3]),
        ];
        for (m, t, want, exact) in cases {
            let got = ln_growth_rate(r.l, r.beta, r.dim, m, t).unwrap();
            check(&format!("ln gamma {m} {t}"), r, got, want);
            // the rate itself, relative, wherever it is a normal f64 (mpmath value)
            let rate = growth_rate(r.l, r.beta, r.dim, m, t);
            if exact.is_finite() {
                let rel = (rate - exact).abs() / exact;
                assert!(
                    rel <= 4e-15,
                    "gamma d={} beta={} l={}: {rate:e} vs {exact:e}",
                    r.dim,
                    r.beta,
                    r.l
                );
                worst_rel_rate = worst_rel_rate.max(rel);
            } else if want > 709.8 {
                assert_eq!(rate, f64::INFINITY);
            } else {
                assert!(rate < 2.3e-308);
            }
        }
    }
    eprintln!(
        "linear rates: worst error/tolerance {worst:.3}; worst absolute ln error (d<=64) {worst_abs:e}; worst relative rate error {worst_rel_rate:e}"
    );
}

#[test]
fn spectrum_agrees_with_pointwise_functions() {
    for &dim in &[2, 3, 8, 64, 1024] {
        for &beta in &[1e-3, 1.0, 9.0, 700.0, 1e4] {
            for m in [Model::Usa, Model::Sa] {
                for t in [TimeUnit::Physical, TimeUnit::Scaled] {
                    let spec = spectrum(2000, beta, dim, m, t);
                    assert_eq!(spec.len(), 2001);
                    for mode in spec.iter().step_by(7) {
                        let l = mode.l;
                        let lam = ln_funk_hecke_eigenvalue(l, beta, dim);
                        assert!((mode.log_lambda - lam).abs() <= ln_tol(lam) * 0.5);
                        match ln_growth_rate(l, beta, dim, m, t) {
                            None => {
                                assert_eq!(l, 0);
                                assert_eq!(mode.log_rate, None);
                                assert_eq!(mode.rate, Some(0.0));
                            }
                            Some(lr) => {
                                let got = mode.log_rate.unwrap();
                                assert!(got.is_finite());
                                assert!((got - lr).abs() <= ln_tol(lr) * 0.5);
                                let e = lr.exp();
                                if e.is_finite() && e >= f64::MIN_POSITIVE {
                                    let r = mode.rate.unwrap();
                                    assert!((r - e).abs() <= 1e-13 * e);
                                } else {
                                    assert_eq!(mode.rate, None);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn sa_is_usa_over_lambda_0_and_time_units() {
    for &dim in &[2, 3, 5, 33, 64, 1024] {
        for &beta in &[1e-3, 0.37, 9.0, 123.4, 1e4] {
            let ln_l0 = ln_funk_hecke_eigenvalue(0, beta, dim);
            for l in [1, 2, 7, 40, 333, 2000] {
                let usa = ln_growth_rate(l, beta, dim, Model::Usa, TimeUnit::Physical).unwrap();
                let usa_s = ln_growth_rate(l, beta, dim, Model::Usa, TimeUnit::Scaled).unwrap();
                let sa = ln_growth_rate(l, beta, dim, Model::Sa, TimeUnit::Physical).unwrap();
                let sa_s = ln_growth_rate(l, beta, dim, Model::Sa, TimeUnit::Scaled).unwrap();
                let tol = 4.0 * ulp(usa.abs().max(ln_l0.abs()).max(1.0));
                assert!(
                    (sa - (usa - ln_l0)).abs() <= tol,
                    "d={dim} beta={beta} l={l}"
                );
                assert!(
                    (usa_s - (usa - beta)).abs() <= tol,
                    "d={dim} beta={beta} l={l}"
                );
                assert_eq!(sa, sa_s);
            }
        }
    }
}

#[test]
fn circle_eigenvalues_are_bessel_values_and_sphere_closed_forms() {
    // d = 2: lambda_l = I_l(beta)
    for &beta in &[1e-3, 0.5, 9.0, 700.0, 1e4] {
        for l in [0, 1, 2, 10, 100, 2000] {
            let a = ln_funk_hecke_eigenvalue(l, beta, 2);
            let b = ln_bessel_i(l as f64, beta);
            assert!(
                (a - b).abs() <= 2.0 * ulp(b.abs().max(1e-300)),
                "l={l} beta={beta}"
            );
        }
    }
    // d = 3: lambda_0 = sinh(beta)/beta, lambda_1 = (cosh beta - sinh(beta)/beta)/beta
    // (in log form: beta + ln((1 - e^{-2 beta}) / (2 beta)) etc.)
    let mut beta: f64 = 1e-3;
    while beta < 2e4 {
        let em = (-2.0 * beta).exp_m1(); // e^{-2b} - 1
        let ln_l0 = beta + (-em / (2.0 * beta)).ln();
        let got0 = ln_funk_hecke_eigenvalue(0, beta, 3);
        assert!(
            (got0 - ln_l0).abs() <= 1e-14_f64.max(4.0 * ulp(ln_l0)),
            "beta={beta}"
        );
        if beta >= 1.0 {
            // (cosh b - sinh b / b)/b = e^b ((1 + e^{-2b}) - (1 - e^{-2b})/b) / (2b)
            let ln_l1 = beta + (((2.0 + em) + em / beta) / (2.0 * beta)).ln();
            let got1 = ln_funk_hecke_eigenvalue(1, beta, 3);
            assert!(
                (got1 - ln_l1).abs() <= 1e-14_f64.max(4.0 * ulp(ln_l1)),
                "beta={beta}"
            );
        }
        beta *= 1.37;
    }
}

struct ThresholdRow {
    dim: usize,
    k: usize,
    beta_k: f64,
}

fn threshold_rows() -> Vec<ThresholdRow> {
    include_str!("fixtures/linear_thresholds.csv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            ThresholdRow {
                dim: f[0].parse().unwrap(),
                k: f[1].parse().unwrap(),
                beta_k: f[2].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn thresholds_match_mpmath() {
    let mut worst = 0.0_f64;
    for r in threshold_rows() {
        let got = threshold(r.k, r.dim);
        let rel = (got - r.beta_k).abs() / r.beta_k;
        // the floor is 1e-10; the root finder reaches ~1e-15, so regressions show here
        assert!(
            rel <= 1e-12,
            "beta_{} (d={}) = {got} vs mpmath {}",
            r.k,
            r.dim,
            r.beta_k
        );
        worst = worst.max(rel);
    }
    for dim in [2, 3, 8] {
        let all = thresholds(10, dim);
        assert_eq!(all.len(), 10);
        for (k, b) in all.iter().enumerate() {
            assert_eq!(*b, threshold(k + 1, dim));
        }
        assert!(all.windows(2).all(|w| w[0] < w[1]), "thresholds increase");
    }
    eprintln!("thresholds: worst relative error {worst:e}");
}

#[test]
fn dominant_degree_jumps_at_thresholds() {
    for dim in [2, 3, 4, 8, 64, 1024] {
        for (i, beta_k) in thresholds(30, dim).into_iter().enumerate() {
            let k = i + 1;
            assert_eq!(
                dominant_degree(beta_k * (1.0 - 1e-9), dim),
                k,
                "d={dim} k={k}"
            );
            assert_eq!(
                dominant_degree(beta_k * (1.0 + 1e-9), dim),
                k + 1,
                "d={dim} k={k}"
            );
        }
    }
}

/// Deterministic log-uniform samples (64-bit LCG).
struct Lcg(u64);
impl Lcg {
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        (lo.ln() + (hi.ln() - lo.ln()) * u).exp()
    }
}

#[test]
fn dominant_degree_is_the_argmax_of_the_spectrum() {
    // independent route: brute-force argmax over the whole spectrum l = 1..=2000
    let mut rng = Lcg(5);
    for _ in 0..150 {
        let beta = rng.log_uniform(1e-3, 1e4);
        let dim = (rng.log_uniform(2.0, MAX_DIM as f64 + 1.0) as usize).clamp(2, MAX_DIM);
        let spec = spectrum(2000, beta, dim, Model::Sa, TimeUnit::Physical);
        let (mut best, mut best_v) = (0, f64::NEG_INFINITY);
        for m in &spec[1..] {
            if m.log_rate.unwrap() > best_v {
                best = m.l;
                best_v = m.log_rate.unwrap();
            }
        }
        assert_eq!(dominant_degree(beta, dim), best, "beta={beta} d={dim}");
    }
    for dim in [2, 3, 64, 1024] {
        assert_eq!(dominant_degree(1e-3, dim), 1);
    }
}

#[test]
fn dominant_degree_follows_the_large_beta_asymptote() {
    // circle: l* / sqrt(2 beta) -> 1
    let mut prev = f64::INFINITY;
    for beta in [1e2, 1e3, 1e4, 1e5] {
        let dev = (dominant_degree(beta, 2) as f64 / (2.0 * beta).sqrt() - 1.0).abs();
        assert!(
            dev < 0.1 && dev <= prev,
            "beta={beta}: relative deviation {dev}"
        );
        prev = dev;
    }
    assert!(prev < 3e-3);
    // any dimension: within one degree of sqrt(2 beta + a^2) - a once beta is large
    for dim in [2, 3, 4, 8, 16, 64, 1024] {
        for beta in [5e3, 1e4, 3e4, 1e5] {
            let l = dominant_degree(beta, dim) as f64;
            let asym = dominant_degree_asymptote(beta, dim);
            assert!(
                (l - asym).abs() <= 1.0,
                "d={dim} beta={beta}: l*={l}, asymptote {asym}"
            );
        }
    }
}

#[test]
fn invalid_inputs() {
    assert!(check_beta(0.0).is_err());
    assert!(check_beta(f64::NAN).is_err());
    assert!(check_beta(1e6).is_err());
    assert_eq!(check_beta(2.5).unwrap(), 2.5);
    let msg = check_beta(-1.0).unwrap_err().to_string();
    assert!(msg.starts_with("invalid beta = -1: accepted"), "{msg}");
    assert_eq!(check_dim(2).unwrap(), 2);
    assert!(check_dim(1).is_err());
    assert!(check_dim(MAX_DIM as i64 + 1).is_err());
    assert!(check_dim(1).unwrap_err().to_string().contains("dim"));
    assert!(check_degree(-1).is_err());
    assert!(check_degree(2001).is_err());
    assert_eq!(check_degree(2000).unwrap(), 2000);
    assert!(ln_funk_hecke_eigenvalue(1, -1.0, 3).is_nan());
    assert!(ln_funk_hecke_eigenvalue(1, 1.0, 1).is_nan());
    assert!(
        ln_growth_rate(1, f64::NAN, 3, Model::Usa, TimeUnit::Physical)
            .unwrap()
            .is_nan()
    );
    assert_eq!(dominant_degree(0.0, 3), 0);
    assert_eq!(dominant_degree(1e200, 3), 0);
    assert_eq!(dominant_degree(1.0, 1), 0);
    assert!(spectrum(10, -1.0, 3, Model::Sa, TimeUnit::Physical).is_empty());
    assert!(threshold(0, 3).is_nan());
}

#[test]
fn scaled_eigenvalues_match_mpmath_and_closed_form() {
    // e^{-beta} lambda_l against mpmath wherever it is a normal f64
    let mut worst = 0.0_f64;
    for r in rate_rows() {
        let got = funk_hecke_eigenvalue_scaled(r.l, r.beta, r.dim);
        assert!(got <= 1.0 + 1e-15, "scaled eigenvalue > 1");
        let want = r.values[0];
        if want.is_finite() {
            let rel = (got - want).abs() / want;
            assert!(
                rel <= 4e-15,
                "d={} beta={} l={}: {got:e} vs {want:e}",
                r.dim,
                r.beta,
                r.l
            );
            worst = worst.max(rel);
        } else {
            assert!(got < 2.3e-308);
        }
    }
    // one pass == pointwise
    for &(beta, dim) in &[(1e-3, 2), (9.0, 3), (700.0, 64), (1e4, 1024)] {
        let all = funk_hecke_eigenvalues_scaled(2000, beta, dim);
        assert_eq!(all.len(), 2001);
        for (l, v) in all.iter().enumerate().step_by(13) {
            let p = funk_hecke_eigenvalue_scaled(l, beta, dim);
            assert!((v - p).abs() <= 1e-14 * p, "l={l} beta={beta} d={dim}");
        }
    }
    // d = 3: e^{-beta} lambda_0 = (1 - e^{-2 beta}) / (2 beta), exact in relative terms
    let mut beta: f64 = 1e-3;
    while beta < 2e4 {
        let want = -(-2.0 * beta).exp_m1() / (2.0 * beta);
        let got = funk_hecke_eigenvalue_scaled(0, beta, 3);
        assert!(
            (got - want).abs() <= 4e-16 * want,
            "beta={beta}: {got:e} vs {want:e}"
        );
        beta *= 1.29;
    }
    eprintln!("scaled eigenvalues: worst relative error {worst:e}");
}
